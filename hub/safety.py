"""The heat-pad safety guard: the only code that switches a heat pad on.

Rules (DESIGN.md, "Safety"):
1. A pad is never on for longer than ``max_on_minutes`` in one stretch; then it is
   forced off and locked for ``cooldown_minutes``. Switching off and on again does not
   start a new stretch: on-time adds up until the pad has been off for a whole
   ``cooldown_minutes``, so no client can keep a pad on by re-sending "on".
2. Every "on" carries its own expiry (a session's end, a routine's end, or a manual
   timeout); nothing can turn a pad on forever.
Both are enforced by :meth:`HeatGuard.check`, which the hub's control loop runs at every
step and schedules itself for the next expiry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hardware import HeatPad

from .errors import InvalidCommand, SafetyLocked

log = logging.getLogger(__name__)

OWNERS = ("session", "routine", "manual")


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


class HeatGuard:
    """Own the heat pads and enforce the time limits on them."""

    def __init__(self, pads: dict[str, HeatPad], limits: dict[str, PadLimits]) -> None:
        self._pads = pads
        self.limits = limits
        self.states = {pid: PadState() for pid in pads}

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
        if owner not in OWNERS:
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
        if heat == "off":
            self.off(pad_id, now)
            return True
        try:
            self.validate(pad_id, heat, now, owner=owner, seconds=seconds)
        except SafetyLocked:
            return False
        state = self.states[pad_id]
        limits = self.limits[pad_id]
        if state.on_since is None:
            rested = state.off_at is None or now - state.off_at >= limits.cooldown
            if rested:
                state.used = 0.0
            state.on_since = now
        # never past the stretch limit, whatever the caller asked for
        state.until = min(now + seconds, self.stretch_end(pad_id))
        state.owner = owner
        state.heat = heat
        self._pads[pad_id].set_heat(heat, now)
        return True

    def off(self, pad_id: str, now: float) -> None:
        """Switch ``pad_id`` off now."""
        state = self.states[pad_id]
        self._pads[pad_id].off(now)
        state.heat = "off"
        state.owner = None
        if state.on_since is not None:
            state.used += now - state.on_since
            state.off_at = now
        state.on_since = None
        state.until = None

    def all_off(self, now: float) -> None:
        """Switch every pad off now."""
        for pid in self._pads:
            self.off(pid, now)

    def emergency_off(self) -> None:
        """Drive every pad's output off without touching any other state (watchdog path)."""
        for pad in self._pads.values():
            pad.off()

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

    def check(self, now: float) -> tuple[list[str], float | None]:
        """Enforce expiries and stretch limits at ``now``.

        Returns the pads forced off by the stretch limit and the next time to check.
        """
        tripped: list[str] = []
        deadline: float | None = None
        for pid, state in self.states.items():
            pad = self._pads[pid]
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
                self.off(pid, now)
                state.locked_until = now + limits.cooldown
                state.last_trip = "max_on"
                tripped.append(pid)
                continue
            if now >= state.until:
                log.info("%s reached its time limit (%s): off", pid, state.owner)
                self.off(pid, now)
                continue
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
        )
        return out
