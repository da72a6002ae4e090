"""What every stored row must be, table by table: one set of checks for restore and start-up.

A restore refuses a backup with a row that fails these checks; the store, when it opens,
sets such a row aside (:mod:`hub.backup.set_aside`). Either way no reader meets a row it cannot
read: the checks are the same models and bounds as the API's (scenes, routines with their
status, profiles, journal entries, who is on the table), plus the column types and ranges
the readers rely on (a time that converts to UTC, a number in range, JSON where JSON is).

JSON held in a column is measured before it is parsed (:func:`bounded_json`): size, depth
and element count, so no document, however written, costs more than its size bounds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

MAX_DOC_BYTES = 64 * 1024  # one scene, routine, profile or setting as JSON
MAX_DOC_DEPTH = 16
MAX_DOC_ELEMENTS = 5_000
YEARS = (1970, 2200)  # a stored time outside these years is not one the hub wrote
ROUTINE_OUTCOMES = (
    "failed",
    "missed",
    "ran",
    "skipped",
    "stopped",
)  # a tuple: any value may be asked
TABLE_SETTINGS = ("table", "table_default")  # who is on the table (hub/people/table.py)
MAX_ON_TABLE = 8  # hub.limits.MAX_PEOPLE (not imported: limits pulls in the device layer)

# a JSON string, or one structural character: enough to measure a document without parsing it
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)
_TOKENS_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)


class BadRow(ValueError):
    """A row no reader could use: ``message`` says which column and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def bounded_json(text: Any, where: str, *, size: int, depth: int, elements: int) -> Any:
    """Parse JSON ``text`` only if it is within ``size`` bytes, ``depth`` and ``elements``."""
    if isinstance(text, bytearray):
        text = bytes(text)
    if not isinstance(text, str | bytes):
        raise BadRow(f"{where}: must be JSON text")
    if len(text) > size:
        raise BadRow(f"{where}: larger than {size:,} bytes")
    # bytes are measured as they are: no decoded copy of a document that is refused
    opening, closing = (b"[{", b"]}") if isinstance(text, bytes) else ("[{", "]}")
    tokens = _TOKENS_BYTES if isinstance(text, bytes) else _TOKENS
    level = count = 0
    for match in tokens.finditer(text):  # type: ignore[arg-type]
        token = match.group()
        if token in opening:
            level += 1
            if level > depth:
                raise BadRow(f"{where}: nested deeper than {depth} levels")
        elif token in closing:
            level -= 1
            continue
        count += 1  # a string, an opened container or a separator: about one value each
        if count > elements:
            raise BadRow(f"{where}: more than {elements:,} values")
    try:
        return json.loads(text)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise BadRow(f"{where}: not JSON") from None


def doc_json(value: Any, where: str) -> Any:
    """Parse one column's JSON document within the bounds of a single document."""
    return bounded_json(
        value, where, size=MAX_DOC_BYTES, depth=MAX_DOC_DEPTH, elements=MAX_DOC_ELEMENTS
    )


# --- columns -------------------------------------------------------------------------------


def text(row: dict[str, Any], key: str, most: int, *, null: bool = False, least: int = 0) -> None:
    """``row[key]`` is text of ``least``..``most`` characters (or null when ``null``)."""
    value = row.get(key)
    if value is None and null:
        return
    if not isinstance(value, str) or not least <= len(value) <= most:
        raise BadRow(f"{key}: must be text of {least} to {most} characters")


def integer(row: dict[str, Any], key: str, lo: int, hi: int, *, null: bool = False) -> None:
    """``row[key]`` is a whole number in ``lo``..``hi`` (or null when ``null``)."""
    value = row.get(key)
    if value is None and null:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise BadRow(f"{key}: must be a whole number from {lo} to {hi}")


def number(row: dict[str, Any], key: str, lo: float, hi: float, *, null: bool = False) -> None:
    """``row[key]`` is a finite number in ``lo``..``hi`` (or null when ``null``)."""
    value = row.get(key)
    if value is None and null:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not lo <= value <= hi:
        raise BadRow(f"{key}: must be a number from {lo:g} to {hi:g}")


