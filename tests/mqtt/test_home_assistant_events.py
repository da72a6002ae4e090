"""Home Assistant automations on the hub's moments, clean stops, crashes and upgrades.

Against a real Home Assistant 2025.4.4 and a real Mosquitto (see tests/mqtt/test_home_assistant.py).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.ha_room import (
    NODE,
    Room,
    automate,
    fired,
    mqtt_triggers,
    open_room,
    our_device,
    wait_state,
)
from tests.rigs.support import wait_for, write_config

pytestmark = pytest.mark.home_assistant


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    with open_room(tmp_path) as r:
        yield r


def test_device_triggers_for_the_session_fire_automations(room: Room) -> None:
    room.serve()
    ha = room.ha
    device_id = our_device(ha)
    triggers = mqtt_triggers(ha, device_id)
    kinds = {(t["type"], t["subtype"]) for t in triggers}
    for kind in ("started", "paused", "resumed", "extended", "ended", "interrupted"):
        assert (kind, "session") in kinds
    # the wall button's, in Home Assistant's own words ("First button pressed")
    assert {("button_short_press", "button_1"), ("button_long_press", "button_1")} <= kinds
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


def old_style_configs(room: Room) -> dict[str, dict[str, Any]]:
    """Return the one-config-per-entity discovery an older hub sent (ids from names)."""
    from hardware import SilentSpeaker
    from hardware.pins import SimFactory
    from hub.config.model import load_config
    from hub.core import Hub
    from hub.engine.clock import FakeClock
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
