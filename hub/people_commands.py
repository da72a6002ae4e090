"""The hub's commands and queries about people: profiles, the journal, what it shows.

:class:`~hub.core.Hub` inherits these, as it does :mod:`hub.hub_commands`. Each takes the
hub lock; a refused one raises a ``HubError`` before anything changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .facts import EventType
from .journal import insight, sensors

if TYPE_CHECKING:
    from .clock import Clock
    from .events import HubLock
    from .journal import Journal
    from .limits import LimitKeeper
    from .people_records import PeopleRecords
    from .profiles import ProfileLibrary
    from .sessions import SessionController


class PeopleCommands:
    """Profiles and the journal (the attributes are the Hub's)."""

    lock: HubLock
    clock: Clock
    profiles: ProfileLibrary
    journal: Journal
    people_records: PeopleRecords
    limits: LimitKeeper
    sessions: SessionController
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
            self.sessions.people_changed(out, self.clock.monotonic())
            self._emit(EventType.PEOPLE, {"action": "profile_saved", "profile": out["id"]})
            return out

    def delete_profile(self, profile_id: str) -> None:
        """Delete a profile and its journal (refused while they are in the running session)."""
        with self.lock:
            self.profiles.delete(profile_id)
            self._emit(EventType.PEOPLE, {"action": "profile_deleted", "profile": profile_id})

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
