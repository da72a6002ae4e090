"""Who is on the table: set from any client, kept across restarts, held at every output.

The paths a new user tried and found open (a therapist's link, the chimes, Home Assistant,
Apple Home, a routine, the wall button, a pad set by hand) each hold the person's limits
here, with the same words everywhere.
"""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from hardware import SilentSpeaker
from hub.config.model import Config
from hub.core import Hub
from hub.errors import InvalidCommand
from hub.routines.controller import RoutineController
from tests.core.guests.test_guests import as_guest, make_guest
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401

COUPLES = {"heat_pads": {"pad2": {"pin": 17, "name": "Second pad", "max_on_minutes": 60}}}
ANNA = {"name": "Anna", "heat_max": "off", "aroma": False, "volume_max": 10}
KIM = {"name": "Kim", "heat_max": "medium", "aroma": True, "volume_max": 40}


@pytest.fixture
def couples(make_hub: Callable[..., Hub], make_config: Callable[..., Config]) -> Hub:
    hub = make_hub(make_config(COUPLES))
    hub.people.create(ANNA)
    hub.people.create(KIM)
    return hub


def table_of(hub: Hub) -> list[tuple[str | None, str]]:
    return [(p["pad"], p["profile"]) for p in hub.people.table()["people"]]


def test_a_session_started_by_nobody_is_for_whoever_is_on_the_table(couples: Hub) -> None:
    couples.people.set_table({"pad": "anna", "pad2": "kim"})
    s = couples.sessions.start("hot-stone", 30, source="button")
    assert {p["profile"]: p["pad"] for p in s["people"]} == {"anna": "pad", "kim": "pad2"}
    pads = couples.state()["devices"]
    assert pads["pad"]["heat"] == "off" and pads["pad2"]["heat"] == "medium"
    assert pads["diffuser"]["mode"] == "off"  # Anna says no aroma
    row = couples.sessions.history()[0]
    assert [p["name"] for p in row["people"]] == ["Anna", "Kim"]


def test_the_household_default_holds_when_nobody_is_picked(couples: Hub) -> None:
    out = couples.people.set_default(["kim"])
    assert out["source"] == "default" and [p["name"] for p in out["people"]] == ["Kim"]
    assert "volume 40 at most (Kim)" in out["limits_words"]
    couples.sessions.start("swedish", 20, source="mqtt")  # "activate Swedish massage"
    assert couples.state()["session"]["limits"]["volume_max"] == 40
    out = couples.devices.set("speaker", {"volume": 80})
    assert out["capped"] == "volume capped at 40 (asked 80): Kim's volume limit"
    assert couples.state()["devices"]["speaker"]["volume"] == 40
    couples.devices.all_off()
    # someone picked on the Now page wins over the default
    assert couples.people.set_table(["anna"])["source"] == "room"
    assert couples.sessions.start("swedish", 20)["people"][0]["name"] == "Anna"


def test_the_table_and_the_default_survive_a_restart(
    make_hub: Callable[..., Hub], make_config: Callable[..., Config]
) -> None:
    config = make_config(COUPLES)
    hub = make_hub(config)
    hub.people.create(ANNA)
    hub.people.create(KIM)
    hub.people.set_table({"pad2": "anna"})
    hub.people.set_default(["kim"])
    hub.close()
    again = make_hub(config)
    assert table_of(again) == [("pad2", "anna")]
    assert [p["profile"] for p in again.people.table()["default"]] == ["kim"]
    # and they hold at once: nobody's session needed
    again.devices.set("pad2", {"heat": "high"})
    assert again.state()["devices"]["pad2"]["heat"] == "off"


