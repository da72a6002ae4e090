"""The journal: stress before and after a session, sleep the morning after, per person.

And what it shows, honestly: :func:`insight` gives averages only with the number of
sessions behind each, and says "not enough sessions yet" below :data:`MIN_SESSIONS`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from ..command_models import describe
from ..errors import InvalidCommand, NotFound
from .profiles import Areas
from .records import PeopleRecords

MIN_SESSIONS = 5
NOT_ENOUGH = "not enough sessions yet"
MAX_NOTE = 500
CSV_FIELDS = [
    "session_id",
    "session_started_at",
    "scene",
    "profile",
    "name",
    "when",
    "stress",
    "sleep",
    "areas",
    "note",
    "created_at",
]


class Moment(StrEnum):
    """When a journal entry is about: before the session, after it, the morning after."""

    BEFORE = "before"
    AFTER = "after"
    MORNING = "morning"


class JournalIn(BaseModel):
    """One tap in the journal."""

    model_config = ConfigDict(extra="forbid", strict=True, use_enum_values=True)

    session_id: int = Field(ge=1)
    profile: str = Field(min_length=1, max_length=40)
    when: Annotated[Moment, Strict(False)]
    stress: int | None = Field(None, ge=0, le=10)
    sleep: int | None = Field(None, ge=1, le=5)
    areas: Areas = Field(default_factory=list)
    note: str = Field("", max_length=MAX_NOTE)


def check_entry(data: Any) -> dict[str, Any]:
    """Validate a journal body; return it clean."""
    if not isinstance(data, dict):
        raise InvalidCommand("expected a JSON object")
    try:
        entry = JournalIn.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidCommand(describe(exc, JournalIn)) from None
    if entry["when"] == Moment.MORNING:
        if entry["sleep"] is None:
            raise InvalidCommand("sleep: the morning entry needs sleep, from 1 to 5")
        if entry["stress"] is not None:
            raise InvalidCommand("stress: the morning entry is about sleep; send sleep only")
    else:
        if entry["stress"] is None:
            raise InvalidCommand(f"stress: the {entry['when']} entry needs stress, from 0 to 10")
        if entry["sleep"] is not None:
            raise InvalidCommand("sleep: sleep goes in the morning entry (when: morning)")
    entry["areas"] = list(dict.fromkeys(entry["areas"]))
    return entry


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: Any, key: str) -> date | None:
    """Read a ``YYYY-MM-DD`` query value (None if absent)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        raise InvalidCommand(f"{key}: use a date like 2026-03-01")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidCommand(f"{key}: {value!r} is not a real date") from None


