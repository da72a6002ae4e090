"""Exactly once, whatever happens: random waits, clock steps back, restarts, around DST."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.command_models import parse
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.routines.controller import RoutineController
from hub.routines.models import RoutineIn, next_fire
from tests.rigs.support import write_config

ZONE = ZoneInfo("America/New_York")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
STARTS = [
    datetime(2026, 3, 7, 12, 0, tzinfo=ZONE),  # the day before spring forward
    datetime(2026, 10, 31, 12, 0, tzinfo=ZONE),  # the day before fall back
]

step = st.one_of(
    st.tuples(st.just("wait"), st.integers(1, 36 * 3600)),
    st.tuples(st.just("back"), st.integers(1, 3600)),  # NTP steps the wall clock back
    st.tuples(st.just("restart"), st.integers(0, 0)),
)


def body(at: str) -> dict[str, object]:
    return {
        "name": f"at {at}",
        "schedule": {"kind": "weekly", "days": EVERY_DAY, "time": at},
        "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
    }


@settings(max_examples=40, deadline=None)
@given(
    start=st.sampled_from(STARTS),
    times=st.lists(
        st.sampled_from(["00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "21:30"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
    steps=st.lists(step, min_size=1, max_size=8),
)
def test_every_planned_run_is_handled_exactly_once(
    start: datetime, times: list[str], steps: list[tuple[str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cfg = load_config(write_config(Path(folder), {"timezone": ZONE.key}))
        clock = FakeClock(start.astimezone(UTC))
        hub = Hub(cfg, clock=clock, pin_factory=SimFactory(), speaker=SilentSpeaker(), tick=5.0)
        hub.start()
        rc = RoutineController(hub)
        rc.start()
        try:
            ids = [rc.create_routine(body(at))["id"] for at in times]
            latest = clock.now()
            for kind, n in steps:
                if kind == "wait":
                    rc.advance(n)
                elif kind == "back":
                    clock.jump_wall(-n)
                    rc.tick()
                else:
                    rc.stop()
                    rc = RoutineController(hub)
                    rc.start()
                latest = max(latest, clock.now())
            runs = hub.store.routine_runs(None, 10_000)
            for rid, at in zip(ids, times, strict=True):
                planned = [r["planned_at"] for r in reversed(runs) if r["routine_id"] == rid]
                assert len(planned) == len(set(planned)), f"{at}: a planned run twice"
                assert planned == sorted(planned)
                # every occurrence from the start up to the latest wall time seen, none lost
                sched = parse(RoutineIn, body(at)).schedule  # type: ignore[attr-defined]
                want, t = [], start
                while True:
                    t = next_fire(sched, t, ZONE)  # type: ignore[assignment]
                    if t is None or t > latest:
                        break
                    if t <= clock.now():  # not yet due if the clock was stepped back
                        want.append(t.astimezone(UTC).isoformat(timespec="seconds"))
                assert planned[: len(want)] == want, (at, planned, want)
                assert all(r["outcome"] in ("ran", "missed") for r in runs)
        finally:
            rc.stop()
            hub.close()


def test_a_daily_routine_runs_on_exactly_the_expected_days_over_a_year() -> None:
    """A year of 21:30 and 01:30 in New York, in big steps: 365 runs each, none twice."""
    with tempfile.TemporaryDirectory() as folder:
        cfg = load_config(
            write_config(
                Path(folder), {"timezone": ZONE.key, "routines": {"misfire_grace_minutes": 1440}}
            )
        )
        start = datetime(2026, 1, 1, 12, 0, tzinfo=ZONE)
        clock = FakeClock(start.astimezone(UTC))
        hub = Hub(cfg, clock=clock, pin_factory=SimFactory(), speaker=SilentSpeaker(), tick=5.0)
        hub.start()
        rc = RoutineController(hub)
        rc.start()
        try:
            a = rc.create_routine(body("21:30"))["id"]
            b = rc.create_routine(body("01:30"))["id"]
            rc.stop()  # no scheduler: the hub is "down", the clock jumps in 3-day steps
            for _ in range(122):
                clock.advance(3 * 86400)
                rc = RoutineController(hub)
                rc.start()  # catch-up at each start: one run each (grace is a day)
                rc.stop()
            rc = RoutineController(hub)
            rc.start()
            end = clock.now()
            for rid in (a, b):
                runs = hub.store.routine_runs(rid, 10_000)
                days = [datetime.fromisoformat(r["planned_at"]).astimezone(ZONE) for r in runs]
                assert len(days) == len({d.date() for d in days})  # one a day
                first = days[-1].date()
                assert (end.astimezone(ZONE).date() - first).days - len(days) in (-1, 0)
                assert {r["outcome"] for r in runs} <= {"ran", "missed"}
            assert len({d.strftime("%H:%M") for d in days}) == 1  # 01:30 every night
        finally:
            rc.stop()
            hub.close()