def when(value: Any, key: str, *, null: bool = False) -> None:
    """``value`` is an ISO 8601 time the hub could have written (naive means UTC)."""
    if value is None and null:
        return
    if not isinstance(value, str) or len(value) > 40:
        raise BadRow(f"{key}: must be a date and time like 2026-03-01T21:30:00+00:00")
    try:
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        at = at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRow(f"{key}: {value[:40]!r} is not a date and time") from None
    if not YEARS[0] <= at.year <= YEARS[1]:
        raise BadRow(f"{key}: {value!r} is not between {YEARS[0]} and {YEARS[1]}")


# --- tables --------------------------------------------------------------------------------


def _scene(row: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from ..scenes.scene import Scene

    text(row, "id", 80, least=1)
    doc = doc_json(row.get("data"), "data")
    try:
        Scene.model_validate(doc)
    except (ValidationError, TypeError, ValueError) as exc:
        raise BadRow(f"not a scene this hub can read ({exc})"[:300]) from None
    if not isinstance(doc, dict) or doc.get("id") != row["id"] or doc.get("builtin"):
        raise BadRow("its id does not match its data")
    text(row, "updated_at", 40)


def _routine(row: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from ..routines.records import Routine

    text(row, "id", 80, least=1)
    doc = doc_json(row.get("data"), "data")
    try:
        routine = Routine.from_doc(doc)
    except (ValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadRow(f"not a routine this hub can read ({exc})"[:300]) from None
    if routine.id != row["id"]:
        raise BadRow("its id does not match its data")
    status = doc.get("status") or {}
    if not isinstance(status, dict):
        raise BadRow("status: must be a mapping")
    for key in ("next_planned", "last_planned", "last_run", "skip_next"):
        when(status.get(key), f"status.{key}", null=True)
    outcome = status.get("last_outcome")
    if outcome is not None and outcome not in ROUTINE_OUTCOMES:
        raise BadRow(f"status.last_outcome: must be one of {', '.join(sorted(ROUTINE_OUTCOMES))}")
    text(status, "last_detail", 2_000, null=True)
    text(status, "zone", 80, null=True)
    text(row, "updated_at", 40)


def _profile(row: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from ..people.profiles import ProfileOut

    text(row, "id", 40, least=1)
    try:
        profile = ProfileOut.model_validate(doc_json(row.get("data"), "data"))
    except (ValidationError, TypeError, ValueError) as exc:
        raise BadRow(f"not a profile this hub can read ({exc})"[:300]) from None
    if profile.id != row["id"]:
        raise BadRow("its id does not match its data")
    text(row, "updated_at", 40)


def _session(row: dict[str, Any]) -> None:
    integer(row, "id", 1, 2**62)
    text(row, "scene", 80, least=1)
    text(row, "scene_name", 200)
    text(row, "source", 80)
    when(row.get("started_at"), "started_at")
    number(row, "planned_minutes", 0, 24 * 60)
    number(row, "actual_minutes", 0, 24 * 60, null=True)
    when(row.get("ended_at"), "ended_at", null=True)
    text(row, "end_reason", 80, null=True)


def _session_energy(row: dict[str, Any]) -> None:
    integer(row, "session_id", 1, 2**62)
    number(row, "kwh", 0, 1e6)
    number(row, "cost", 0, 1e8, null=True)
    text(row, "currency", 4, null=True, least=1)


def _session_person(row: dict[str, Any]) -> None:
    integer(row, "session_id", 1, 2**62)
    text(row, "profile_id", 40, least=1)
    text(row, "name", 200)
    text(row, "pad", 40, null=True)


@cache
def _areas() -> Any:
    """The journal's areas as a validator (made once: building one costs more than a row)."""
    from pydantic import TypeAdapter

    from ..people.profiles import Areas

    return TypeAdapter(Areas)


def _journal(row: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from ..people.journal import MAX_NOTE, Moment

    integer(row, "id", 1, 2**62)
    integer(row, "session_id", 1, 2**62)
    text(row, "profile_id", 40, least=1)
    if row.get("moment") not in tuple(Moment):
        raise BadRow(f"moment: must be one of {', '.join(Moment)}")
    integer(row, "stress", 0, 10, null=True)
    integer(row, "sleep", 1, 5, null=True)
    try:
        _areas().validate_python(doc_json(row.get("areas"), "areas"))
    except ValidationError:
        raise BadRow("areas: must be a list of body areas") from None
    text(row, "note", MAX_NOTE)
    when(row.get("created_at"), "created_at")


def _routine_run(row: dict[str, Any]) -> None:
    integer(row, "id", 1, 2**62)
    text(row, "routine_id", 80, least=1)
    when(row.get("planned_at"), "planned_at", null=True)
    when(row.get("ran_at"), "ran_at")
    if row.get("outcome") not in ROUTINE_OUTCOMES:
        raise BadRow(f"outcome: must be one of {', '.join(sorted(ROUTINE_OUTCOMES))}")
    text(row, "detail", 2_000, null=True)


def _setting(row: dict[str, Any]) -> None:
    text(row, "key", 200, least=1)
    value = doc_json(row.get("value"), "value")
    if row["key"] in TABLE_SETTINGS:
        ok = isinstance(value, list) and len(value) <= MAX_ON_TABLE
        for seat in value if ok else ():
            ok = ok and isinstance(seat, dict) and set(seat) == {"profile", "pad"}
            ok = ok and isinstance(seat["profile"], str) and 0 < len(seat["profile"]) <= 40
            ok = ok and (seat["pad"] is None or isinstance(seat["pad"], str))
        if not ok:
            raise BadRow(
                f"value: who is on the table must be a list of at most {MAX_ON_TABLE} "
                '{"profile": id, "pad": pad or null}'
            )


def _guest_action(row: dict[str, Any]) -> None:
    integer(row, "id", 1, 2**62)
    integer(row, "guest_id", 0, 2**62)
    text(row, "guest_name", 200)
    when(row.get("at"), "at")
    text(row, "action", 500)
    integer(row, "session_id", 1, 2**62, null=True)


def _guest(row: dict[str, Any]) -> None:
    integer(row, "id", 1, 2**62)
    text(row, "name", 200, least=1)
    text(row, "token_hash", 200, least=1)
    profiles = doc_json(row.get("profiles"), "profiles")
    if not isinstance(profiles, list) or not all(isinstance(p, str | int) for p in profiles):
        raise BadRow("profiles: must be a list of profile ids")
    when(row.get("created_at"), "created_at")
    number(row, "expires_at", 0, 2**40)
    when(row.get("ended_at"), "ended_at", null=True)


def _token(row: dict[str, Any]) -> None:
    integer(row, "id", 1, 2**62)
    text(row, "name", 200, least=1)
    text(row, "hash", 200, least=1)
    when(row.get("created_at"), "created_at")
    when(row.get("last_used_at"), "last_used_at", null=True)


#: each stored table's check; a table not named here is not read back by anything that trusts it
CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "scenes": _scene,
    "routines": _routine,
    "profiles": _profile,
    "sessions": _session,
    "session_people": _session_person,
    "session_energy": _session_energy,
    "journal": _journal,
    "routine_runs": _routine_run,
    "settings": _setting,
    "guest_actions": _guest_action,
    "guests": _guest,  # never in a backup; checked at start all the same
    "tokens": _token,
}

#: what one row of each table is called in plain words: (one, many)
NOUNS: dict[str, tuple[str, str]] = {
    "scenes": ("scene", "scenes"),
    "routines": ("routine", "routines"),
    "profiles": ("profile", "profiles"),
    "sessions": ("session in the history", "sessions in the history"),
    "session_people": ("person of a session", "people of sessions"),
    "session_energy": ("session's energy", "sessions' energy"),
    "journal": ("journal entry", "journal entries"),
    "routine_runs": ("routine run in the log", "routine runs in the log"),
    "settings": ("setting", "settings"),
    "guest_actions": ("guest action in the history", "guest actions in the history"),
    "guests": ("visiting therapist's link", "visiting therapists' links"),
    "tokens": ("API token", "API tokens"),
}


def check_row(table: str, row: dict[str, Any]) -> None:
    """Raise BadRow if ``row`` of ``table`` is not one every reader can use."""
    try:
        CHECKS[table](row)
    except BadRow:
        raise
    except Exception as exc:  # noqa: BLE001 - a value no check foresaw is still just a bad row
        raise BadRow(f"unreadable ({type(exc).__name__}: {exc})"[:300]) from None
