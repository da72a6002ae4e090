"""The hub against a real Home Assistant 2025.4.4 and a real Mosquitto, as an HA user uses it.

Each test gets its own broker, Home Assistant (seeded, on loopback; see tests/ha_rig.py)
and ``massage-hub serve`` process. Home Assistant's venv is built once and cached.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .broker import Mosquitto, Observer, have_mosquitto
from .ha_rig import HomeAssistant
from .support import ServeProcess, free_port, wait_for, write_config

pytestmark = pytest.mark.home_assistant

NODE = "massage_room"
FAST = {"reconnect_min_seconds": 0.1, "reconnect_max_seconds": 0.5, "fade_update_seconds": 0.5}


class Room:
    """Mosquitto, Home Assistant and a served hub, wired together."""

    def __init__(self, folder: Path) -> None:
        if not have_mosquitto():
            pytest.fail("mosquitto is not installed (setup.sh --test installs it)")
        self.folder = folder
        self.broker = Mosquitto(folder / "broker").start()
        self.ha = HomeAssistant(folder / "ha", self.broker.port, free_port()).start()
        self.hub: ServeProcess | None = None
        self.observers: list[Observer] = []

    def serve(self, **extra: Any) -> ServeProcess:
        """Start ``massage-hub serve`` on this broker; wait until HA has adopted it."""
        mqtt = {"enabled": True, "host": "127.0.0.1", "port": self.broker.port, **FAST}
        path = write_config(self.folder / "hub", {"mqtt": mqtt, **extra})
        self.hub = ServeProcess(path).start()
        wait_for(self.adopted, timeout=60)
        return self.hub

    def mine(self) -> list[dict[str, Any]]:
        """Return the states of the hub's entities (by their ids)."""
        return [
            s
            for s in self.ha.states()
            if s["entity_id"].split(".", 1)[1].startswith(NODE + "_")
            and not s["entity_id"].startswith("automation.")
        ]

    def adopted(self) -> bool:
        states = self.mine()
        return len(states) >= 20 and all(s["state"] != "unavailable" for s in states)

    def observe(self, topics: list[str]) -> Observer:
        obs = Observer(self.broker.port, topics)
        self.observers.append(obs)
        return obs

    def close(self) -> None:
        for obs in self.observers:
            obs.close()
        if self.hub is not None:
            self.hub.stop()
        self.ha.stop()
        self.broker.stop()


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    r = Room(tmp_path)
    try:
        yield r
    except BaseException:
        print(r.ha.log())
        raise
    finally:
        r.close()


def hub_session(room: Room) -> dict[str, Any]:
    """Return the hub's own session attributes, as it publishes them (retained)."""
    obs = room.observe([f"massagehub/{NODE}/session_phase/attributes"])
    topic = f"massagehub/{NODE}/session_phase/attributes"
    return json.loads(wait_for(lambda: obs.last(topic), timeout=10))


def wait_state(ha: HomeAssistant, entity_id: str, check: Callable[[dict[str, Any]], bool]) -> Any:
    """Wait until HA's state of ``entity_id`` passes ``check``; return it."""
    return wait_for(lambda: (s := ha.state(entity_id)) is not None and check(s) and s, timeout=20)


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
    for button in ("music_play", "music_pause", "music_next"):
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


def our_device(ha: HomeAssistant) -> str:
    """Return the device id HA gave the hub."""
    devices = ha.ws({"type": "config/device_registry/list"})[0]
    return next(d["id"] for d in devices if ["mqtt", f"massagehub_{NODE}"] in d["identifiers"])


