"""Cues that keep time for the therapist: a scene's timeline, run on the control loop.

:class:`CueController` is one loop part (``step(now) -> next deadline``), after the
session's. It reads the running session's massage time (the pre-warm and pauses do not
count: a pause shifts every cue) and its planned minutes (an extend moves the fractions
and the "minutes before the end"), so the session needs no hook of its own. At a cue:

- a soft chime (the speaker's ``cue_chime``: quieter than the end chime), while the music
  ducks to :data:`DUCK_TO` of its volume for :data:`DUCK_SECONDS`;
- a brief gentle dip of the lights (to :data:`DIP_TO` of their level, then back);
- a ``cue`` event (the therapist's screen shows its ``text`` and vibrates).

Light steps set lights with their fade. Each cue and step fires once per session; a cue
counted back from the end fires again if an extend moves it past the time already run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine.event_types import CueReached, Emit
from ..facts import Phase
from ..scenes.timeline import offset_seconds, parse_at

if TYPE_CHECKING:
    from hardware import Room

    from ..room.fader import Fader
    from .engine import SessionController
    from .session import Session

log = logging.getLogger(__name__)

DIP_TO = 0.6  # lights dip to 60 % of their level at a cue
DIP_SECONDS = 0.8  # down in this long, and back up in this long
DIP_HOLD = 1.5  # seconds after the cue the lights start back up
DUCK_TO = 0.4  # the music ducks to 40 % of its volume under a cue chime
DUCK_SECONDS = 3.0  # ... for this long, then comes back over DIP_SECONDS
EPS = 1e-6


@dataclass
class Restore:
    """Put ``device.attr`` back to ``value`` at ``at``, if it is still where the dip left it."""

    at: float
    device: str
    attr: str
    dipped: float
    value: float


def _end_relative(at: Any) -> bool:
    kind, value = parse_at(at)
    return kind == "minutes" and value < 0


class CueController:
    """Fire a session's cues and light steps at their times; dip and duck around cues."""

    def __init__(
        self,
        sessions: SessionController,
        room: Room,
        fader: Fader,
        emit: Emit,
        monotonic: Callable[[], float],
        chime: Callable[[], None],
    ) -> None:
        self._chime = chime
        self._sessions = sessions
        self._room = room
        self._fader = fader
        self._emit = emit
        self._monotonic = monotonic
        self._session_id: int | None = None
        self._fired: set[tuple[str, int]] = set()
        self._restores: list[Restore] = []
        self.last: dict[str, Any] | None = None

    # --- the loop part --------------------------------------------------------------------

    def step(self, now: float) -> float | None:
        """Fire what is due at ``now``; return when the next cue, step or restore is due."""
        due = self._run_restores(now)
        s = self._sessions.current
        if s is None or s.phase != Phase.ACTIVE or s.active_started is None:
            if s is None or s.phase in (Phase.FADE_OUT, Phase.ENDED):
                self._restores.clear()  # never undo a fade-out
            return min(due, default=None)
        if s.id != self._session_id:
            self._session_id, self._fired, self.last = s.id, set(), None
        elapsed = self.elapsed(s, now)
        total = s.minutes * 60
        for key, at, fire in self._items(s):
            offset = self._offset(at, total)
            if offset is None:
                continue
            if key in self._fired:
                if _end_relative(at) and offset > elapsed + EPS:
                    self._fired.discard(key)  # an extend moved it ahead: it comes again
                else:
                    continue
            if offset <= elapsed + EPS:
                self._fired.add(key)
                fire(now, elapsed)
            elif s.paused_at is None:
                due.append(now + offset - elapsed)
        due.extend(r.at for r in self._restores)
        return min(due, default=None)

    def make_safe(self, now: float) -> None:
        """After a failed step: forget pending dips (the lights stay where they are)."""
        self._restores.clear()

    # --- what it reads ----------------------------------------------------------------------

    @staticmethod
    def elapsed(s: Session, now: float) -> float:
        """Seconds of massage time run in session ``s`` (pauses excluded)."""
        if s.active_started is None:
            return s.active_seconds
        at = s.paused_at if s.paused_at is not None else now
        return s.active_seconds + max(0.0, at - s.active_started)

    @staticmethod
    def _offset(at: Any, total: float) -> float | None:
        kind, value = parse_at(at)
        if kind == "minutes" and value < 0 and total + value * 60 <= 0:
            return None  # "five minutes left" in a session shorter than that: no cue
        return offset_seconds(at, total)

    def _items(
        self, s: Session
    ) -> list[tuple[tuple[str, int], Any, Callable[[float, float], None]]]:
        items: list[tuple[tuple[str, int], Any, Callable[[float, float], None]]] = []
        for i, cue in enumerate(s.scene.timeline.cues):
            items.append(
                (("cue", i), cue.at, lambda now, el, c=cue: self._cue(s, c.text, c.at, now, el))
            )
        for i, step in enumerate(s.scene.timeline.lights):
            items.append(
                (("light", i), step.at, lambda now, el, st=step: self._light_step(st, now))
            )
        return items

    def state(self) -> dict[str, Any] | None:
        """The running session's cues: the last one fired and those to come (for the UI)."""
        s = self._sessions.current
        if s is None or not s.scene.timeline.cues:
            return None
        now = self._monotonic()
        elapsed = self.elapsed(s, now)
        total = s.minutes * 60
        upcoming = []
        same = s.id == self._session_id
        for i, cue in enumerate(s.scene.timeline.cues):
            offset = self._offset(cue.at, total)
            if offset is None or (same and ("cue", i) in self._fired):
                continue
            upcoming.append(
                {
                    "text": cue.text,
                    "at_minutes": round(offset / 60, 2),
                    "in_seconds": round(offset - elapsed, 1),
                }
            )
        upcoming.sort(key=lambda c: c["at_minutes"])
        return {"last": self.last if same else None, "upcoming": upcoming}

    # --- what it does -----------------------------------------------------------------------

    def _cue(self, s: Session, text: str, at: Any, now: float, elapsed: float) -> None:
        self.last = {"text": text, "at_minutes": round(elapsed / 60, 2), "session": s.id}
        log.info("cue: %s (%.1f min into session %s)", text, elapsed / 60, s.id)
        self._duck_and_chime(now)
        self._dip_lights(now)
        self._emit(
            CueReached(
                text=text,
                at=at,
                at_minutes=round(elapsed / 60, 2),
                session=s.id,
                scene=s.scene.id,
            )
        )

    def _light_step(self, step: Any, now: float) -> None:
        default = step.lights.get("*")
        for lid in self._room.lights:
            level = step.lights.get(lid, default)
            if level is not None:
                self._fader.start(lid, "level", float(level), step.fade_seconds, now)

    def _heading(self, device: str, attr: str, current: float) -> float:
        target = self._fader.target(device, attr)
        return current if target is None else target

    def _dip_lights(self, now: float) -> None:
        for lid, light in self._room.lights.items():
            level = self._heading(lid, "level", light.level)
            if level <= 0:
                continue
            dipped = level * DIP_TO
            self._fader.start(lid, "level", dipped, DIP_SECONDS, now)
            self._restores.append(Restore(now + DIP_HOLD, lid, "level", dipped, level))

    def _duck_and_chime(self, now: float) -> None:
        speaker = self._room.speaker
        if speaker is None:
            return
        try:
            sid = self._room.speaker_id
            volume = self._heading(sid, "volume", float(speaker.volume))
            if speaker.playing and volume > 0 and sid is not None:
                ducked = volume * DUCK_TO
                self._fader.start(sid, "volume", ducked, DIP_SECONDS / 2, now)
                self._restores.append(Restore(now + DUCK_SECONDS, sid, "volume", ducked, volume))
            self._chime()  # never the louder end chime instead; capped for the people present
        except Exception:  # a failing speaker must not stop the cue's other signs
            log.exception("the cue chime failed")

    def _current(self, device: str, attr: str) -> float:
        if attr == "level":
            return float(self._room.lights[device].level)
        speaker = self._room.speaker
        return float(speaker.volume) if speaker is not None else 0.0

    def _run_restores(self, now: float) -> list[float]:
        keep = []
        for r in self._restores:
            if r.at > now + EPS:
                keep.append(r)
                continue
            target = self._fader.target(r.device, r.attr)
            settled = target is None and abs(self._current(r.device, r.attr) - r.dipped) < 1e-3
            if settled or (target is not None and abs(target - r.dipped) < 1e-6):
                # still dipped (or settled there): nobody else has moved it since
                self._fader.start(r.device, r.attr, r.value, DIP_SECONDS, now)
        self._restores = keep
        return [r.at for r in keep]
