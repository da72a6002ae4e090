"""The hub against a real Home Assistant 2025.4.4 and a real Mosquitto, as an HA user uses it.

Each test gets its own broker, Home Assistant (seeded, on loopback; see tests/rigs/ha_rig.py)
and ``massage-hub serve`` process. Home Assistant's venv is built once and cached
(tests/rigs/ha_venv.py). Here: adoption, controls, voice, scenes. Events and upgrades:
tests/mqtt/test_home_assistant_events.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.ha_room import (
    NODE,
    Room,
    hub_session,
    open_room,
    wait_state,
)
from tests.rigs.live import Api, create_token
from tests.rigs.support import wait_for

pytestmark = pytest.mark.home_assistant


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    with open_room(tmp_path) as r:
        yield r


def test_adoption_one_device_with_area_stable_ids_and_categories(room: Room) -> None:
    room.serve()
    ha = room.ha
    devices = ha.ws({"type": "config/device_registry/list"})[0]
    ours = [d for d in devices if ["mqtt", f"massagehub_{NODE}"] in d["identifiers"]]
    assert len(ours) == 1
    device = ours[0]
    areas = {a["area_id"]: a["name"] for a in ha.ws({"type": "config/area_registry/list"})[0]}
    assert areas.get(device["area_id"]) == "Massage room"
    entities = ha.ws({"type": "config/entity_registry/list"})[0]
    by_id = {e["entity_id"]: e for e in entities if e["platform"] == "mqtt"}
    # ids come from the hub's device ids, not from display names ("Ceiling strip")
    for entity_id in (
        "light.massage_room_light_main",
        "light.massage_room_light_accent",
        "select.massage_room_heat_pad",
        "button.massage_room_session_extend",
        "scene.massage_room_scene_swedish",
        "sensor.massage_room_session_ends_at",
    ):
        assert entity_id in by_id, sorted(by_id)
    on_device = [e for e in by_id.values() if e["device_id"] == device["id"]]
    assert all(e["entity_id"].split(".")[1].startswith(NODE) for e in by_id.values())
    categories = {e["entity_id"]: e["entity_category"] for e in on_device}
    assert categories["number.massage_room_session_minutes"] == "config"
    assert categories["select.massage_room_scene"] == "config"
    for diagnostic in (
        "sensor.massage_room_backend",
        "sensor.massage_room_started_at",
        "sensor.massage_room_heat_pad_autooff",
        "sensor.massage_room_heat_pad_cooldown_until",
    ):
        assert categories[diagnostic] == "diagnostic"
    assert categories["light.massage_room_light_main"] is None
    # no entity unavailable; the playlist select has a valid state; minutes unknown when idle
    states = {s["entity_id"]: s for s in room.mine()}
    assert all(s["state"] != "unavailable" for s in states.values())
    playlist = states["select.massage_room_playlist"]
    assert playlist["state"] in playlist["attributes"]["options"]
    assert states["sensor.massage_room_minutes_remaining"]["state"] == "unknown"
    assert states["sensor.massage_room_backend"]["state"] == "mock / silent"


def test_voice_activate_swedish_massage_starts_a_swedish_session(room: Room) -> None:
    room.serve()
    ha = room.ha
    scene = ha.state("scene.massage_room_scene_swedish")
    assert scene is not None and scene["attributes"]["friendly_name"] == "Swedish massage"
    answer = ha.say("activate Swedish massage")
    assert answer["response"]["response_type"] == "action_done", answer
    started = wait_for(lambda: (s := hub_session(room)) and s.get("scene") == "swedish" and s)
    # the scene's own default length (config/scenes.yaml: swedish 60 min), started over MQTT
    assert started["minutes"] == 60 and started["source"] == "mqtt"
    wait_state(ha, "sensor.massage_room_session_phase", lambda s: s["state"] == "prepare")
    ends = wait_state(ha, "sensor.massage_room_session_ends_at", lambda s: s["state"] != "unknown")
    assert ends["attributes"]["device_class"] == "timestamp"
    minutes = ha.state("sensor.massage_room_minutes_remaining")
    assert minutes is not None and minutes["state"] == "60"  # the pre-warm does not count
    # a second "activate" while the session runs changes nothing (the hub refuses, 409)
    ha.say("activate Deep tissue massage")
    time.sleep(1)
    assert hub_session(room)["scene"] == "swedish"
    ha.call("button", "press", entity_id="button.massage_room_all_off")
    wait_for(lambda: not hub_session(room))
    answer = ha.say("turn on Deep tissue massage")
    assert answer["response"]["response_type"] == "action_done", answer
    wait_for(lambda: hub_session(room).get("scene") == "deep-tissue")


def test_voice_turns_off_the_lights_in_the_massage_room(room: Room) -> None:
    room.serve()
    ha = room.ha
    ha.call("light", "turn_on", entity_id="light.massage_room_light_main", brightness=200)
    wait_state(ha, "light.massage_room_light_main", lambda s: s["state"] == "on")
    answer = ha.say("turn off the lights in the massage room")
    assert answer["response"]["response_type"] == "action_done", answer
    wait_state(ha, "light.massage_room_light_main", lambda s: s["state"] == "off")


def test_every_control_works_from_home_assistant(room: Room) -> None:
    room.serve()
    ha = room.ha

    def is_(entity_id: str, value: str) -> dict[str, Any]:
        return wait_state(ha, entity_id, lambda s: s["state"] == value)

    light = "light.massage_room_light_main"
    ha.call("light", "turn_on", entity_id=light, brightness=128)
    assert is_(light, "on")["attributes"]["brightness"] == 128
    ha.call("light", "turn_off", entity_id="light.massage_room_light_main")
    is_(light, "off")
    ha.call("light", "turn_on", entity_id="light.massage_room_light_accent")
    is_("light.massage_room_light_accent", "on")
    ha.call("switch", "turn_on", entity_id="switch.massage_room_diffuser")
    is_("switch.massage_room_diffuser", "on")
    is_("select.massage_room_diffuser_mode", "on")
    ha.call("select", "select_option", entity_id="select.massage_room_diffuser_mode", option="off")
    is_("switch.massage_room_diffuser", "off")
    heat = "select.massage_room_heat_pad"
    ha.call("select", "select_option", entity_id=heat, option="low")
    pad = is_(heat, "low")
    assert pad["attributes"]["owner"] == "manual" and pad["attributes"]["auto_off_at"]
    auto_off = is_("sensor.massage_room_heat_pad_autooff", pad["attributes"]["auto_off_at"])
    assert auto_off["attributes"]["device_class"] == "timestamp"
    ha.call("select", "select_option", entity_id=heat, option="off")
    is_(heat, "off")
    is_("sensor.massage_room_heat_pad_autooff", "unknown")
    ha.call("number", "set_value", entity_id="number.massage_room_volume", value=30)
    wait_state(ha, "number.massage_room_volume", lambda s: float(s["state"]) == 30)
    # the next session's scene and length are settings; Start session uses them
    ha.call("select", "select_option", entity_id="select.massage_room_scene", option="Cleaning")
    is_("select.massage_room_scene", "Cleaning")
    ha.call("number", "set_value", entity_id="number.massage_room_session_minutes", value=2)
    wait_state(ha, "number.massage_room_session_minutes", lambda s: float(s["state"]) == 2)
    assert ha.state(light)["state"] == "off"  # choosing a default scene applies nothing
    ha.call("button", "press", entity_id="button.massage_room_session_start")
    started = wait_for(lambda: (s := hub_session(room)) and s.get("scene") == "cleaning" and s)
    assert started["minutes"] == 2
    ha.call("button", "press", entity_id="button.massage_room_session_pause")
    is_("sensor.massage_room_session_phase", "paused")
    is_("sensor.massage_room_session_ends_at", "unknown")
    ha.call("button", "press", entity_id="button.massage_room_session_resume")
    wait_state(ha, "sensor.massage_room_session_phase", lambda s: s["state"] != "paused")
    ha.call("button", "press", entity_id="button.massage_room_session_extend")
    wait_for(lambda: hub_session(room).get("minutes") == 12)
    ha.call("button", "press", entity_id="button.massage_room_session_stop")
    wait_state(
        ha, "sensor.massage_room_session_phase", lambda s: s["state"] in ("fade_out", "idle")
    )
    for button in ("music_play", "music_pause", "music_stop", "music_next"):
        ha.call("button", "press", entity_id=f"button.massage_room_{button}")
    is_("sensor.massage_room_now_playing", "nothing")  # no music folder: nothing plays
    ha.call("light", "turn_on", entity_id=light, brightness=255)
    is_(light, "on")
    ha.call("button", "press", entity_id="button.massage_room_all_off")
    is_(light, "off")
    is_("sensor.massage_room_session_phase", "idle")


def test_lights_do_not_flash(room: Room) -> None:
    hub = room.serve()
    ha = room.ha
    light = "light.massage_room_light_main"
    # the hub declares ``flash: false``; HA 2025.4's JSON light ignores that and still offers it
    assert ha.state(light)["attributes"]["supported_features"] & 8
    ha.call("light", "turn_on", entity_id=light, flash="short")
    time.sleep(1)
    state = ha.state(light)
    assert state is not None and state["state"] == "off"  # a flash request switches nothing on
    assert "this light cannot flash" in hub.log()


def test_creating_renaming_and_deleting_a_scene_follows_in_home_assistant(room: Room) -> None:
    from tests.mqtt.test_mqtt import Rig

    rig = Rig(room.folder / "inproc", room.broker.port, mqtt={"node_id": NODE})
    try:
        wait_for(room.adopted, timeout=60)
        ha = room.ha
        made = rig.hub.scenes.duplicate("swedish", "Evening glow")
        entity_id = f"scene.massage_room_scene_{made['id']}".replace("-", "_")
        scene = wait_state(ha, entity_id, lambda s: s["state"] != "unavailable")
        assert scene["attributes"]["friendly_name"] == "Evening glow massage"
        answer = ha.say("activate Evening glow massage")
        assert answer["response"]["response_type"] == "action_done", answer
        wait_for(lambda: (rig.hub.state()["session"] or {}).get("scene") == made["id"])
        rig.hub.sessions.stop()
        renamed = {**rig.hub.scenes.get(made["id"]).model_dump(), "name": "Late glow"}
        renamed.pop("id", None)
        rig.hub.scenes.update(made["id"], renamed)
        wait_state(ha, entity_id, lambda s: s["attributes"]["friendly_name"] == "Late glow massage")
        rig.hub.scenes.delete(made["id"])
        wait_for(lambda: ha.state(entity_id) is None)
        assert ha.state("scene.massage_room_scene_swedish") is not None
    finally:
        rig.close()


def test_on_the_table_select_holds_that_persons_limits_for_voice(room: Room) -> None:
    """Home Assistant's "On the table" select puts Anna on the pad; Assist's "activate
    Swedish massage" then keeps to her limits (no heat, no aroma, quiet)."""
    served = room.serve()
    api = Api(served.config["web"]["port"], create_token(served.config_path, "ha-test"))
    status, _ = api.call(
        "POST",
        "/profiles",
        {"name": "Anna", "heat_max": "off", "aroma": False, "volume_max": 10},
    )
    assert status == 201
    ha = room.ha
    select = "select.massage_room_table_pad"
    wait_state(ha, select, lambda s: "Anna" in s["attributes"]["options"])
    assert ha.state(select)["state"] == "Nobody"
    ha.call("select", "select_option", entity_id=select, option="Anna")
    wait_state(ha, select, lambda s: s["state"] == "Anna")
    words = wait_state(ha, "sensor.massage_room_limits", lambda s: "Anna" in s["state"])
    assert words["state"] == "Table pad: no heat (Anna); volume 10 at most (Anna); no aroma (Anna)"
    assert words["attributes"]["people"] == ["Anna"]
    answer = ha.say("activate Hot stone massage")
    assert answer["response"]["response_type"] == "action_done", answer
    wait_for(lambda: hub_session(room).get("scene") == "hot-stone")
    status, state = api.call("GET", "/state")
    assert status == 200 and [p["name"] for p in state["session"]["people"]] == ["Anna"]
    assert state["devices"]["pad"]["heat"] == "off"  # hot stone asks high: Anna has no heat
    assert state["devices"]["diffuser"]["mode"] == "off"
    # a heat level asked from Home Assistant is held back, and the select shows the truth
    ha.call("select", "select_option", entity_id="select.massage_room_heat_pad", option="high")
    time.sleep(1)
    assert ha.state("select.massage_room_heat_pad")["state"] == "off"
    ha.call("select", "select_option", entity_id=select, option="Nobody")
    wait_state(ha, "sensor.massage_room_limits", lambda s: s["state"] == "none")
    api.close()