def mqtt_triggers(ha: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """Return the device's MQTT device triggers (not its entities' own triggers)."""
    found = ha.ws({"type": "device_automation/trigger/list", "device_id": device_id})[0]
    return [t for t in found if t["domain"] == "mqtt"]


def automate(room: Room, triggers: list[dict[str, Any]]) -> None:
    """Make one automation per device trigger (``automation.when_<type>``) and load them.

    A probe automation on a plain MQTT topic is loaded with them: once it fires, Home
    Assistant's subscriptions of that reload have reached the broker.
    """
    import yaml

    ha = room.ha
    automations = [
        {
            "id": f"when_{t['type']}",
            "alias": f"When {t['type']}",
            "triggers": [{"trigger": "device", **{k: v for k, v in t.items() if k != "platform"}}],
            "actions": [{"event": "massage_test", "event_data": {"type": t["type"]}}],
        }
        for t in triggers
    ]
    automations.append(
        {
            "id": "when_probe",
            "alias": "When probe",
            "triggers": [{"trigger": "mqtt", "topic": "test/probe"}],
            "actions": [{"event": "massage_probe"}],
        }
    )
    (ha.folder / "automations.yaml").write_text(yaml.safe_dump(automations))
    ha.call("automation", "reload")
    wait_for(lambda: all(is_on(ha.state(f"automation.when_{t['type']}")) for t in triggers))
    probe = room.observe(["test/none"])

    def probed() -> bool:
        probe.publish("test/probe", "1")
        time.sleep(0.1)
        return fired(ha, "probe")

    wait_for(probed, timeout=20)


def is_on(state: dict[str, Any] | None) -> bool:
    return bool(state and state["state"] == "on")


def fired(ha: HomeAssistant, kind: str) -> bool:
    state = ha.state(f"automation.when_{kind}")
    return bool(state and state["attributes"].get("last_triggered"))


def test_device_triggers_for_the_session_fire_automations(room: Room) -> None:
    room.serve()
    ha = room.ha
    device_id = our_device(ha)
    triggers = mqtt_triggers(ha, device_id)
    kinds = {(t["type"], t["subtype"]) for t in triggers}
    for kind in ("started", "paused", "resumed", "extended", "ended", "interrupted"):
        assert (kind, "session") in kinds
    session_triggers = [t for t in triggers if t["subtype"] == "session"]
    automate(room, session_triggers)
    assert not any(fired(ha, t["type"]) for t in session_triggers)
    ha.call("scene", "turn_on", entity_id="scene.massage_room_scene_cleaning")
    wait_for(lambda: fired(ha, "started"))
    ha.call("button", "press", entity_id="button.massage_room_session_pause")
    wait_for(lambda: fired(ha, "paused"))
    ha.call("button", "press", entity_id="button.massage_room_session_resume")
    wait_for(lambda: fired(ha, "resumed"))
    ha.call("button", "press", entity_id="button.massage_room_session_extend")
    wait_for(lambda: fired(ha, "extended"))
    assert not fired(ha, "ended")
    ha.call("button", "press", entity_id="button.massage_room_all_off")
    wait_for(lambda: fired(ha, "ended"))
    assert not fired(ha, "interrupted")


def test_a_clean_stop_sends_final_states_and_ended_before_offline(room: Room) -> None:
    hub = room.serve()
    ha = room.ha
    triggers = mqtt_triggers(ha, our_device(ha))
    automate(room, [t for t in triggers if t["type"] == "ended"])
    obs = room.observe([f"massagehub/{NODE}/#"])
    ha.call("scene", "turn_on", entity_id="scene.massage_room_scene_swedish")
    wait_state(ha, "sensor.massage_room_session_phase", lambda s: s["state"] == "prepare")
    ha.call("light", "turn_on", entity_id="light.massage_room_light_main", brightness=255)
    wait_state(ha, "light.massage_room_light_main", lambda s: s["state"] == "on")
    assert hub.stop(signal.SIGTERM) == 0
    wait_for(lambda: fired(ha, "ended"))
    base = f"massagehub/{NODE}"
    obs.wait_last(f"{base}/availability", "offline")
    seen = [(topic, payload) for _, topic, payload, _ in obs.snapshot()]
    offline = seen.index((f"{base}/availability", "offline"))
    ended = seen.index((f"{base}/session/action", "ended"))
    assert ended < offline
    moment = json.loads(next(p for t, p in seen if t == f"{base}/session_event/state"))
    assert moment  # the event entity heard the session's moments
    ends = [json.loads(p) for t, p in seen[:offline] if t == f"{base}/session_event/state"]
    assert {"event_type": "ended", "scene": "swedish", "reason": "shutdown"} in ends
    # the retained states say the room is off: HA shows the truth after the hub went away
    last = {t: p for t, p in seen[:offline]}
    assert last[f"{base}/light_main/state"] == '{"state": "OFF"}'
    assert last[f"{base}/heat_pad/state"] == "off"
    assert last[f"{base}/session_phase/state"] == "idle"
    wait_state(ha, "light.massage_room_light_main", lambda s: s["state"] == "unavailable")


def test_after_a_crash_the_next_start_says_interrupted(room: Room) -> None:
    hub = room.serve()
    ha = room.ha
    triggers = mqtt_triggers(ha, our_device(ha))
    automate(room, [t for t in triggers if t["type"] in ("interrupted", "ended")])
    ha.call("scene", "turn_on", entity_id="scene.massage_room_scene_swedish")
    wait_state(ha, "sensor.massage_room_session_phase", lambda s: s["state"] == "prepare")
    hub.stop(signal.SIGKILL)
    wait_state(ha, "light.massage_room_light_main", lambda s: s["state"] == "unavailable")
    assert not fired(ha, "interrupted")
    hub.start()
    wait_for(lambda: fired(ha, "interrupted"), timeout=30)
    assert not fired(ha, "ended")


def test_creating_renaming_and_deleting_a_scene_follows_in_home_assistant(room: Room) -> None:
    from .test_mqtt import Rig

    rig = Rig(room.folder / "inproc", room.broker.port, mqtt={"node_id": NODE})
    try:
        wait_for(room.adopted, timeout=60)
        ha = room.ha
        made = rig.hub.duplicate_scene("swedish", "Evening glow")
        entity_id = f"scene.massage_room_scene_{made['id']}".replace("-", "_")
        scene = wait_state(ha, entity_id, lambda s: s["state"] != "unavailable")
        assert scene["attributes"]["friendly_name"] == "Evening glow massage"
        answer = ha.say("activate Evening glow massage")
        assert answer["response"]["response_type"] == "action_done", answer
        wait_for(lambda: (rig.hub.state()["session"] or {}).get("scene") == made["id"])
        rig.hub.stop_session()
        renamed = {**rig.hub.get_scene(made["id"]).model_dump(), "name": "Late glow"}
        renamed.pop("id", None)
        rig.hub.update_scene(made["id"], renamed)
        wait_state(ha, entity_id, lambda s: s["attributes"]["friendly_name"] == "Late glow massage")
        rig.hub.delete_scene(made["id"])
        wait_for(lambda: ha.state(entity_id) is None)
        assert ha.state("scene.massage_room_scene_swedish") is not None
    finally:
        rig.close()


def old_style_configs(room: Room) -> dict[str, dict[str, Any]]:
    """Return the one-config-per-entity discovery an older hub sent (ids from names)."""
    from hardware import SilentSpeaker
    from hardware.pins import SimFactory
    from hub.clock import FakeClock
    from hub.config import load_config
    from hub.core import Hub
    from hub.mqtt import MqttBridge
    from hub.mqtt.device import ORIGIN, device_block

    config = load_config(write_config(room.folder / "old", {"mqtt": {"enabled": True}}))
    hub = Hub(config, clock=FakeClock(), pin_factory=SimFactory(), speaker=SilentSpeaker())
    try:
        bridge = MqttBridge(hub, config)
        shared = {"device": device_block(config, "mock"), "origin": ORIGIN}
        out = {}
        for e in bridge.entities.values():
            if e.on_device and e.component != "device_automation":
                cfg = e.discovery(bridge.node, shared)
                cfg.pop("object_id")
                out[bridge.node.discovery_topic(e.component, e.object_id)] = cfg
        return out
    finally:
        hub.close()


def test_upgrade_moves_old_configs_to_the_device_config_keeping_entity_ids(room: Room) -> None:
    ha = room.ha
    old = old_style_configs(room)
    pub = room.observe(["test/none"])
    for topic, cfg in old.items():
        pub.publish(topic, json.dumps(cfg), retain=True)
    pub.publish(f"massagehub/{NODE}/availability", "online", retain=True)

    def registry() -> dict[str, str]:
        entries = ha.ws({"type": "config/entity_registry/list"})[0]
        return {e["entity_id"]: e["unique_id"] for e in entries if e["platform"] == "mqtt"}

    before = wait_for(lambda: (r := registry()) and len(r) == len(old) and r, timeout=30)
    assert "light.massage_room_ceiling_strip" in before  # an old id, made from the name
    room.serve()
    after = registry()
    for entity_id, unique_id in before.items():
        assert after.get(entity_id) == unique_id  # same entity, same id: history stays
        state = ha.state(entity_id)
        assert state is not None and state["state"] != "unavailable", entity_id
    assert len(set(after.values())) == len(after)  # nothing doubled
    # the old topics are cleared: a late subscriber finds only the device config
    late = room.observe(["homeassistant/#"])
    wait_for(lambda: late.last(f"homeassistant/device/{NODE}/config"))
    time.sleep(0.5)
    left = {t for _, t, p, _ in late.snapshot() if p and t in old}
    assert not left
