"""An ultrasonic aromatherapy diffuser switched by a relay."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from gpiozero import DigitalOutputDevice


class DiffuserMode(StrEnum):
    """Off, on, or in intervals (``on_seconds`` on, ``off_seconds`` off)."""

    OFF = "off"
    ON = "on"
    INTERVAL = "interval"


MODES = tuple(DiffuserMode)


class Diffuser:
    """Run a diffuser off, on, or in intervals (``on_seconds`` on, ``off_seconds`` off).

    The part is passive: the hub's control loop calls :meth:`update` with the time and
    gets back when it next needs a call, so intervals follow the injected clock.

    Wiring: GPIO -> relay or SSR module input switching the diffuser's supply; the
    module's input should have a pull-down so a released pin means off.
    """

    kind = "diffuser"

    def __init__(
        self,
        pin: int | str,
        *,
        on_seconds: float = 30.0,
        off_seconds: float = 60.0,
        active_high: bool = True,
        pin_factory: Any = None,
    ) -> None:
        self.on_seconds = float(on_seconds)
        self.off_seconds = float(off_seconds)
        self._mode = "off"
        self._since = 0.0
        self._out = DigitalOutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )

    @property
    def mode(self) -> str:
        """``off``, ``on`` or ``interval``."""
        return self._mode

    @property
    def is_on(self) -> bool:
        """True while the diffuser is misting right now."""
        return bool(self._out.value)

    def set_mode(self, mode: str, now: float) -> None:
        """Switch to ``mode`` at time ``now`` (an interval starts with misting).

        Choosing the mode it already has keeps the running interval's rhythm.
        """
        if mode not in MODES:
            raise ValueError(f"diffuser mode must be one of {', '.join(MODES)}")
        if mode != self._mode:
            self._mode = mode
            self._since = now
        self.update(now)

    def update(self, now: float) -> float | None:
        """Drive the relay for time ``now``; return when the next change is due."""
        if self._mode == "off":
            self._out.off()
            return None
        if self._mode == "on":
            self._out.on()
            return None
        period = self.on_seconds + self.off_seconds
        # count whole cycles from the start (a hair of slack), so float rounding never
        # hands back "now" as the next change, which would spin the control loop
        cycle_start = self._since + math.floor((now - self._since) / period + 1e-9) * period
        if now - cycle_start < self.on_seconds - 1e-6:
            self._out.on()
            return cycle_start + self.on_seconds
        self._out.off()
        return cycle_start + period

    def off(self) -> None:
        """Switch off at once."""
        self._mode = "off"
        self._out.off()

    def close(self) -> None:
        """Switch off and release the pin."""
        self.off()
        self._out.close()

    def state(self) -> dict[str, Any]:
        """Return the diffuser's state for the API."""
        return {"kind": self.kind, "mode": self._mode, "on": self.is_on}
