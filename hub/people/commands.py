"""``hub.people``: profiles, who is on the table, and the journal, each under the hub lock.

A refused command raises a ``HubError`` before anything changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..command_models import TableSet, parse
from ..engine.event_types import PeopleChanged
from ..errors import InvalidCommand, attempt
from .journal import insight, sensors

if TYPE_CHECKING:
    from ..context import Context
    from .limits import People


class PeopleCommands:
    """The household's people: their profiles, who is on the table, their journal."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # --- profiles -------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        """Return every profile, by name."""
        with self._ctx.lock:
            return self._ctx.profiles.list()

    def get(self, profile_id: str) -> dict[str, Any]:
        """Return one profile or raise NotFound."""
        with self._ctx.lock:
            return self._ctx.profiles.get(profile_id)

    def create(self, data: Any) -> dict[str, Any]:
        """Store a new profile; return it with its id."""
        c = self._ctx
        with c.lock:
            out = c.profiles.create(data)
            c.emit(PeopleChanged(action="profile_saved", profile=out["id"]))
            return out

    def update(self, profile_id: str, data: Any) -> dict[str, Any]:
        """Replace a profile; a running session for them takes the new limits at once."""
        c = self._ctx
        with c.lock:
            out = c.profiles.update(profile_id, data)
            c.table.profile_changed(out)
            c.sessions.people_changed(out, c.clock.monotonic())
            c.devices.hold_to_limits(c.clock.monotonic())
            c.emit(PeopleChanged(action="profile_saved", profile=out["id"]))
            return out

    def delete(self, profile_id: str) -> None:
        """Delete a profile and its journal (refused while they are in the running session)."""
        c = self._ctx
        with c.lock:
            name = c.profiles.get(profile_id)["name"]
            c.profiles.delete(profile_id)
            c.emit(PeopleChanged(action="profile_deleted", profile=profile_id))
            c.table.profile_deleted(profile_id, name)
            c.devices.hold_to_limits(c.clock.monotonic())

    # --- who is on the table --------------------------------------------------------------

    def table(self) -> dict[str, Any]:
        """Who is on the table now, why, the household default and the limits in force."""
        c = self._ctx
        with c.lock:
            out = c.table.state(c.devices.name)
            s = c.sessions.current
            if s is not None:  # a session's people hold while it runs (a link's among them)
                pads = c.guard.pad_ids
                out["people"] = [p.to_dict() for p in s.people.people] if s.people else []
                out["limits"] = s.people.limits(pads) if s.people else None
                out["limits_words"] = s.people.words(pads, c.devices.name) if s.people else None
                out["fixed"] = [p.to_dict() for p in s.fixed.people] if s.fixed else []
                if s.fixed is not None:
                    out["source"] = "link"
            return out

    def resolve(self, spec: Any, field: str = "people") -> People | None:
        """Return the people ``spec`` names (ids, or {pad: id}); refuse unknown ones, naming them."""
        return self._ctx.table.resolve(spec, field)

    def set_table(self, people: Any, *, by: str = "owner") -> dict[str, Any]:
        """Say who is on the table (ids, or {pad: id}; empty: nobody); return the table.

        A running session is for them from now on (a therapist's link's people stay).
        """
        spec = parse(TableSet, {"people": people}).people  # type: ignore[attr-defined]
        c = self._ctx
        with c.lock:
            found = c.table.resolve(spec)
            c.table.set(found, by=by)
            self._table_changed()
        c.kick()
        return self.table()

    def seat(self, pad: str, profile: str | None, *, by: str = "owner") -> dict[str, Any]:
        """Put ``profile`` on heat pad ``pad`` (None: nobody there); return the table."""
        if not isinstance(pad, str) or not (profile is None or isinstance(profile, str)):
            raise InvalidCommand("seat: send a pad id and a profile id (or nobody)")
        c = self._ctx
        with c.lock:
            if profile is not None:
                c.table.resolve([profile])  # refuse an unknown one, naming it
            c.table.seat(pad, profile, by=by)
            self._table_changed()
        c.kick()
        return self.table()

    def set_default(self, people: Any) -> dict[str, Any]:
        """Say who is usually on the table (the household default); return the table."""
        spec = parse(TableSet, {"people": people}).people  # type: ignore[attr-defined]
        c = self._ctx
        with c.lock:
            c.table.set_default(c.table.resolve(spec, "default"))
            self._table_changed()
        c.kick()
        return self.table()

    def _table_changed(self) -> None:
        c = self._ctx
        now = c.clock.monotonic()
        if c.sessions.table_changed(c.table.people(), now):
            s = c.sessions.current
            if s is not None and s.people is not None:
                rows = s.people.rows()
                sid = s.id
                attempt("recording who the session is for", lambda: c.record_people(sid, rows))
        else:
            c.devices.hold_to_limits(now)

    # --- the journal ----------------------------------------------------------------------

    def add_journal_entry(self, data: Any) -> dict[str, Any]:
        """Store one journal entry (before, after or the morning after a session)."""
        c = self._ctx
        with c.lock:
            out = c.journal.add(data)
            c.emit(PeopleChanged(action="journal", profile=out.get("profile")))
            return out

    def journal_entries(
        self, profile: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Return journal entries (of one profile, between two days), oldest first."""
        with self._ctx.lock:
            return self._ctx.journal.entries(profile, since, until)

    def journal_csv(
        self, profile: str | None = None, since: str | None = None, until: str | None = None
    ) -> str:
        """Return the journal entries as CSV."""
        c = self._ctx
        with c.lock:
            rows = c.journal.entries(profile, since, until)
            names = {p["id"]: p["name"] for p in c.profiles.list()}
            return c.journal.csv(rows, names)

    def journal_insight(self, profile: str | None = None) -> dict[str, Any]:
        """Return what the journal shows (weekly stress and sleep, scenes by stress drop)."""
        c = self._ctx
        with c.lock:
            if profile is not None:
                c.profiles.get(profile)
            return insight(c.journal.entries(profile))

    def sensors(self) -> dict[str, Any]:
        """Per profile: the last session's stress change and the last night's sleep (for HA)."""
        c = self._ctx
        with c.lock:
            return sensors(c.journal.entries(), c.profiles.list())
