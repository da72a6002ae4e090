"""A routine that cannot start, or is removed mid-run, never strands a device on."""

from __future__ import annotations

import pytest

from hub.errors import NotFound
from hub.routines.controller import RoutineController
from tests.core.routines.test_routines import EVERY_DAY, Room, room, routine  # noqa: F401 - fixtures

__all__ = ["room"]


@pytest.fixture
def running(room: Room) -> RoutineController:  # noqa: F811
    """A wind-down with 20 minutes of mist, running since 19:00."""
    from tests.core.routines.test_routines import START

    rc = room.start(START)
    rc.create_routine(
        routine(
            name="Mist",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "19:00"},
            action={"kind": "wind_down", "minutes": 30, "diffuser_minutes": 20},
        )
    )
    rc.advance(60 * 60 + 60)  # 19:01
    assert rc.hub.state()["devices"]["diffuser"]["mode"] != "off"
    return rc


def test_a_routine_that_cannot_start_leaves_the_running_one_alone(
    running: RoutineController,
) -> None:
    rc = running
    rc.hub.scenes.create({"name": "Gone soon", "lights": {"*": 0.5}})
    rc.create_routine(
        routine(
            name="Later",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "23:00"},
            action={"kind": "scene", "scene": "gone-soon", "minutes": 10},
        )
    )
    rc.hub.scenes.delete("gone-soon")
    with pytest.raises(NotFound):
        rc.run_now("later")
    assert {r["id"]: r["running"] for r in rc.list_routines()}["mist"] is True
    rc.advance(20 * 60)  # 19:21: the mist routine still switches its diffuser off
    assert rc.hub.state()["devices"]["diffuser"]["mode"] == "off"


@pytest.mark.parametrize("how", ["delete", "disable"])
def test_removing_a_running_routine_switches_off_what_it_switched_on(
    running: RoutineController, how: str
) -> None:
    rc = running
    if how == "delete":
        rc.delete_routine("mist")
    else:
        rc.set_enabled("mist", False)
    rc.advance(60)
    assert rc.hub.state()["devices"]["diffuser"]["mode"] == "off"
    rc.advance(10 * 60)  # the lights' fade-out has ended
    assert rc.hub.state()["devices"]["main"]["level"] == 0.0


def test_a_takeover_switches_off_the_old_routines_mist(running: RoutineController) -> None:
    rc = running
    rc.create_routine(
        routine(
            name="Bright",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "23:00"},
            action={"kind": "wind_down", "minutes": 10, "light_from": 1.0, "light_to": 1.0},
        )
    )
    rc.run_now("bright")
    assert rc.hub.state()["devices"]["diffuser"]["mode"] == "off"
