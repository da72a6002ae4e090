"""Routines across real daylight-saving changes (the tz database), both directions.

Rules under test (hub/routines/models.py): a routine fires at its local time on both sides
of a change, exactly once a day; a time that does not exist (spring forward) fires once,
when the clocks go forward; a time that exists twice (fall back) fires once, the first time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.command_models import parse
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.routines.controller import RoutineController
from hub.routines.models import RoutineIn, next_fire
from tests.rigs.support import write_config

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# 2026 transitions: London 29 Mar 01:00 GMT -> 02:00 BST, 25 Oct 02:00 BST -> 01:00 GMT;
# New York 8 Mar 02:00 EST -> 03:00 EDT, 1 Nov 02:00 EDT -> 01:00 EST.
TRANSITIONS = [
    (LONDON, date(2026, 3, 29), "spring"),
    (LONDON, date(2026, 10, 25), "fall"),
    (NEW_YORK, date(2026, 3, 8), "spring"),
    (NEW_YORK, date(2026, 11, 1), "fall"),
]


def weekly(at: str, days: list[str] | None = None) -> Any:
    spec = parse(
        RoutineIn,
        {
            "name": "t",
            "schedule": {"kind": "weekly", "days": days or EVERY_DAY, "time": at},
            "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
        },
    )
    return spec.schedule


def fires(schedule: Any, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    out, t = [], start
    for _ in range(count):
        t = next_fire(schedule, t, zone)
        assert t is not None
        out.append(t)
    return out


@pytest.mark.parametrize(("zone", "day", "kind"), TRANSITIONS)
def test_evening_routine_keeps_its_local_time_across_the_change(
    zone: ZoneInfo, day: date, kind: str
) -> None:
    start = datetime.combine(day - timedelta(days=2), datetime.min.time(), zone)
    runs = fires(weekly("21:30"), zone, start, 5)
    assert [r.astimezone(zone).strftime("%m-%d %H:%M") for r in runs] == [
        (day + timedelta(days=n - 2)).strftime("%m-%d") + " 21:30" for n in range(5)
    ]
    gaps = [(b - a).total_seconds() / 3600 for a, b in zip(runs, runs[1:], strict=False)]
    # the change happens in the night before `day`: that night lasts 23 h (spring) or 25 h
    assert gaps == [24.0, 23.0 if kind == "spring" else 25.0, 24.0, 24.0]


@pytest.mark.parametrize(
    ("zone", "day", "at", "expect_local"),
    [
        (LONDON, date(2026, 3, 29), "01:30", "02:00+0100"),
        (LONDON, date(2026, 3, 29), "01:00", "02:00+0100"),
        (LONDON, date(2026, 3, 29), "01:59", "02:00+0100"),
        (NEW_YORK, date(2026, 3, 8), "02:30", "03:00-0400"),
    ],
)
def test_nonexistent_time_fires_once_when_the_clocks_go_forward(
    zone: ZoneInfo, day: date, at: str, expect_local: str
) -> None:
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), zone)
    runs = fires(weekly(at), zone, start, 3)
    locals_ = [r.astimezone(zone) for r in runs]
    assert locals_[0].date() == day - timedelta(days=1)
    assert locals_[1].date() == day
    assert locals_[1].strftime("%H:%M%z") == expect_local
    assert locals_[2].strftime("%H:%M") == at  # the next night it is back at its time
    assert len({r.date() for r in locals_}) == 3  # one run a day


@pytest.mark.parametrize(
    ("zone", "day", "at", "first_offset"),
    [
        (LONDON, date(2026, 10, 25), "01:30", timedelta(hours=1)),
        (LONDON, date(2026, 10, 25), "01:00", timedelta(hours=1)),
        (NEW_YORK, date(2026, 11, 1), "01:30", timedelta(hours=-4)),
    ],
)
def test_ambiguous_time_fires_once_at_its_first_occurrence(
    zone: ZoneInfo, day: date, at: str, first_offset: timedelta
) -> None:
    start = datetime.combine(day, datetime.min.time(), zone)  # midnight of the change
    first = next_fire(weekly(at), start, zone)
    assert first is not None
    local = first.astimezone(zone)
    assert local.strftime("%Y-%m-%d %H:%M") == f"{day} {at}"
    assert local.utcoffset() == first_offset
    # asked again just after the first one (during the repeated hour): the next day, not
    # the second occurrence an hour later
    again = next_fire(weekly(at), first + timedelta(seconds=1), zone)
    assert again is not None
    assert again.astimezone(zone).date() == day + timedelta(days=1)
    assert again.astimezone(zone).strftime("%H:%M") == at


@pytest.mark.parametrize("zone", [LONDON, NEW_YORK])
def test_next_fire_is_always_strictly_later_and_within_a_day(zone: ZoneInfo) -> None:
    """From many "now"s on the change days, the next daily run is after it, at most ~25 h on."""
    for minute in range(0, 24 * 60, 7):
        at = f"{minute // 60:02d}:{minute % 60:02d}"
        sched = weekly(at)
        for day in (d for z, d, _ in TRANSITIONS if z is zone):
            for quarter in range(0, 26 * 4, 5):
                now = datetime.combine(day, datetime.min.time(), zone) + timedelta(
                    minutes=15 * quarter
                )
                nxt = next_fire(sched, now, zone)
                assert nxt is not None and nxt > now, (at, now)
                assert nxt - now <= timedelta(hours=25), (at, now, nxt)
                # and it is that local time, or the moment the clocks jumped over it
                local = nxt.astimezone(zone)
                if local.strftime("%H:%M") != at:
                    assert local.strftime("%H:%M") in ("02:00", "03:00"), (at, local)


def test_weekdays_only_skip_the_weekend() -> None:
    sched = weekly("07:00", ["mon", "tue", "wed", "thu", "fri"])
    start = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # a Friday, after 07:00
    runs = fires(sched, LONDON, start, 3)
    assert [r.astimezone(LONDON).strftime("%a %d %H:%M") for r in runs] == [
        "Mon 30 07:00",
        "Tue 31 07:00",
        "Wed 01 07:00",
    ]


# --- the controller on the hub's fake clock, across the changes --------------------------------


def make(tmp_path: Path, zone: str, start: datetime) -> tuple[Hub, RoutineController]:
    cfg = load_config(write_config(tmp_path / "cfg", {"timezone": zone}))
    clock = FakeClock(start.astimezone(UTC))
    hub = Hub(
        cfg,
        clock=clock,
        pin_factory=SimFactory(),
        speaker=SilentSpeaker(playlists=["calm"], max_volume=80),
    )
    hub.start()
    rc = RoutineController(hub)
    rc.start()
    return hub, rc


def daily(rc: RoutineController, name: str, at: str) -> str:
    r = rc.create_routine(
        {
            "name": name,
            "schedule": {"kind": "weekly", "days": EVERY_DAY, "time": at},
            "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
        }
    )
    return str(r["id"])


@pytest.mark.parametrize(("zone", "day", "kind"), TRANSITIONS)
def test_fake_clock_runs_each_routine_once_a_night_through_the_change(
    tmp_path: Path, zone: ZoneInfo, day: date, kind: str
) -> None:
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), zone).replace(hour=12)
    hub, rc = make(tmp_path, zone.key, start)
    try:
        odd = "01:30" if zone is LONDON else ("02:30" if kind == "spring" else "01:30")
        ids = {"evening": daily(rc, "Evening", "21:30"), "night": daily(rc, "Night", odd)}
        rc.advance(3 * 86400)
        runs = hub.store.routine_runs(None, 100)
        assert all(r["outcome"] == "ran" for r in runs), runs
        by_id: dict[str, list[datetime]] = {}
        for row in reversed(runs):
            ran = datetime.fromisoformat(row["ran_at"]).astimezone(zone)
            assert row["ran_at"] == row["planned_at"]  # on time, to the second
            by_id.setdefault(row["routine_id"], []).append(ran)
        evening = by_id[ids["evening"]]
        assert [e.strftime("%m-%d %H:%M") for e in evening] == [
            (day + timedelta(days=n - 1)).strftime("%m-%d") + " 21:30" for n in range(3)
        ]
        night = by_id[ids["night"]]
        assert [n.date() for n in night] == [day, day + timedelta(days=1), day + timedelta(days=2)]
        change_night = night[0]
        if kind == "spring":  # the time did not exist: ran when the clocks went forward
            assert change_night.strftime("%H:%M") == ("02:00" if zone is LONDON else "03:00")
        else:  # it existed twice: ran once, the first time (summer time)
            assert change_night.strftime("%H:%M") == odd
            assert change_night.dst() != timedelta(0)
        assert [n.strftime("%H:%M") for n in night[1:]] == [odd, odd]
    finally:
        rc.stop()
        hub.close()


def test_wall_clock_stepped_back_does_not_run_a_routine_twice(tmp_path: Path) -> None:
    start = datetime(2026, 6, 1, 21, 0, tzinfo=LONDON)
    hub, rc = make(tmp_path, "Europe/London", start)
    try:
        rid = daily(rc, "Evening", "21:30")
        rc.advance(31 * 60)  # 21:31: it ran
        assert len(hub.store.routine_runs(rid)) == 1
        hub.clock.jump_wall(-10 * 60)  # type: ignore[attr-defined]  # NTP steps back to 21:21
        rc.advance(20 * 60)
        assert len(hub.store.routine_runs(rid)) == 1
        nxt = hub.state()["next_routine"]
        assert nxt["at"].startswith("2026-06-02T21:30")
        assert nxt["words"] == "tomorrow at 21:30"
    finally:
        rc.stop()
        hub.close()
