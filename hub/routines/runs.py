"""What a running routine does: a session, a scene for a while, or a wind-down, and the end.

:class:`RoutineRuns` starts a routine's action through the hub's public commands and
queries only, and keeps the routines that are running. A scene or a wind-down is an
:class:`ActiveRun`: steps at wall-clock times, run when the controller's step finds them
due (:meth:`RoutineRuns.step`), or at once, the ones that switch things off, when a run is
cut short. The newest routine takes over the room; a session or all-off ends every run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..engine.event_types import AllOff, RoutinesChanged, SessionChanged
from ..errors import Conflict, InvalidCommand, NotFound
from ..facts import MAX_FADE_SECONDS, DeviceKind, HeatLevel, Owner, SessionMoment
from .models import Action, SceneAction, SessionAction, WindDownAction

if TYPE_CHECKING:
    from ..config.model import SessionConfig
    from ..core import Hub
    from ..engine.events import Event

log = logging.getLogger(__name__)

END_FADE_SECONDS = 5.0

#: the steps of a run that switch things off; they still run when a run is cut short
FINISH_STEPS = ("diffuser off", "end", "music off")


@dataclass
class ActiveRun:
    """A routine run in progress: steps still to do, at wall-clock times."""

    routine_id: str
    steps: list[tuple[datetime, str, Callable[[], None]]] = field(default_factory=list)

    def add(self, at: datetime, label: str, fn: Callable[[], None]) -> None:
        """Add a step (kept in time order)."""
        self.steps.append((at, label, fn))
        self.steps.sort(key=lambda s: s[0])

    def finish_now(self, labels: tuple[str, ...]) -> None:
        """Run the pending steps named in ``labels`` now, and drop the rest."""
        steps, self.steps = self.steps, []
        for _, label, fn in steps:
            if label in labels:
                try:
                    fn()
                except Exception:
                    log.exception("routine %s: step %r failed", self.routine_id, label)


class RoutineRuns(Mapping[str, ActiveRun]):
    """The routines running now, by id; start, step and end them on one hub's public surface."""

    def __init__(self, hub: Hub, session: SessionConfig) -> None:
        self.hub = hub
        self.session = session
        self._runs: dict[str, ActiveRun] = {}

    def __getitem__(self, rid: str) -> ActiveRun:
        return self._runs[rid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)

    def next_steps(self) -> list[datetime]:
        """Return the time of each run's next step."""
        return [run.steps[0][0] for run in self._runs.values() if run.steps]

    def step(self, now: datetime) -> None:
        """Run every step due by ``now``; a run with none left is finished."""
        for run in list(self._runs.values()):
            while run.steps and run.steps[0][0] <= now:
                _, label, fn = run.steps.pop(0)
                try:
                    fn()
                except Exception:
                    log.exception("routine %s: step %r failed", run.routine_id, label)
            if not run.steps and self._runs.get(run.routine_id) is run:
                del self._runs[run.routine_id]
                self.hub.devices.release_heat("routine")  # even if its "end" step failed
                self.hub.emit(RoutinesChanged(routine=run.routine_id, outcome="finished"))

    def end(self, rid: str, labels: tuple[str, ...] = FINISH_STEPS) -> None:
        """Stop a run now: its switching-off steps run, and no pad stays on for it."""
        self._runs.pop(rid).finish_now(labels)
        self.hub.devices.release_heat("routine")

    def clear(self) -> None:
        """Forget every run (the hub switches off what they switched on)."""
        self._runs.clear()

    def on_event(self, event: Event) -> None:
        """Cancel running routines when a session starts or everything is switched off."""
        if not self._runs:
            return
        payload = event.payload
        session_started = (
            isinstance(payload, SessionChanged) and payload.action == SessionMoment.STARTED
        )
        if isinstance(payload, AllOff) or session_started:
            for rid in list(self._runs):
                log.info("routine %s: stopped (%s)", rid, event.type)
            self._runs.clear()
            if session_started:  # the session heats what it wants; the routine's heat ends
                self.hub.devices.release_heat("routine")

    def _ids(self, kind: DeviceKind) -> list[str]:
        return [d.id for d in self.hub.devices.info() if d.kind == kind]

    def problems(self, a: Action) -> list[str]:
        """List what ``a`` names that this hub has not: scenes, lights, playlists, a diffuser."""
        hub = self.hub
        problems: list[str] = []
        scene_id = getattr(a, "scene", None)
        if scene_id is not None:
            try:
                hub.scenes.get(scene_id)
            except NotFound as exc:
                problems.append(f"action.scene: {exc.message}")
        if isinstance(a, SessionAction) and a.minutes is not None:
            top = self.session.max_minutes
            if a.minutes > top:
                problems.append(f"action.minutes: a session may last at most {top:g} minutes")
        if isinstance(a, WindDownAction):
            room = self._ids(DeviceKind.LIGHT)
            for lid in a.lights or []:
                if lid not in room:
                    problems.append(
                        f"action.lights: no light called {lid!r} (lights: {', '.join(room)})"
                    )
            if a.lights is not None and not a.lights:
                problems.append("action.lights: choose at least one light, or leave it out")
            if a.playlist is not None:
                have = hub.devices.playlists()
                if a.playlist not in have:
                    problems.append(
                        f"action.playlist: no playlist called {a.playlist!r} "
                        f"(playlists: {', '.join(have) or 'none'})"
                    )
            if a.diffuser_minutes > 0 and not self._ids(DeviceKind.DIFFUSER):
                problems.append("action.diffuser_minutes: this room has no diffuser")
        return problems

    def _check(self, action: Action) -> None:
        """Raise if ``action`` cannot start now; change nothing."""
        hub = self.hub
        if isinstance(action, SessionAction):
            if hub.sessions.current is not None:
                raise Conflict("a session is already running")
            hub.scenes.get(action.scene or self.session.default_scene)
        elif isinstance(action, SceneAction):
            hub.scenes.get(action.scene)
        elif (
            isinstance(action, WindDownAction)
            and action.playlist is not None
            and hub.devices.speaker_id is not None
            and action.playlist not in hub.devices.playlists()
        ):
            raise InvalidCommand(f"no playlist called {action.playlist!r}")

    def start(self, rid: str, action: Action, now: datetime, profiles: Any = None) -> str:
        """Start routine ``rid``'s action, taking the room over from any run; say what it did.

        ``profiles`` (whom the routine is for) are put on the table first: their limits
        hold for everything it does.
        """
        self._check(action)  # a routine that cannot start leaves the running one alone
        if profiles is not None:
            self.hub.people.set_table(profiles, by="routine")
        for old in list(self._runs):
            log.info("routine %s: stopped, %s takes over", old, rid)
            # what the old run would switch off later (the mist, its heat) goes off now
            self.end(old, ("diffuser off",))
        if isinstance(action, SessionAction):
            s = self.hub.sessions.start(action.scene, action.minutes, source="routine")
            return f"started a {s.get('scene_name') or s.get('scene')} session"
        if isinstance(action, SceneAction):
            return self._start_scene(rid, action, now)
        assert isinstance(action, WindDownAction)
        return self._start_wind_down(rid, action, now)

    def _start_scene(self, rid: str, action: SceneAction, now: datetime) -> str:
        hub = self.hub
        scene = hub.scenes.get(action.scene)
        seconds = action.minutes * 60
        hub.scenes.apply(scene.id, owner="routine", heat_seconds=seconds)
        run = ActiveRun(rid)
        ends = now + timedelta(seconds=seconds)
        fade = min(scene.fade_out_seconds, MAX_FADE_SECONDS)
        lights = [
            lid for lid, lv in scene.light_levels(self._ids(DeviceKind.LIGHT)).items() if lv > 0
        ]
        diffuser = bool(self._ids(DeviceKind.DIFFUSER)) and scene.diffuser != "off"
        pads = [
            p
            for p, h in scene.heat_levels(self._ids(DeviceKind.HEAT_PAD)).items()
            if h != HeatLevel.OFF
        ]
        music = bool(scene.playlist and scene.volume > 0 and hub.devices.speaker_id is not None)

        run.add(ends, "end", self._ender(lights, diffuser, music, fade, heat=bool(pads)))
        if music:
            run.add(ends + timedelta(seconds=fade), "music off", self._music_off)
        self._runs[rid] = run
        return f"scene {scene.name} for {action.minutes:g} min"

    def _ender(
        self, lights: list[str], diffuser: bool, music: bool, fade: float, *, heat: bool = False
    ) -> Callable[[], None]:
        """Return what ends a run: its lights and music fade out, its mist and heat go."""
        hub = self.hub

        def end() -> None:
            if hub.sessions.current is not None:
                return  # it ran into a session (if_session: run): leave it be
            for lid in lights:
                hub.devices.set(lid, {"level": 0.0, "fade_seconds": fade}, owner="routine")
            if diffuser:
                hub.devices.set("diffuser", {"mode": "off"}, owner="routine")
            if heat:
                hub.devices.release_heat(Owner.ROUTINE)  # what it still holds, not a person's
            if music and hub.devices.speaker_id is not None:
                volume = {"volume": 0.0, "fade_seconds": fade}
                hub.devices.set(hub.devices.speaker_id, volume, owner="routine")

        return end

    def _music_off(self) -> None:
        hub = self.hub
        speaker = hub.devices.speaker_id
        if (
            hub.sessions.current is None
            and speaker is not None
            and hub.state()["devices"][speaker]["playing"]
        ):
            hub.devices.set(speaker, {"playing": False}, owner="routine")

    def _start_wind_down(self, rid: str, a: WindDownAction, now: datetime) -> str:
        hub = self.hub
        total = a.minutes * 60
        run = ActiveRun(rid)
        ends = now + timedelta(seconds=total)
        lights = a.lights or self._ids(DeviceKind.LIGHT)
        speaker = hub.devices.speaker_id
        music = a.playlist is not None and speaker is not None
        diffuser = bool(self._ids(DeviceKind.DIFFUSER)) and a.diffuser_minutes > 0
        # the start: lights to light_from, music at volume_from, mist on
        for lid in lights:
            hub.devices.set(lid, {"level": a.light_from, "fade_seconds": 2.0}, owner="routine")
        if music:
            assert speaker is not None
            hub.devices.set(speaker, {"volume": a.volume_from}, owner="routine")
            hub.devices.set(speaker, {"playlist": a.playlist}, owner="routine")
        if diffuser:
            hub.devices.set("diffuser", {"mode": a.diffuser_mode}, owner="routine")
            run.add(
                now + timedelta(minutes=a.diffuser_minutes),
                "diffuser off",
                lambda: hub.devices.set("diffuser", {"mode": "off"}, owner="routine"),
            )
        # the glide, in pieces no longer than one fade may last
        t = 0.0
        while t < total:
            seg = min(MAX_FADE_SECONDS, total - t)
            x = (t + seg) / total
            level = a.light_from + (a.light_to - a.light_from) * x
            volume = a.volume_from + (a.volume_to - a.volume_from) * x

            def glide(level: float = level, volume: float = volume, seg: float = seg) -> None:
                for lid in lights:
                    hub.devices.set(lid, {"level": level, "fade_seconds": seg}, owner="routine")
                if music:
                    assert speaker is not None
                    hub.devices.set(
                        speaker, {"volume": volume, "fade_seconds": seg}, owner="routine"
                    )

            # the first piece lets the start fade (2 s) land first; the glide takes over then
            run.add(now + timedelta(seconds=t or 2.0), "glide", glide)
            t += seg

        run.add(ends, "end", self._ender(lights, diffuser, music, END_FADE_SECONDS))
        if music:
            run.add(ends + timedelta(seconds=END_FADE_SECONDS), "music off", self._music_off)
        self._runs[rid] = run
        return (
            f"wind-down {a.light_from:.0%} to {a.light_to:.0%} over {a.minutes:g} min"
            + (f", {a.playlist}" if music else "")
            + (f", mist for {a.diffuser_minutes:g} min" if a.diffuser_minutes else "")
        )
