"""Routines on the hub's fake clock: validation, CRUD, actions, conflicts, skips, misfires."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.errors import Conflict, InvalidCommand, NotFound
from hub.routines.controller import RoutineController
from hub.routines.models import sunset_at
from tests.conftest import PinRecorder
from tests.rigs.support import wait_for, write_config

LONDON = ZoneInfo("Europe/London")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
# Monday 1 June 2026, 18:00 in London (BST)
START = datetime(2026, 6, 1, 18, 0, tzinfo=LONDON)


class Room:
    """A fake-clock hub with routines, that can be restarted on the same data."""

    def __init__(self, folder: Path, overrides: dict[str, Any] | None = None) -> None:
        self.config_path = write_config(folder, {"timezone": "Europe/London", **(overrides or {})})
        self.hub: Hub | None = None
        self.rc: RoutineController | None = None
        self.pins: PinRecorder | None = None

    def start(self, at: datetime) -> RoutineController:
        config = load_config(self.config_path)
        clock = FakeClock(at.astimezone(UTC))
        factory = SimFactory()
        self.pins = PinRecorder(factory, clock)
        self.hub = Hub(
            config,
            clock=clock,
            pin_factory=factory,
            speaker=SilentSpeaker(playlists=["calm"], max_volume=80),
            tick=1.0,  # long fades in few steps: the levels at each check are exact anyway
        )
        self.hub.start()
        self.rc = RoutineController(self.hub)
        self.rc.start()
        return self.rc

    def stop(self) -> None:
        if self.rc is not None:
            self.rc.stop()
        if self.hub is not None:
            self.hub.close()
        self.rc = self.hub = None

    def now(self) -> datetime:
        assert self.hub is not None
        return self.hub.clock.now().astimezone(LONDON)


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    r = Room(tmp_path / "room")
    yield r
    r.stop()


@pytest.fixture
def rc(room: Room) -> RoutineController:
    return room.start(START)


def routine(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Evening wind-down",
        "schedule": {"kind": "weekly", "days": WEEKDAYS, "time": "21:30"},
        "action": {"kind": "wind_down", "minutes": 30, "light_from": 0.6, "light_to": 0.0},
    }
    body.update(over)
    return body


def local(minutes_after_start: float) -> str:
    return (START + timedelta(minutes=minutes_after_start)).strftime("%H:%M")


# --- validation -----------------------------------------------------------------------------


BAD = [
    (
        {"action": {"kind": "scene", "scene": "nope", "minutes": 10}},
        "action.scene: no scene called 'nope'",
    ),
    ({"schedule": {"kind": "weekly", "days": WEEKDAYS, "time": "25:00"}}, "schedule.time"),
    ({"schedule": {"kind": "weekly", "days": WEEKDAYS, "time": "21:60"}}, "schedule.time"),
    ({"schedule": {"kind": "weekly", "days": WEEKDAYS, "time": "9pm"}}, "HH:MM"),
    ({"schedule": {"kind": "weekly", "days": [], "time": "21:30"}}, "at least one day"),
    ({"schedule": {"kind": "weekly", "days": ["fry"], "time": "21:30"}}, "schedule.days"),
    ({"schedule": {"kind": "once", "date": "2026-06-01", "time": "17:59"}}, "in the past"),
    ({"schedule": {"kind": "once", "date": "2026-02-30", "time": "17:59"}}, "real date"),
    ({"schedule": {"kind": "sunset", "days": WEEKDAYS}}, "location"),
    ({"schedule": {"kind": "hourly"}}, "schedule"),
    ({"action": {"kind": "wind_down", "minutes": 10, "diffuser_minutes": 15}}, "diffuser_minutes"),
    ({"action": {"kind": "wind_down", "lights": ["porch"]}}, "no light called 'porch'"),
    ({"action": {"kind": "wind_down", "playlist": "metal"}}, "no playlist called 'metal'"),
    ({"action": {"kind": "wind_down", "light_from": 1.5}}, "action.light_from"),
    ({"action": {"kind": "session", "minutes": 900}}, "action.minutes"),
    ({"if_session": "maybe"}, "if_session"),
    ({"colour": "blue"}, "colour: unknown field"),
    ({"name": ""}, "name"),
    ({"id": "Bad Id!"}, "id"),
]


@pytest.mark.parametrize(("over", "words"), BAD)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    rc: RoutineController, over: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidCommand) as err:
        rc.create_routine(routine(**over))
    assert words in err.value.message
    assert err.value.status == 422
    assert rc.list_routines() == []
    assert rc.hub.store.list_docs("routines") == []
    assert rc.hub.state()["next_routine"] is None


def test_a_bad_update_leaves_the_routine_as_it_was(rc: RoutineController) -> None:
    before = rc.create_routine(routine())
    for over in BAD:
        body = dict(over[0])
        body.pop("id", None)
        if not body:
            continue
        with pytest.raises(InvalidCommand):
            rc.update_routine(before["id"], body)
    with pytest.raises(InvalidCommand):
        rc.update_routine(before["id"], {"id": "other"})
    assert rc.get_routine(before["id"], runs=0) == {**before, "runs": []}
    assert rc.hub.store.list_docs("routines")[0]["spec"]["schedule"]["time"] == "21:30"


# --- CRUD, state, words ---------------------------------------------------------------------------


def test_create_list_update_enable_disable_delete(rc: RoutineController) -> None:
    r = rc.create_routine(routine())
    assert r["id"] == "evening-wind-down"
    assert r["next_run"] == "2026-06-01T21:30:00+01:00"
    assert r["next_run_words"] == "tonight at 21:30"
    assert r["schedule_words"] == "weekdays at 21:30"
    with pytest.raises(Conflict):
        rc.create_routine(routine(id="evening-wind-down"))
    second = rc.create_routine(routine())  # same name, no id: a new id
    assert second["id"] == "evening-wind-down-2"
    rc.delete_routine(second["id"])

    r = rc.update_routine(
        r["id"], {"schedule": {"kind": "weekly", "days": ["sat"], "time": "7:05"}}
    )
    assert r["next_run"] == "2026-06-06T07:05:00+01:00"
    assert r["next_run_words"] == "on Saturday at 07:05"
    assert rc.hub.state()["next_routine"]["id"] == r["id"]

    r = rc.set_enabled(r["id"], False)
    assert r["enabled"] is False and r["next_run"] is None
    assert rc.hub.state()["next_routine"] is None
    r = rc.set_enabled(r["id"], True)
    assert r["next_run"] == "2026-06-06T07:05:00+01:00"
    # a GET body may be sent back as a PUT
    again = rc.update_routine(r["id"], {k: v for k, v in r.items() if k != "enabled"})
    assert again["next_run"] == r["next_run"]

    rc.delete_routine(r["id"])
    with pytest.raises(NotFound):
        rc.get_routine(r["id"])
    with pytest.raises(NotFound):
        rc.delete_routine(r["id"])
    assert rc.hub.store.list_docs("routines") == []


def test_next_routine_in_state_is_the_soonest_with_words(rc: RoutineController) -> None:
    rc.create_routine(
        routine(name="Late", schedule={"kind": "weekly", "days": EVERY_DAY, "time": "23:00"})
    )
    rc.create_routine(
        routine(name="Morning", schedule={"kind": "weekly", "days": ["tue"], "time": "07:00"})
    )
    rc.create_routine(routine(name="Evening"))
    nxt = rc.hub.state()["next_routine"]
    assert nxt == {
        "id": "evening",
        "name": "Evening",
        "at": "2026-06-01T21:30:00+01:00",
        "words": "tonight at 21:30",
        "skipped": None,  # no skip asked: the page offers Skip, not Undo
    }
    rc.advance(4 * 3600)  # 22:00: the evening one ran; the late one is next
    assert rc.hub.state()["next_routine"]["words"] == "tonight at 23:00"
    rc.advance(3600 + 60)  # 23:01
    assert rc.hub.state()["next_routine"]["name"] == "Morning"
    assert rc.hub.state()["next_routine"]["words"] == "tomorrow at 07:00"


def test_one_off_session_runs_once_then_has_no_next_run(room: Room, rc: RoutineController) -> None:
    r = rc.create_routine(
        {
            "name": "Swedish at seven",
            "schedule": {"kind": "once", "date": "2026-06-01", "time": "19:00"},
            "action": {"kind": "session", "scene": "deep-tissue", "minutes": 30},
        }
    )
    assert r["next_run_words"] == "tonight at 19:00"
    rc.advance(60 * 60 + 1)
    session = rc.hub.state()["session"]
    assert session is not None and session["source"] == "routine"
    assert session["scene"] == "deep-tissue"
    got = rc.get_routine(r["id"])
    assert got["last_outcome"] == "ran" and got["next_run"] is None
    assert [x["outcome"] for x in got["runs"]] == ["ran"]
    rc.advance(2 * 86400)
    assert len(rc.runs_log(r["id"])) == 1
    # done: it can be renamed or disabled, but not moved into the past
    assert rc.update_routine(r["id"], {"name": "Done"})["name"] == "Done"
    assert rc.set_enabled(r["id"], False)["enabled"] is False
    with pytest.raises(InvalidCommand, match="in the past"):
        rc.set_enabled(r["id"], True)
    with pytest.raises(InvalidCommand, match="in the past"):
        rc.update_routine(
            r["id"], {"schedule": {"kind": "once", "date": "2026-06-02", "time": "19:00"}}
        )
    again = rc.update_routine(
        r["id"],
        {"enabled": True, "schedule": {"kind": "once", "date": "2026-06-04", "time": "19:00"}},
    )
    assert again["next_run"] == "2026-06-04T19:00:00+01:00"


# --- actions ----------------------------------------------------------------------------------------


def test_scene_routine_owns_the_heat_until_its_end_then_switches_off(
    room: Room, rc: RoutineController
) -> None:
    rc.create_routine(
        routine(
            name="Warm up",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:00"},
            action={"kind": "scene", "scene": "swedish", "minutes": 20},
        )
    )
    rc.advance(60 * 60 + 30)  # 19:00:30
    st = rc.hub.state()["devices"]
    assert st["pad"]["owner"] == "routine" and st["pad"]["heat"] == "medium"
    assert st["pad"]["off_in_seconds"] == pytest.approx(20 * 60 - 30, abs=1)
    assert st["main"]["level"] > 0 and st["diffuser"]["mode"] == "interval"
    assert st["speaker"]["playing"]
    rc.advance(19 * 60)  # 19:19:30: still on
    assert rc.hub.state()["devices"]["main"]["level"] == pytest.approx(0.35)
    rc.advance(3 * 60)  # past 19:20 plus the scene's 60 s fade-out
    st = rc.hub.state()["devices"]
    assert st["pad"]["heat"] == "off"
    assert st["main"]["level"] == 0 and st["accent"]["level"] == 0
    assert st["diffuser"]["mode"] == "off" and not st["speaker"]["playing"]
    assert room.pins is not None
    assert all(room.pins.level(p) == 0 for p in ("GPIO18", "GPIO13", "GPIO23", "GPIO24"))
    assert any(v == 1 for _, v in room.pins.history("GPIO24"))  # the pad did heat
    assert not rc.list_routines()[0]["running"]


def test_wind_down_glides_down_with_mist_first_then_everything_off(
    room: Room, rc: RoutineController
) -> None:
    rc.create_routine(
        routine(
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:00"},
            action={
                "kind": "wind_down",
                "minutes": 30,
                "light_from": 0.6,
                "light_to": 0.0,
                "playlist": "calm",
                "volume_from": 40,
                "volume_to": 10,
                "diffuser_minutes": 15,
            },
        )
    )
    hub = rc.hub
    rc.advance(60 * 60 + 5)
    dev = hub.state()["devices"]
    assert dev["main"]["level"] == pytest.approx(0.6, abs=0.01)
    assert dev["diffuser"]["mode"] == "on" and dev["speaker"]["playlist"] == "calm"
    assert dev["speaker"]["volume"] == pytest.approx(40, abs=0.5)
    assert rc.list_routines()[0]["running"]
    rc.advance(10 * 60)  # 19:10:05
    dev = hub.state()["devices"]
    assert dev["main"]["level"] == pytest.approx(0.4, abs=0.01)
    assert dev["accent"]["level"] == pytest.approx(0.4, abs=0.01)
    assert dev["speaker"]["volume"] == pytest.approx(30, abs=0.5)
    rc.advance(5 * 60)  # 19:15:05: the mist stopped at 19:15
    assert hub.state()["devices"]["diffuser"]["mode"] == "off"
    assert room.pins is not None and room.pins.level("GPIO23") == 0
    rc.advance(10 * 60)  # 19:25:05
    assert hub.state()["devices"]["main"]["level"] == pytest.approx(0.1, abs=0.01)
    rc.advance(6 * 60)  # 19:31:05: over
    dev = hub.state()["devices"]
    assert dev["main"]["level"] == 0 and dev["accent"]["level"] == 0
    assert dev["speaker"]["volume"] == 0 and not dev["speaker"]["playing"]
    assert not rc.list_routines()[0]["running"]
    assert all(room.pins.level(p) == 0 for p in ("GPIO18", "GPIO13", "GPIO23", "GPIO24"))


def test_wind_down_longer_than_one_fade_is_chained(room: Room, rc: RoutineController) -> None:
    rc.create_routine(
        routine(
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:00"},
            action={"kind": "wind_down", "minutes": 70, "light_from": 0.7, "light_to": 0.0},
        )
    )
    rc.advance(60 * 60 + 35 * 60)  # 19:35, half way
    assert rc.hub.state()["devices"]["main"]["level"] == pytest.approx(0.35, abs=0.01)
    rc.advance(30 * 60)  # 20:05
    assert rc.hub.state()["devices"]["main"]["level"] == pytest.approx(0.05, abs=0.01)
    rc.advance(6 * 60)
    assert rc.hub.state()["devices"]["main"]["level"] == 0


def test_all_off_stops_a_running_routine(room: Room, rc: RoutineController) -> None:
    rc.create_routine(
        routine(
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:00"},
            action={"kind": "wind_down", "minutes": 30, "diffuser_minutes": 20},
        )
    )
    rc.advance(60 * 60 + 60)
    assert rc.list_routines()[0]["running"]
    rc.hub.devices.all_off(reason="test")
    rc.advance(40 * 60)
    dev = rc.hub.state()["devices"]
    assert dev["main"]["level"] == 0 and dev["diffuser"]["mode"] == "off"
    assert not rc.list_routines()[0]["running"]
    assert room.pins is not None
    # nothing switched on again after the all-off
    t_off = max(t for t, p, v in room.pins.changes if p == "GPIO18" and v == 0)
    assert all(v == 0 for t, p, v in room.pins.changes if t > t_off and p in ("GPIO18", "GPIO23"))


def test_a_newer_routine_takes_over_from_a_running_one(room: Room, rc: RoutineController) -> None:
    rc.create_routine(
        routine(
            name="Long",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:00"},
            action={"kind": "wind_down", "minutes": 60, "light_from": 0.8, "light_to": 0.2},
        )
    )
    rc.create_routine(
        routine(
            name="Bright",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:10"},
            action={"kind": "scene", "scene": "cleaning", "minutes": 120},
        )
    )
    rc.advance(60 * 60 + 11 * 60)  # 19:11
    running = {r["id"]: r["running"] for r in rc.list_routines()}
    assert running == {"long": False, "bright": True}
    rc.advance(55 * 60)  # past the wind-down's planned end: it no longer switches off
    assert rc.hub.state()["devices"]["main"]["level"] == 1.0


# --- conflicts, skip, run now -------------------------------------------------------------------


def test_a_routine_due_during_a_session_is_skipped_and_logged(rc: RoutineController) -> None:
    hub = rc.hub
    skip = rc.create_routine(
        routine(name="Polite", schedule={"kind": "weekly", "days": EVERY_DAY, "time": "18:30"})
    )
    push = rc.create_routine(
        routine(
            name="Pushy",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "18:40"},
            action={"kind": "scene", "scene": "cleaning", "minutes": 5},
            if_session="run",
        )
    )
    hub.sessions.start("deep-tissue", 60)
    rc.advance(35 * 60)
    got = rc.get_routine(skip["id"])
    assert got["last_outcome"] == "skipped" and got["last_detail"] == "a session was running"
    assert got["next_run"] == "2026-06-02T18:30:00+01:00"
    session = hub.state()["session"]
    assert session is not None and session["phase"] == "active"
    assert hub.state()["devices"]["main"]["level"] == pytest.approx(0.55)  # untouched
    rc.advance(10 * 60)  # 18:45: the pushy one ran into the session, as asked
    assert rc.get_routine(push["id"])["last_outcome"] == "ran"
    assert hub.state()["devices"]["main"]["level"] == pytest.approx(1.0)
    assert hub.state()["session"] is not None  # it did not stop the session
    rc.advance(6 * 60)  # its end: it leaves the room to the session, switches nothing off
    assert hub.state()["session"]["phase"] == "active"
    assert hub.state()["devices"]["main"]["level"] == pytest.approx(1.0)
    runs = rc.runs_log()
    assert [(r["routine_id"], r["outcome"]) for r in runs] == [
        (push["id"], "ran"),
        (skip["id"], "skipped"),
    ]


def test_a_session_routine_fails_cleanly_when_a_session_runs(rc: RoutineController) -> None:
    r = rc.create_routine(
        routine(
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "18:30"},
            action={"kind": "session", "scene": "swedish"},
            if_session="run",
        )
    )
    first = rc.hub.sessions.start("deep-tissue", 60)
    rc.advance(31 * 60)
    got = rc.get_routine(r["id"])
    assert got["last_outcome"] == "failed" and "already running" in got["last_detail"]
    assert rc.hub.state()["session"]["id"] == first["id"]


def test_skip_next_skips_one_run_only(rc: RoutineController) -> None:
    r = rc.create_routine(routine(schedule={"kind": "weekly", "days": EVERY_DAY, "time": "21:30"}))
    s = rc.skip_next(r["id"])
    assert s["skip_next"] == "2026-06-01T21:30:00+01:00"
    assert s["next_run"] == "2026-06-02T21:30:00+01:00"
    assert s["next_run_words"] == "tomorrow at 21:30"
    assert rc.hub.state()["next_routine"]["words"] == "tomorrow at 21:30"
    with pytest.raises(Conflict):
        rc.skip_next(r["id"])
    rc.skip_next(r["id"], False)
    assert rc.get_routine(r["id"])["next_run"] == "2026-06-01T21:30:00+01:00"
    with pytest.raises(Conflict):
        rc.skip_next(r["id"], False)
    rc.skip_next(r["id"])
    rc.advance(4 * 3600)  # 22:00
    got = rc.get_routine(r["id"])
    assert got["last_outcome"] == "skipped" and got["last_detail"] == "skipped by request"
    assert rc.hub.state()["devices"]["main"]["level"] == 0  # nothing ran
    assert got["skip_next"] is None and got["next_run"] == "2026-06-02T21:30:00+01:00"
    rc.advance(86400)
    assert [x["outcome"] for x in rc.runs_log(r["id"])] == ["ran", "skipped"]


def test_run_now_runs_the_action_and_keeps_the_schedule(rc: RoutineController) -> None:
    r = rc.create_routine(routine())
    out = rc.run_now(r["id"])
    assert out["running"] and out["last_outcome"] == "ran"
    assert out["next_run"] == r["next_run"]
    rc.advance(5)
    assert rc.hub.state()["devices"]["main"]["level"] == pytest.approx(0.6, abs=0.01)
    assert rc.runs_log(r["id"])[0]["planned_at"] is None
    with pytest.raises(NotFound):
        rc.run_now("nope")
    rc.hub.sessions.start("deep-tissue", 30)
    with pytest.raises(Conflict):
        rc.run_now(r["id"])


# --- restarts and misfires ------------------------------------------------------------------


def _every_evening(rc: RoutineController) -> str:
    r = rc.create_routine(
        routine(
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "21:30"},
            action={"kind": "scene", "scene": "cleaning", "minutes": 5},
        )
    )
    return str(r["id"])


def test_down_at_the_planned_time_back_within_grace_runs_once(
    room: Room, rc: RoutineController
) -> None:
    rid = _every_evening(rc)
    room.stop()  # the hub goes down at 18:00 ...
    rc = room.start(START.replace(hour=21, minute=36))  # ... and is back at 21:36
    got = rc.get_routine(rid)
    assert got["last_outcome"] == "ran"
    assert got["last_planned"] == "2026-06-01T21:30:00+01:00"
    assert got["last_run"] == "2026-06-01T21:36:00+01:00"
    rc.advance(2)  # the scene's 1 s fade
    assert rc.hub.state()["devices"]["main"]["level"] == 1  # it is running now
    room.stop()
    rc = room.start(START.replace(hour=21, minute=38))  # another restart: not again
    assert len(rc.runs_log(rid)) == 1
    assert rc.get_routine(rid)["next_run"] == "2026-06-02T21:30:00+01:00"


def test_back_after_the_grace_period_the_run_is_missed(room: Room, rc: RoutineController) -> None:
    rid = _every_evening(rc)
    room.stop()
    rc = room.start(START.replace(hour=21, minute=41))  # 11 min late; grace is 10 min
    got = rc.get_routine(rid)
    assert got["last_outcome"] == "missed"
    assert "grace 10 min" in got["last_detail"]
    assert rc.hub.state()["devices"]["main"]["level"] == 0
    assert got["next_run"] == "2026-06-02T21:30:00+01:00"


def test_down_for_days_logs_each_miss_and_runs_the_last_if_in_grace(
    room: Room, rc: RoutineController
) -> None:
    rid = _every_evening(rc)
    room.stop()
    rc = room.start(datetime(2026, 6, 4, 21, 35, tzinfo=LONDON))
    outcomes = [(r["planned_at"][:10], r["outcome"]) for r in reversed(rc.runs_log(rid))]
    assert outcomes == [
        ("2026-06-01", "missed"),
        ("2026-06-02", "missed"),
        ("2026-06-03", "missed"),
        ("2026-06-04", "ran"),
    ]


def test_the_grace_period_is_configurable(tmp_path: Path) -> None:
    room = Room(tmp_path / "g", {"routines": {"misfire_grace_minutes": 30}})
    try:
        rid = _every_evening(room.start(START))
        room.stop()
        rc = room.start(START.replace(hour=21, minute=55))
        assert rc.get_routine(rid)["last_outcome"] == "ran"
    finally:
        room.stop()


# --- sunset ------------------------------------------------------------------------------------


def test_sunset_routine_follows_the_sun(tmp_path: Path) -> None:
    room = Room(tmp_path / "s", {"location": {"latitude": 51.5, "longitude": -0.12}})
    try:
        rc = room.start(START)
        r = rc.create_routine(
            routine(schedule={"kind": "sunset", "days": EVERY_DAY, "offset_minutes": -30})
        )
        sunset = sunset_at(START.date(), LONDON, 51.5, -0.12)
        assert sunset is not None
        expect = (sunset - timedelta(minutes=30)).replace(second=0, microsecond=0)
        assert r["next_run"] == expect.astimezone(LONDON).isoformat()
        assert "20:" in r["next_run_words"]  # about 20:45 in June
        assert r["schedule_words"] == "every day, 30 min before sunset"
        rc.advance((expect - START).total_seconds() + 1)
        assert rc.get_routine(r["id"])["last_outcome"] == "ran"
    finally:
        room.stop()


# --- the real scheduler ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_scheduler_fires_a_routine_on_time(tmp_path: Path) -> None:
    """The control loop's thread (real clock) runs a routine at its planned second."""
    config = load_config(write_config(tmp_path / "real", {"timezone": "Europe/London"}))
    hub = Hub(config, pin_factory=SimFactory(), speaker=SilentSpeaker(playlists=["calm"]))
    hub.start()
    rc = RoutineController(hub)
    rc.start()
    try:
        at = (datetime.now(UTC) + timedelta(seconds=2)).astimezone(LONDON).replace(microsecond=0)
        r = rc.create_routine(
            {
                "name": "Soon",
                "schedule": {
                    "kind": "once",
                    "date": at.date().isoformat(),
                    "time": f"{at:%H:%M:%S}",
                },
                "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
            }
        )
        # the planned run is a deadline on the loop's timeline (no heartbeat, no job list)
        wait_for(
            lambda: (
                hub.loop.next_deadline is not None
                and hub.loop.next_deadline - time.monotonic() <= 2.5
            ),
            timeout=2,
        )
        run = wait_for(lambda: rc.runs_log(r["id"]), timeout=10)
        ran = datetime.fromisoformat(run[0]["ran_at"])
        assert run[0]["outcome"] == "ran"
        assert timedelta(0) <= ran - at <= timedelta(seconds=2)
        wait_for(lambda: hub.state()["devices"]["main"]["level"] > 0.9, timeout=5)
        assert rc.get_routine(r["id"])["next_run"] is None  # a one-off: nothing planned now
        assert r["id"] in rc.runs and rc.runs[r["id"]].steps  # its end is still to come
        time.sleep(0.1)
    finally:
        rc.stop()
        hub.close()