def test_an_unknown_profile_is_refused_by_name_and_nothing_changes(couples: Hub) -> None:
    couples.people.set_table(["kim"])
    for bad in (["kim", "ghost"], {"pad": "ghost"}, {"nopad": "kim"}):
        with pytest.raises(InvalidCommand, match="ghost|nopad"):
            couples.people.set_table(bad)
        assert table_of(couples) == [(None, "kim")]
    with pytest.raises(InvalidCommand, match="'ghost'"):
        couples.people.seat("pad", "ghost")
    with pytest.raises(InvalidCommand, match="'ghost'"):
        couples.people.set_default(["ghost"])
    assert table_of(couples) == [(None, "kim")]


def test_a_deleted_person_leaves_the_table_and_the_room_says_so(couples: Hub) -> None:
    seen: list[dict[str, Any]] = []
    couples.subscribe(lambda e: seen.append(e.data) if e.type == "table" else None)
    couples.people.set_default(["kim"])
    couples.people.set_table(["anna"])
    couples.people.delete("anna")
    state = couples.people.table()
    assert state["source"] == "default" and [p["name"] for p in state["people"]] == ["Kim"]
    assert seen[-1]["message"] == (
        "Anna was deleted and is no longer on the table; now: Kim (the household default)"
    )


def test_home_assistant_seats_one_person_per_pad(couples: Hub) -> None:
    couples.people.seat("pad", "anna", by="home assistant")
    couples.people.seat("pad2", "kim", by="home assistant")
    assert table_of(couples) == [("pad", "anna"), ("pad2", "kim")]
    couples.people.seat("pad2", "anna")  # Anna moves: one place each
    assert table_of(couples) == [("pad2", "anna")]
    couples.people.seat("pad2", None)
    assert table_of(couples) == [] and couples.people.table()["source"] is None


def test_a_table_change_in_a_session_holds_its_outputs_at_once(couples: Hub) -> None:
    couples.sessions.start("hot-stone", 30)
    assert couples.state()["devices"]["pad"]["heat"] == "high"
    couples.people.set_table(["anna"])
    state = couples.state()
    assert state["devices"]["pad"]["heat"] == "off"
    assert [p["name"] for p in state["session"]["people"]] == ["Anna"]
    assert [p["name"] for p in couples.sessions.history()[0]["people"]] == ["Anna"]


def test_a_pad_set_by_hand_says_it_was_capped_and_stays_in_the_session(couples: Hub) -> None:
    couples.people.set_table({"pad": "kim"})
    couples.sessions.start("swedish", 50)
    out = couples.devices.set("pad", {"heat": "high"})
    assert out["heat"] == "medium" and out["owner"] == "session"
    assert out["capped"] == "Table pad capped at medium (asked high): Kim's heat limit"
    assert out["off_in_seconds"] > 49 * 60  # the session's time, not the 20-minute timer


def test_chimes_keep_to_the_volume_cap(
    make_hub: Callable[..., Hub], make_config: Callable[..., Config]
) -> None:
    speaker = SilentSpeaker(playlists=["calm"], max_volume=80, chime_volume=50)
    hub = make_hub(make_config(), speaker=speaker)
    hub.people.create({"name": "Quiet", "volume_max": 5})
    hub.people.set_table(["quiet"])
    hub.sessions.start("swedish", 2)
    hub.advance(60 * 60)
    assert hub.sessions.current is None and speaker.chimes == 1
    assert speaker.chime_levels[-1] == 5  # the end chime, held to Quiet's cap
    hub.people.set_table([])
    hub.sessions.start("swedish", 2)
    hub.advance(60 * 60)
    assert speaker.chime_levels[-1] == 50  # nobody's cap: the chime's own level


def test_a_routine_names_its_people(couples: Hub) -> None:
    rc = RoutineController(couples)
    couples.use_routines(rc)
    spec = {
        "name": "Anna's evening",
        "schedule": {"kind": "weekly", "time": "21:30", "days": ["mon"]},
        "action": {"kind": "scene", "scene": "hot-stone", "minutes": 20},
        "profiles": ["anna"],
    }
    with pytest.raises(InvalidCommand, match="'nobody'"):
        rc.create_routine({**spec, "profiles": ["nobody"]})
    made = rc.create_routine(spec)
    assert made["profiles"] == ["anna"]
    rc.run_now(made["id"])
    assert table_of(couples) == [(None, "anna")]
    assert couples.state()["devices"]["pad"]["heat"] == "off"  # hot stone, no heat for Anna


