"""Who is on the table: a fact of the room, set from any client and kept across restarts.

The people on the table are whom every output is held to (:class:`hub.people.limits.LimitKeeper`)
when no session says otherwise, and whom a session is for when its start names nobody
(the wall button, voice, a scene from Home Assistant or Apple Home). Two lists are kept,
each a list of (pad or None, profile id):

- **the table**: set from the Now page, by Home Assistant (a person per pad), by a routine
  that names its people, or by a session started for named people;
- **the household default** ("usually on the table", in Settings): used while the table is
  empty.

A person with a pad is held to their limits on that pad; a person with none, on every pad.
A profile deleted while on the table leaves it (and the default), and the room says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..engine.event_types import Emit, TableChanged
from ..errors import InvalidCommand
from .limits import MAX_PEOPLE, People, merge, people_of

log = logging.getLogger(__name__)

TABLE_KEY = "table"
DEFAULT_KEY = "table_default"

#: how a list of people is sent: profile ids (every pad), or {pad id: profile id}
Spec = list[str] | dict[str, str]
Pairs = list[tuple[str | None, str]]


def pairs_of(spec: Any, pads: list[str], field: str) -> Pairs:
    """Turn a spec (ids, or {pad: id}) into pairs; raise InvalidCommand, naming ``field``."""
    if isinstance(spec, dict):
        pairs: Pairs = []
        for pad, pid in spec.items():
            if pad not in pads:
                have = ", ".join(pads) or "none"
                raise InvalidCommand(f"{field}: no heat pad called {pad!r} (pads: {have})")
            if pid is not None:
                pairs.append((pad, pid))
        return pairs
    if isinstance(spec, list):
        return [(None, pid) for pid in spec]
    raise InvalidCommand(f"{field}: send a list of profile ids, or {{pad: profile id}}")


class Table:
    """Who is on the table now, and the household default (the hub lock is held by callers)."""

    def __init__(
        self,
        store: Any,
        lookup: Callable[[str], dict[str, Any]],
        pads: list[str],
        emit: Emit,
        record: Callable[[str, Callable[[], None]], None] | None = None,
    ) -> None:
        self._store = store
        self._record = record or (lambda what, write: write())
        self._lookup = lookup
        self._pads = pads
        self._emit = emit
        self._table = self._load(TABLE_KEY)
        self._default = self._load(DEFAULT_KEY)

    # --- reading ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the table and the default again (a restore replaced them), and say so."""
        self._table = self._load(TABLE_KEY)
        self._default = self._load(DEFAULT_KEY)
        self._told("restore")

    def _load(self, key: str) -> People | None:
        """A stored list, without anyone whose profile or pad has gone since."""
        try:
            rows = self._store.get_setting(key, [])
        except Exception:
            log.exception("could not read who is on the table (%s); nobody is", key)
            return None
        pairs: Pairs = []
        for row in rows if isinstance(rows, list) else []:
            pad, pid = (row.get("pad"), row.get("profile")) if isinstance(row, dict) else (0, 0)
            if isinstance(pid, str) and (pad is None or pad in self._pads):
                pairs.append((pad, pid))
        people = []
        for pad, pid in pairs[:MAX_PEOPLE]:
            try:
                people.append(people_of([(pad, pid)], self._lookup, key).people[0])
            except InvalidCommand:
                log.warning("%s: profile %r is gone; left out", key, pid)
        return merge(People(tuple(people)))

    def people(self) -> People | None:
        """Whom outputs are held to outside a session: the table, else the household default."""
        return self._table if self._table is not None else self._default

    @property
    def source(self) -> str | None:
        """``room`` (set on the table), ``default`` (the household default) or None."""
        if self._table is not None:
            return "room"
        return "default" if self._default is not None else None

    def state(self, name: Callable[[str], str] = str) -> dict[str, Any]:
        """Who is on the table, why, the household default and the limits in words."""
        people = self.people()
        return {
            "people": [p.to_dict() for p in people.people] if people else [],
            "source": self.source,
            "default": [p.to_dict() for p in self._default.people] if self._default else [],
            "limits": people.limits(self._pads) if people else None,
            "limits_words": people.words(self._pads, name) if people else None,
        }

    # --- changing ---------------------------------------------------------------------------

    def resolve(self, spec: Any, field: str = "people") -> People | None:
        """Check ``spec`` (ids, or {pad: id}; empty: nobody) into People; raise if bad."""
        pairs = pairs_of(spec, self._pads, field)
        return people_of(pairs, self._lookup, field) if pairs else None

    def set(self, people: People | None, *, by: str) -> None:
        """Put ``people`` on the table (None: nobody, so the household default holds)."""
        self._table = people
        self._save(TABLE_KEY, people)
        self._told(by)

    def seat(self, pad: str, profile: str | None, *, by: str) -> None:
        """Put ``profile`` on ``pad`` (None: nobody on it), keeping the others where they are."""
        if pad not in self._pads:
            raise InvalidCommand(f"no heat pad called {pad!r} (pads: {', '.join(self._pads)})")
        kept = [
            (p.pad, p.profile)
            for p in (self._table.people if self._table else ())
            if p.pad != pad and (p.pad is not None or profile != p.profile)
        ]
        if profile is not None:
            kept = [(q, pid) for q, pid in kept if pid != profile]  # one place each
            kept.append((pad, profile))
        self.set(people_of(kept, self._lookup, "people") if kept else None, by=by)

    def set_default(self, people: People | None) -> None:
        """Make ``people`` the household default (None: nobody)."""
        self._default = people
        self._save(DEFAULT_KEY, people)
        self._told("settings")

    def profile_changed(self, profile: dict[str, Any]) -> None:
        """A profile's name or limits changed: the table and the default follow."""
        if self._table is not None and self._table.has(profile["id"]):
            self._table = self._table.with_profile(profile)
        if self._default is not None and self._default.has(profile["id"]):
            self._default = self._default.with_profile(profile)

    def profile_deleted(self, profile_id: str, name: str) -> str | None:
        """Take a deleted profile off the table and the default; say what the room does now."""
        gone = False
        for key in (TABLE_KEY, DEFAULT_KEY):
            people = self._table if key == TABLE_KEY else self._default
            if people is None or not people.has(profile_id):
                continue
            gone = True
            left = merge(People(tuple(p for p in people.people if p.profile != profile_id)))
            if key == TABLE_KEY:
                self._table = left
            else:
                self._default = left
            self._save(key, left)
        if not gone:
            return None
        now = self.people()
        if now is None:
            message = f"{name} was deleted and is no longer on the table; nobody is now"
        else:
            whom = ", ".join(p.name for p in now.people)
            fell = " (the household default)" if self.source == "default" else ""
            message = f"{name} was deleted and is no longer on the table; now: {whom}{fell}"
        self._told("profile deleted", message)
        return message

    def _save(self, key: str, people: People | None) -> None:
        """Keep it for the next start (the room knows at once; the disk may follow)."""
        rows = [{"profile": p.profile, "pad": p.pad} for p in people.people] if people else []
        self._record(f"who is on the table ({key})", lambda: self._store.set_setting(key, rows))

    def _told(self, by: str, message: str | None = None) -> None:
        people = self.people()
        self._emit(
            TableChanged(
                by=by,
                people=[p.to_dict() for p in people.people] if people else [],
                source=self.source,
                message=message,
            )
        )
