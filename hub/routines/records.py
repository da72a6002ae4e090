"""A routine's record: its definition as sent (checked), as stored in SQLite, and as shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ..command_models import describe
from ..errors import InvalidCommand
from .models import (
    OnceSchedule,
    RoutineIn,
    RoutinePatch,
    Schedule,
    SunsetSchedule,
    describe_schedule,
    in_words,
    next_fire,
)

#: the keys a routine is shown with besides its definition (a GET body sent back holds them)
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


def iso(at: datetime | None) -> str | None:
    """Return ``at`` in UTC as ISO 8601 to the second (None stays None)."""
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(value: Any) -> datetime | None:
    """Read a stored ISO 8601 time (naive means UTC); None if there is none or it is bad."""
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


def parse_spec(data: Any) -> RoutineIn:
    """Validate a routine's definition; raise InvalidCommand saying what to change."""
    if not isinstance(data, dict):
        raise InvalidCommand("expected a JSON object")
    try:
        return RoutineIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidCommand(_clean(describe(exc))) from None


def patched(spec: RoutineIn, data: Any) -> tuple[dict[str, Any], bool]:
    """Merge a change (some fields or all) into ``spec``; also say if a past date is refused."""
    if not isinstance(data, dict):
        raise InvalidCommand("expected a JSON object")
    rid = spec.id
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
    merged = {**spec.model_dump(mode="json"), **data, "id": rid}
    # a one-off that has run may still be renamed or disabled; a new date must be ahead
    check_past = "schedule" in data or (data.get("enabled") is True and not spec.enabled)
    return merged, check_past


def schedule_problems(
    sched: Schedule,
    location: tuple[float, float] | None,
    zone: ZoneInfo,
    now: datetime | None,
) -> list[str]:
    """List why ``sched`` cannot run here: a sunset with no location, a date past at ``now``."""
    if isinstance(sched, SunsetSchedule) and location is None:
        return [
            "schedule: sunset routines need the room's location in the config "
            "(location: {latitude: ..., longitude: ...})"
        ]
    if isinstance(sched, OnceSchedule) and now is not None and next_fire(sched, now, zone) is None:
        return [
            f"schedule: {sched.date} {sched.time} is in the past "
            f"(it is {now.astimezone(zone):%Y-%m-%d %H:%M} now)"
        ]
    return []


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

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Routine:
        """Read a stored document (a disabled routine has no next run); raise if unreadable."""
        spec = RoutineIn.model_validate(doc["spec"])
        st = doc.get("status") or {}
        return cls(
            spec=spec,
            next_planned=parse_iso(st.get("next_planned")) if spec.enabled else None,
            last_planned=parse_iso(st.get("last_planned")),
            last_run=parse_iso(st.get("last_run")),
            last_outcome=st.get("last_outcome"),
            last_detail=st.get("last_detail"),
            skip_next=parse_iso(st.get("skip_next")),
        )

    def doc(self) -> dict[str, Any]:
        """Return the stored document."""
        return {
            "spec": self.spec.model_dump(mode="json"),
            "status": {
                "next_planned": iso(self.next_planned),
                "last_planned": iso(self.last_planned),
                "last_run": iso(self.last_run),
                "last_outcome": self.last_outcome,
                "last_detail": self.last_detail,
                "skip_next": iso(self.skip_next),
            },
        }

    def out(self, now: datetime, zone: ZoneInfo, *, running: bool) -> dict[str, Any]:
        """Return the routine as shown: its definition, next and last run, in local time."""
        out = self.spec.model_dump(mode="json")

        def local(at: datetime | None) -> str | None:
            return None if at is None else at.astimezone(zone).isoformat(timespec="seconds")

        out.update(
            next_run=local(self.shown_next),
            next_run_words=None
            if self.shown_next is None
            else in_words(self.shown_next, now, zone),
            skip_next=local(self.skip_next),
            last_planned=local(self.last_planned),
            last_run=local(self.last_run),
            last_outcome=self.last_outcome,
            last_detail=self.last_detail,
            running=running,
            schedule_words=describe_schedule(self.spec.schedule),
        )
        return out
