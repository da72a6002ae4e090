"""A routine's time is a wall-clock time in the hub's zone: it stays so when the zone changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.core.routines.test_routines import Room
from tests.rigs.support import write_config

NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def test_a_daily_routine_keeps_its_wall_clock_time_after_a_zone_change(tmp_path: Path) -> None:
    folder = tmp_path / "room"
    room = Room(folder, {"timezone": "UTC"})
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    rc = room.start(start)
    rc.create_routine(
        {
            "name": "Wind-down",
            "schedule": {"kind": "weekly", "days": EVERY_DAY, "time": "21:30"},
            "action": {"kind": "scene", "scene": "swedish"},
        }
    )
    assert rc.list_routines()[0]["next_run"] == "2026-06-01T21:30:00+00:00"
    room.stop()
    # the owner moves the hub to New York's time and restarts it
    write_config(folder, {"timezone": "America/New_York"})
    rc = room.start(start + timedelta(minutes=5))
    shown = rc.list_routines()[0]
    assert shown["next_run"] == "2026-06-01T21:30:00-04:00", shown["next_run_words"]
    assert "21:30" in shown["next_run_words"]
    # and it runs then: not at the old UTC moment (4:30 PM New York)
    assert room.hub is not None
    rc.advance(
        (datetime(2026, 6, 1, 16, 31, tzinfo=NEW_YORK) - room.hub.clock.now()).total_seconds()
    )
    assert rc.get_routine("wind-down")["last_run"] is None
    rc.advance(5 * 3600)
    assert rc.get_routine("wind-down")["last_outcome"] == "ran"
    assert rc.get_routine("wind-down")["last_planned"] == "2026-06-01T21:30:00-04:00"
    room.stop()
