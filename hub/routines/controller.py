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
runs, later it is logged as missed. Time rules for DST are in :mod:`hub.routines.models`;
what a run does, and which runs are going, in :mod:`hub.routines.runs`; a routine's record
(as sent, stored and shown) in :mod:`hub.routines.records`; the read-only queries in
:mod:`hub.routines.queries`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..engine.event_types import RoutinesChanged
from ..engine.loop import Part
from ..errors import Conflict, HubError, InvalidCommand
from ..scenes.scene import free_id, slug
from .models import RoutineIn, SessionAction, next_fire
from .queries import RoutineQueries
from .records import Routine, iso, parse_spec, patched, schedule_problems
from .runs import RoutineRuns

if TYPE_CHECKING:
    from ..core import Hub

log = logging.getLogger(__name__)

MAX_CATCH_UP = 400  # planned runs handled per routine per tick (a hub down for a year)


class RoutineController(RoutineQueries):
    """Own the routines, their scheduler, and the routines that are running."""

    name = "routines"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.zone = hub.zone
        self.grace = timedelta(minutes=hub.config.routines.misfire_grace_minutes)
        loc = hub.config.location
        self.location = None if loc is None else (loc.latitude, loc.longitude)
        self.routines: dict[str, Routine] = {}
        self.runs = RoutineRuns(hub, hub.config.session)
        self._started = False
        self._load()
        hub.use_routines(self)
        self._unsubscribe = hub.subscribe(self.runs.on_event)
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
                if r.spec.enabled and self._moved(r):
                    self._plan(r, now)  # from its wall-clock time in the zone of now
                    self._save(r)
                elif r.spec.enabled and r.next_planned is None:
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

    def reload(self) -> None:
        """Read every routine from the store again (after a restore) and plan them."""
        with self.hub.lock:
            self.routines.clear()
            self._load()
            now = self.hub.clock.now()
            for r in self.routines.values():
                if r.spec.enabled and self._moved(r):
                    self._plan(r, now)
                elif r.spec.enabled and r.next_planned is None:
                    self._plan(r, now, after=r.last_planned or now)
        self.hub.kick()

    def advance(self, seconds: float) -> None:
        """Move a fake clock forward, running routines and the hub on the way (tests)."""
        self.hub.advance(seconds)

    # --- storage --------------------------------------------------------------------------------

    def _load(self) -> None:
        for doc in self.hub.store.list_docs("routines"):
            try:
                r = Routine.from_doc(doc)
            except (ValidationError, KeyError, TypeError):
                log.exception("stored routine %r is unreadable; skipped", doc)
                continue
            self._update_shown(r)
            self.routines[r.id] = r

    def _save(self, r: Routine) -> None:
        self.hub.store.put_doc("routines", r.id, r.doc(), self.hub.wall_iso())

    def _note(
        self, r: Routine, planned: datetime | None, ran: datetime, outcome: str, detail: str
    ) -> None:
        """Keep a run's outcome and the routine's next run, when the disk can (a run goes on)."""
        doc, at, store = r.doc(), self.hub.wall_iso(), self.hub.store
        self.hub.recorder.record(
            f"routine {r.id}: its run", lambda: store.put_doc("routines", r.id, doc, at)
        )
        args = (r.id, iso(planned), iso(ran) or "", outcome, detail)
        self.hub.recorder.record(f"routine {r.id}: its log", lambda: store.routine_run(*args))

    # --- planning ---------------------------------------------------------------------------

    def _next(self, r: Routine, after: datetime) -> datetime | None:
        return next_fire(r.spec.schedule, after, self.zone, self.location)

    def _moved(self, r: Routine) -> bool:
        """Whether the stored next run is not one of the routine's wall-clock times here.

        A routine's time is a wall-clock time in the hub's zone: a run planned under another
        zone (the config's ``timezone`` changed, or a backup from a hub elsewhere) is an
        instant that is no longer that time, so it is planned again from the definition.
        """
        if r.next_planned is None:
            return False
        try:
            return self._next(r, r.next_planned - timedelta(seconds=1)) != r.next_planned
        except (OverflowError, ValueError):  # an instant no plan can come from
            return True

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
        times.extend(self.runs.next_steps())
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
                    self.runs.step(now)
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
        elif self.hub.sessions.current is not None and r.spec.if_session == "skip":
            outcome, detail = "skipped", "a session was running"
            log.info("routine %s skipped at %s: a session is running", r.id, local)
        else:
            outcome, detail = self._try_action(r, now, planned)
        r.last_planned = planned
        r.last_run = now
        r.last_outcome = outcome
        r.last_detail = detail
        self._plan(r, now, after=planned)
        self._note(r, planned, now, outcome, detail)
        self.hub.emit(RoutinesChanged(routine=r.id, outcome=outcome, detail=detail))

    def _try_action(self, r: Routine, now: datetime, planned: datetime) -> tuple[str, str]:
        try:
            detail = self.runs.start(r.id, r.spec.action, now, r.spec.profiles)
        except HubError as exc:
            log.warning("routine %s failed: %s", r.id, exc.message)
            return "failed", exc.message
        except Exception as exc:  # noqa: BLE001 - a routine must never stop the scheduler
            log.exception("routine %s failed", r.id)
            return "failed", f"internal error: {exc}"
        when = planned.astimezone(self.zone)
        log.info("routine %s ran (planned %s): %s", r.id, f"{when:%H:%M}", detail)
        return "ran", detail

    # --- queries ----------------------------------------------------------------------------

    # --- commands ---------------------------------------------------------------------------

    def _validate(self, data: Any, *, check_past: bool = True) -> RoutineIn:
        """Parse a routine; refuse what does not fit this hub: unknown scenes, lights, the past."""
        spec = parse_spec(data)
        now = self.hub.clock.now() if check_past else None
        problems = self.runs.problems(spec.action)
        if spec.profiles is not None:
            try:
                self.hub.people.resolve(spec.profiles, "profiles")
            except InvalidCommand as exc:
                problems.append(exc.message)
        problems += schedule_problems(spec.schedule, self.location, self.zone, now)
        if problems:
            raise InvalidCommand("; ".join(problems))
        return spec

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
            merged, check_past = patched(r.spec, data)
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
                self.runs.end(rid)  # switch off what it switched on
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
                self.runs.end(rid)  # switch off what it switched on
            self.hub.emit(RoutinesChanged(action="deleted", routine=rid))
        self.hub.kick()

    def run_now(self, rid: str) -> dict[str, Any]:
        """Run a routine's action now (its schedule stays as it is)."""
        with self.hub.lock:
            r = self._get(rid)
            if (
                self.hub.sessions.current is not None
                and not isinstance(r.spec.action, SessionAction)
                and r.spec.if_session == "skip"
            ):
                raise Conflict("a session is running; this routine is set to skip during sessions")
            now = self.hub.clock.now()
            detail = self.runs.start(r.id, r.spec.action, now, r.spec.profiles)
            r.last_run = now
            r.last_outcome = "ran"
            r.last_detail = f"run now: {detail}"
            self._save(r)
            self.hub.store.routine_run(rid, None, iso(now) or "", "ran", r.last_detail)
            self._changed(r, "ran")
            return self._out(r, now)

    def stop_run(self, rid: str) -> dict[str, Any]:
        """Stop a routine that runs now: what it switched on goes off; the schedule stays."""
        with self.hub.lock:
            r = self._get(rid)
            if rid not in self.runs:
                raise Conflict(f"{r.spec.name} is not running")
            now = self.hub.clock.now()
            self.runs.end(rid)  # switch off what it switched on
            self.hub.store.routine_run(rid, None, iso(now) or "", "stopped", "stopped by hand")
            self._changed(r, "stopped")
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
        self.hub.emit(RoutinesChanged(action=action, routine=r.id))
        self.hub.kick()  # the next planned time may have moved: a new deadline


def routines_component(service: Any) -> RoutineController | None:
    """Make the routines component (None when ``routines.enabled`` is false)."""
    # ``service``: anything with ``hub`` and ``config`` (hub/service.py wires it)
    if not service.config.routines.enabled:
        return None
    return RoutineController(service.hub)
