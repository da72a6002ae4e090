"""The control loop: one lock, one clock, one timeline of deadlines.

Each part of the hub that acts on time (the heat guard, the fader, the diffuser, the
session) is a :class:`Part` with ``step(now) -> next deadline``. :meth:`ControlLoop.step`
runs them in order under the hub lock and sleeps until the earliest deadline. A part that
raises is logged and made safe (``make_safe``), and the others still run, so no exception
can leave the loop spinning or a pad on.

The clock drives the loop (:meth:`hub.engine.clock.Clock.drive`): a thread for the real clock
(:class:`ThreadDriver`), ``advance(seconds)`` for a test's manual clock
(:class:`ManualDriver`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .events import HubLock

if TYPE_CHECKING:
    from .clock import Clock, FakeClock

log = logging.getLogger(__name__)

IDLE = 1.0  # seconds: the loop steps at least this often, so the watchdog sees it alive
RETRY = 1.0  # seconds: after a part failed, look again this much later (never at once)


@dataclass(frozen=True)
class Part:
    """One timed part: its step, how to make it safe when that raises, and if it is safety."""

    name: str
    step: Callable[[float], float | None]
    make_safe: Callable[[float], None]
    safety: bool = False


class Driver(Protocol):
    """What makes the loop step: a thread, or a test moving a manual clock."""

    runs_by_itself: bool

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def kick(self) -> None: ...
    def alive(self) -> bool: ...
    def advance(self, seconds: float) -> None: ...


class ControlLoop:
    """Run every part's step under the lock, in order, until the next deadline."""

    def __init__(self, lock: HubLock, clock: Clock, parts: list[Part]) -> None:
        self.lock = lock
        self.clock = clock
        self.parts = parts
        self.last_step = clock.monotonic()
        self.next_deadline: float | None = None
        self._stall: float = 0.0
        self._stepping = False
        self._rerun = False
        self.driver: Driver = clock.drive(self)

    def add(self, part: Part, *, before_last: int = 0) -> None:
        """Add a part, ``before_last`` places from the end (0: at the end)."""
        with self.lock:
            self.parts.insert(len(self.parts) - before_last, part)

    def remove(self, part: Part) -> None:
        """Remove a part (nothing if it is not there)."""
        with self.lock:
            if part in self.parts:
                self.parts.remove(part)

    def kick(self) -> None:
        """Step soon: something changed. Inside a step, the step is run again at once."""
        if self._stepping:
            self._rerun = True
        else:
            self.driver.kick()

    @property
    def runs_by_itself(self) -> bool:
        """True when a thread drives the loop (the service), False for a manual clock."""
        return self.driver.runs_by_itself

    def step(self) -> float | None:
        """Run every part due now; return when the next step is due."""
        with self.lock:
            if self._stall:
                seconds, self._stall = self._stall, 0.0
                log.warning("test hook: the control loop hangs for %g s", seconds)
                time.sleep(seconds)
            now = self.clock.monotonic()
            due: list[float] = []
            alive = True
            self._stepping, self._rerun = True, False
            try:
                for part in list(self.parts):
                    try:
                        deadline = part.step(now)
                    except Exception:
                        log.exception("control step: %s failed; made safe, loop goes on", part.name)
                        alive = alive and not part.safety
                        try:
                            part.make_safe(now)
                        except Exception:
                            log.exception("making %s safe failed", part.name)
                        deadline = now + RETRY
                    if deadline is not None:
                        due.append(deadline)
            finally:
                self._stepping = False  # whatever escaped, later kicks must wake the loop
            if self._rerun:  # a part changed what earlier parts scheduled: look again now
                due.append(now)
            self.next_deadline = min(due) if due else None
            # a step whose safety check failed does not count as alive for the watchdog
            if alive:
                self.last_step = now
            return self.next_deadline

    def stall_once(self, seconds: float) -> None:
        """Make the next step hang for ``seconds`` holding the lock (test hook, see watchdog)."""
        self._stall = seconds
        self.kick()


class ThreadDriver:
    """Step the loop on a daemon thread, sleeping until the next deadline or a kick."""

    runs_by_itself = True

    def __init__(self, loop: ControlLoop) -> None:
        self.loop = loop
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="hub-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (within 5 s)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def kick(self) -> None:
        """Step soon: something changed."""
        self._wake.set()

    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def advance(self, seconds: float) -> None:
        """Not for the real clock."""
        raise RuntimeError("advance() needs a FakeClock; the real clock moves by itself")

    def _run(self) -> None:
        clock = self.loop.clock
        while not self._stop.is_set():
            try:
                deadline = self.loop.step()
            except Exception:  # the step guards each part; this is the last net
                log.exception("control loop step failed")
                deadline = clock.monotonic() + RETRY
            timeout = IDLE if deadline is None else max(0.0, deadline - clock.monotonic())
            if timeout > 0:
                self._wake.wait(min(timeout, IDLE))
            self._wake.clear()


class ManualDriver:
    """Step the loop only when a test moves the manual clock with :meth:`advance`."""

    runs_by_itself = False

    def __init__(self, loop: ControlLoop, clock: FakeClock) -> None:
        self.loop = loop
        self.clock = clock

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""

    def kick(self) -> None:
        """Step now, inline."""
        self.loop.step()

    def alive(self) -> bool:
        """Always: the test is the driver."""
        return True

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``, running every deadline due on the way."""
        loop, clock = self.loop, self.clock
        target = clock.monotonic() + seconds
        if loop.next_deadline is None:
            loop.step()
        stuck = 0
        while loop.next_deadline is not None and loop.next_deadline <= target:
            before = clock.monotonic()
            clock.set(max(loop.next_deadline, before))
            loop.step()
            # a step that keeps asking to run again "now" would hang the test: fail instead
            stuck = stuck + 1 if clock.monotonic() == before else 0
            if stuck > 10_000:
                raise RuntimeError(f"the control loop does not move past t={before}")
        clock.set(target)
        loop.step()