# --- through the web: the owner, a token, a therapist's link ---------------------------------


def test_the_table_over_rest(api: Api, hub: Hub) -> None:
    hub.people.create(ANNA)
    r = api.put("/table", json={"people": ["anna"]})
    assert r.status_code == 200 and r.json["people"][0]["name"] == "Anna"
    assert "no aroma (Anna)" in r.json["limits_words"]
    assert api.get("/state").json["table"]["source"] == "room"
    bad = api.put("/table", json={"people": ["ghost"]})
    assert bad.status_code == 422 and "'ghost'" in bad.json["error"]["message"]
    assert api.put("/table", json={"people": "anna"}).status_code == 422
    assert api.get("/table").json["people"][0]["profile"] == "anna"  # unchanged
    r = api.put("/devices/diffuser", json={"mode": "on"})
    assert r.status_code == 409
    assert r.json["error"]["message"] == "the diffuser stays off: Anna says no aroma"


def test_a_therapists_link_holds_its_peoples_limits(
    api: Api, client: FlaskClient, hub: Hub
) -> None:
    hub.people.create({**ANNA, "volume_max": 5, "notes": "pregnant, 24 weeks"})
    guest = as_guest(client, make_guest(api, profiles=["anna"]))
    r = guest.post("/session", json={"scene": "hot-stone", "minutes": 30})
    assert r.status_code == 201, r.json
    assert [p["name"] for p in r.json["people"]] == ["Anna"]
    state = api.get("/state").json
    assert state["devices"]["pad"]["heat"] == "off"
    assert state["devices"]["diffuser"]["mode"] == "off"
    assert state["session"]["limits"]["heat_max"] == {"pad": "off"}
    assert state["table"]["source"] == "link"
    refused = guest.put("/devices/diffuser", json={"mode": "on"})
    assert refused.status_code == 409 and "Anna says no aroma" in refused.json["error"]["message"]
    capped = guest.put("/devices/speaker", json={"volume": 60})
    assert capped.status_code == 200 and capped.json["capped"] == (
        "volume capped at 5 (asked 60): Anna's volume limit"
    )
    # the therapist cannot take Anna off the table, swap her, or leave her out of a start
    assert guest.put("/table", json={"people": []}).status_code == 403
    assert guest.delete("/session").status_code == 200
    left_out = guest.post("/session", json={"scene": "swedish", "profiles": ["other"]})
    assert left_out.status_code == 422
    row = api.get("/history").json["sessions"][0]
    assert row["by"] == "Ana (guest)" and [p["name"] for p in row["people"]] == ["Anna"]


def test_a_link_holds_its_people_outside_a_session_too(
    api: Api, client: FlaskClient, hub: Hub
) -> None:
    hub.people.create(ANNA)
    guest = as_guest(client, make_guest(api, profiles=["anna"]))
    r = guest.put("/devices/speaker", json={"volume": 70})
    assert r.json["capped"].startswith("volume capped at 10")
    assert guest.put("/devices/diffuser", json={"on": True}).status_code == 409
    # the owner, with nobody on the table, is not held to the link's people
    assert api.put("/devices/speaker", json={"volume": 70}).json.get("capped") is None


def test_a_restore_brings_back_who_is_on_the_table(couples: Hub) -> None:
    couples.people.set_table({"pad2": "anna"})
    couples.people.set_default(["kim"])
    saved = couples.backup.make()
    couples.people.set_table([])
    couples.people.set_default([])
    couples.backup.restore(saved)
    assert table_of(couples) == [("pad2", "anna")]
    assert [p["profile"] for p in couples.people.table()["default"]] == ["kim"]
