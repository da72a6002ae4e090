"""A pad's temperature: hold each heat level's target, and catch a pad that misbehaves.

Only for a pad with a sensor (``heat_pads.<id>.sensor``). The heat guard asks, at every
step, :meth:`Thermostat.allows` (may the relay close now?) and :meth:`Thermostat.watch`
(is something wrong?). The rules, each from what the sensor says:

- **Holding a level.** A level is a temperature (``targets``). The relay may close only on a
  fresh, good reading below the target; it stops at the target and starts again
  ``HYSTERESIS`` below it. Every level runs the relay fully until then (building.py's
  ``SENSOR_DUTY``); ``min_switch_seconds`` and the time limits apply as before.
- **A failed sensor never reads as cold.** No reading, an old one, or a bad one (CRC, the
  85 °C power-on value, nonsense) opens the relay at once. After ``SENSOR_GRACE`` seconds
  without a good reading it is a fault.
- **Over the ceiling** (``max_celsius``): a fault, whatever the relay is doing.
- **Stuck relay.** With the relay open for ``SETTLE_SECONDS`` (the heat already in the pad
  has spread), the pad warming ``STUCK_RISE`` within ``STUCK_WINDOW`` seconds means it heats
  on its own: a relay that failed closed (solid-state relays usually fail that way). A room
  that warms up does so far slower than a pad at full power.
- **No rise.** ``NO_RISE_SECONDS`` of closed relay without the pad warming ``NO_RISE_MIN``: a
  pad that is unplugged, a relay that failed open, or a sensor stuck on one value. The count
  goes on across the relay's offs (the pad cools then, and a healthy one rises from there),
  so switching a pad off and on again does not hide it; near its target a pad rises in short
  steps, each of which starts the count again.

A fault switches the pad off and locks it until a person clears it (HeatGuard).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hardware import Reading

from ..facts import HEAT_TARGET_MARGIN

#: seconds: a reading older than this counts as no reading
STALE_SECONDS = 10.0
#: seconds without a good reading before the sensor is a fault (one bad read is not)
SENSOR_GRACE = 10.0
#: °C below the target at which the relay may close again
HYSTERESIS = 0.5
#: seconds the relay must have been open before a rise means it is stuck closed
SETTLE_SECONDS = 60.0
#: °C of rise within STUCK_WINDOW seconds, with the relay settled open, that means stuck closed
STUCK_RISE = 1.0
STUCK_WINDOW = 120.0
#: seconds of closed relay without the pad warming by NO_RISE_MIN °C that is a fault
NO_RISE_SECONDS = 120.0
NO_RISE_MIN = 0.4  # under HYSTERESIS: a pad holding its target rises this much each time
#: seconds between looks at the sensor (the guard's step comes at least this often)
POLL_SECONDS = 2.0


class Thermometer(Protocol):
    """A pad's sensor: its newest reading, taken elsewhere (reading never waits here)."""

    sensor_id: str

    def latest(self) -> Reading | None: ...


class Fault(StrEnum):
    """What went wrong with a pad, as the page, the log and Home Assistant name it."""

    OVER_CEILING = "over_ceiling"
    STUCK_RELAY = "stuck_relay"
    NO_RISE = "no_rise"
    SENSOR = "sensor_failed"


@dataclass(frozen=True)
class FaultReport:
    """A pad's fault: its kind, what to tell a person, and the temperature then."""

    kind: Fault
    message: str
    celsius: float | None

    def to_dict(self) -> dict[str, object]:
        """Return the fault for the state, the ledger and events."""
        return {"kind": str(self.kind), "message": self.message, "celsius": self.celsius}


