"""Heat never outlives its owner (issue 11, item 5).

A session renews heat only on pads it still owns and that the user did not switch off;
a routine's heat goes off when the routine is replaced, deleted or taken over.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.core import Hub
from hub.routines.controller import RoutineController
from tests.conftest import PinRecorder
from tests.core.routines.test_routines import EVERY_DAY, START, routine
from tests.core.routines.test_routines import room as room  # noqa: F401 - the fixture


def pad(hub: Hub) -> dict[str, Any]:
    return hub.state()["devices"]["pad"]


@pytest.mark.parametrize("action", ["extend", "resume"])
def test_a_pad_switched_off_during_a_session_stays_off(
    hub: Hub, pins: PinRecorder, action: str
) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(60)
    assert pad(hub)["heat"] == "medium"
    hub.devices.set("pad", {"heat": "off"})
    if action == "extend":
        hub.sessions.extend(10)
    else:
        hub.sessions.pause()
        hub.advance(30)
        hub.sessions.resume()
    hub.advance(60)
    assert pad(hub)["heat"] == "off", f"{action} switched the pad back on"
    assert pins.level("GPIO24") == 0


def test_a_pad_set_by_hand_in_a_session_stays_in_the_session(hub: Hub) -> None:
    """A person changes their pad's level mid-session: it keeps the session's time."""
    hub.sessions.start("swedish", 30)
    hub.advance(60)
    hub.devices.set("pad", {"heat": "low", "minutes": 5})
    hub.sessions.extend(10)
    st = pad(hub)
    assert st["heat"] == "low" and st["owner"] == "session"
    left = hub.state()["session"]["remaining_seconds"]
    assert st["off_in_seconds"] == pytest.approx(left, abs=1)  # the session's time, not 5 min
    hub.devices.set("pad", {"heat": "off"})  # off by hand: it leaves the session
    hub.sessions.extend(10)
    assert pad(hub)["heat"] == "off"


def test_a_pad_a_routine_took_over_is_not_renewed_by_the_session(hub: Hub) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(60)
    hub.devices.set("pad", {"heat": "low", "minutes": 5}, owner="routine")
    hub.sessions.extend(10)
    st = pad(hub)
    assert st["heat"] == "low" and st["owner"] == "routine"
    assert st["off_in_seconds"] == pytest.approx(5 * 60, abs=1)  # its own, not the session's


def test_a_session_pad_still_owned_is_renewed_by_extend(hub: Hub) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(60)
    before = pad(hub)["off_in_seconds"]
    hub.sessions.extend(10)
    assert pad(hub)["owner"] == "session"
    assert pad(hub)["off_in_seconds"] == pytest.approx(before + 10 * 60, abs=1)


def _warm_up(rc: RoutineController, rid: str = "warm-up") -> None:
    rc.create_routine(
        routine(
            id=rid,
            name=rid.replace("-", " ").title(),
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "23:00"},
            action={"kind": "scene", "scene": "swedish", "minutes": 20},
        )
    )
    rc.run_now(rid)
    assert pad(rc.hub)["owner"] == "routine" and pad(rc.hub)["heat"] == "medium"


def test_a_routine_replaced_while_it_runs_switches_its_heat_off(room: Any) -> None:
    rc = room.start(START)
    _warm_up(rc)
    rc.update_routine("warm-up", {"action": {"kind": "scene", "scene": "cleaning", "minutes": 20}})
    rc.advance(1)
    assert pad(rc.hub)["heat"] == "off"


def test_a_routine_deleted_while_it_runs_switches_its_heat_off(room: Any) -> None:
    rc = room.start(START)
    _warm_up(rc)
    rc.delete_routine("warm-up")
    rc.advance(1)
    assert pad(rc.hub)["heat"] == "off"


def test_a_routine_taken_over_by_another_switches_its_heat_off(room: Any) -> None:
    rc = room.start(START)
    _warm_up(rc)
    rc.create_routine(
        routine(
            id="lights-only",
            name="Lights only",
            schedule={"kind": "weekly", "days": EVERY_DAY, "time": "23:30"},
            action={"kind": "wind_down", "minutes": 30, "light_from": 0.6, "light_to": 0.0},
        )
    )
    rc.run_now("lights-only")
    rc.advance(1)
    assert pad(rc.hub)["heat"] == "off"


def test_a_session_that_starts_during_a_routine_ends_the_routines_heat(room: Any) -> None:
    rc = room.start(START)
    _warm_up(rc)
    rc.hub.sessions.start("wind-down", 30)  # a scene without heat
    rc.advance(1)
    assert pad(rc.hub)["heat"] == "off"
