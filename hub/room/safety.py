"""The heat-pad safety guard: the only code that switches a heat pad on.

Rules (README.md, "Safety"):
1. A pad is never on for longer than ``max_on_minutes`` in one stretch; then it is
   forced off and locked for ``cooldown_minutes``. Switching off and on again does not
   start a new stretch: on-time adds up until the pad has been off for a whole
   ``cooldown_minutes``, so no client can keep a pad on by re-sending "on".
2. Every "on" carries its own expiry (a session's end, a routine's end, or a manual
   timeout); nothing can turn a pad on forever.
3. A pad with a temperature sensor holds each level's temperature, and a fault it shows
   (over its ceiling, a stuck relay, no rise, a failed sensor: hub/room/thermostat.py)
   switches it off and locks it until a person clears the fault (:meth:`HeatGuard.clear_fault`).
All three are enforced by :meth:`HeatGuard.check`, which the hub's control loop runs at every
step and schedules itself for the next expiry (and every few seconds for a sensed pad).

Rule 1 holds across restarts and crashes: every on/off transition is written to a ledger
(SQLite) *before* the relay closes, and :meth:`HeatGuard.restore` reads it at start. A pad
the ledger still shows on was never switched off by the hub (a crash, a power cut): it is
counted as on until the restart, the worst case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hardware import HeatPad

from ..errors import InvalidCommand, SafetyLocked
from ..facts import Owner
from .thermostat import POLL_SECONDS, Fault, FaultReport, Thermostat

log = logging.getLogger(__name__)


class Ledger(Protocol):
    """Where the guard keeps each pad's on-time record (the store)."""

    def load_heat_ledger(self) -> dict[str, dict[str, Any]]: ...
    def save_heat_ledger(
        self, pad_id: str, record: dict[str, Any], still: Callable[[], bool] | None = None
    ) -> None: ...


#: (boot id, monotonic seconds, wall seconds) of one moment, for records that outlive a process
Stamp = Callable[[], tuple[str, float, float]]


@dataclass
class PadLimits:
    """Safety limits of one pad, in seconds."""

    max_on: float
    cooldown: float
    manual_timeout: float


@dataclass
class PadState:
    """What the guard knows of one pad."""

    heat: str = "off"
    owner: str | None = None
    on_since: float | None = None
    #: on-seconds already used in this stretch before ``on_since`` (short offs don't reset it)
    used: float = 0.0
    off_at: float | None = None
    until: float | None = None
    locked_until: float | None = None
    last_trip: str | None = None
    #: a fault its sensor showed (FaultReport.to_dict()): off and locked until cleared
    fault: dict[str, Any] | None = None


#: a later fault replaces an earlier one only if it is worse (it says more to do)
FAULT_RANK = {Fault.SENSOR: 0, Fault.NO_RISE: 1, Fault.OVER_CEILING: 2, Fault.STUCK_RELAY: 3}