#: the recorder (its file in the test's folder, committing each second) and energy: what
#: the Energy dashboard needs
ENERGY_HA = """\
recorder:
  commit_interval: 1
energy:
"""


def test_home_assistant_takes_the_energy_sensor_for_its_energy_dashboard(tmp_path: Path) -> None:
    entity_id = f"sensor.{NODE}_energy"
    with open_room(tmp_path, ENERGY_HA) as room:
        room.serve(lights={"main": {"watts": 24}}, heat_pads={"pad": {"watts": 60}})
        ha = room.ha
        state = wait_state(ha, entity_id, lambda s: s["state"] not in ("unknown", "unavailable"))
        attrs = state["attributes"]
        assert attrs["device_class"] == "energy"
        assert attrs["state_class"] == "total_increasing"
        assert attrs["unit_of_measurement"] == "kWh"
        assert float(state["state"]) >= 0
        # what the Energy dashboard offers to pick: sensors Home Assistant keeps a sum of
        listed = ha.ws({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})[0]
        ours = [s for s in listed if s["statistic_id"] == entity_id]
        assert ours and ours[0]["has_sum"] is True
        assert ours[0]["statistics_unit_of_measurement"] == "kWh"
        # picked as an individual device, Home Assistant's own checks find nothing wrong
        # with it (its statistics only come at the first 5-minute compile)
        ha.ws(
            {
                "type": "energy/save_prefs",
                "energy_sources": [],
                "device_consumption": [{"stat_consumption": entity_id}],
            }
        )
        checked = ha.ws({"type": "energy/validate"})[0]
        issues = [i["type"] for i in checked["device_consumption"][0]]
        assert set(issues) <= {"statistics_not_defined"}, checked


def test_without_watts_home_assistant_sees_no_energy_sensor(room: Room) -> None:
    room.serve()
    assert f"sensor.{NODE}_energy" not in {s["entity_id"] for s in room.mine()}


def test_a_pad_sensor_is_a_temperature_and_a_problem_in_home_assistant(room: Room) -> None:
    # the simulated pad (off a Pi) at room temperature, in a served hub on the real clock
    room.serve(heat_pads={"pad": {"sensor": "auto"}})
    ha = room.ha
    temperature = wait_state(
        ha, f"sensor.{NODE}_heat_pad_temperature", lambda s: s["state"] not in ("unknown", "")
    )
    assert temperature["attributes"]["device_class"] == "temperature"
    assert temperature["attributes"]["unit_of_measurement"] == "°C"
    assert float(temperature["state"]) == pytest.approx(21.0, abs=0.5)
    problem = wait_state(
        ha, f"binary_sensor.{NODE}_heat_pad_problem", lambda s: s["state"] == "off"
    )
    assert problem["attributes"]["device_class"] == "problem"
