"""The room's energy meter: each pad's relay on-time and each light's PWM duty, times its watts.

A pad draws ``heat_pads.<id>.watts`` while its relay is closed: its energy is that times
:meth:`hardware.HeatPad.relay_seconds`, the relay's real closed time (the duty cycle as it
happened, not as it was asked).

A light draws ``lights.<id>.watts`` times its PWM duty: the strip's current flows only in
the on part of each PWM period, so its average power follows the duty the pin emits
(:meth:`hardware.DimmableLight.duty_for` of its level, after gamma and the minimum duty),
not the perceived level (50 % perceived is about 22 % duty at gamma 2.2). The duty is
constant between writes, so the meter is told of every write (each fade tick, each command,
all-off) and integrates exactly what was written, piece by piece.

The lifetime total (base saved on disk + this process's count) goes to the store about once
a minute while it grows, at each session's end and at a clean stop; a crash loses at most the
last minute's energy (never more than every device's watts for :data:`SAVE_EVERY` seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hardware import Room

from ..config.model import Config

SAVE_EVERY = 60.0  # seconds: how often a growing total is written (an SD card wears)
JOULES_PER_KWH = 3.6e6


def counts_energy(config: Config) -> bool:
    """True if any light or pad has its watts in the config (else the room has no energy)."""
    lights = any(lc.watts is not None for lc in config.lights.values())
    return lights or any(pc.watts is not None for pc in config.heat_pads.values())


class EnergyMeter:
    """Count the room's energy in kWh: in all, and for each session."""

    def __init__(
        self,
        config: Config,
        room: Room,
        *,
        clock: Callable[[], float],
        base_kwh: float = 0.0,
        save: Callable[[float], None] | None = None,
    ) -> None:
        self._clock = clock
        self._save = save
        self.price = config.energy.price_per_kwh
        self.currency = config.energy.currency
        self._pads = {
            pid: (room.heat_pads[pid], float(pc.watts))
            for pid, pc in config.heat_pads.items()
            if pc.watts is not None and pid in room.heat_pads
        }
        self._lights = {
            lid: (room.lights[lid], float(lc.watts))
            for lid, lc in config.lights.items()
            if lc.watts is not None and lid in room.lights
        }
        self._base = float(base_kwh)
        now = clock()
        self._light_joules = 0.0  # every light's energy before its last write
        #: each counted light's last write: (when, its watts from then on)
        self._light_since = {lid: (now, self._light_watts(lid)) for lid in self._lights}
        self._saved = self._base  # the total last handed to the store
        self._last_save = now
        self._session_mark: float | None = None  # the total when the session began

    @property
    def counted(self) -> bool:
        """True if any light or pad has its watts in the config (else there is no energy)."""
        return bool(self._pads or self._lights)

    def _light_watts(self, lid: str) -> float:
        light, watts = self._lights[lid]
        return watts * light.duty_for(light.level)

    # --- what the room tells it -----------------------------------------------------------------

    def light_written(self, lid: str) -> None:
        """A light's level was written: close its last piece, start one at its new duty."""
        if lid not in self._lights:
            return
        now = self._clock()
        since, watts = self._light_since[lid]
        self._light_joules += watts * max(0.0, now - since)
        self._light_since[lid] = (now, self._light_watts(lid))

    def lights_written(self) -> None:
        """Every light may have changed (all-off)."""
        for lid in self._lights:
            self.light_written(lid)

    # --- readings -------------------------------------------------------------------------------

    def watts(self) -> float:
        """The room's power now, in W, from the counted devices."""
        pads = sum(w for pad, w in self._pads.values() if pad.relay_on)
        return pads + sum(w for _, w in self._light_since.values())

    def total_kwh(self, now: float) -> float:
        """The room's lifetime energy up to ``now``, in kWh."""
        joules = self._light_joules
        joules += sum(w * max(0.0, now - since) for since, w in self._light_since.values())
        joules += sum(w * pad.relay_seconds(now) for pad, w in self._pads.values())
        return self._base + joules / JOULES_PER_KWH

    def cost(self, kwh: float) -> float | None:
        """What ``kwh`` cost at the configured price (None without a price)."""
        return None if self.price is None else kwh * self.price

    def state(self) -> dict[str, Any] | None:
        """The meter for the API (None when no device has watts): total, power, the session's."""
        if not self.counted:
            return None
        now = self._clock()
        total = self.total_kwh(now)
        session = None if self._session_mark is None else max(0.0, total - self._session_mark)
        return {
            "total_kwh": round(total, 6),
            # what a restart (or a crash) would start again from: at most a minute behind
            "saved_kwh": round(self._saved, 6),
            "watts": round(self.watts(), 1),
            "session_kwh": None if session is None else round(session, 6),
            "session_cost": None if session is None else _money(self.cost(session)),
            "price_per_kwh": self.price,
            "currency": self.currency,
        }

    # --- sessions -------------------------------------------------------------------------------

    def session_started(self, now: float) -> None:
        """Mark the start of a session's count."""
        self._session_mark = self.total_kwh(now)

    def session_ended(self, now: float) -> dict[str, Any] | None:
        """Return the session's ``kwh``, ``cost`` and ``currency`` (None when not counted)."""
        mark, self._session_mark = self._session_mark, None
        if not self.counted or mark is None:
            return None
        kwh = max(0.0, self.total_kwh(now) - mark)
        return {
            "kwh": round(kwh, 6),
            "cost": _money(self.cost(kwh)),
            "currency": self.currency if self.price is not None else None,
        }

    # --- saving ---------------------------------------------------------------------------------

    def save(self, now: float) -> None:
        """Hand the total to the store if it grew since it was last saved."""
        total = self.total_kwh(now)
        self._last_save = now
        if self._save is None or total <= self._saved:
            return
        self._saved = total
        self._save(total)

    def step(self, now: float) -> float | None:
        """Save a grown total once :data:`SAVE_EVERY` has passed; return when to look again."""
        if not self.counted:
            return None
        unsaved = self.total_kwh(now) > self._saved
        due = self._last_save + SAVE_EVERY
        if unsaved and now >= due:
            self.save(now)
            due = now + SAVE_EVERY
        elif due <= now:
            # nothing to save yet: the minute starts now, so a crash loses at most one
            self._last_save = now
            due = now + SAVE_EVERY
        return due if unsaved or self.watts() > 0 else None


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