class HeatGuard:
    """Own the heat pads and enforce the time limits on them."""

    def __init__(
        self,
        pads: dict[str, HeatPad],
        limits: dict[str, PadLimits],
        *,
        ledger: Ledger | None = None,
        stamp: Stamp | None = None,
        thermostats: dict[str, Thermostat] | None = None,
    ) -> None:
        self._pads = pads
        self.limits = limits
        #: the pads with a temperature sensor
        self.thermostats = dict(thermostats or {})
        self.states = {pid: PadState() for pid in pads}
        self._ledger = ledger
        self._stamp = stamp
        #: why the last refused ``set`` of each pad was refused ("cooling_down" or "ledger")
        self.refusal: dict[str, str] = {}
        #: (pad, heat asked) -> the heat allowed: the session's people's ceilings (hub.limits)
        self.ceiling: Callable[[str, str], str] | None = None
        #: (what, write) -> None: writes an off-record after the relay opened (hub.recorder);
        #: None writes it at once
        self.record_later: Callable[[str, Callable[[], None]], None] | None = None
        self._generation = dict.fromkeys(pads, 0)  # each pad's newest record
        self._told: dict[str, tuple[float, float]] = {}  # the temperature last told, and when

    # --- the ledger ---------------------------------------------------------------------------

    def _record(self, pad_id: str, now: float, *, on: bool, used: float) -> dict[str, Any]:
        assert self._stamp is not None
        boot, mono, wall = self._stamp()
        state = self.states[pad_id]
        lock = self.lock_end(pad_id, now) if not on else None
        return {
            "boot": boot,
            "mono": now,
            "wall": wall - (mono - now),
            "on": on,
            "used": used,
            "off_ago": None if on or state.off_at is None else now - state.off_at,
            "lock_left": None if lock is None else lock - now,
            "fault": state.fault,
        }

    def _save(self, pad_id: str, now: float, *, on: bool, used: float) -> None:
        """Write the pad's record now; raises if the ledger cannot be written."""
        self._generation[pad_id] += 1
        if self._ledger is not None:
            self._ledger.save_heat_ledger(pad_id, self._record(pad_id, now, on=on, used=used))

    def _save_quietly(self, pad_id: str, now: float) -> None:
        """Record that the pad is off, after the fact: now, or when the disk answers.

        A record that waits is written only if no newer one (the pad on again) came after.
        Until it is written the ledger says "on", and a start after a crash assumes the
        worst, which is safe.
        """
        state = self.states[pad_id]
        self._generation[pad_id] += 1
        generation = self._generation[pad_id]
        if self._ledger is None:
            return
        ledger = self._ledger
        record = self._record(pad_id, now, on=False, used=state.used)

        def write() -> None:
            ledger.save_heat_ledger(
                pad_id, record, still=lambda: self._generation[pad_id] == generation
            )

        if self.record_later is not None:
            self.record_later(f"{pad_id}: its heat-off in the ledger", write)
            return
        try:
            write()
        except Exception:
            log.exception("%s: could not record its heat-off in the ledger", pad_id)

    def restore(self, now: float) -> list[str]:
        """Load the ledger at start (every pad is off now); return what it said, in words.

        Elapsed time comes from the monotonic clock, which holds within one boot. Across a
        reboot it is unknown: a Pi has no clock battery and NTP may step its wall clock
        either way, so no rest is credited and a pad that was on counts as on for its
        whole stretch (then cools down).
        """
        if self._ledger is None or self._stamp is None:
            return []
        boot, mono, wall = self._stamp()
        notes: list[str] = []
        for pid, rec in self._ledger.load_heat_ledger().items():
            if pid not in self.states:
                continue
            try:
                notes += self._restore_one(pid, rec, now, boot, mono, wall)
            except (KeyError, TypeError, ValueError):
                # an unreadable record: the worst case is a pad that used its whole stretch
                notes.append(f"{pid}: heat record unreadable; cooling down to be safe")
                self._restore_one(pid, {"on": True, "used": 0.0}, now, boot, mono, wall)
            self._save_quietly(pid, now)
        return notes

    def _restore_one(
        self, pid: str, rec: dict[str, Any], now: float, boot: str, mono: float, wall: float
    ) -> list[str]:
        state = self.states[pid]
        limits = self.limits[pid]
        notes: list[str] = []
        fault = rec.get("fault")
        if fault is not None:  # a fault outlives a restart: a person must clear it
            try:
                state.fault = {
                    "kind": str(Fault(fault["kind"])),
                    "message": str(fault["message"]),
                    "celsius": None if fault.get("celsius") is None else float(fault["celsius"]),
                }
            except (KeyError, TypeError, ValueError):  # unreadable: still a fault
                state.fault = {
                    "kind": str(Fault.SENSOR),
                    "message": f"{pid} had a fault the hub cannot read back: it is off. "
                    "Check the pad, then allow heat again.",
                    "celsius": None,
                }
            state.last_trip = state.fault["kind"]
            notes.append(f"{pid} still has a fault: {state.fault['message']}")
        elapsed: float | None = None
        if rec.get("boot") == boot and mono - float(rec["mono"]) >= 0:
            elapsed = mono - float(rec["mono"])
        used = float(rec["used"])
        if not 0 <= used < float("inf"):
            raise ValueError(f"bad used {used}")
        if rec["on"]:
            # never switched off by the hub: on until now, the worst case
            state.used = min(limits.max_on, used + (limits.max_on if elapsed is None else elapsed))
            state.off_at = now
            if state.used >= limits.max_on - 1.0:
                state.locked_until = now + limits.cooldown
                state.last_trip = "restart"
            return [
                *notes,
                f"{pid} was on when the service stopped without switching it off: counted as "
                f"on until now ({state.used / 60:.1f} of {limits.max_on / 60:g} min used)",
            ]
        rest = elapsed or 0.0  # unknown: no rest at all
        if rec.get("off_ago") is not None:
            state.used = used
            state.off_at = now - (float(rec["off_ago"]) + rest)
        lock_left = rec.get("lock_left")
        if lock_left is not None and float(lock_left) - rest > 0:
            state.locked_until = now + float(lock_left) - rest
            return [
                *notes,
                f"{pid} is still cooling down for {(float(lock_left) - rest) / 60:.1f} min",
            ]
        return notes

    @property
    def pad_ids(self) -> list[str]:
        """The ids of the pads."""
        return list(self._pads)

    def lock_end(self, pad_id: str, now: float) -> float | None:
        """When ``pad_id`` may go on again, or None if it may now.

        A pad is locked after a forced off, and also while it rests after using its whole
        stretch in pieces (its on-time only resets after ``cooldown`` off).
        """
        state = self.states[pad_id]
        limits = self.limits[pad_id]
        if state.locked_until is not None and now < state.locked_until:
            return state.locked_until
        if (
            state.on_since is None
            and state.off_at is not None
            and now - state.off_at < limits.cooldown
            and state.used >= limits.max_on - 1.0
        ):
            return state.off_at + limits.cooldown
        return None

    def locked(self, pad_id: str, now: float) -> bool:
        """True while ``pad_id`` is cooling down."""
        return self.lock_end(pad_id, now) is not None

    def validate(self, pad_id: str, heat: str, now: float, *, owner: str, seconds: float) -> None:
        """Raise if ``heat`` for ``seconds`` is not allowed now; change nothing.

        A manual request longer than the stretch limit is refused; sessions and routines
        are cut to it instead (by :meth:`set`).
        """
        if owner not in tuple(Owner):
            raise InvalidCommand(f"unknown heat owner {owner!r}")
        if heat == "off":
            return
        limits = self.limits[pad_id]
        if not seconds > 0:
            raise InvalidCommand("a heat pad needs a time limit in minutes, more than 0")
        if owner == "manual" and seconds > limits.max_on + 1e-9:
            raise InvalidCommand(
                f"{pad_id} may be on for at most {limits.max_on / 60:g} minutes at a time"
            )
        fault = self.states[pad_id].fault
        if fault is not None:
            raise SafetyLocked(f"{fault['message']} (It stays off until the fault is cleared.)")
        if self.locked(pad_id, now):
            left = (self.lock_end(pad_id, now) or now) - now
            raise SafetyLocked(
                f"{pad_id} reached its time limit and is cooling down; "
                f"it can be switched on again in {max(1, round(left / 60))} min"
            )

    def set(self, pad_id: str, heat: str, now: float, *, owner: str, seconds: float) -> bool:
        """Set ``heat`` on ``pad_id`` for at most ``seconds``; return False if locked.

        Raises InvalidCommand for a bad request. A locked pad stays off and returns False
        (sessions and scenes go on without heat; manual commands check :meth:`validate`).
        """
        if self.ceiling is not None:
            heat = self.ceiling(pad_id, heat)  # a person's heat limit, whoever asks
        if heat == "off":
            self.off(pad_id, now)
            return True
        try:
            self.validate(pad_id, heat, now, owner=owner, seconds=seconds)
        except SafetyLocked:
            self.refusal[pad_id] = "fault" if self.states[pad_id].fault else "cooling_down"
            return False
        state = self.states[pad_id]
        limits = self.limits[pad_id]
        if state.on_since is None:
            rested = state.off_at is None or now - state.off_at >= limits.cooldown
            used = 0.0 if rested else state.used
            try:
                self._save(pad_id, now, on=True, used=used)  # on record first, then the relay
            except Exception:
                log.exception("%s: cannot record heat in the ledger, so it stays off", pad_id)
                self.refusal[pad_id] = "ledger"
                return False
            state.used = used
            state.on_since = now
        # never past the stretch limit, whatever the caller asked for
        state.until = min(now + seconds, self.stretch_end(pad_id))
        state.owner = owner
        state.heat = heat
        try:
            thermostat = self.thermostats.get(pad_id)
            if thermostat is not None:  # the relay waits for a good reading below the target
                self._pads[pad_id].hold_off = not thermostat.allows(heat, now)
            self._pads[pad_id].set_heat(heat, now)
        except Exception:
            log.exception("%s: its output failed; switched off", pad_id)
            self._force_off(pad_id, now)
            self.refusal[pad_id] = "device_error"
            return False
        return True

    def off(self, pad_id: str, now: float, *, lock: bool = False) -> None:
        """Switch ``pad_id`` off now (and lock it for its cooldown when ``lock``)."""
        state = self.states[pad_id]
        self._pads[pad_id].off(now)
        state.heat = "off"
        state.owner = None
        was_on = state.on_since is not None
        if state.on_since is not None:
            state.used += now - state.on_since
            state.off_at = now
        state.on_since = None
        state.until = None
        if lock:
            state.locked_until = now + self.limits[pad_id].cooldown
            state.last_trip = "max_on"
        if was_on or lock:
            self._save_quietly(pad_id, now)

    def all_off(self, now: float) -> None:
        """Switch every pad off now; one that fails does not stop the others."""
        for pid in self._pads:
            try:
                self.off(pid, now)
            except Exception:
                log.exception("%s: switching it off failed; trying its output once more", pid)
                self._force_off(pid, now)

    def _force_off(self, pad_id: str, now: float) -> None:
        """Forget the pad's heat and drive its output off, whatever raised before."""
        state = self.states[pad_id]
        if state.on_since is not None:
            state.used += now - state.on_since
            state.off_at = now
        state.heat, state.owner, state.on_since, state.until = "off", None, None, None
        try:
            self._pads[pad_id].off()
        except Exception:
            log.exception("%s: its output cannot be switched off", pad_id)
        self._save_quietly(pad_id, now)

    def emergency_off(self) -> None:
        """Drive every pad's output off without touching any other state (watchdog path)."""
        for pid, pad in self._pads.items():
            try:
                pad.off()
            except Exception:
                log.exception("%s: its output cannot be switched off", pid)

    def release(self, owner: str, now: float) -> None:
        """Switch off every pad held by ``owner``."""
        for pid, state in self.states.items():
            if state.owner == owner:
                self.off(pid, now)

    def stretch_end(self, pad_id: str) -> float:
        """When the pad's current stretch reaches ``max_on`` (it must be on)."""
        state = self.states[pad_id]
        assert state.on_since is not None
        return state.on_since + self.limits[pad_id].max_on - state.used

    def check(self, now: float) -> tuple[list[tuple[str, str]], float | None]:
        """Enforce expiries, stretch limits and the sensors' faults at ``now``.

        Returns the pads it forced off, each with why (``max_on`` or a :class:`Fault`), and
        the next time to check.
        """
        tripped: list[tuple[str, str]] = []
        deadline: float | None = None
        for pid, state in self.states.items():
            pad = self._pads[pid]
            thermostat = self.thermostats.get(pid)
            if thermostat is not None:
                deadline = (
                    now + POLL_SECONDS if deadline is None else min(deadline, now + POLL_SECONDS)
                )
                report = thermostat.watch(
                    now, relay_closed=pad.relay_on, relay_seconds=pad.relay_seconds(now)
                )
                if report is not None and self._trip(pid, report, now):
                    tripped.append((pid, str(report.kind)))
                    continue
            if state.heat == "off":
                if pad.relay_on:  # belt and braces: an "off" pad's relay is open
                    pad.off()
                continue
            limits = self.limits[pid]
            assert state.on_since is not None and state.until is not None
            if now >= self.stretch_end(pid):
                log.warning(
                    "%s was on for %g min: forced off, cooling down", pid, limits.max_on / 60
                )
                self.off(pid, now, lock=True)
                tripped.append((pid, "max_on"))
                continue
            if now >= state.until:
                log.info("%s reached its time limit (%s): off", pid, state.owner)
                self.off(pid, now)
                continue
            if thermostat is not None:
                pad.hold_off = not thermostat.allows(state.heat, now)
            nxt = pad.update(now)
            for t in (nxt, state.until, self.stretch_end(pid)):
                if t is not None and (deadline is None or t < deadline):
                    deadline = t
        for state in self.states.values():
            if state.locked_until is not None:
                if now >= state.locked_until:
                    state.locked_until = None
                elif deadline is None or state.locked_until < deadline:
                    deadline = state.locked_until
        return tripped, deadline

    def _trip(self, pad_id: str, report: FaultReport, now: float) -> bool:
        """Switch the pad off for a fault and lock it; False if it already has one as bad."""
        state = self.states[pad_id]
        if (
            state.fault is not None
            and FAULT_RANK[Fault(state.fault["kind"])] >= FAULT_RANK[report.kind]
        ):
            return False
        log.warning("%s: %s", pad_id, report.message)
        was_on = state.on_since is not None
        state.fault = report.to_dict()
        state.last_trip = str(report.kind)
        self.off(pad_id, now)
        if not was_on:
            self._save_quietly(pad_id, now)  # the fault outlives a restart
        return True

    def clear_fault(self, pad_id: str, now: float) -> bool:
        """Let a person allow heat again after checking the pad; False if it had no fault.

        Raises SafetyLocked, saying why, while what caused it still holds.
        """
        state = self.states[pad_id]
        if state.fault is None:
            return False
        thermostat = self.thermostats.get(pad_id)
        why = thermostat.clear(now) if thermostat is not None else None
        if why is not None:
            raise SafetyLocked(f"{why}; the fault stays until then")
        log.info("%s: fault cleared by a person (%s)", pad_id, state.fault["kind"])
        state.fault = None
        self._save_quietly(pad_id, now)
        return True

    def temperature_news(self, now: float) -> dict[str, float]:
        """Return the pads whose temperature moved enough to tell (0.2 °C, at most every 5 s)."""
        news: dict[str, float] = {}
        for pid, thermostat in self.thermostats.items():
            shown = thermostat.shown()
            if shown is None:
                continue
            told = self._told.get(pid)
            if told is None or (abs(shown - told[0]) >= 0.2 and not 0 <= now - told[1] < 5.0):
                self._told[pid] = (shown, now)
                news[pid] = round(shown, 1)
        return news

    def pad_state(self, pad_id: str, now: float) -> dict[str, Any]:
        """Return a pad's state for the API (heat, on, owner, remaining and lock times)."""
        state = self.states[pad_id]
        pad = self._pads[pad_id]
        out = pad.state()
        out.update(
            relay=pad.relay_on,
            owner=state.owner,
            off_in_seconds=None if state.until is None else round(max(0.0, state.until - now), 1),
            locked_for_seconds=(
                round((self.lock_end(pad_id, now) or now) - now, 1)
                if self.locked(pad_id, now)
                else None
            ),
            max_on_minutes=self.limits[pad_id].max_on / 60,
            # the on-time of this stretch so far (it counts while the heat is on)
            on_seconds=round(
                state.used + (0.0 if state.on_since is None else now - state.on_since), 1
            ),
            fault=state.fault,
        )
        thermostat = self.thermostats.get(pad_id)
        if thermostat is not None:
            shown = thermostat.shown()
            out.update(
                temperature=None if shown is None else round(shown, 1),
                # False: the reading is old or bad, and the pad gets no heat until a good one
                temperature_fresh=thermostat.good(now) is not None,
                # True while it heats toward its target; False while it holds it (or waits)
                warming=state.heat != "off" and thermostat.warming,
                target_celsius=thermostat.target(state.heat),
                max_celsius=thermostat.max_celsius,
            )
        return out
