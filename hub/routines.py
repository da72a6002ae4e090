"""Routines: scheduled scenes, sessions and wind-downs that survive restarts and DST changes.

One :class:`RoutineController` per hub. SQLite (``routines`` and ``routine_runs``) is the
source of truth. The controller is one part of the hub's control loop: at each step it
handles whatever is due by the wall clock (planned runs, the steps of a running routine: a
wind-down's glides, its diffuser stop, its end) and returns its next wall-clock time as a
deadline on the loop's timeline. The loop steps at least once a second, so a wall clock
stepped by NTP, or a machine that slept, is noticed within a second: no heartbeat.

Whatever is due is handled exactly once: the last handled planned time is stored with the
routine, so a restart, a duplicate step or a clock stepped backwards never runs a planned
time twice. The next planned run is stored too, so a hub that was down at that time catches
up when it starts again: within ``routines.misfire_grace_minutes`` (default 10) the routine
runs, later it is logged as missed. Time rules for DST are in :mod:`hub.routine_models`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .commands import describe
from .errors import Conflict, HubError, InvalidCommand, NotFound
from .facts import MAX_FADE_SECONDS, DeviceKind, EventType, HeatLevel, Owner
from .loop import Part
from .routine_models import (
    OnceSchedule,
    RoutineIn,
    RoutinePatch,
    SceneAction,
    SessionAction,
    SunsetSchedule,
    WindDownAction,
    describe_schedule,
    in_words,
    next_fire,
)
from .scenes import free_id, slug

if TYPE_CHECKING:
    from .core import Hub

log = logging.getLogger(__name__)

END_FADE_SECONDS = 5.0
MAX_CATCH_UP = 400  # planned runs handled per routine per tick (a hub down for a year)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def _parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _clean(message: str) -> str:
    """Drop pydantic's union tags from key paths ("schedule.weekly.time" -> "schedule.time")."""
    for part in ("schedule", "action"):
        for tag in ("weekly", "once", "sunset", "scene", "session", "wind_down"):
            message = message.replace(f"{part}.{tag}.", f"{part}.")
    return message


@dataclass
class Routine:
    """A routine's definition and its run status."""

    spec: RoutineIn
    next_planned: datetime | None = None
    last_planned: datetime | None = None
    last_run: datetime | None = None
    last_outcome: str | None = None
    last_detail: str | None = None
    skip_next: datetime | None = None
    shown_next: datetime | None = None  # next_planned, or the one after it when skipped

    @property
    def id(self) -> str:
        """The routine's id."""
        assert self.spec.id is not None
        return self.spec.id

    def doc(self) -> dict[str, Any]:
        """Return the stored document."""
        return {
            "spec": self.spec.model_dump(mode="json"),
            "status": {
                "next_planned": _iso(self.next_planned),
                "last_planned": _iso(self.last_planned),
                "last_run": _iso(self.last_run),
                "last_outcome": self.last_outcome,
                "last_detail": self.last_detail,
                "skip_next": _iso(self.skip_next),
            },
        }


#: the steps of a run that switch things off; they still run when a run is cut short
FINISH_STEPS = ("diffuser off", "end", "music off")


@dataclass
class ActiveRun:
    """A routine run in progress: steps still to do, at wall-clock times."""

    routine_id: str
    started: datetime
    ends: datetime
    steps: list[tuple[datetime, str, Callable[[], None]]] = field(default_factory=list)

    def add(self, at: datetime, label: str, fn: Callable[[], None]) -> None:
        """Add a step (kept in time order)."""
        self.steps.append((at, label, fn))
        self.steps.sort(key=lambda s: s[0])

    def finish_now(self, labels: tuple[str, ...] = FINISH_STEPS) -> None:
        """Run the pending steps that switch things off, now, and drop the rest."""
        steps, self.steps = self.steps, []
        for _, label, fn in steps:
            if label in labels:
                try:
                    fn()
                except Exception:
                    log.exception("routine %s: step %r failed", self.routine_id, label)


