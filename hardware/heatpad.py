"""A heated massage pad switched by a relay or SSR, with time-proportioned heat levels."""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from gpiozero import DigitalOutputDevice


class HeatLevel(StrEnum):
    """A heat pad's level: the share of each cycle its relay is closed."""

    OFF = "off"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


HEAT_LEVELS = tuple(HeatLevel)
DEFAULT_DUTY = {"low": 0.3, "medium": 0.55, "high": 0.8}


class HeatPad:
    """Hold a heat level by switching the pad on for a share of each cycle.

    ``low``/``medium``/``high`` switch the relay on for 30/55/80 % of ``cycle_seconds``
    (default 60 s). No on- or off-stretch inside a cycle is shorter than
    ``min_switch_seconds``, and the relay never closes again sooner than that after it
    opened, however often the level changes: that spares a mechanical relay. Switching
    *off* is never delayed. This class knows nothing of safety limits: the hub's safety guard is the
    only code that sets its level.

    Wiring: GPIO -> zero-cross SSR or relay module (mains rated) in the pad's live lead,
    pull-down on the input, and a thermal cut-out or hardware timer in series.
    """

    kind = "heat_pad"

    def __init__(
        self,
        pin: int | str,
        *,
        cycle_seconds: float = 60.0,
        min_switch_seconds: float = 10.0,
        duty: dict[str, float] | None = None,
        active_high: bool = True,
        pin_factory: Any = None,
    ) -> None:
        self.cycle_seconds = float(cycle_seconds)
        self.min_switch_seconds = float(min_switch_seconds)
        self.duty = dict(DEFAULT_DUTY if duty is None else duty)
        self._heat = "off"
        self._since = 0.0
        self._now = 0.0
        self._last_off: float | None = None  # when the relay last opened
        self._closed_at: float | None = None  # when the relay last closed, while it is closed
        self._relay_total = 0.0  # seconds the relay was closed before ``_closed_at``
        #: True holds the relay open whatever the level (a thermostat at its target); the level
        #: and its cycle go on, and the relay follows them again when it is False
        self.hold_off = False
        #: called as ``listener(now, closed)`` at each real switch of the relay (a thermal model)
        self.relay_listeners: list[Callable[[float, bool], None]] = []
        self._out = DigitalOutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )

    @property
    def heat(self) -> str:
        """``off``, ``low``, ``medium`` or ``high``."""
        return self._heat

    @property
    def relay_on(self) -> bool:
        """True while the relay is closed (the pad is drawing power)."""
        return bool(self._out.value)

    def relay_seconds(self, now: float) -> float:
        """Return how long the relay has been closed in all, up to ``now`` (for its energy)."""
        total = self._relay_total
        if self._closed_at is not None:
            total += max(0.0, now - self._closed_at)
        return total

    def _switched(self, now: float, closed: bool) -> None:
        if closed:
            self._closed_at = now
        elif self._closed_at is not None:
            self._relay_total += max(0.0, now - self._closed_at)
            self._closed_at = None
        for listener in self.relay_listeners:
            listener(now, closed)

    def on_seconds(self) -> float:
        """Return how long the relay is closed in each cycle at the current level."""
        if self._heat == "off":
            return 0.0
        on = self.duty[self._heat] * self.cycle_seconds
        if on < self.min_switch_seconds:
            on = min(self.min_switch_seconds, self.cycle_seconds)
        if self.cycle_seconds - on < self.min_switch_seconds:
            on = self.cycle_seconds
        return on

    def set_heat(self, heat: str, now: float) -> None:
        """Switch to ``heat`` at time ``now``; a new level starts a new cycle."""
        if heat not in HEAT_LEVELS:
            raise ValueError(f"heat must be one of {', '.join(HEAT_LEVELS)}")
        if heat == self._heat:
            return
        self._heat = heat
        self._since = now
        self.update(now)

    def _close_relay(self, now: float) -> float | None:
        """Close the relay unless it opened less than ``min_switch_seconds`` ago.

        Returns when to try again if it had to wait, else None.
        """
        if not self._out.value and self._last_off is not None:
            ready = self._last_off + self.min_switch_seconds
            if now < ready - 1e-6:
                return ready
        if not self._out.value:
            self._out.on()
            self._switched(now, True)
        return None

    def _open_relay(self, now: float) -> None:
        if self._out.value:
            self._last_off = now
            self._out.off()
            self._switched(now, False)
        else:
            self._out.off()

    def update(self, now: float) -> float | None:
        """Drive the relay for time ``now``; return when the next switch is due."""
        self._now = now
        if self._heat == "off" or self.hold_off:
            self._open_relay(now)
            return None
        on = self.on_seconds()
        cycle = self.cycle_seconds
        # whole cycles from the start (a hair of slack): float rounding must never hand
        # back "now" as the next switch, which would spin the control loop
        cycle_start = self._since + math.floor((now - self._since) / cycle + 1e-9) * cycle
        if on >= self.cycle_seconds:
            return self._close_relay(now)
        if now - cycle_start < on - 1e-6:
            wait = self._close_relay(now)
            end = cycle_start + on
            return end if wait is None or wait >= end else wait
        self._open_relay(now)
        return cycle_start + self.cycle_seconds

    def off(self, now: float | None = None) -> None:
        """Switch off at once (switching off is never delayed)."""
        self._heat = "off"
        if now is not None:
            self._now = now
        self._open_relay(self._now)

    def close(self) -> None:
        """Switch off and release the pin."""
        self.off()
        self._out.close()

    def state(self) -> dict[str, Any]:
        """Return the pad's state for the API."""
        return {"kind": self.kind, "heat": self._heat, "on": self._heat != "off"}