def before_entries(
    before: dict[str, Any] | None,
    people: Any,
    profile: Callable[[str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The "before" ratings sent with a session's start, as entries; raise if one is wrong.

    ``before`` is {profile id: {stress, areas}} (parsed already); ``people`` are the session's
    (:class:`hub.people.limits.People` or None): each rated person must be one of them.
    """
    out = []
    for pid, rating in (before or {}).items():
        try:
            person = profile(pid)
        except NotFound:
            raise InvalidCommand(f"before: no profile called {pid!r}") from None
        if people is None or not people.has(pid):
            names = ", ".join(dict.fromkeys(p.name for p in people.people)) if people else ""
            raise InvalidCommand(
                f"before: {person['name']} is not in this session "
                + (f"(it is for {names}); " if names else "(nobody is picked); ")
                + "pick who is on the table first"
            )
        areas = rating["areas"] if isinstance(rating, dict) else rating.areas
        stress = rating["stress"] if isinstance(rating, dict) else rating.stress
        out.append(
            {
                "profile": pid,
                "when": Moment.BEFORE.value,
                "stress": stress,
                "sleep": None,
                "areas": list(dict.fromkeys(str(a) for a in areas)),
                "note": "",
            }
        )
    return out


class Journal:
    """Write and read journal entries, and what they add up to (lock held by the caller)."""

    def __init__(
        self,
        records: PeopleRecords,
        profile: Callable[[str], dict[str, Any]],
        now_iso: Callable[[], str],
    ) -> None:
        self._records = records
        self._profile = profile
        self._now_iso = now_iso

    def add(self, data: Any) -> dict[str, Any]:
        """Store one entry (again for the same person and moment: it replaces); return it."""
        entry = check_entry(data)
        try:
            person = self._profile(entry["profile"])
        except NotFound:
            raise InvalidCommand(f"profile: no profile called {entry['profile']!r}") from None
        session = self._records.session(entry["session_id"])
        if session is None:
            raise InvalidCommand(f"session_id: no session number {entry['session_id']}")
        people = self._records.session_people([entry["session_id"]])[entry["session_id"]]
        if people and person["id"] not in {p["profile"] for p in people}:
            names = ", ".join(p["name"] for p in people)
            raise InvalidCommand(
                f"profile: {person['name']} was not in session {entry['session_id']} "
                f"(it was for {names})"
            )
        if not people:  # a session started without the picker: it was for them after all
            self._records.link_session(entry["session_id"], [(person["id"], person["name"], None)])
        entry["created_at"] = self._now_iso()
        entry["id"] = self._records.put_entry(entry)
        return entry

    def entries(
        self, profile: Any = None, since: Any = None, until: Any = None
    ) -> list[dict[str, Any]]:
        """Entries, oldest session first; ``since``/``until`` are days (until included)."""
        if profile is not None and not (isinstance(profile, str) and 0 < len(profile) <= 40):
            raise InvalidCommand("profile: give a profile id")
        start, end = parse_day(since, "from"), parse_day(until, "to")
        if start and end and end < start:
            raise InvalidCommand("to: must not be before from")
        return self._records.entries(
            profile or None,
            start.isoformat() if start else None,
            (end + timedelta(days=1)).isoformat() if end else None,
        )

    def csv(self, rows: list[dict[str, Any]], names: dict[str, str]) -> str:
        """The entries as CSV (cells that a spreadsheet would run as formulas are quoted)."""
        out = io.StringIO()
        w = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n")
        w.writeheader()
        for r in rows:
            row = {
                **r,
                "name": names.get(r["profile"], ""),
                "areas": ";".join(r["areas"]),
            }
            w.writerow({k: _cell(row.get(k)) for k in CSV_FIELDS})
        return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def pairs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (session, person) with both a before and an after: its stress drop."""
    by: dict[tuple[int, str], dict[str, Any]] = {}
    for r in rows:
        k = (r["session_id"], r["profile"])
        by.setdefault(k, {"scene": r["scene_name"], "started_at": r["session_started_at"]})
        by[k][r["when"]] = r["stress"] if r["when"] != Moment.MORNING else r["sleep"]
    return [
        {**v, "session_id": k[0], "profile": k[1], "drop": v["before"] - v["after"]}
        for k, v in by.items()
        if v.get("before") is not None and v.get("after") is not None
    ]


def insight(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the journal shows: weekly averages, and scenes by their stress drop, with counts."""
    done = pairs(rows)
    weeks: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        day = datetime.fromisoformat(r["session_started_at"]).date()
        monday = (day - timedelta(days=day.weekday())).isoformat()
        value = r["sleep"] if r["when"] == Moment.MORNING else r["stress"]
        weeks[monday][r["when"]].append(value)
    week_rows = [
        {
            "week": w,
            "before": _mean(v["before"]),
            "after": _mean(v["after"]),
            "sleep": _mean(v["morning"]),
            "entries": {m: len(v[m]) for m in ("before", "after", "morning")},
        }
        for w, v in sorted(weeks.items())
    ]
    by_scene: dict[str, list[float]] = defaultdict(list)
    for p in done:
        by_scene[p["scene"]].append(p["drop"])
    scenes = [
        {
            "scene": name,
            "sessions": len(drops),
            "average_drop": _mean(drops) if len(drops) >= MIN_SESSIONS else None,
            "message": None if len(drops) >= MIN_SESSIONS else NOT_ENOUGH,
        }
        for name, drops in by_scene.items()
    ]
    scenes.sort(key=lambda s: (s["average_drop"] is None, -(s["average_drop"] or 0), s["scene"]))
    enough = len(done) >= MIN_SESSIONS
    sleeps = [r["sleep"] for r in rows if r["when"] == Moment.MORNING]
    return {
        "sessions": len(done),  # rated pairs: one per person, so a couple's session counts twice
        "rated_sessions": len({p["session_id"] for p in done}),
        "enough": enough,
        "message": None if enough else NOT_ENOUGH,
        "average_drop": _mean([p["drop"] for p in done]) if enough else None,
        "sleep_nights": len(sleeps),
        "average_sleep": _mean(sleeps) if len(sleeps) >= MIN_SESSIONS else None,
        "scenes": scenes,
        "weeks": week_rows,
        "min_sessions": MIN_SESSIONS,
    }


def sensors(rows: list[dict[str, Any]], profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """Per profile: the last session's stress change (after - before) and the last sleep."""
    done = pairs(rows)
    out: dict[str, Any] = {}
    for prof in profiles:
        mine = [p for p in done if p["profile"] == prof["id"]]
        last = max(mine, key=lambda p: (p["started_at"], p["session_id"])) if mine else None
        nights = [r for r in rows if r["profile"] == prof["id"] and r["when"] == Moment.MORNING]
        night = max(nights, key=lambda r: (r["session_started_at"], r["id"])) if nights else None
        out[prof["id"]] = {
            "name": prof["name"],
            "stress_change": -last["drop"] if last else None,
            "stress_session": last["session_id"] if last else None,
            "sleep": night["sleep"] if night else None,
            "sleep_night_of": night["session_started_at"][:10] if night else None,
        }
    return out