class RoutineController:
    """Own the routines, their scheduler, and the routines that are running."""

    name = "routines"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.config = hub.config
        self.zone = hub.zone
        self.grace = timedelta(minutes=hub.config.routines.misfire_grace_minutes)
        loc = hub.config.location
        self.location = None if loc is None else (loc.latitude, loc.longitude)
        self.routines: dict[str, Routine] = {}
        self.runs: dict[str, ActiveRun] = {}
        self._started = False
        self._load()
        hub.use_routines(self)
        self._unsubscribe = hub.subscribe(self._on_event)
        self._ticking = False
        self._part = Part("routines", self.step, lambda now: None)  # each routine logs its own

    # --- life cycle ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The routines' health: started, and the scheduler running (when time runs itself)."""
        return {"ok": self._started and self.hub.has_part(self._part)}

    def start(self) -> None:
        """Plan every routine, catch up on what was missed, and start the scheduler."""
        with self.hub.lock:
            now = self.hub.clock.now()
            for r in self.routines.values():
                if r.spec.enabled and r.next_planned is None:
                    self._plan(r, now, after=r.last_planned or now)
                    self._save(r)
            self._started = True
        self.hub.add_part(self._part)
        self.tick()
        log.info("routines: %d loaded, next: %s", len(self.routines), self.next_routine())

    def stop(self) -> None:
        """Stop the scheduler (running routines end with the hub, which switches all off)."""
        self._started = False
        self.hub.remove_part(self._part)
        with self.hub.lock:
            self.runs.clear()
        self._unsubscribe()

    def advance(self, seconds: float) -> None:
        """Move a fake clock forward, running routines and the hub on the way (tests)."""
        self.hub.advance(seconds)

    # --- storage --------------------------------------------------------------------------------

    def _load(self) -> None:
        for doc in self.hub.store.list_docs("routines"):
            try:
                spec = RoutineIn.model_validate(doc["spec"])
                st = doc.get("status") or {}
            except (ValidationError, KeyError, TypeError):
                log.exception("stored routine %r is unreadable; skipped", doc)
                continue
            r = Routine(
                spec=spec,
                next_planned=_parse_iso(st.get("next_planned")),
                last_planned=_parse_iso(st.get("last_planned")),
                last_run=_parse_iso(st.get("last_run")),
                last_outcome=st.get("last_outcome"),
                last_detail=st.get("last_detail"),
                skip_next=_parse_iso(st.get("skip_next")),
            )
            if not spec.enabled:
                r.next_planned = None
            self._update_shown(r)
            self.routines[r.id] = r

    def _save(self, r: Routine) -> None:
        self.hub.store.put_doc("routines", r.id, r.doc(), self.hub.wall_iso())

    # --- planning ---------------------------------------------------------------------------

    def _next(self, r: Routine, after: datetime) -> datetime | None:
        return next_fire(r.spec.schedule, after, self.zone, self.location)

    def _plan(self, r: Routine, now: datetime, *, after: datetime | None = None) -> None:
        """Set the routine's next planned run (after ``after``, default now)."""
        r.next_planned = self._next(r, after or now) if r.spec.enabled else None
        if r.skip_next is not None and r.skip_next != r.next_planned:
            r.skip_next = None
        self._update_shown(r)

    def _update_shown(self, r: Routine) -> None:
        shown = r.next_planned
        if shown is not None and r.skip_next == shown:
            shown = self._next(r, shown)
        r.shown_next = shown

    def _next_wake(self) -> datetime | None:
        times = [r.next_planned for r in self.routines.values() if r.next_planned is not None]
        times.extend(run.steps[0][0] for run in self.runs.values() if run.steps)
        return min(times) if times else None

    def step(self, now: float) -> float | None:
        """Handle what is due by the wall clock; return the next wall time as a loop deadline."""
        self.tick()
        due = self._next_wake()
        if due is None:
            return None
        wait = (due - self.hub.clock.now()).total_seconds()
        return now + max(0.0, wait)

    # --- running ----------------------------------------------------------------------------

    def tick(self) -> None:
        """Handle everything due now: routine runs (or misses) and steps of running ones."""
        try:
            with self.hub.lock:
                # a routine's own commands step the loop, which steps us: not again inside
                if not self._started or self._ticking:
                    return
                self._ticking = True
                try:
                    now = self.hub.clock.now()
                    for run in list(self.runs.values()):
                        self._run_steps(run, now)
                    for r in list(self.routines.values()):
                        for _ in range(MAX_CATCH_UP):
                            if r.next_planned is None or r.next_planned > now:
                                break
                            self._handle(r, r.next_planned, now)
                finally:
                    self._ticking = False
        except Exception:
            log.exception("routines tick failed")

    def _handle(self, r: Routine, planned: datetime, now: datetime) -> None:
        """Run (or skip, or mark missed) the planned run ``planned`` of ``r``, exactly once."""
        if r.last_planned is not None and planned <= r.last_planned:
            self._plan(r, now, after=r.last_planned)
            self._save(r)
            return
        late = now - planned
        local = planned.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        if late > self.grace:
            outcome = "missed"
            detail = (
                f"the hub was not running at {local}; it came back "
                f"{late.total_seconds() / 60:.0f} min later (grace "
                f"{self.grace.total_seconds() / 60:g} min)"
            )
            log.warning("routine %s: %s", r.id, detail)
        elif r.skip_next == planned:
            outcome, detail = "skipped", "skipped by request"
            r.skip_next = None
        elif self.hub.session is not None and r.spec.if_session == "skip":
            outcome, detail = "skipped", "a session was running"
            log.info("routine %s skipped at %s: a session is running", r.id, local)
        else:
            outcome, detail = self._try_action(r, now, planned)
        r.last_planned = planned
        r.last_run = now
        r.last_outcome = outcome
        r.last_detail = detail
        self._plan(r, now, after=planned)
        self._save(r)
        self.hub.store.routine_run(r.id, _iso(planned), _iso(now) or "", outcome, detail)
        self.hub.publish(
            EventType.ROUTINES, {"routine": r.id, "outcome": outcome, "detail": detail}
        )

    def _try_action(self, r: Routine, now: datetime, planned: datetime | None) -> tuple[str, str]:
        try:
            detail = self._start_action(r, now)
        except HubError as exc:
            log.warning("routine %s failed: %s", r.id, exc.message)
            return "failed", exc.message
        except Exception as exc:  # noqa: BLE001 - a routine must never stop the scheduler
            log.exception("routine %s failed", r.id)
            return "failed", f"internal error: {exc}"
        when = "" if planned is None else f" (planned {planned.astimezone(self.zone):%H:%M})"
        log.info("routine %s ran%s: %s", r.id, when, detail)
        return "ran", detail

    def _check_action(self, r: Routine) -> None:
        """Raise if ``r``'s action cannot start now; change nothing."""
        action = r.spec.action
        hub = self.hub
        if isinstance(action, SessionAction):
            if hub.session is not None:
                raise Conflict("a session is already running")
            hub.get_scene(action.scene or self.config.session.default_scene)
        elif isinstance(action, SceneAction):
            hub.get_scene(action.scene)
        elif (
            isinstance(action, WindDownAction)
            and action.playlist is not None
            and hub.speaker_id is not None
            and action.playlist not in hub.playlists()
        ):
            raise InvalidCommand(f"no playlist called {action.playlist!r}")

    def _start_action(self, r: Routine, now: datetime) -> str:
        action = r.spec.action
        hub = self.hub
        self._check_action(r)  # a routine that cannot start leaves the running one alone
        for rid in list(self.runs):  # the newest routine takes over the room
            log.info("routine %s: stopped, %s takes over", rid, r.id)
            # what the old run would switch off later (the mist, its heat) goes off now
            self._end_run(rid, ("diffuser off",))
        if isinstance(action, SessionAction):
            s = hub.start_session(action.scene, action.minutes, source="routine")
            return f"started a {s.get('scene_name') or s.get('scene')} session"
        if isinstance(action, SceneAction):
            return self._start_scene(r.id, action, now)
        assert isinstance(action, WindDownAction)
        return self._start_wind_down(r.id, action, now)

    def _start_scene(self, rid: str, action: SceneAction, now: datetime) -> str:
        hub = self.hub
        scene = hub.get_scene(action.scene)
        seconds = action.minutes * 60
        hub.apply_scene(scene.id, owner="routine", heat_seconds=seconds)
        run = ActiveRun(rid, now, now + timedelta(seconds=seconds))
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
        music = bool(scene.playlist and scene.volume > 0 and hub.speaker_id is not None)

        def end() -> None:
            if hub.session is not None:  # ran into a session (if_session: run): leave it be
                return
            for lid in lights:
                hub.set_device(lid, {"level": 0.0, "fade_seconds": fade}, owner="routine")
            if diffuser:
                hub.set_device("diffuser", {"mode": "off"}, owner="routine")
            if pads:
                hub.release_heat(Owner.ROUTINE)  # what it still holds; not what a person took
            if music:
                hub.set_device(
                    hub.speaker_id, {"volume": 0.0, "fade_seconds": fade}, owner="routine"
                )

        run.add(run.ends, "end", end)
        if music:
            run.add(run.ends + timedelta(seconds=fade), "music off", self._music_off)
        self.runs[rid] = run
        return f"scene {scene.name} for {action.minutes:g} min"

    def _ids(self, kind: DeviceKind) -> list[str]:
        return [d.id for d in self.hub.device_info() if d.kind == kind]

    def _end_run(self, rid: str, labels: tuple[str, ...] = FINISH_STEPS) -> None:
        """Stop a run now: its switching-off steps run, and no pad stays on for it."""
        self.runs.pop(rid).finish_now(labels)
        self.hub.release_heat("routine")

    def _music_off(self) -> None:
        hub = self.hub
        speaker = hub.speaker_id
        if (
            hub.session is None
            and speaker is not None
            and hub.state()["devices"][speaker]["playing"]
        ):
            hub.set_device(speaker, {"playing": False}, owner="routine")

    def _start_wind_down(self, rid: str, a: WindDownAction, now: datetime) -> str:
        hub = self.hub
        total = a.minutes * 60
        run = ActiveRun(rid, now, now + timedelta(seconds=total))
        lights = a.lights or self._ids(DeviceKind.LIGHT)
        speaker = hub.speaker_id
        music = a.playlist is not None and speaker is not None
        # the start: lights to light_from, music at volume_from, mist on
        for lid in lights:
            hub.set_device(lid, {"level": a.light_from, "fade_seconds": 2.0}, owner="routine")
        if music:
            assert speaker is not None
            hub.set_device(speaker, {"volume": a.volume_from}, owner="routine")
            hub.set_device(speaker, {"playlist": a.playlist}, owner="routine")
        if a.diffuser_minutes > 0 and self._ids(DeviceKind.DIFFUSER):
            hub.set_device("diffuser", {"mode": a.diffuser_mode}, owner="routine")
            run.add(
                now + timedelta(minutes=a.diffuser_minutes),
                "diffuser off",
                lambda: hub.set_device("diffuser", {"mode": "off"}, owner="routine"),
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
                    hub.set_device(lid, {"level": level, "fade_seconds": seg}, owner="routine")
                if music:
                    assert speaker is not None
                    hub.set_device(
                        speaker, {"volume": volume, "fade_seconds": seg}, owner="routine"
                    )

            if t == 0:
                # let the start fade (2 s) land first; the glide takes over from there
                run.add(now + timedelta(seconds=2.0), "glide", glide)
            else:
                run.add(now + timedelta(seconds=t), "glide", glide)
            t += seg

        def end() -> None:
            if hub.session is not None:  # ran into a session (if_session: run): leave it be
                return
            for lid in lights:
                hub.set_device(
                    lid, {"level": 0.0, "fade_seconds": END_FADE_SECONDS}, owner="routine"
                )
            if self._ids(DeviceKind.DIFFUSER) and a.diffuser_minutes > 0:
                hub.set_device("diffuser", {"mode": "off"}, owner="routine")
            if music:
                assert speaker is not None
                hub.set_device(
                    speaker, {"volume": 0.0, "fade_seconds": END_FADE_SECONDS}, owner="routine"
                )

        run.add(run.ends, "end", end)
        if music:
            run.add(run.ends + timedelta(seconds=END_FADE_SECONDS), "music off", self._music_off)
        self.runs[rid] = run
        return (
            f"wind-down {a.light_from:.0%} to {a.light_to:.0%} over {a.minutes:g} min"
            + (f", {a.playlist}" if music else "")
            + (f", mist for {a.diffuser_minutes:g} min" if a.diffuser_minutes else "")
        )

    def _run_steps(self, run: ActiveRun, now: datetime) -> None:
        while run.steps and run.steps[0][0] <= now:
            _, label, fn = run.steps.pop(0)
            try:
                fn()
            except Exception:
                log.exception("routine %s: step %r failed", run.routine_id, label)
        if not run.steps and self.runs.get(run.routine_id) is run:
            del self.runs[run.routine_id]
            self.hub.release_heat("routine")  # even if its "end" step failed
            self.hub.publish(EventType.ROUTINES, {"routine": run.routine_id, "outcome": "finished"})

    def _on_event(self, event: Any) -> None:
        """Cancel running routines when a session starts or everything is switched off."""
        if not self.runs:
            return
        data = event.data or {}
        session_started = event.type == "session" and data.get("action") == "started"
        if event.type == "all_off" or session_started:
            for rid in list(self.runs):
                log.info("routine %s: stopped (%s)", rid, event.type)
            self.runs.clear()
            if session_started:  # the session heats what it wants; the routine's heat ends
                self.hub.release_heat("routine")

    # --- queries ----------------------------------------------------------------------------

    def next_routine(self) -> dict[str, Any] | None:
        """Return the next routine to run: id, name, ISO time and the time in words."""
        best: Routine | None = None
        for r in self.routines.values():
            if r.shown_next is not None and (
                best is None or r.shown_next < best.shown_next  # type: ignore[operator]
            ):
                best = r
        if best is None or best.shown_next is None:
            return None
        now = self.hub.clock.now()
        return {
            "id": best.id,
            "name": best.spec.name,
            "at": best.shown_next.astimezone(self.zone).isoformat(timespec="seconds"),
            "words": in_words(best.shown_next, now, self.zone),
        }

    def _out(self, r: Routine, now: datetime) -> dict[str, Any]:
        out = r.spec.model_dump(mode="json")

        def local(at: datetime | None) -> str | None:
            return None if at is None else at.astimezone(self.zone).isoformat(timespec="seconds")

        out.update(
            next_run=local(r.shown_next),
            next_run_words=None if r.shown_next is None else in_words(r.shown_next, now, self.zone),
            skip_next=local(r.skip_next),
            last_planned=local(r.last_planned),
            last_run=local(r.last_run),
            last_outcome=r.last_outcome,
            last_detail=r.last_detail,
            running=r.id in self.runs,
            schedule_words=describe_schedule(r.spec.schedule),
        )
        return out

    def list_routines(self) -> list[dict[str, Any]]:
        """Return every routine with its next and last run."""
        with self.hub.lock:
            now = self.hub.clock.now()
            return [self._out(r, now) for r in sorted(self.routines.values(), key=lambda r: r.id)]

    def _get(self, rid: str) -> Routine:
        r = self.routines.get(rid)
        if r is None:
            names = ", ".join(self.routines) or "none"
            raise NotFound(f"no routine called {rid!r} (routines: {names})")
        return r

    def get_routine(self, rid: str, *, runs: int = 10) -> dict[str, Any]:
        """Return one routine, with its latest logged runs."""
        with self.hub.lock:
            out = self._out(self._get(rid), self.hub.clock.now())
            out["runs"] = self.hub.store.routine_runs(rid, runs) if runs else []
            return out

    def runs_log(self, rid: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return logged runs (of one routine or of all), newest first."""
        if not 1 <= limit <= 500:
            raise InvalidCommand("limit must be 1-500")
        with self.hub.lock:
            if rid is not None:
                self._get(rid)
            return self.hub.store.routine_runs(rid, limit)

    # --- commands ---------------------------------------------------------------------------

    def _validate(self, data: Any, *, check_past: bool = True) -> RoutineIn:
        if not isinstance(data, dict):
            raise InvalidCommand("expected a JSON object")
        try:
            spec = RoutineIn.model_validate(data)
        except ValidationError as exc:
            raise InvalidCommand(_clean(describe(exc))) from None
        self._check_refs(spec, check_past=check_past)
        return spec

    def _check_refs(self, spec: RoutineIn, *, check_past: bool = True) -> None:
        """Refuse what does not fit this hub: unknown scenes, lights, playlists; the past."""
        hub = self.hub
        problems: list[str] = []
        a = spec.action
        scene_id = getattr(a, "scene", None)
        if scene_id is not None:
            try:
                hub.get_scene(scene_id)
            except NotFound as exc:
                problems.append(f"action.scene: {exc.message}")
        if isinstance(a, SessionAction) and a.minutes is not None:
            top = self.config.session.max_minutes
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
                have = hub.playlists()
                if a.playlist not in have:
                    problems.append(
                        f"action.playlist: no playlist called {a.playlist!r} "
                        f"(playlists: {', '.join(have) or 'none'})"
                    )
            if a.diffuser_minutes > 0 and not self._ids(DeviceKind.DIFFUSER):
                problems.append("action.diffuser_minutes: this room has no diffuser")
        sched = spec.schedule
        if isinstance(sched, SunsetSchedule) and self.location is None:
            problems.append(
                "schedule: sunset routines need the room's location in the config "
                "(location: {latitude: ..., longitude: ...})"
            )
        elif isinstance(sched, OnceSchedule) and check_past:
            now = hub.clock.now()
            if next_fire(sched, now, self.zone) is None:
                problems.append(
                    f"schedule: {sched.date} {sched.time} is in the past "
                    f"(it is {now.astimezone(self.zone):%Y-%m-%d %H:%M} now)"
                )
        if problems:
            raise InvalidCommand("; ".join(problems))

    def create_routine(self, data: Any) -> dict[str, Any]:
        """Store a new routine and plan its first run; return it."""
        with self.hub.lock:
            spec = self._validate(data)
            if spec.id is None:
                spec = spec.model_copy(update={"id": free_id(slug(spec.name), self.routines)})
            elif spec.id in self.routines:
                raise Conflict(f"a routine called {spec.id!r} exists already")
            r = Routine(spec=spec)
            now = self.hub.clock.now()
            self._plan(r, now)
            self._save(r)
            self.routines[r.id] = r
            self._changed(r, "created")
            return self._out(r, now)

    def update_routine(self, rid: str, data: Any) -> dict[str, Any]:
        """Change a routine (all fields or some); its next run is planned again."""
        with self.hub.lock:
            r = self._get(rid)
            if not isinstance(data, dict):
                raise InvalidCommand("expected a JSON object")
            data = dict(data)
            if data.get("id", rid) != rid:
                raise InvalidCommand("id: a routine's id cannot be changed")
            data.pop("id", None)
            for key in OUTPUT_FIELDS:  # tolerate a GET body sent back
                data.pop(key, None)
            try:
                RoutinePatch.model_validate(data)
            except ValidationError as exc:
                raise InvalidCommand(_clean(describe(exc))) from None
            merged = {**r.spec.model_dump(mode="json"), **data, "id": rid}
            # a one-off that has run may still be renamed or disabled; a new date must be ahead
            check_past = "schedule" in data or (data.get("enabled") is True and not r.spec.enabled)
            spec = self._validate(merged, check_past=check_past)
            now = self.hub.clock.now()
            new = Routine(
                spec=spec,
                last_planned=r.last_planned,
                last_run=r.last_run,
                last_outcome=r.last_outcome,
                last_detail=r.last_detail,
                skip_next=r.skip_next,
            )
            self._plan(new, now)
            self._save(new)
            self.routines[rid] = new
            replaced = spec.action != r.spec.action
            if rid in self.runs and (replaced or not spec.enabled):
                self._end_run(rid)  # switch off what it switched on
            self._changed(new, "updated")
            return self._out(new, now)

    def set_enabled(self, rid: str, enabled: bool) -> dict[str, Any]:
        """Enable or disable a routine."""
        return self.update_routine(rid, {"enabled": enabled})

    def delete_routine(self, rid: str) -> None:
        """Delete a routine (a run in progress stops where it is; its log stays)."""
        with self.hub.lock:
            self._get(rid)
            self.hub.store.delete_doc("routines", rid)
            del self.routines[rid]
            if rid in self.runs:
                self._end_run(rid)  # switch off what it switched on
            self.hub.publish(EventType.ROUTINES, {"action": "deleted", "routine": rid})
        self.hub.kick()

    def run_now(self, rid: str) -> dict[str, Any]:
        """Run a routine's action now (its schedule stays as it is)."""
        with self.hub.lock:
            r = self._get(rid)
            if (
                self.hub.session is not None
                and not isinstance(r.spec.action, SessionAction)
                and r.spec.if_session == "skip"
            ):
                raise Conflict("a session is running; this routine is set to skip during sessions")
            now = self.hub.clock.now()
            detail = self._start_action(r, now)
            r.last_run = now
            r.last_outcome = "ran"
            r.last_detail = f"run now: {detail}"
            self._save(r)
            self.hub.store.routine_run(rid, None, _iso(now) or "", "ran", r.last_detail)
            self._changed(r, "ran")
            return self._out(r, now)

    def skip_next(self, rid: str, skip: bool = True) -> dict[str, Any]:
        """Skip the next planned run (``skip=False`` takes the skip back)."""
        with self.hub.lock:
            r = self._get(rid)
            now = self.hub.clock.now()
            if not isinstance(skip, bool):
                raise InvalidCommand("skip: must be true or false")
            if skip:
                if r.next_planned is None:
                    raise Conflict(f"{rid!r} has no planned run to skip")
                if r.skip_next == r.next_planned:
                    at = r.skip_next.astimezone(self.zone)
                    raise Conflict(f"the run at {at:%Y-%m-%d %H:%M} is already skipped")
                r.skip_next = r.next_planned
            else:
                if r.skip_next is None:
                    raise Conflict(f"{rid!r} has no skipped run")
                r.skip_next = None
            self._update_shown(r)
            self._save(r)
            self._changed(r, "skip" if skip else "unskip")
            return self._out(r, now)

    def _changed(self, r: Routine, action: str) -> None:
        self.hub.publish(EventType.ROUTINES, {"action": action, "routine": r.id})
        self.hub.kick()  # the next planned time may have moved: a new deadline


OUTPUT_FIELDS = (
    "next_run",
    "next_run_words",
    "skip_next",
    "last_planned",
    "last_run",
    "last_outcome",
    "last_detail",
    "running",
    "runs",
    "schedule_words",
)


def routines_component(service: Any) -> RoutineController | None:
    # ``service``: anything with ``hub`` and ``config`` (hub/service.py wires it)
    """Make the routines component (None when ``routines.enabled`` is false)."""
    if not service.config.routines.enabled:
        return None
    return RoutineController(service.hub)
