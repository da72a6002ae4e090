"""Routine models and schedule arithmetic (pure: no scheduler, no hub).

The web API imports the models from here for its OpenAPI description.

Time rules (tested in tests/core/routines/test_routines_dst.py):

- Times are wall-clock times in the hub's time zone. A routine at 21:30 fires at 21:30
  local time on both sides of a daylight-saving change, once a day.
- A time that does not exist that night (the clocks spring forward over it, e.g. 01:30
  in London on the last Sunday of March) fires once, at the moment the clocks go forward
  (02:00 BST in that example): "as soon as that time has come", as cron does.
- A time that exists twice (the clocks fall back, e.g. 01:30 in London on the last Sunday
  of October) fires once, at its first occurrence (01:30 BST), never again an hour later.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, StrictBool, field_validator, model_validator

from ..command_models import Command, ProfileId

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
ROUTINE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def parse_time(value: str) -> time:
    """Parse "HH:MM" or "HH:MM:SS" (24-hour clock); raise ValueError with a clear message."""
    m = TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"use HH:MM on the 24-hour clock, e.g. 21:30 (got {value!r})")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59):
        raise ValueError(f"use a time from 00:00 to 23:59 (got {value!r})")
    return time(h, mi, s)


def _check_time(v: str) -> str:
    t = parse_time(v)
    return t.strftime("%H:%M:%S") if t.second else t.strftime("%H:%M")


def _check_days(v: list[str]) -> list[str]:
    if not v:
        raise ValueError("choose at least one day (mon, tue, wed, thu, fri, sat, sun)")
    return sorted(set(v), key=WEEKDAYS.index)


class WeeklySchedule(Command):
    """On the chosen ``days`` at local ``time`` ("21:30")."""

    kind: Literal["weekly"] = "weekly"
    days: list[Weekday] = Field(description="mon..sun; at least one", max_length=7)
    time: str = Field(description="local time, HH:MM (24-hour clock)", examples=["21:30"])

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        return _check_days(v)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        return _check_time(v)


class OnceSchedule(Command):
    """Once, on ``date`` at local ``time``."""

    kind: Literal["once"] = "once"
    date: str = Field(description="YYYY-MM-DD", examples=["2026-12-24"])
    time: str = Field(description="local time, HH:MM (24-hour clock)", examples=["19:00"])

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        return _check_time(v)

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        try:
            day = date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"use a real date as YYYY-MM-DD (got {v!r})") from None
        if not 2000 <= day.year <= 2200:
            raise ValueError(f"use a date from 2000 to 2200 (got {v!r})")
        return day.isoformat()


class SunsetSchedule(Command):
    """On the chosen ``days``, ``offset_minutes`` after sunset (negative: before)."""

    kind: Literal["sunset"] = "sunset"
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), max_length=7)
    offset_minutes: int = Field(0, ge=-240, le=240)

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        return _check_days(v)


Schedule = Annotated[WeeklySchedule | OnceSchedule | SunsetSchedule, Field(discriminator="kind")]


class SceneAction(Command):
    """Apply ``scene`` for ``minutes``, then switch off what it switched on."""

    kind: Literal["scene"] = "scene"
    scene: str = Field(min_length=1, max_length=40)
    minutes: float = Field(30, ge=1, le=240)


class SessionAction(Command):
    """Start a session (the scene's pre-warm, countdown and fade-out)."""

    kind: Literal["session"] = "session"
    scene: str | None = Field(None, min_length=1, max_length=40)
    minutes: float | None = Field(None, ge=1, le=480)


class WindDownAction(Command):
    """Fade lights from ``light_from`` to ``light_to`` over ``minutes``, music, mist; then off."""

    kind: Literal["wind_down"] = "wind_down"
    minutes: float = Field(30, ge=1, le=240)
    light_from: float = Field(0.6, ge=0, le=1)
    light_to: float = Field(0.0, ge=0, le=1)
    lights: list[str] | None = Field(None, description="light ids; default every light")
    playlist: str | None = Field(None, min_length=1, max_length=80)
    volume_from: float = Field(30, ge=0, le=100)
    volume_to: float = Field(0, ge=0, le=100)
    diffuser_minutes: float = Field(0, ge=0, le=240)
    diffuser_mode: Literal["on", "interval"] = "on"

    @model_validator(mode="after")
    def _diffuser_within(self) -> WindDownAction:
        if self.diffuser_minutes > self.minutes:
            raise ValueError(
                f"diffuser_minutes ({self.diffuser_minutes:g}) cannot be longer than "
                f"minutes ({self.minutes:g})"
            )
        return self


Action = Annotated[SceneAction | SessionAction | WindDownAction, Field(discriminator="kind")]


class RoutineIn(Command):
    """A routine as a caller sends it (create or replace)."""

    id: str | None = Field(None, description="a-z, 0-9, - and _; made from the name if left out")
    name: str = Field(min_length=1, max_length=40)
    enabled: StrictBool = True
    schedule: Schedule
    action: Action
    if_session: Literal["skip", "run"] = Field(
        "skip", description="when a session is running at the planned time"
    )
    profiles: list[ProfileId] | dict[ProfileId, ProfileId] | None = Field(
        None,
        max_length=8,
        description="whom it is for (ids, or {pad: id}): on the table when it runs",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is not None and not ROUTINE_ID.match(v):
            raise ValueError("use 1-40 characters: a-z, 0-9, - and _")
        return v


class RoutinePatch(Command):
    """Change some fields of a routine (PUT may send the whole routine or only these)."""

    name: str | None = Field(None, min_length=1, max_length=40)
    enabled: StrictBool | None = None
    schedule: Schedule | None = None
    action: Action | None = None
    if_session: Literal["skip", "run"] | None = None
    profiles: list[ProfileId] | dict[ProfileId, ProfileId] | None = Field(None, max_length=8)


class RoutineOut(RoutineIn):
    """A routine as the API returns it, with its next and last runs."""

    id: str  # type: ignore[assignment]
    next_run: str | None = Field(None, description="ISO time of the next run, local zone")
    next_run_words: str | None = Field(None, examples=["tonight at 21:30"])
    skip_next: str | None = Field(None, description="the planned run that will be skipped")
    last_planned: str | None = None
    last_run: str | None = None
    last_outcome: str | None = Field(None, description="ran, failed, missed, skipped, ...")
    last_detail: str | None = None
    running: bool = False
    schedule_words: str | None = Field(None, examples=["weekdays at 21:30"])
    runs: list[RoutineRun] | None = Field(None, description="latest runs (GET of one routine)")


class RoutineRun(Command):
    """One logged run: ran, failed, missed (the hub was down) or skipped."""

    id: int
    routine_id: str
    planned_at: str | None
    ran_at: str
    outcome: Literal["ran", "failed", "missed", "skipped"]
    detail: str | None = None


class RoutineList(Command):
    """Every routine (GET /routines)."""

    routines: list[RoutineOut]


class SkipNext(Command):
    """Body of POST /routines/<id>/skip-next (optional): ``skip: false`` takes a skip back."""

    skip: StrictBool = True


# --- schedule arithmetic ------------------------------------------------------------------


def _offset_changes(zone: ZoneInfo, a: datetime, b: datetime) -> datetime:
    """Return the first instant in (a, b] whose UTC offset differs from a's (to the second)."""
    off = a.astimezone(zone).utcoffset()
    lo, hi = a, b
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def resolve_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of local ``day`` ``at`` in ``zone`` (see the module's rules).

    An ambiguous time gives its first occurrence; a nonexistent one gives the moment the
    clocks went forward over it.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # exists (fold=0 is the first of two, if ambiguous)
    # a gap: fold=0 used the offset before the change, fold=1 the offset after it
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(first, second), max(first, second)
    return _offset_changes(zone, lo, hi)


def sunset_at(day: date, zone: ZoneInfo, latitude: float, longitude: float) -> datetime | None:
    """Return the UTC time of sunset on local ``day``, or None (polar day or night)."""
    from astral import Observer
    from astral.sun import sunset

    try:
        return sunset(Observer(latitude, longitude), date=day, tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


def next_fire(
    schedule: WeeklySchedule | OnceSchedule | SunsetSchedule,
    after: datetime,
    zone: ZoneInfo,
    location: tuple[float, float] | None = None,
) -> datetime | None:
    """Return the first planned run strictly after ``after`` (aware), in UTC, or None."""
    after = after.astimezone(UTC)
    if isinstance(schedule, OnceSchedule):
        at = resolve_local(date.fromisoformat(schedule.date), parse_time(schedule.time), zone)
        return at if at > after else None
    days = {WEEKDAYS.index(d) for d in schedule.days}
    start = after.astimezone(zone).date() - timedelta(days=1)
    horizon = 9 if isinstance(schedule, WeeklySchedule) else 370
    for n in range(horizon):
        day = start + timedelta(days=n)
        if day.weekday() not in days:
            continue
        if isinstance(schedule, WeeklySchedule):
            at: datetime | None = resolve_local(day, parse_time(schedule.time), zone)
        else:
            if location is None:
                return None
            ss = sunset_at(day, zone, *location)
            at = None if ss is None else ss + timedelta(minutes=schedule.offset_minutes)
            if at is not None:
                at = at.replace(second=0, microsecond=0)
        if at is not None and at > after:
            return at
    return None


def in_words(at: datetime, now: datetime, zone: ZoneInfo) -> str:
    """Say when ``at`` is, seen from ``now``: "tonight at 21:30", "tomorrow at 07:00"."""
    local = at.astimezone(zone)
    today = now.astimezone(zone).date()
    hhmm = local.strftime("%H:%M:%S") if local.second else local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        seconds = (at - now).total_seconds()
        if 0 <= seconds < 60:
            return f"in {max(1, round(seconds))} s (at {hhmm})"
        return f"{'tonight' if local.hour >= 17 else 'today'} at {hhmm}"
    if days == 1:
        return f"tomorrow at {hhmm}"
    if 1 < days < 7:
        return f"on {DAY_NAMES[local.weekday()]} at {hhmm}"
    fmt = f"{DAY_NAMES[local.weekday()][:3]} {local.day} {local.strftime('%b')}"
    if local.year != today.year:
        fmt += f" {local.year}"
    return f"on {fmt} at {hhmm}"


def describe_schedule(schedule: Any) -> str:
    """Say a schedule in words: "Mon-Fri at 21:30", "once on 2026-12-24 at 19:00"."""
    if isinstance(schedule, OnceSchedule):
        return f"once on {schedule.date} at {schedule.time}"
    days = schedule.days
    if len(days) == 7:
        when = "every day"
    elif days == ["mon", "tue", "wed", "thu", "fri"]:
        when = "weekdays"
    elif days == ["sat", "sun"]:
        when = "weekends"
    else:
        when = ", ".join(d.capitalize() for d in days)
    if isinstance(schedule, WeeklySchedule):
        return f"{when} at {schedule.time}"
    off = schedule.offset_minutes
    rel = "at sunset" if off == 0 else f"{abs(off)} min {'after' if off > 0 else 'before'} sunset"
    return f"{when}, {rel}"


RoutineOut.model_rebuild()
