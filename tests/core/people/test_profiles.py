"""Profiles and their limits, through the hub's public commands on a fake-clock hub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.config.model import Config
from hub.core import Hub
from hub.errors import Conflict, InvalidCommand, NotFound

COUPLES = {"heat_pads": {"pad2": {"pin": 17, "name": "Second pad", "max_on_minutes": 60}}}


def person(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, **kw}


def limit_events(hub: Hub) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    hub.subscribe(lambda ev: seen.append(ev.data) if ev.type == "limit" else None)
    return seen


@pytest.fixture
def couples_hub(make_hub: Callable[..., Hub], make_config: Callable[..., Config]) -> Hub:
    return make_hub(make_config(COUPLES))


# --- the profile library -------------------------------------------------------------------


def test_a_profile_is_stored_with_defaults_and_an_id_from_its_name(hub: Hub) -> None:
    p = hub.people.create(person("Anna Maria", areas=["neck", "lower_back", "neck"]))
    assert p["id"] == "anna-maria"
    assert p["heat_max"] == "high" and p["volume_max"] == 100 and p["aroma"] is True
    assert p["areas"] == ["neck", "lower_back"]  # once each
    assert hub.people.get("anna-maria") == p
    again = hub.people.create(person("Anna Maria"))
    assert again["id"] == "anna-maria-2"
    assert [x["id"] for x in hub.people.list()] == ["anna-maria", "anna-maria-2"]


def test_a_profile_survives_a_restart(
    make_hub: Callable[..., Hub], config: Config, hub: Hub
) -> None:
    hub.people.create(person("Ben", heat_max="low", notes="no pressure on the left knee"))
    hub.close()
    again = make_hub(config)
    assert again.people.get("ben")["notes"] == "no pressure on the left knee"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "name"),
        ({"name": "  "}, "name: give the person a name"),
        ({"name": ""}, "name: give the person a name"),
        ({"name": "A", "heat_max": "scorching"}, "heat_max"),
        ({"name": "A", "volume_max": 101}, "volume_max"),
        ({"name": "A", "volume_max": "40"}, "volume_max"),
        ({"name": "A", "aroma": "no"}, "aroma"),
        ({"name": "A", "areas": ["knee"]}, "areas"),
        ({"name": "A", "favourite_scenes": ["disco"]}, "no scene called 'disco'"),
        ({"name": "A", "notes": "x" * 2001}, "notes"),
        ({"name": "A", "heat": "low"}, "heat: unknown field"),
        (["A"], "expected a JSON object"),
    ],
)
def test_bad_profiles_are_refused_with_a_reason_and_change_nothing(
    hub: Hub, body: Any, says: str
) -> None:
    hub.people.create(person("Kept", volume_max=30))
    with pytest.raises(InvalidCommand) as err:
        hub.people.create(body)
    assert says in err.value.message
    with pytest.raises(InvalidCommand):
        hub.people.update("kept", body)
    assert [p["name"] for p in hub.people.list()] == ["Kept"]
    assert hub.people.get("kept")["volume_max"] == 30


def test_update_and_delete(hub: Hub) -> None:
    hub.people.create(person("Cleo"))
    out = hub.people.update("cleo", {"id": "ignored", "name": "Cleo", "aroma": False})
    assert out["id"] == "cleo" and out["aroma"] is False
    hub.people.delete("cleo")
    with pytest.raises(NotFound):
        hub.people.get("cleo")
    with pytest.raises(NotFound):
        hub.people.delete("cleo")


# --- limits in a session ---------------------------------------------------------------------


def test_heat_is_capped_at_the_persons_ceiling_with_a_message(hub: Hub) -> None:
    hub.people.create(person("Dana", heat_max="low", notes="pregnant, 24 weeks"))
    seen = limit_events(hub)
    s = hub.sessions.start("hot-stone", 30, profiles=["dana"])
    assert s["people"] == [{"profile": "dana", "name": "Dana", "pad": None}]
    assert hub.room.heat_pads["pad"].heat == "low"
    assert seen[0] == {
        "device": "pad",
        "limit": "heat_max",
        "message": "Table pad capped at low (asked high): Dana's heat limit",
    }
    state = hub.state()
    assert state["session"]["limits"] == {
        "heat_max": {"pad": "low"},
        "volume_max": 100,
        "aroma": True,
    }
    assert state["devices"]["pad"]["limit"].startswith("Table pad capped at low")
    # a manual command asks for more: capped, and the answer says why
    out = hub.devices.set("pad", {"heat": "high"})
    assert out["heat"] == "low" and "Dana's heat limit" in out["limit"]
    assert out["capped"] == "Table pad capped at low (asked high): Dana's heat limit"
    hub.advance(30 * 60 + 10 * 60 + 200)
    assert hub.sessions.current is None
    # after the session Dana is still on the table: her limit still holds
    assert hub.devices.set("pad", {"heat": "high"})["heat"] == "low"
    # nobody on the table, no one's limits: the pad may go high again
    hub.people.set_table([])
    hub.devices.set("pad", {"heat": "high"})
    assert hub.room.heat_pads["pad"].heat == "high"
    assert "limit" not in hub.state()["devices"]["pad"]


def test_no_heat_means_the_pad_stays_off(hub: Hub) -> None:
    hub.people.create(person("Eve", heat_max="off"))
    hub.sessions.start("swedish", 30, profiles=["eve"])
    hub.advance(10 * 60)
    assert hub.room.heat_pads["pad"].heat == "off"
    assert hub.room.heat_pads["pad"].relay_on is False
    assert hub.state()["devices"]["pad"]["limit"] == "Table pad stays off: Eve's limit is no heat"


def test_no_aroma_refuses_a_manual_diffuser_and_drops_a_scenes(hub: Hub) -> None:
    hub.people.create(person("Fay", aroma=False))
    seen = limit_events(hub)
    hub.sessions.start("aromatherapy", 30, profiles=["fay"])
    hub.advance(120)
    assert hub.room.diffuser.mode == "off"
    assert {"device": "diffuser", "limit": "aroma"} | {
        "message": "the diffuser stays off: Fay says no aroma"
    } in seen
    with pytest.raises(Conflict) as err:
        hub.devices.set("diffuser", {"mode": "on"})
    assert err.value.code == "profile_limit"
    assert err.value.message == "the diffuser stays off: Fay says no aroma"
    with pytest.raises(Conflict):
        hub.devices.set("diffuser", {"on": True})
    hub.scenes.apply("swedish")  # a scene's interval is dropped, not an error
    assert hub.room.diffuser.mode == "off"
    hub.devices.set("diffuser", {"on": False})  # off is always fine


def test_volume_is_capped_whatever_asks(hub: Hub) -> None:
    hub.people.create(person("Gus", volume_max=20))
    hub.sessions.start("swedish", 30, profiles=["gus"])  # the scene wants 35
    hub.advance(5 * 60 + 60)
    sp = hub.room.speaker
    assert sp.volume == pytest.approx(20)
    out = hub.devices.set("speaker", {"volume": 70, "fade_seconds": 5})
    assert out["limit"] == "volume capped at 20 (asked 70): Gus's volume limit"
    hub.advance(10)
    assert sp.volume <= 20


def test_outputs_already_past_a_limit_come_down_when_the_session_starts(hub: Hub) -> None:
    hub.people.create(person("Hal", heat_max="low", volume_max=10, aroma=False))
    hub.devices.set("pad", {"heat": "high"})
    hub.devices.set("diffuser", {"mode": "on"})
    hub.devices.set("speaker", {"playlist": "calm", "volume": 60})
    hub.advance(3)
    hub.sessions.start("hot-stone", 30, profiles=["hal"])  # its pre-warm leaves music alone
    assert hub.room.heat_pads["pad"].heat == "low"
    assert hub.room.diffuser.mode == "off"
    assert hub.room.speaker.volume <= 10


def test_a_profile_changed_mid_session_holds_at_once(hub: Hub) -> None:
    hub.people.create(person("Ida"))
    hub.sessions.start("hot-stone", 30, profiles=["ida"])
    assert hub.room.heat_pads["pad"].heat == "high"
    hub.people.update("ida", person("Ida", heat_max="medium"))
    assert hub.room.heat_pads["pad"].heat == "medium"
    assert hub.state()["session"]["limits"]["heat_max"] == {"pad": "medium"}
    with pytest.raises(Conflict) as err:
        hub.people.delete("ida")
    assert "Ida is in the running session" in err.value.message


@pytest.mark.parametrize(
    ("profiles", "says"),
    [
        ([], "name at least one person"),
        (["nobody"], "no profile called 'nobody'"),
        (["jo", "jo"], "the same person is named twice"),
        ({"floor": "jo"}, "no heat pad called 'floor'"),
        ({"pad": 3}, "profiles"),
        ("jo", "profiles"),
    ],
)
def test_bad_people_refuse_the_start_and_change_nothing(hub: Hub, profiles: Any, says: str) -> None:
    hub.people.create(person("Jo"))
    with pytest.raises(InvalidCommand) as err:
        hub.sessions.start("swedish", 30, profiles=profiles)
    assert says in err.value.message
    assert hub.sessions.current is None and hub.sessions.history() == []
    assert hub.room.heat_pads["pad"].heat == "off"


# --- couples --------------------------------------------------------------------------------


def test_couples_each_on_their_own_pad_and_the_room_for_the_strictest(couples_hub: Hub) -> None:
    hub = couples_hub
    hub.people.create(person("Kim", heat_max="high", volume_max=30))
    hub.people.create(person("Lou", heat_max="low", volume_max=50, aroma=False))
    s = hub.sessions.start("hot-stone", 60, profiles={"pad": "kim", "pad2": "lou"})
    assert [p["pad"] for p in s["people"]] == ["pad", "pad2"]
    pads = hub.room.heat_pads
    assert pads["pad"].heat == "high" and pads["pad2"].heat == "low"
    hub.advance(10 * 60 + 60)
    assert hub.room.speaker.volume <= 30  # Kim's lower cap holds for the room
    assert hub.room.diffuser.mode == "off"  # Lou says no aroma
    # each pad's own person: Kim's pad may go high by hand, Lou's may not
    assert hub.devices.set("pad", {"heat": "high"})["heat"] == "high"
    assert hub.devices.set("pad2", {"heat": "high"})["heat"] == "low"
    history = hub.sessions.history()
    hub.sessions.stop()
    assert {p["name"] for p in history[0]["people"]} == {"Kim", "Lou"}


def test_a_pad_nobody_was_put_on_follows_the_strictest(couples_hub: Hub) -> None:
    hub = couples_hub
    hub.people.create(person("Max", heat_max="medium"))
    hub.sessions.start("hot-stone", 60, profiles={"pad": "max"})
    assert hub.room.heat_pads["pad2"].heat == "medium"


def test_a_plain_list_applies_to_every_pad(couples_hub: Hub) -> None:
    hub = couples_hub
    hub.people.create(person("Ned", heat_max="high"))
    hub.people.create(person("Oda", heat_max="low"))
    hub.sessions.start("couples", 60, profiles=["ned", "oda"])
    pads = hub.room.heat_pads
    assert pads["pad"].heat == "low" and pads["pad2"].heat == "low"
    assert "Oda's heat limit" in hub.state()["devices"]["pad2"]["limit"]


def test_a_routine_or_mqtt_style_command_meets_the_same_limits(hub: Hub) -> None:
    hub.people.create(person("Pia", heat_max="low", aroma=False, volume_max=15))
    hub.sessions.start("deep-tissue", 30, profiles=["pia"])
    # routines and MQTT call the same public commands with their own owner
    hub.devices.set("speaker", {"volume": 90}, owner="routine")
    hub.advance(1)
    assert hub.room.speaker.volume <= 15
    with pytest.raises(Conflict):
        hub.devices.set("diffuser", {"mode": "interval"}, owner="routine")
    hub.scenes.apply("hot-stone", owner="routine")
    assert hub.room.heat_pads["pad"].heat == "low"


def test_an_interrupted_session_remembers_who_it_was_for(
    make_hub: Callable[..., Hub], make_config: Callable[..., Config]
) -> None:
    config = make_config(COUPLES)
    first = make_hub(config)
    first.people.create(person("Quin", heat_max="low"))
    first.people.create(person("Rae"))
    sid = first.sessions.start("couples", 60, profiles={"pad": "quin", "pad2": "rae"})["id"]
    first.context.sessions.current = None  # the service dies: the end is never written
    first.close()
    again = make_hub(config)
    notice = again.state()["interrupted_session"]
    assert notice["id"] == sid
    assert [(p["profile"], p["pad"]) for p in notice["people"]] == [
        ("quin", "pad"),
        ("rae", "pad2"),
    ]
    # "Start again" sends them back (static/profiles.js spec()): the same limits hold
    again.sessions.start("couples", 30, profiles={p["pad"]: p["profile"] for p in notice["people"]})
    assert again.room.heat_pads["pad"].heat == "low"
