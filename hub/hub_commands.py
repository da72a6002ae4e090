"""The hub's commands: devices, heat, scenes and sessions, each under the hub lock.

:class:`~hub.core.Hub` inherits these; construction, the life cycle, events and state are
in :mod:`hub.core`. Every command takes the lock, lets a controller do the work (raising a
``HubError`` before anything changed when it refuses), then kicks the control loop so the
new deadlines are scheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .commands import SessionExtend, SessionStart, parse
from .devices import attempt
from .errors import InvalidCommand
from .facts import EventType, Owner
from .journal import before_entries
from .limits import People, merge, resolve_people

if TYPE_CHECKING:
    from hardware import Room

    from .clock import Clock
    from .devices import DeviceController
    from .events import HubLock
    from .fader import Fader
    from .loop import ControlLoop
    from .people_records import PeopleRecords
    from .profiles import ProfileLibrary
    from .recorder import Recorder
    from .safety import HeatGuard
    from .scene_library import SceneLibrary
    from .scenes import Scene
    from .sessions import SessionController
    from .table import Table


class HubCommands:
    """The commands every entry point calls (the attributes are the Hub's)."""

    lock: HubLock
    clock: Clock
    room: Room
    devices: DeviceController
    fader: Fader
    scenes: SceneLibrary
    sessions: SessionController
    loop: ControlLoop
    guard: HeatGuard
    profiles: ProfileLibrary
    people_records: PeopleRecords
    table: Table
    limits: Any
    recorder: Recorder
    wall_iso: Callable[[], str]
    _emit: Callable[[EventType | str, dict[str, Any]], None]

    # --- device commands ----------------------------------------------------------------------

    def set_device(
        self,
        device_id: str,
        changes: Any,
        *,
        owner: str = "manual",
        for_people: list[str] | None = None,
    ) -> dict[str, Any]:
        """Change one device (a dict, or a parsed command model); return its new state.

        Every person it reaches holds it to their limits: those on the table (or in the
        session), and ``for_people`` (a therapist's link's). What a limit held back is
        said in ``capped``. A pad a person sets by hand in a session stays the session's.
        """
        with self.lock:
            also = self._link_people(for_people)
            with self.limits.command(also) as heard:
                now = self.clock.monotonic()
                pad = isinstance(device_id, str) and device_id in self.room.heat_pads
                seconds = None
                if pad and owner == Owner.MANUAL and self.sessions.running:
                    owner, seconds = Owner.SESSION, self.sessions.heat_seconds(now)
                self.devices.set(device_id, changes, owner, now, seconds=seconds)
                if pad and owner == Owner.SESSION:
                    self.sessions.pad_set(device_id, self.guard.states[device_id].heat)
                elif pad:
                    self.sessions.pad_taken(device_id)  # a routine took it: no longer renewed
                result = self.devices.state(device_id, now)
                if heard:
                    result["capped"] = "; ".join(heard)
        self.loop.kick()
        return result

    def _link_people(self, profiles: list[str] | None) -> People | None:
        """The people a therapist's link is for (one deleted since: left out)."""
        found = []
        for pid in profiles or ():
            try:
                found.append(self.table.resolve([pid], "link"))
            except InvalidCommand:
                continue
        return merge(*found)

    def release_heat(self, owner: str) -> list[str]:
        """Switch off every pad that ``owner`` (a routine, say) holds; return their ids."""
        if owner not in tuple(Owner):
            raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(Owner)}")
        with self.lock:
            held = self.devices.release_heat(owner, self.clock.monotonic())
        self.loop.kick()
        return held

    def all_off(self, *, reason: str = "all_off") -> None:
        """Switch everything off now; a running session ends.

        The pads' outputs go off first, before the hub lock is taken (whatever holds it),
        then everything else; what is written down follows when the disk can.
        """
        self.guard.emergency_off()
        with self.lock:
            now = self.clock.monotonic()
            self.fader.clear()
            if self.sessions.current is not None:
                self.sessions.end(reason, now)
            self.devices.all_off(now)
            self._emit(EventType.ALL_OFF, {"reason": reason})
        self.loop.kick()

    def _speaker_changed(self, state: dict[str, Any]) -> None:
        # Runs on the speaker's thread; close() may hold the lock while it waits for that
        # thread, so never wait for the lock for long (the next state() shows the change).
        if not self.lock.acquire(timeout=2.0):
            return
        try:
            self.devices.speaker_moved_on(state)
        finally:
            self.lock.release()

    # --- scenes -----------------------------------------------------------------------------

    def list_scenes(self) -> list[dict[str, Any]]:
        """Return every scene, built-ins first."""
        with self.lock:
            return self.scenes.list()

    def get_scene(self, scene_id: str) -> Scene:
        """Return one scene or raise NotFound."""
        with self.lock:
            return self.scenes.get(scene_id)

    def create_scene(self, data: Any) -> dict[str, Any]:
        """Store a new user scene; return it."""
        with self.lock:
            return self.scenes.create(data)

    def update_scene(self, scene_id: str, data: Any) -> dict[str, Any]:
        """Replace a user scene; built-ins cannot be changed."""
        with self.lock:
            return self.scenes.update(scene_id, data)

    def delete_scene(self, scene_id: str) -> None:
        """Delete a user scene; built-ins cannot be deleted."""
        with self.lock:
            self.scenes.delete(scene_id)

    def duplicate_scene(self, scene_id: str, name: str | None = None) -> dict[str, Any]:
        """Copy a scene (built-in or not) under a new name; return the copy."""
        with self.lock:
            return self.scenes.duplicate(scene_id, name)

    def apply_scene(
        self,
        scene_id: str,
        *,
        fade_seconds: float | None = None,
        owner: str = "manual",
        heat_seconds: float | None = None,
    ) -> None:
        """Set every device as the scene says, with its fade."""
        with self.lock:
            scene = self.scenes.get(scene_id)
            now = self.clock.monotonic()
            self.sessions.apply_scene(scene, now, fade_seconds, owner, heat_seconds)
            self._emit(EventType.SCENE, {"scene": scene.id})
        self.loop.kick()

    # --- sessions ---------------------------------------------------------------------------

    def start_session(
        self,
        scene: str | None = None,
        minutes: float | None = None,
        *,
        source: str = "api",
        profiles: list[str] | dict[str, str] | None = None,
        for_people: list[str] | None = None,
        before: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start a session (pre-warm, then the scene); 409 if one is running.

        ``profiles`` says who it is for: ids (their limits hold on every pad) or
        {pad id: profile id} (each pad its person's heat limit; the room the strictest);
        they are on the table from now on. Without them it is for whoever is on the table
        (else the household default). ``for_people`` are a therapist's link's: always in it.
        ``before`` is the journal's "before" for some of them ({profile id: {stress, areas}}),
        checked before anything starts and written with the session's own records.
        """
        given = {
            k: v
            for k, v in (
                ("scene", scene),
                ("minutes", minutes),
                ("profiles", profiles),
                ("before", before),
            )
            if v is not None
        }
        cmd = parse(SessionStart, given)
        with self.lock:
            named = resolve_people(cmd.profiles, self.profiles.get, self.guard.pad_ids)
            fixed = self._link_people(for_people)
            if fixed is not None and named is not None:
                missing = [p.name for p in fixed.people if not named.has(p.profile)]
                if missing:
                    raise InvalidCommand(
                        f"profiles: this visit is for {', '.join(missing)}; "
                        "a therapist's link cannot leave them out"
                    )
            people = named if named is not None else self.table.people()
            rated = before_entries(
                cmd.before,  # type: ignore[attr-defined]
                merge(fixed, people),
                self.profiles.get,
            )
            result = self._session(lambda now: self.sessions.start(cmd, source, now, people, fixed))
            if named is not None:
                self.table.set(named, by=source)
            s = self.sessions.current
            if s is not None and s.people is not None:
                rows, sid = s.people.rows(), s.id
                attempt("recording who the session is for", lambda: self._record(sid, rows))
                for entry in rated:
                    self._record_before(sid, entry)
        return result

    def _record_before(self, session_id: int, entry: dict[str, Any]) -> None:
        """Write one "before" rating of session ``session_id``, now or when the disk can."""
        full = {**entry, "session_id": session_id, "created_at": self.wall_iso()}
        records = self.people_records
        self.recorder.record(
            f"session {session_id}: how {entry['profile']} felt before",
            lambda: records.put_entry(full),
        )

    def _record(self, session_id: int, rows: list[tuple[str, str, str | None]]) -> None:
        """Record who session ``session_id`` is for (in its history), now or when the disk can."""
        records = self.people_records
        self.recorder.record(
            f"session {session_id}: who it is for", lambda: records.link_session(session_id, rows)
        )

    def pause_session(self) -> dict[str, Any]:
        """Pause the countdown and the music (heat stays within its limits)."""
        return self._session(self.sessions.pause)

    def resume_session(self) -> dict[str, Any]:
        """Resume a paused session; heat is renewed for the time left."""
        return self._session(self.sessions.resume)

    def extend_session(self, minutes: float = 10) -> dict[str, Any]:
        """Add minutes to the session (before its fade-out)."""
        cmd = parse(SessionExtend, {"minutes": minutes})
        return self._session(lambda now: self.sessions.extend(cmd, now))

    def stop_session(self) -> None:
        """Stop with the scene's fade-out; a second stop during the fade-out ends it now."""
        self._session(self.sessions.stop)

    def dismiss_interrupted(self) -> None:
        """Forget the notice about a session that a crash or power cut interrupted."""
        with self.lock:
            self.sessions.dismiss_interrupted()

    def _session(self, command: Callable[[float], Any]) -> Any:
        with self.lock:
            result = command(self.clock.monotonic())
        self.loop.kick()
        return result
