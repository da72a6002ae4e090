"""Home Assistant's newer entities over a real Mosquitto: scenes, music, sensors, moments."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.engine.clock import FakeClock
from hub.mqtt import BadPayload, parse_light_command
from tests.mqtt import test_mqtt
from tests.mqtt.test_mqtt import Rig, online
from tests.rigs.broker import Mosquitto, Observer
from tests.rigs.support import wait_for

# the same fixtures as tests/mqtt/test_mqtt.py: a Mosquitto, in-process hubs, observers
broker = test_mqtt.broker
rigs = test_mqtt.rigs
observers = test_mqtt.observers

pytestmark = pytest.mark.broker


def test_a_flash_request_is_refused_in_plain_words() -> None:
    with pytest.raises(BadPayload, match="cannot flash"):
        parse_light_command('{"state": "ON", "flash": 2}')


def test_a_scene_starts_a_session_for_its_default_minutes_and_refuses_other_payloads(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    obs.publish(f"{rig.base}/scene_swedish/set", "PRESS")
    obs.publish(f"{rig.base}/scene_swedish/set", "OFF")
    obs.publish(f"{rig.base}/volume/set", "11")  # handled after the refused payloads
    obs.wait_last(f"{rig.base}/volume/state", "11")
    assert rig.hub.state()["session"] is None
    obs.publish(f"{rig.base}/scene_wind-down/set", "ON")
    session = wait_for(lambda: rig.hub.state()["session"])
    assert session["scene"] == "wind-down" and session["minutes"] == 30  # its default_minutes
    moment = obs.wait_last(f"{rig.base}/session/action", "started")
    assert moment


def test_minutes_remaining_and_ends_at_count_the_session_not_the_prewarm(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    clock = FakeClock()
    rig = rigs(broker.port, clock=clock)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    b = rig.base
    assert obs.wait_last(f"{b}/minutes_remaining/state", "None")  # unknown when idle
    assert obs.wait_last(f"{b}/session_ends_at/state", "None")
    rig.hub.sessions.start("swedish", 20, source="test")  # 5 min pre-warm, then 20 min
    obs.wait_last(f"{b}/session_phase/state", "prepare")
    obs.wait_last(f"{b}/minutes_remaining/state", "20")
    now = rig.hub.state()["time"]
    ends = wait_for(lambda: (p := obs.last(f"{b}/session_ends_at/state")) != "None" and p)
    from datetime import datetime

    gap = datetime.fromisoformat(ends) - datetime.fromisoformat(now)
    assert abs(gap.total_seconds() - 25 * 60) <= 1
    rig.hub.advance(5 * 60 + 61)
    rig.bridge._wake.set()
    obs.wait_last(f"{b}/session_phase/state", "active")
    obs.wait_last(f"{b}/minutes_remaining/state", "19")
    rig.hub.sessions.pause()
    obs.wait_last(f"{b}/session_ends_at/state", "None")


def test_music_controls_and_now_playing(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["massagehub/#", "homeassistant/#"])
    online(obs, rig.base)
    b = rig.base
    device = json.loads(wait_for(lambda: obs.last("homeassistant/device/massage_room/config")))
    playlist = device["components"]["playlist"]
    assert playlist["options"] == ["no music", "calm", "rain"]
    obs.wait_last(f"{b}/playlist/state", "no music")  # a valid option, never None
    obs.wait_last(f"{b}/now_playing/state", "nothing")
    obs.publish(f"{b}/playlist/set", "rain")
    obs.wait_last(f"{b}/playlist/state", "rain")
    obs.wait_last(f"{b}/now_playing/state", "rain")
    obs.publish(f"{b}/music_pause/set", "PRESS")
    obs.wait_last(f"{b}/now_playing/state", "paused")
    assert obs.last(f"{b}/playlist/state") == "no music"
    obs.publish(f"{b}/music_play/set", "PRESS")
    obs.wait_last(f"{b}/now_playing/state", "rain")
    obs.publish(f"{b}/music_next/set", "PRESS")
    obs.publish(f"{b}/playlist/set", "no music")
    obs.wait_last(f"{b}/now_playing/state", "paused")
    assert rig.hub.state()["devices"]["speaker"]["playing"] is False
    obs.publish(f"{b}/playlist/set", "calm")
    obs.wait_last(f"{b}/now_playing/state", "calm")
    obs.publish(f"{b}/music_stop/set", "PRESS")  # stopped, not paused: nothing to go on with
    obs.wait_last(f"{b}/now_playing/state", "nothing")
    speaker = rig.hub.state()["devices"]["speaker"]
    assert speaker["playing"] is False and not speaker.get("paused")


def test_the_area_is_the_devices_suggested_area_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    from hub.config.model import ConfigError, load_config
    from hub.mqtt.device import device_block
    from tests.rigs.support import write_config

    shipped = load_config(write_config(tmp_path / "a", {}))
    assert device_block(shipped, "mock")["suggested_area"] == "Massage room"
    mine = load_config(write_config(tmp_path / "b", {"mqtt": {"area": "Spa"}}))
    assert device_block(mine, "mock")["suggested_area"] == "Spa"
    none = load_config(write_config(tmp_path / "c", {"mqtt": {"area": None}}))
    assert "suggested_area" not in device_block(none, "mock")
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "d", {"mqtt": {"area": ""}}))
    assert "mqtt.area" in str(info.value)


def test_the_wall_button_is_a_device_trigger_for_press_and_hold(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    plain = rigs(broker.port, mqtt={"node_id": "plain_room"}, extra={"button": None})
    rig = rigs(broker.port)  # the shipped config has a wall button
    obs = observers(broker.port, ["homeassistant/#", "massagehub/#"])
    online(obs, rig.base)
    online(obs, plain.base)
    found = wait_for(lambda: (c := test_mqtt.configs(obs)) and len(c) >= test_mqtt.N_CONFIGS and c)
    press = found["homeassistant/device_automation/massage_room/trigger_button_press/config"]
    assert press["topic"] == f"{rig.base}/button/action" and press["payload"] == "press"
    assert (press["type"], press["subtype"]) == ("button_short_press", "button_1")
    hold = found["homeassistant/device_automation/massage_room/trigger_button_hold/config"]
    assert (hold["type"], hold["payload"]) == ("button_long_press", "hold")
    # a room without a button has no button triggers (one that never fires would mislead)
    assert not [t for t in found if "/plain_room/trigger_button" in t]

    rig.hub.room.button._button.hold_time = 0.05  # a quick hold for the test
    pin = rig.factory.pin(25)
    pin.drive_low()
    pin.drive_high()
    obs.wait_last(f"{rig.base}/button/action", "press")
    assert wait_for(lambda: rig.hub.state()["session"])["source"] == "button"
    pin.drive_low()
    obs.wait_last(f"{rig.base}/button/action", "hold")
    pin.drive_high()
    wait_for(lambda: rig.hub.state()["session"] is None)
    assert rig.hub.sessions.history()[0]["end_reason"] == "button"


def test_the_pads_on_time_counts_its_stretch(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    clock = FakeClock()
    rig = rigs(broker.port, clock=clock)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    topic = f"{rig.base}/heat_pad_on_time/state"
    obs.wait_last(topic, "0")
    rig.hub.devices.set("pad", {"heat": "low", "minutes": 10})
    rig.hub.advance(3 * 60 + 5)
    rig.bridge._wake.set()  # the bridge sleeps on the real clock
    obs.wait_last(topic, "3")
    rig.hub.devices.set("pad", {"heat": "off"})
    rig.hub.advance(2 * 60)
    rig.bridge._wake.set()
    obs.wait_last(f"{rig.base}/heat_pad/state", "off")
    assert obs.last(topic) == "3"  # a short rest does not reset the stretch


def test_each_person_has_sensors_for_stress_change_and_sleep(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["homeassistant/#", "massagehub/#"])
    online(obs, rig.base)
    hub = rig.hub
    anna = hub.people.create({"name": "Anna"})["id"]
    config = "homeassistant/sensor/massage_room/profile_anna_stress_change/config"
    found = wait_for(lambda: (c := test_mqtt.configs(obs)).get(config) and c)
    assert found[config]["name"] == "Anna stress change"
    assert found[config]["state_class"] == "measurement"
    stress, sleep = (
        f"{rig.base}/profile_anna_stress_change/state",
        f"{rig.base}/profile_anna_sleep/state",
    )
    obs.wait_last(stress, "None")  # unknown until the journal says
    session = hub.sessions.start("wind-down", 30, profiles=[anna])["id"]
    hub.people.add_journal_entry(
        {"session_id": session, "profile": anna, "when": "before", "stress": 7}
    )
    hub.sessions.stop()
    hub.sessions.stop()
    hub.people.add_journal_entry(
        {"session_id": session, "profile": anna, "when": "after", "stress": 3}
    )
    obs.wait_last(stress, "-4")
    hub.people.add_journal_entry(
        {"session_id": session, "profile": anna, "when": "morning", "sleep": 4}
    )
    obs.wait_last(sleep, "4")
    device = "homeassistant/device/massage_room/config"
    assert "profile_anna_sleep" in json.loads(obs.last(device) or "{}")["components"]
    hub.people.delete(anna)  # the device config goes out again without Anna's sensors
    wait_for(lambda: "profile_anna_sleep" not in json.loads(obs.last(device) or "{}")["components"])