class Thermostat:
    """Watch one pad's sensor: when its relay may close, and when the pad has a fault."""

    def __init__(
        self,
        name: str,
        thermometer: Thermometer,
        *,
        max_celsius: float,
        targets: dict[str, float],
        started: float,
    ) -> None:
        self.name = name
        self.thermometer = thermometer
        self.max_celsius = max_celsius
        self.targets = dict(targets)
        self._last_good = started  # the newest good reading's time (the start, before one)
        self._calling = True  # below the target's hysteresis band: heat wanted
        #: what the last :meth:`allows` said: the pad is warming (not holding, not waiting)
        self.warming = False
        self._open_since: float | None = None  # when the relay was last seen opening
        #: (time, °C) of the good readings in the last STUCK_WINDOW since the relay settled open
        self._open_seen: deque[tuple[float, float]] = deque()
        self._rise_from: float | None = None  # no rise: the reading the count started at
        self._rise_closed = 0.0  # ... and the relay's closed seconds then

    def good(self, now: float) -> float | None:
        """Return the temperature if the newest reading is good and fresh, else None."""
        r = self.thermometer.latest()
        if r is None or r.error is not None or r.celsius is None:
            return None
        if not now - STALE_SECONDS <= r.at <= now + STALE_SECONDS:
            return None  # old, or from a clock that jumped: no reading
        return r.celsius

    def shown(self) -> float | None:
        """Return the newest good temperature for the page, fresh or not."""
        r = self.thermometer.latest()
        return None if r is None or r.error is not None else r.celsius

    def target(self, heat: str) -> float | None:
        """The temperature ``heat`` holds (None when off)."""
        return self.targets.get(heat)

    def allows(self, heat: str, now: float) -> bool:
        """True if the relay may close now for ``heat``: a good reading below its target."""
        celsius = self.good(now)
        target = self.target(heat)
        if celsius is None or target is None or celsius >= self.max_celsius or celsius >= target:
            self._calling = False
        elif celsius <= target - HYSTERESIS:
            self._calling = True
        self.warming = self._calling
        return self._calling

    def watch(self, now: float, *, relay_closed: bool, relay_seconds: float) -> FaultReport | None:
        """Look at the newest reading and the relay; return a fault if the pad has one."""
        celsius = self.good(now)
        if celsius is None:
            r = self.thermometer.latest()
            if now - self._last_good >= SENSOR_GRACE:
                why = "it does not answer" if r is None or r.error is None else r.error
                return FaultReport(
                    Fault.SENSOR,
                    f"{self.name}: its temperature sensor failed ({why}), so it is off and "
                    "will not heat. Check the sensor's wires, then allow heat again.",
                    None,
                )
            return None
        self._last_good = now
        if celsius >= self.max_celsius:
            return FaultReport(
                Fault.OVER_CEILING,
                f"{self.name} reached {celsius:.1f} °C, above its limit of "
                f"{self.max_celsius:g} °C: it is off. If it stays hot, unplug it.",
                celsius,
            )
        no_rise = self._no_rise(celsius, relay_closed, relay_seconds)
        if relay_closed:
            self._open_since = None
            self._open_seen.clear()
            return no_rise
        return self._stuck(celsius, now)

    def _stuck(self, celsius: float, now: float) -> FaultReport | None:
        if self._open_since is None:
            self._open_since = now
        if now - self._open_since < SETTLE_SECONDS:
            return None
        seen = self._open_seen
        while seen and (seen[0][0] < now - STUCK_WINDOW or seen[0][0] > now):
            seen.popleft()  # older than the window, or from before a clock went back
        if not seen or now - seen[-1][0] >= 1.0:  # the loop may step 60 times a second
            seen.append((now, celsius))
        low = min(celsius, *(c for _, c in seen))
        if celsius >= low + STUCK_RISE:
            return FaultReport(
                Fault.STUCK_RELAY,
                f"{self.name} keeps getting warmer while the hub has it off "
                f"({low:.1f} → {celsius:.1f} °C): its relay may be stuck on. "
                "Unplug the pad now, and have the relay checked.",
                celsius,
            )
        return None

    def _no_rise(
        self, celsius: float, relay_closed: bool, relay_seconds: float
    ) -> FaultReport | None:
        if self._rise_from is None or celsius >= self._rise_from + NO_RISE_MIN:
            self._rise_from, self._rise_closed = celsius, relay_seconds
            return None
        if not relay_closed:  # cooling: a healthy pad rises from its lowest
            self._rise_from = min(self._rise_from, celsius)
            return None
        if relay_seconds - self._rise_closed >= NO_RISE_SECONDS:
            return FaultReport(
                Fault.NO_RISE,
                f"{self.name} did not get warmer in {NO_RISE_SECONDS / 60:g} minutes of "
                f"heating (still {celsius:.1f} °C): it may be unplugged, or its sensor may "
                "not be on the pad. It is off; check it, then allow heat again.",
                celsius,
            )
        return None

    def clear(self, now: float) -> str | None:
        """Start watching afresh after a person cleared a fault; say why not if it still holds."""
        celsius = self.good(now)
        if celsius is None:
            return f"{self.name}'s temperature sensor still gives no good reading"
        if celsius >= self.max_celsius - HEAT_TARGET_MARGIN:
            return f"{self.name} is still {celsius:.1f} °C; let it cool first"
        self._last_good = now
        self._open_since = self._rise_from = None
        self._open_seen.clear()
        self._calling = True
        return None
