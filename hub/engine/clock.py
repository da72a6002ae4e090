"""Injected time: a real clock for the service, a fake one that tests move by hand."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .loop import ControlLoop, Driver


class Clock(Protocol):
    """Monotonic seconds for timers and fades; aware wall time for people and schedules."""

    def monotonic(self) -> float: ...
    def now(self) -> datetime: ...
    def boot_id(self) -> str: ...
    def drive(self, loop: ControlLoop) -> Driver: ...


class RealClock:
    """The machine's clocks."""

    def drive(self, loop: ControlLoop) -> Driver:
        """A thread steps the loop: real time moves by itself."""
        from .loop import ThreadDriver

        return ThreadDriver(loop)

    def monotonic(self) -> float:
        """Return monotonic seconds."""
        return time.monotonic()

    def now(self) -> datetime:
        """Return the aware UTC wall time."""
        return datetime.now(UTC)

    def boot_id(self) -> str:
        """Return this boot's id: monotonic times of one boot compare, across processes too."""
        global _BOOT_ID
        if _BOOT_ID is None:
            try:
                _BOOT_ID = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
            except OSError:
                _BOOT_ID = f"unknown-{os.getpid()}-{time.time()}"  # never matches another
        return _BOOT_ID


_BOOT_ID: str | None = None


class FakeClock:
    """A clock that only moves when told to; monotonic and wall time move together."""

    def drive(self, loop: ControlLoop) -> Driver:
        """The test steps the loop, through ``advance``."""
        from .loop import ManualDriver

        return ManualDriver(loop, self)

    def __init__(self, start: datetime | None = None, monotonic: float = 1000.0) -> None:
        self._mono = float(monotonic)
        self._wall = start or datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
        self._boot = 1

    def boot_id(self) -> str:
        """Return the fake boot's id (see :meth:`reboot`)."""
        return f"fake-boot-{self._boot}"

    def reboot(self) -> None:
        """Pretend the machine restarted: monotonic times before it no longer compare."""
        self._boot += 1

    def monotonic(self) -> float:
        """Return fake monotonic seconds."""
        return self._mono

    def now(self) -> datetime:
        """Return fake aware wall time."""
        return self._wall

    def set(self, monotonic: float) -> None:
        """Move to monotonic time ``monotonic`` (never backwards); wall time follows."""
        if monotonic < self._mono:
            raise ValueError("a monotonic clock cannot go backwards")
        self._wall += timedelta(seconds=monotonic - self._mono)
        self._mono = monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self.set(self._mono + seconds)

    def jump_wall(self, seconds: float) -> None:
        """Step only the wall clock (as NTP or a user might), not the monotonic one."""
        self._wall += timedelta(seconds=seconds)
