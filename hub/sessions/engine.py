"""Sessions: prepare (pre-warm) -> active -> fade-out -> ended, with pause and extend.

:class:`~hub.sessions.session.Session` is one session's timeline; :class:`SessionController` runs
them: the control loop calls :meth:`SessionController.step` at each phase's end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..command_models import SessionExtend, SessionStart
from ..config.model import Config
from ..engine.event_types import Emit, SessionChanged
from ..errors import Conflict, InvalidCommand, NotFound
from ..facts import MAX_FADE_SECONDS, HeatLevel, Owner, Phase, SessionMoment
from ..people.limits import merge
from ..room.devices import DeviceController
from ..room.energy import EnergyMeter
from ..scenes.library import SceneLibrary
from ..scenes.scene import Scene
from ..store.database import Store
from .session import Session

log = logging.getLogger(__name__)


def _real(value: Any) -> bool:
    """True for a finite int or float (not a bool, string or NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


class SessionController:
    """Start, pause, resume, extend and stop sessions; run their phases on the clock."""

    def __init__(
        self,
        config: Config,
        store: Store,
        devices: DeviceController,
        scenes: SceneLibrary,
        *,
        wall: Callable[[], datetime],
        wall_iso: Callable[[], str],
        zone: Any,
        emit: Emit,
        record: Callable[[str, Callable[[], None]], None] | None = None,
        energy: EnergyMeter | None = None,
    ) -> None:
        self.config = config
        self._store = store
        #: writes what can follow the deed (an extend's length, a session's end): hub.recorder
        self._record = record or (lambda what, write: write())
        self._devices = devices
        self._guard = devices.guard
        self._scenes = scenes
        self._wall = wall
        self._wall_iso = wall_iso
        self._zone = zone
        self._emit = emit
        self._energy = energy
        self.current: Session | None = None
        self.last: dict[str, Any] | None = None
        self.interrupted: list[dict[str, Any]] = []

    @property
    def running(self) -> bool:
        """True while a session is before its fade-out (it owns heat then)."""
        return self.current is not None and self.current.phase in (Phase.PREPARE, Phase.ACTIVE)

    def state(self, now: float) -> dict[str, Any] | None:
        """The running session for the API (with its people's limits), or None."""
        if self.current is None:
            return None
        out = self.current.to_dict(now, self._zone)
        people = self.current.people
        out["limits"] = people.limits(self._guard.pad_ids) if people is not None else None
        return out

    def mark_interrupted(self) -> None:
        """Note the sessions a crash or power cut interrupted (at start; outputs stay off)."""
        self.interrupted = self._store.mark_interrupted(self._wall_iso())
        for row in self.interrupted:
            log.warning(
                "session %s (%s) was interrupted when the service stopped; outputs stay off",
                row["id"],
                row["scene"],
            )

    # --- commands ---------------------------------------------------------------------------

    def start(
        self, cmd: SessionStart, source: str, now: float, people: Any = None, fixed: Any = None
    ) -> dict[str, Any]:
        """Start a session (pre-warm, then the scene) for ``people``; 409 if one is running.

        ``fixed`` are a therapist's link's people: they stay whatever the table says later.
        """
        if self.current is not None:
            if self.current.phase == Phase.FADE_OUT:
                raise Conflict("the last session is still fading out; stop it again to end it now")
            raise Conflict("a session is already running; stop it first")
        c = self.config.session
        sc = self._scenes.get(cmd.scene or c.default_scene)
        total = next(m for m in (cmd.minutes, sc.default_minutes, c.default_minutes) if m)
        if total > c.max_minutes:
            raise InvalidCommand(f"minutes: must be at most {c.max_minutes:g} (got {total:g})")
        prewarm = 0.0
        if sc.has_heat(self._guard.pad_ids):
            pm = sc.prewarm_minutes
            prewarm = (c.prewarm_minutes if pm is None else pm) * 60
        session_id = self._store.session_started(sc.id, sc.name, total, self._wall_iso(), source)
        if self._energy is not None:
            self._energy.session_started(now)
        self.current = s = Session(
            id=session_id,
            scene=sc,
            minutes=total,
            source=source,
            started_wall=self._wall(),
            phase=Phase.PREPARE,
            phase_end=now + prewarm,
            people=merge(fixed, people),
            fixed=fixed,
        )
        self._devices.hold_to_limits(now)  # their limits hold from the first moment
        if prewarm > 0:
            self._prepare(now)
        else:
            self._activate(now)
        self.interrupted = []  # a new session answers the "interrupted" notice
        self._action(SessionMoment.STARTED, phase=s.phase)
        return s.to_dict(now, self._zone)

    def require(self, *phases: Phase) -> Session:
        """The running session (in one of ``phases``), or Conflict."""
        if self.current is None:
            raise Conflict("no session is running")
        if phases and self.current.phase not in phases:
            raise Conflict(f"the session is in its {self.current.phase.replace('_', '-')} phase")
        return self.current

    def pause(self, now: float) -> dict[str, Any]:
        """Pause the countdown and the music (heat stays within its limits)."""
        s = self.require(Phase.PREPARE, Phase.ACTIVE)
        if s.paused:
            raise Conflict("the session is already paused")
        s.paused_at = now
        self._devices.pause_music()
        self._action(SessionMoment.PAUSED, phase=s.phase)
        return s.to_dict(now, self._zone)

    def resume(self, now: float) -> dict[str, Any]:
        """Resume a paused session; heat is renewed for the time left."""
        s = self.require(Phase.PREPARE, Phase.ACTIVE)
        if not s.paused:
            raise Conflict("the session is not paused")
        self._resume_at(now)
        self._renew_heat(now)
        self._action(SessionMoment.RESUMED, phase=s.phase)
        return s.to_dict(now, self._zone)

    def extend(self, cmd: SessionExtend, now: float) -> dict[str, Any]:
        """Add minutes to the session (before its fade-out)."""
        s = self.require(Phase.PREPARE, Phase.ACTIVE)
        total = s.minutes + cmd.minutes
        limit = self.config.session.max_minutes
        if total > limit:
            raise InvalidCommand(
                f"minutes: a session may last at most {limit:g} minutes ({s.minutes:g} planned)"
            )
        sid = s.id
        self._record(
            f"session {sid}: {total:g} minutes", lambda: self._store.session_planned(sid, total)
        )
        s.minutes = total
        if s.phase == Phase.ACTIVE:
            s.phase_end += cmd.minutes * 60
        if not s.paused:
            self._renew_heat(now)
        self._action(SessionMoment.EXTENDED, phase=s.phase, minutes=total)
        return s.to_dict(now, self._zone)

    def stop(self, now: float) -> None:
        """Stop with the scene's fade-out; a second stop during the fade-out ends it now.

        A stop during the pre-warm ends the session at once: only the pad was on, and
        there are no lights or music to fade.
        """
        s = self.require()
        if s.paused:
            self._resume_at(now)
        if s.phase in (Phase.FADE_OUT, Phase.PREPARE):
            self.end(s.end_reason or "stopped", now)
        else:
            self._fade_out(now, "stopped")
            self._action(SessionMoment.FADE_OUT, phase=s.phase)

    def people_changed(self, profile: dict[str, Any], now: float) -> None:
        """A profile changed: if they are in the session, its limits follow at once."""
        s = self.current
        if s is not None and s.people is not None and s.people.has(profile["id"]):
            s.people = s.people.with_profile(profile)
            if s.fixed is not None and s.fixed.has(profile["id"]):
                s.fixed = s.fixed.with_profile(profile)
            self._devices.hold_to_limits(now)

    def table_changed(self, people: Any, now: float) -> bool:
        """Who is on the table changed: the session is for them now (and its link's people).

        Return True if a session took them.
        """
        s = self.current
        if s is None:
            return False
        s.people = merge(s.fixed, people)
        self._devices.hold_to_limits(now)
        return True

    def dismiss_interrupted(self) -> None:
        """Forget the notice about a session that a crash or power cut interrupted."""
        if not self.interrupted:
            raise NotFound("no interrupted session to dismiss")
        self.interrupted = []
        self._action(SessionMoment.INTERRUPTED_DISMISSED)

    def history(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Return past sessions, newest first."""
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (limit, offset))
        if not (ints and 1 <= limit <= 500 and offset >= 0):
            raise InvalidCommand("limit must be 1-500 and offset 0 or more")
        return self._store.history(limit, offset)

    def _action(
        self,
        action: SessionMoment,
        *,
        phase: str | None = None,
        minutes: float | None = None,
        reason: str | None = None,
        scene: Scene | None = None,
    ) -> None:
        """Tell listeners what happened, and to which scene's session."""
        if scene is None and self.current is not None:
            scene = self.current.scene
        self._emit(
            SessionChanged(
                action=action,
                phase=phase,
                minutes=minutes,
                reason=reason,
                scene=scene.id if scene is not None else None,
                scene_name=scene.name if scene is not None else None,
            )
        )

    def apply_scene(
        self,
        scene: Scene,
        now: float,
        fade_seconds: Any = None,
        owner: Any = Owner.MANUAL,
        heat_seconds: Any = None,
    ) -> None:
        """Apply ``scene`` now; in a running session its heat belongs to the session."""
        if fade_seconds is not None and not (
            _real(fade_seconds) and 0 <= fade_seconds <= MAX_FADE_SECONDS
        ):
            raise InvalidCommand(f"fade_seconds: must be a number from 0 to {MAX_FADE_SECONDS:g}")
        if heat_seconds is not None and not (_real(heat_seconds) and heat_seconds > 0):
            raise InvalidCommand("heat_seconds: must be a number of seconds, more than 0")
        if owner not in tuple(Owner):
            raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(Owner)}")
        # a session in its fade-out no longer owns heat: the scene is then a manual one
        if self.running:
            owner = Owner.SESSION
            heat_seconds = self.heat_seconds(now)
        fade = scene.fade_seconds if fade_seconds is None else fade_seconds
        asked = self._devices.apply_scene(
            scene, now, fade=fade, owner=owner, heat_seconds=heat_seconds, music=True
        )
        if owner == Owner.SESSION:
            self.scene_applied(asked)

    # --- heat ownership ---------------------------------------------------------------------

    def heat_seconds(self, now: float) -> float:
        """How long session heat may stay on from ``now``: the time left."""
        assert self.current is not None
        return max(1.0, self.current.remaining(now))

    def pad_taken(self, pid: str) -> None:
        """A routine changed ``pid``: the session no longer renews it."""
        if self.current is not None:
            self.current.heat_pads.discard(pid)

    def pad_set(self, pid: str, heat: str) -> None:
        """A person set ``pid`` by hand in the session: it stays the session's (off: leaves it)."""
        if self.current is not None:
            if heat == HeatLevel.OFF:
                self.current.heat_pads.discard(pid)
            else:
                self.current.heat_pads.add(pid)

    def scene_applied(self, asked: dict[str, str]) -> None:
        """A scene applied in the session hands its pads to the session, heat or not."""
        if self.current is None:
            return
        for pid, heat in asked.items():
            if heat != HeatLevel.OFF:
                self.current.heat_pads.add(pid)
            else:
                self.current.heat_pads.discard(pid)

    def _renew_heat(self, now: float) -> None:
        s = self.current
        assert s is not None
        for pid, heat in s.scene.heat_levels(self._guard.pad_ids).items():
            state = self._guard.states[pid]
            # only pads it still owns (on, or timed out or tripped since), never one the user took
            if (
                heat != HeatLevel.OFF
                and pid in s.heat_pads
                and state.owner in (Owner.SESSION, None)
            ):
                current = state.heat if state.heat != HeatLevel.OFF else heat
                self._devices.heat(
                    pid, current, now, owner=Owner.SESSION, seconds=self.heat_seconds(now)
                )

    # --- the timeline -----------------------------------------------------------------------

    def _prepare(self, now: float) -> None:
        s = self.current
        assert s is not None
        for pid, heat in s.scene.heat_levels(self._guard.pad_ids).items():
            if heat != HeatLevel.OFF:
                s.heat_pads.add(pid)
                self._devices.heat(
                    pid, heat, now, owner=Owner.SESSION, seconds=self.heat_seconds(now)
                )
        self._devices.set_diffuser(s.scene.diffuser, now)

    def _activate(self, now: float) -> None:
        s = self.current
        assert s is not None
        s.phase = Phase.ACTIVE
        s.active_started = now
        s.phase_end = now + s.minutes * 60
        asked = self._devices.apply_scene(
            s.scene,
            now,
            fade=s.scene.fade_seconds,
            owner=Owner.SESSION,
            heat_seconds=self.heat_seconds(now),
            music=True,
        )
        self.scene_applied(asked)

    def _fade_out(self, now: float, reason: str) -> None:
        s = self.current
        assert s is not None
        if s.phase == Phase.ACTIVE and s.active_started is not None:
            s.active_seconds += now - s.active_started
        s.active_started = None
        s.phase = Phase.FADE_OUT
        s.end_reason = reason
        s.phase_end = now + s.scene.fade_out_seconds
        self._guard.release(Owner.SESSION, now)
        self._devices.fade_out(s.scene.fade_out_seconds, now)

    def _resume_at(self, now: float) -> None:
        s = self.current
        assert s is not None and s.paused_at is not None
        gap = now - s.paused_at
        s.phase_end += gap
        if s.active_started is not None:
            s.active_started += gap
        s.paused_at = None
        if s.phase == Phase.ACTIVE:
            self._devices.resume_music(now)

    def end(self, reason: str, now: float, *, chime: bool = False) -> None:
        """End the session now: everything off, history written, listeners told.

        Nothing that fails here (a chime, the disk) can keep the session running.
        """
        s = self.current
        assert s is not None
        in_warm_up = s.phase == Phase.PREPARE  # the massage never began: said so at the end
        if s.phase == Phase.ACTIVE and s.active_started is not None:
            s.active_seconds += (s.paused_at or now) - s.active_started
            s.active_started = None
        s.phase = Phase.ENDED
        s.end_reason = reason
        loudest = self._devices.sound_cap()  # the session's people's, before they leave it
        self.current = None
        # everything goes off at the end, manual heat too
        self._devices.all_off(now)
        if chime:
            self._devices.chime(loudest)
        actual = s.active_seconds / 60
        ended_at = self._wall_iso()
        # everything is off by now: the count is whole, the pre-warm and fade-out included
        energy = self._energy.session_ended(now) if self._energy is not None else None
        self._record(
            f"session {s.id}: its end",
            lambda: self._store.session_ended(s.id, actual, ended_at, reason, energy),
        )
        if self._energy is not None:
            self._energy.save(now)  # after the session's own record, which it must not delay
        self.last = {
            "id": s.id,
            "scene": s.scene.id,
            "scene_name": s.scene.name,
            "planned_minutes": s.minutes,
            "actual_minutes": round(actual, 2),
            "end_reason": reason,
            "in_warm_up": in_warm_up,
            "ended_at": self._wall_iso(),
            "people": [p.to_dict() for p in s.people.people] if s.people else [],
            # null when no device has watts (nothing is shown then)
            "energy_kwh": energy["kwh"] if energy else None,
            "energy_cost": energy["cost"] if energy else None,
            "energy_currency": energy["currency"] if energy else None,
        }
        self._action(SessionMoment.ENDED, phase=Phase.ENDED, reason=reason, scene=s.scene)

    def step(self, now: float) -> float | None:
        """Move the session through the phases due at ``now``; return the next phase end."""
        s = self.current
        if s is None:
            return None
        if s.paused_at is not None:
            limit = s.paused_at + self.config.session.max_pause_minutes * 60
            if now >= limit:
                log.info("session paused too long: stopping")
                self._resume_at(now)
                self._fade_out(now, "pause_timeout")
                self._action(SessionMoment.FADE_OUT, phase=Phase.FADE_OUT)
                return now
            return limit
        for _ in range(len(Phase)):  # at most one pass per phase: never spins
            s = self.current
            if s is None or now < s.phase_end:
                break
            if s.phase == Phase.PREPARE:
                self._activate(now)
                self._action(SessionMoment.ACTIVE, phase=Phase.ACTIVE)
            elif s.phase == Phase.ACTIVE:
                self._fade_out(now, "completed")
                self._action(SessionMoment.FADE_OUT, phase=Phase.FADE_OUT)
            else:
                self.end(s.end_reason or "completed", now, chime=True)
        return self.current.phase_end if self.current is not None else None

    def make_safe(self, now: float) -> None:
        """After a failed step: end the session, everything off."""
        if self.current is not None:
            self.end("error", now)
