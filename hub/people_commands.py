"""The hub's commands and queries about people: profiles, who is on the table, the journal.

:class:`~hub.core.Hub` inherits these, as it does :mod:`hub.hub_commands`. Each takes the
hub lock; a refused one raises a ``HubError`` before anything changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .commands import TableSet, parse
from .devices import attempt
from .errors import InvalidCommand
from .facts import EventType
from .journal import insight, sensors

if TYPE_CHECKING:
    from .clock import Clock
    from .devices import DeviceController
    from .events import HubLock
    from .journal import Journal
    from .limits import LimitKeeper
    from .loop import ControlLoop
    from .people_records import PeopleRecords
    from .profiles import ProfileLibrary
    from .sessions import SessionController
    from .table import Table


class PeopleCommands:
    """Profiles and the journal (the attributes are the Hub's)."""

    lock: HubLock
    clock: Clock
    profiles: ProfileLibrary
    journal: Journal
    people_records: PeopleRecords
    limits: LimitKeeper
    sessions: SessionController
    table: Table
    devices: DeviceController
    loop: ControlLoop
    guard: Any
    _record: Callable[[int, list[tuple[str, str, str | None]]], None]
    _emit: Callable[[EventType, dict[str, Any]], None]

    # --- profiles -------------------------------------------------------------------------

    def list_profiles(self) -> list[dict[str, Any]]:
        """Return every profile, by name."""
        with self.lock:
            return self.profiles.list()

    def get_profile(self, profile_id: str) -> dict[str, Any]:
        """Return one profile or raise NotFound."""
        with self.lock:
            return self.profiles.get(profile_id)

    def create_profile(self, data: Any) -> dict[str, Any]:
        """Store a new profile; return it with its id."""
        with self.lock:
            out = self.profiles.create(data)
            self._emit(EventType.PEOPLE, {"action": "profile_saved", "profile": out["id"]})
            return out

    def update_profile(self, profile_id: str, data: Any) -> dict[str, Any]:
        """Replace a profile; a running session for them takes the new limits at once."""
        with self.lock:
            out = self.profiles.update(profile_id, data)
            self.table.profile_changed(out)
            self.sessions.people_changed(out, self.clock.monotonic())
            self.devices.hold_to_limits(self.clock.monotonic())
            self._emit(EventType.PEOPLE, {"action": "profile_saved", "profile": out["id"]})
            return out

    def delete_profile(self, profile_id: str) -> None:
        """Delete a profile and its journal (refused while they are in the running session)."""
        with self.lock:
            name = self.profiles.get(profile_id)["name"]
            self.profiles.delete(profile_id)
            self._emit(EventType.PEOPLE, {"action": "profile_deleted", "profile": profile_id})
            self.table.profile_deleted(profile_id, name)
            self.devices.hold_to_limits(self.clock.monotonic())

    # --- who is on the table --------------------------------------------------------------

    def table_state(self) -> dict[str, Any]:
        """Who is on the table now, why, the household default and the limits in force."""
        with self.lock:
            out = self.table.state(self.devices.name)
            s = self.sessions.current
            if s is not None:  # a session's people hold while it runs (a link's among them)
                pads = self.guard.pad_ids
                out["people"] = [p.to_dict() for p in s.people.people] if s.people else []
                out["limits"] = s.people.limits(pads) if s.people else None
                out["limits_words"] = s.people.words(pads, self.devices.name) if s.people else None
                out["fixed"] = [p.to_dict() for p in s.fixed.people] if s.fixed else []
                if s.fixed is not None:
                    out["source"] = "link"
            return out

    def set_table(self, people: Any, *, by: str = "owner") -> dict[str, Any]:
        """Say who is on the table (ids, or {pad: id}; empty: nobody); return the table.

        A running session is for them from now on (a therapist's link's people stay).
        """
        spec = parse(TableSet, {"people": people}).people  # type: ignore[attr-defined]
        with self.lock:
            found = self.table.resolve(spec)
            self.table.set(found, by=by)
            self._table_changed()
        self.loop.kick()
        return self.table_state()

    def seat(self, pad: str, profile: str | None, *, by: str = "owner") -> dict[str, Any]:
        """Put ``profile`` on heat pad ``pad`` (None: nobody there); return the table."""
        if not isinstance(pad, str) or not (profile is None or isinstance(profile, str)):
            raise InvalidCommand("seat: send a pad id and a profile id (or nobody)")
        with self.lock:
            if profile is not None:
                self.table.resolve([profile])  # refuse an unknown one, naming it
            self.table.seat(pad, profile, by=by)
            self._table_changed()
        self.loop.kick()
        return self.table_state()

    def set_table_default(self, people: Any) -> dict[str, Any]:
        """Say who is usually on the table (the household default); return the table."""
        spec = parse(TableSet, {"people": people}).people  # type: ignore[attr-defined]
        with self.lock:
            self.table.set_default(self.table.resolve(spec, "default"))
            self._table_changed()
        self.loop.kick()
        return self.table_state()

    def _table_changed(self) -> None:
        now = self.clock.monotonic()
        if self.sessions.table_changed(self.table.people(), now):
            s = self.sessions.current
            if s is not None and s.people is not None:
                rows = s.people.rows()
                sid = s.id
                attempt("recording who the session is for", lambda: self._record(sid, rows))
        else:
            self.devices.hold_to_limits(now)

    # --- the journal ----------------------------------------------------------------------

    def add_journal_entry(self, data: Any) -> dict[str, Any]:
        """Store one journal entry (before, after or the morning after a session)."""
        with self.lock:
            out = self.journal.add(data)
            self._emit(EventType.PEOPLE, {"action": "journal", "profile": out.get("profile")})
            return out

    def journal_entries(
        self, profile: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Return journal entries (of one profile, between two days), oldest first."""
        with self.lock:
            return self.journal.entries(profile, since, until)

    def journal_csv(
        self, profile: str | None = None, since: str | None = None, until: str | None = None
    ) -> str:
        """Return the journal entries as CSV."""
        with self.lock:
            rows = self.journal.entries(profile, since, until)
            names = {p["id"]: p["name"] for p in self.profiles.list()}
            return self.journal.csv(rows, names)

    def journal_insight(self, profile: str | None = None) -> dict[str, Any]:
        """Return what the journal shows (weekly stress and sleep, scenes by stress drop)."""
        with self.lock:
            if profile is not None:
                self.profiles.get(profile)
            return insight(self.journal.entries(profile))

    def profile_sensors(self) -> dict[str, Any]:
        """Per profile: the last session's stress change and the last night's sleep (for HA)."""
        with self.lock:
            return sensors(self.journal.entries(), self.profiles.list())

    def _with_people(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """History rows with who each session was for and their journal ratings."""
        ids = [r["id"] for r in rows]
        people = self.people_records.session_people(ids)
        marks: dict[tuple[int, str], dict[str, Any]] = {}
        for e in self.people_records.entries_for(ids):
            value = e["sleep"] if e["moment"] == "morning" else e["stress"]
            marks.setdefault((e["session_id"], e["profile_id"]), {})[e["moment"]] = value
        for r in rows:
            r["people"] = [
                {
                    **p,
                    "before": marks.get((r["id"], p["profile"]), {}).get("before"),
                    "after": marks.get((r["id"], p["profile"]), {}).get("after"),
                    "sleep": marks.get((r["id"], p["profile"]), {}).get("morning"),
                }
                for p in people[r["id"]]
            ]
        return rows
