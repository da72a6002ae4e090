"""Home Assistant over MQTT, against a real Mosquitto on a loopback port."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import Clock, FakeClock, RealClock
from hub.mqtt import BadPayload, MqttBridge, mqtt_component, parse_light_command
from tests.rigs.broker import Mosquitto, Observer, have_mosquitto, make_certificates
from tests.rigs.fake_w1 import FakeW1Bus
from tests.rigs.support import ServeProcess, free_port, wait_for, write_config

FAST = {"reconnect_min_seconds": 0.1, "reconnect_max_seconds": 0.5, "fade_update_seconds": 0.5}
#: discovery configs of the shipped config: 29 entities on the device, 7 scenes, 8 triggers
N_CONFIGS = 44
PINS = {"main": "GPIO18", "accent": "GPIO13", "diffuser": "GPIO23", "pad": "GPIO24"}


class Rig:
    """A hub (real clock, simulated pins, silent speaker) with its MQTT bridge."""

    def __init__(
        self,
        folder: Path,
        port: int,
        mqtt: dict[str, Any] | None = None,
        clock: Clock | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        overrides: dict[str, Any] = {
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, **FAST, **(mqtt or {})},
            **(extra or {}),
        }
        self.config_path = write_config(folder, overrides)
        self.config = load_config(self.config_path)
        self.factory = SimFactory()
        self.hub = Hub(
            self.config,
            clock=clock or RealClock(),
            pin_factory=self.factory,
            speaker=SilentSpeaker(playlists=["calm", "rain"], max_volume=80),
        )
        self.hub.start()
        bridge = mqtt_component(SimpleNamespace(hub=self.hub, config=self.config))
        assert isinstance(bridge, MqttBridge)
        self.bridge = bridge
        self.bridge.start()
        self.base = self.bridge.base

    def pin(self, device: str) -> float:
        return self.factory.level(PINS[device])

    def close(self) -> None:
        self.bridge.stop()
        self.hub.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not have_mosquitto():
        pytest.fail("mosquitto is not installed (setup.sh --test installs it)")
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def rigs(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(port: int, node_id: str = "massage_room", **kwargs: Any) -> Rig:
        mqtt = {"node_id": node_id, **kwargs.pop("mqtt", {})}
        rig = Rig(tmp_path / f"hub-{node_id}-{len(made)}", port, mqtt=mqtt, **kwargs)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


@pytest.fixture
def observers() -> Iterator[Callable[..., Observer]]:
    made: list[Observer] = []

    def make(port: int, topics: list[str], **kwargs: Any) -> Observer:
        obs = Observer(port, topics, **kwargs)
        made.append(obs)
        return obs

    yield make
    for obs in made:
        obs.close()


def online(obs: Observer, base: str) -> None:
    obs.wait_last(f"{base}/availability", "online")


def configs(obs: Observer, prefix: str = "homeassistant") -> dict[str, dict[str, Any]]:
    """Return the discovery configs seen, by topic, the device config's components apart.

    A component of ``<prefix>/device/<node>/config`` is listed as
    ``<prefix>/<platform>/<node>/<id>/config``, with the device config's device and origin.
    """
    out = {}
    for _, topic, payload, _ in obs.snapshot():
        if not (topic.startswith(prefix + "/") and topic.endswith("/config")) or not payload:
            continue
        cfg = json.loads(payload)
        parts = topic.split("/")
        if parts[1] == "device":
            for object_id, comp in cfg["components"].items():
                flat = {k: v for k, v in comp.items() if k != "platform"}
                flat.update(device=cfg["device"], origin=cfg["origin"])
                out[f"{prefix}/{comp['platform']}/{parts[2]}/{object_id}/config"] = flat
        else:
            out[topic] = cfg
    return out


# --- without a broker ---------------------------------------------------------------------


def test_disabled_by_default_makes_no_component(make_config: Callable[..., Any]) -> None:
    config = make_config()
    assert config.mqtt.enabled is False
    assert mqtt_component(SimpleNamespace(hub=None, config=config)) is None


def test_password_file_needs_username_and_must_exist(
    make_config: Callable[..., Any], tmp_path: Path
) -> None:
    config = make_config({"mqtt": {"enabled": True, "password_file": str(tmp_path / "nope")}})
    with pytest.raises(RuntimeError, match="username"):
        mqtt_component(SimpleNamespace(hub=None, config=config))
    config = make_config(
        {"mqtt": {"enabled": True, "username": "u", "password_file": str(tmp_path / "nope")}}
    )
    with pytest.raises(RuntimeError, match="password_file"):
        mqtt_component(SimpleNamespace(hub=None, config=config))


@pytest.mark.parametrize(
    ("payload", "change"),
    [
        ('{"state": "ON"}', {"on": True, "fade_seconds": 0.0}),
        ('{"state": "OFF", "transition": 2}', {"on": False, "fade_seconds": 2.0}),
        ('{"state": "ON", "brightness": 51}', {"level": 0.2, "fade_seconds": 0.0}),
        ('{"brightness": 255, "transition": 1.5}', {"level": 1.0, "fade_seconds": 1.5}),
    ],
)
def test_light_commands_map_to_hub_changes(payload: str, change: dict[str, Any]) -> None:
    assert parse_light_command(payload) == change


@pytest.mark.parametrize(
    "payload",
    [
        "ON",
        "{",
        "[]",
        "null",
        '{"state": "on"}',
        '{"state": "ON", "brightness": 256}',
        '{"state": "ON", "brightness": -1}',
        '{"state": "ON", "brightness": true}',
        '{"state": "ON", "brightness": "12"}',
        '{"state": "ON", "transition": -1}',
        '{"state": "ON", "transition": 1e9}',
        '{"state": "ON", "color": {"r": 1}}',
        "{}",
    ],
)
def test_bad_light_payloads_are_refused(payload: str) -> None:
    with pytest.raises(BadPayload):
        parse_light_command(payload)


# --- against Mosquitto ----------------------------------------------------------------------


@pytest.mark.broker
def test_discovery_is_valid_retained_and_consistent(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    first = observers(broker.port, ["massagehub/+/availability"])
    online(first, rig.base)  # availability goes out after discovery: the broker has it all
    obs = observers(broker.port, ["homeassistant/#", "massagehub/#"])
    online(obs, rig.base)
    found = wait_for(lambda: (c := configs(obs)) and len(c) >= N_CONFIGS and c)
    # everything a late subscriber got was retained
    assert all(retain for _, topic, _, retain in obs.snapshot() if topic.endswith("/config"))
    by_component: dict[str, list[str]] = {}
    unique_ids = set()
    scene_names: dict[str, str] = {}
    for topic, cfg in found.items():
        prefix, component, node, object_id, leaf = topic.split("/")
        assert (prefix, node, leaf) == ("homeassistant", "massage_room", "config")
        by_component.setdefault(component, []).append(object_id)
        if component == "device_automation":
            assert cfg["automation_type"] == "trigger"
            source = object_id.split("_")[1]  # trigger_session_started, trigger_button_press
            assert cfg["topic"] == f"{rig.base}/{source}/action"
            assert cfg["device"]["identifiers"] == ["massagehub_massage_room"]
            continue
        assert cfg["unique_id"] == f"massagehub_massage_room_{object_id}"
        # entity ids come from the hub's ids: light.massage_room_light_main, never a name
        assert cfg["object_id"] == f"massage_room_{object_id}".replace("-", "_")
        unique_ids.add(cfg["unique_id"])
        assert cfg["name"]
        assert cfg["availability_topic"] == "massagehub/massage_room/availability"
        if component == "scene":
            # a scene is shown by its spoken name ("Swedish massage", "Cleaning"), on no device
            assert "device" not in cfg
            scene_names[object_id] = cfg["name"]
            assert cfg["payload_on"] == "ON" and "state_topic" not in cfg
            continue
        dev = cfg["device"]
        assert dev["identifiers"] == ["massagehub_massage_room"]
        assert {"name", "model", "sw_version", "configuration_url"} <= set(dev)
        assert dev["configuration_url"] == f"http://127.0.0.1:{rig.config.web.port}/"
        assert dev["suggested_area"] == "Massage room"
        if component != "button":
            assert cfg["state_topic"] == f"massagehub/massage_room/{object_id}/state"
        if component in ("light", "switch", "select", "number", "button"):
            assert cfg["command_topic"] == f"massagehub/massage_room/{object_id}/set"
        if component == "select":
            assert cfg["options"] and all(isinstance(o, str) for o in cfg["options"])
        if component == "light":
            assert cfg["schema"] == "json"
            assert cfg["supported_color_modes"] == ["brightness"]
            assert cfg["flash"] is False
        if component == "event":
            assert {"started", "fade_out", "ended", "interrupted"} <= set(cfg["event_types"])
    # the names Assist and Siri hear: a massage says so, a scene that warms no pad does not
    assert scene_names["scene_swedish"] == "Swedish massage"
    assert scene_names["scene_cleaning"] == "Cleaning"
    categories = {
        topic.split("/")[3]: cfg.get("entity_category")
        for topic, cfg in found.items()
        if "unique_id" in cfg
    }
    assert categories["session_minutes"] == categories["scene"] == "config"
    diagnostics = ("backend", "started_at", "heat_pad_on_time", "heat_pad_autooff")
    for diagnostic in (*diagnostics, "heat_pad_cooldown_until"):
        assert categories[diagnostic] == "diagnostic"
    assert categories["light_main"] is None and categories["session_start"] is None
    assert len(unique_ids) == len(found) - len(by_component["device_automation"])
    assert sorted(by_component["light"]) == ["light_accent", "light_main"]
    assert by_component["switch"] == ["diffuser"]
    assert set(by_component["select"]) == {
        "diffuser_mode",
        "heat_pad",
        "playlist",
        "scene",
        "table_pad",
    }
    assert set(by_component["number"]) == {"volume", "session_minutes"}
    assert {"session_start", "session_pause", "session_resume", "session_stop", "all_off"} <= set(
        by_component["button"]
    )
    assert set(by_component["sensor"]) == {
        "session_phase",
        "minutes_remaining",
        "session_ends_at",
        "backend",
        "started_at",
        "now_playing",
        "heat_pad_on_time",
        "heat_pad_autooff",
        "heat_pad_cooldown_until",
        "limits",
    }
    assert "scene_swedish" in by_component["scene"] and len(by_component["scene"]) == 7
    assert {"trigger_session_started", "trigger_session_ended"} <= set(
        by_component["device_automation"]
    )
    assert by_component["event"] == ["session_event"]
    scene_cfg = found["homeassistant/select/massage_room/scene/config"]
    assert "Swedish" in scene_cfg["options"] and "Cleaning" in scene_cfg["options"]
    heat_cfg = found["homeassistant/select/massage_room/heat_pad/config"]
    assert heat_cfg["options"] == ["off", "low", "medium", "high"]
    # retained states are there for a late subscriber too
    assert obs.last(f"{rig.base}/light_main/state") == '{"state": "OFF"}'
    assert obs.last(f"{rig.base}/session_phase/state") == "idle"
    assert obs.last(f"{rig.base}/heat_pad/state") == "off"


@pytest.mark.broker
def test_every_command_topic_drives_the_room_and_state_follows(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    b = rig.base

    def send(entity: str, payload: str) -> None:
        obs.publish(f"{b}/{entity}/set", payload)

    # lights: brightness, on/off
    send("light_main", '{"state": "ON", "brightness": 128}')
    obs.wait_last(
        f"{b}/light_main/state", '{"brightness": 128, "color_mode": "brightness", "state": "ON"}'
    )
    assert rig.pin("main") > 0
    assert rig.hub.state()["devices"]["main"]["level"] == pytest.approx(128 / 255, abs=1e-3)
    send("light_accent", '{"state": "ON"}')
    wait_for(lambda: rig.pin("accent") > 0)
    send("light_main", '{"state": "OFF"}')
    obs.wait_last(f"{b}/light_main/state", '{"state": "OFF"}')
    assert rig.pin("main") == 0
    # a transition is the hub's own fade
    send("light_main", '{"state": "ON", "brightness": 255, "transition": 0.6}')
    wait_for(lambda: 0 < rig.pin("main") < 1, timeout=2)
    obs.wait_last(
        f"{b}/light_main/state", '{"brightness": 255, "color_mode": "brightness", "state": "ON"}'
    )
    assert rig.pin("main") == 1.0
    # diffuser switch and mode
    send("diffuser", "ON")
    obs.wait_last(f"{b}/diffuser/state", "ON")
    obs.wait_last(f"{b}/diffuser_mode/state", "on")  # published in the same pass, just after
    assert rig.pin("diffuser") == 1
    send("diffuser_mode", "interval")
    obs.wait_last(f"{b}/diffuser_mode/state", "interval")
    send("diffuser", "OFF")
    obs.wait_last(f"{b}/diffuser/state", "OFF")
    assert rig.pin("diffuser") == 0
    # heat pad through the hub's safety guard (a manual "on" carries its timeout)
    send("heat_pad", "high")
    obs.wait_last(f"{b}/heat_pad/state", "high")
    assert rig.pin("pad") == 1
    pad = rig.hub.state()["devices"]["pad"]
    assert pad["owner"] == "manual" and 0 < pad["off_in_seconds"] <= 20 * 60
    send("heat_pad", "off")
    obs.wait_last(f"{b}/heat_pad/state", "off")
    assert rig.pin("pad") == 0
    # speaker
    send("volume", "40")
    obs.wait_last(f"{b}/volume/state", "40")
    send("playlist", "rain")
    obs.wait_last(f"{b}/playlist/state", "rain")
    assert rig.hub.state()["devices"]["speaker"]["playing"] is True
    # the default-scene select is a setting: it changes nothing now
    before = rig.hub.state()["devices"]["accent"]["level"]
    send("scene", "Cleaning")
    obs.wait_last(f"{b}/scene/state", "Cleaning")
    assert rig.hub.state()["devices"]["accent"]["level"] == before
    # session: minutes, start (uses the selected scene), pause, resume, stop
    send("session_minutes", "2")
    obs.wait_last(f"{b}/session_minutes/state", "2")
    send("session_start", "PRESS")
    obs.wait_last(f"{b}/session_phase/state", "active")
    obs.wait_last(f"{b}/minutes_remaining/state", "2")
    session = rig.hub.state()["session"]
    assert session["scene"] == "cleaning" and session["minutes"] == 2
    assert session["source"] == "mqtt"
    send("session_pause", "PRESS")
    obs.wait_last(f"{b}/session_phase/state", "paused")
    send("session_resume", "PRESS")
    obs.wait_last(f"{b}/session_phase/state", "active")
    send("session_extend", "PRESS")
    wait_for(lambda: rig.hub.state()["session"]["minutes"] == 12)
    obs.wait_last(f"{b}/minutes_remaining/state", "12")
    send("session_stop", "PRESS")
    obs.wait_last(f"{b}/session_phase/state", "fade_out")
    events = [json.loads(p)["event_type"] for p in obs.on(f"{b}/session_event/state")]
    assert events[0] == "started" and "paused" in events and events[-1] == "fade_out"
    # all off ends everything at once
    send("heat_pad", "low")
    # (the relay itself may wait out min_switch_seconds after the earlier heat commands)
    wait_for(lambda: rig.hub.state()["devices"]["pad"]["heat"] == "low", timeout=3)
    send("all_off", "PRESS")
    obs.wait_last(f"{b}/session_phase/state", "idle")
    obs.wait_last(f"{b}/heat_pad/state", "off")
    assert all(rig.pin(d) == 0 for d in PINS)
    assert json.loads(obs.on(f"{b}/session_event/state")[-1])["event_type"] == "ended"


@pytest.mark.broker
def test_answers_come_in_order_even_when_other_changes_race_them(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    """A command's state goes out from paho's thread while the event thread sends others':
    no state ever goes back to an older one (states carry their event's number)."""
    import threading

    rig = rigs(broker.port)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    b = rig.base
    done = threading.Event()

    def other_changes() -> None:  # the web and the loop change the room meanwhile
        level = 0.0
        while not done.is_set():
            level = 0.3 if level != 0.3 else 0.6
            rig.hub.devices.set("accent", {"level": level})

    racer = threading.Thread(target=other_changes)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often: races show where they can
    racer.start()
    try:
        for volume in range(1, 61):
            obs.client.publish(f"{b}/volume/set", str(volume), qos=0)
        obs.wait_last(f"{b}/volume/state", "60", timeout=20)
    finally:
        done.set()
        racer.join()
        sys.setswitchinterval(switch)
    seen = [int(v) for v in obs.on(f"{b}/volume/state")]
    assert seen == sorted(seen), f"an older volume went out after a newer one: {seen}"
    assert rig.hub.state()["devices"]["speaker"]["volume"] == 60
    accent = round(rig.hub.state()["devices"]["accent"]["level"] * 255)
    obs.wait_last(
        f"{b}/light_accent/state",
        json.dumps(
            {"brightness": accent, "color_mode": "brightness", "state": "ON"}, sort_keys=True
        ),
    )


@pytest.mark.broker
def test_bad_payloads_are_ignored_and_change_nothing(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    b = rig.base
    obs.publish(f"{b}/light_main/set", '{"state": "ON", "brightness": 100}')
    obs.wait_last(
        f"{b}/light_main/state", '{"brightness": 100, "color_mode": "brightness", "state": "ON"}'
    )
    before = rig.hub.state()["devices"]
    pins_before = {d: rig.pin(d) for d in PINS}
    bad = {
        "light_main": ["garbage", '{"state": "ON", "brightness": 999}', "\xff"],
        "diffuser": ["MAYBE", ""],
        "diffuser_mode": ["turbo"],
        "heat_pad": ["nuclear", "HIGH", "1"],
        "volume": ["loud", "-5", "81", "nan", "inf"],
        "playlist": ["metal"],
        "scene": ["Disco"],
        "session_minutes": ["0", "100000", "x"],
        "session_start": ["GO"],
        "all_off": ["yes please"],
        "no_such_entity": ["PRESS"],
    }
    for entity, payloads in bad.items():
        for payload in payloads:
            obs.publish(f"{b}/{entity}/set", payload)
    obs.client.publish(f"{b}/light_main/set", b"\xff\xfe", qos=1).wait_for_publish(5)
    # a good command afterwards proves the bad ones were all handled (in order) first
    obs.publish(f"{b}/volume/set", "30")
    obs.wait_last(f"{b}/volume/state", "30")
    after = rig.hub.state()["devices"]
    after["speaker"]["volume"] = before["speaker"]["volume"]
    assert after == before
    assert {d: rig.pin(d) for d in PINS} == pins_before
    assert rig.hub.state()["session"] is None
    assert obs.last(f"{b}/session_minutes/state") == "60"
    # a command the hub refuses (a pause with no session) changes nothing either
    obs.publish(f"{b}/session_pause/set", "PRESS")
    obs.publish(f"{b}/volume/set", "31")
    obs.wait_last(f"{b}/volume/state", "31")
    assert rig.hub.state()["session"] is None


@pytest.mark.broker
def test_home_assistant_online_triggers_a_reannounce(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    wait_for(lambda: rig.bridge.announcements >= 1)
    obs = observers(broker.port, ["homeassistant/+/massage_room/#", "massagehub/#"])
    online(obs, rig.base)
    wait_for(lambda: len(configs(obs)) >= N_CONFIGS)
    assert rig.bridge.announcements == 1
    obs.publish("homeassistant/status", "offline")
    obs.publish(f"{rig.base}/volume/set", "20")  # handled after the status message
    obs.wait_last(f"{rig.base}/volume/state", "20")
    assert rig.bridge.announcements == 1  # "offline" announces nothing
    seen = len(obs.snapshot())
    obs.publish("homeassistant/status", "online")
    wait_for(lambda: rig.bridge.announcements == 2)

    def again() -> list[tuple[float, str, str, bool]]:
        return obs.snapshot()[seen:]

    # every config again, live (not retained copies), then every state, then online:
    # the device config and each scene's
    n_scenes = len(rig.hub.scenes.list())
    wait_for(
        lambda: (
            len({t for _, t, _, r in again() if t.endswith("/config") and not r}) >= 1 + n_scenes
        )
    )
    assert "homeassistant/device/massage_room/config" in {t for _, t, _, _ in again()}
    wait_for(lambda: f"{rig.base}/availability" in {t for _, t, _, _ in again()})
    topics = {t for _, t, _, _ in again()}
    assert f"{rig.base}/light_main/state" in topics
    assert f"{rig.base}/volume/state" in topics
    assert obs.last(f"{rig.base}/volume/state") == "20"


@pytest.mark.broker
def test_broker_restart_reconnects_reannounces_and_obeys(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    wait_for(rig.bridge.connected.is_set)
    wait_for(lambda: rig.bridge.announcements >= 1)
    broker.kill()
    wait_for(lambda: not rig.bridge.connected.is_set())
    # the hub keeps working without the broker
    rig.hub.devices.set("accent", {"level": 0.5})
    assert rig.pin("accent") > 0
    broker.start()  # same port, empty broker (no persistence): nothing retained survives
    obs = observers(broker.port, ["homeassistant/#", "massagehub/#"])
    wait_for(rig.bridge.connected.is_set, timeout=10)
    online(obs, rig.base)
    wait_for(lambda: len(configs(obs)) >= N_CONFIGS)
    assert rig.bridge.announcements >= 2
    obs.wait_last(
        f"{rig.base}/light_accent/state",
        '{"brightness": 128, "color_mode": "brightness", "state": "ON"}',
    )
    # Nagle is off on the new socket too (see STATE_QOS in hub/mqtt/bridge.py)
    sock = rig.bridge.client.socket()
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    # the subscription survived the reconnect
    obs.publish(f"{rig.base}/light_main/set", '{"state": "ON", "brightness": 255}')
    wait_for(lambda: rig.pin("main") == 1.0)
    obs.wait_last(
        f"{rig.base}/light_main/state",
        '{"brightness": 255, "color_mode": "brightness", "state": "ON"}',
    )


@pytest.mark.broker
def test_hub_works_while_broker_is_down_and_connects_when_it_comes(
    tmp_path: Path, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    if not have_mosquitto():
        pytest.fail("mosquitto is not installed (setup.sh --test installs it)")
    port = free_port()
    rig = rigs(port)
    rig.hub.devices.set("main", {"level": 1.0})
    rig.hub.sessions.start("cleaning", 5)
    assert rig.pin("main") == 1.0
    assert not rig.bridge.connected.is_set()
    late = Mosquitto(tmp_path / "late-broker", port=port).start()
    try:
        obs = observers(port, ["massagehub/#"])
        online(obs, rig.base)
        obs.wait_last(f"{rig.base}/session_phase/state", "active")
        obs.wait_last(f"{rig.base}/minutes_remaining/state", "5")
    finally:
        late.stop()


@pytest.mark.broker
def test_password_file_works_and_no_password_is_refused(
    tmp_path: Path, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    if not have_mosquitto():
        pytest.fail("mosquitto is not installed (setup.sh --test installs it)")
    secure = Mosquitto(tmp_path / "secure", users={"hub": "s3cret pass", "ha": "ha-pass"}).start()
    try:
        secret = tmp_path / "mqtt-password"
        secret.write_text("s3cret pass\n")
        good = rigs(secure.port, "good", mqtt={"username": "hub", "password_file": str(secret)})
        anon = rigs(secure.port, "anon")
        wrong_file = tmp_path / "wrong"
        wrong_file.write_text("nope\n")
        wrong = rigs(
            secure.port, "wrong", mqtt={"username": "hub", "password_file": str(wrong_file)}
        )
        obs = observers(secure.port, ["massagehub/#"], username="ha", password="ha-pass")
        online(obs, good.base)
        obs.publish(f"{good.base}/light_main/set", '{"state": "ON"}')
        wait_for(lambda: good.pin("main") == 1.0)
        wait_for(lambda: anon.bridge.last_error is not None and wrong.bridge.last_error is not None)
        assert "authori" in (anon.bridge.last_error or "").lower()
        assert not anon.bridge.connected.is_set() and not wrong.bridge.connected.is_set()
        assert obs.last(f"{anon.base}/availability") is None
        assert obs.last(f"{wrong.base}/availability") is None
    finally:
        secure.stop()


@pytest.mark.broker
def test_two_hubs_on_one_broker_stay_apart(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    one = rigs(broker.port, "room_one")
    two = rigs(broker.port, "room_two")
    obs = observers(broker.port, ["massagehub/#", "homeassistant/#"])
    online(obs, one.base)
    online(obs, two.base)
    obs.publish(f"{one.base}/heat_pad/set", "low")
    obs.wait_last(f"{one.base}/heat_pad/state", "low")
    assert one.pin("pad") == 1 and two.pin("pad") == 0
    assert obs.last(f"{two.base}/heat_pad/state") == "off"
    found = wait_for(lambda: (c := configs(obs)) and len(c) >= 2 * N_CONFIGS and c)
    ids = [cfg["unique_id"] for cfg in found.values() if "unique_id" in cfg]
    assert len(ids) == len(set(ids))
    assert {cfg["device"]["identifiers"][0] for cfg in found.values() if "device" in cfg} == {
        "massagehub_room_one",
        "massagehub_room_two",
    }


@pytest.mark.broker
def test_fades_are_throttled_and_minutes_change_on_whole_minutes(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    b = rig.base
    start = len(obs.snapshot())
    obs.publish(f"{b}/light_main/set", '{"state": "ON", "brightness": 255, "transition": 2}')
    obs.wait_last(
        f"{b}/light_main/state",
        '{"brightness": 255, "color_mode": "brightness", "state": "ON"}',
        timeout=5,
    )
    updates = [m for m in obs.snapshot()[start:] if m[1] == f"{b}/light_main/state"]
    # the hub reports 4 progress events a second; 2 s at one update per 0.5 s plus the end
    assert 2 <= len(updates) <= 7
    levels = [json.loads(p).get("brightness", 0) for _, _, p, _ in updates]
    assert levels == sorted(levels)
    assert not obs.on(f"{b}/minutes_remaining/state")[1:]  # still the one retained "0"


@pytest.mark.broker
def test_minutes_remaining_publishes_only_whole_minute_changes(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    clock = FakeClock()
    rig = rigs(broker.port, clock=clock)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    topic = f"{rig.base}/minutes_remaining/state"
    rig.hub.sessions.start("cleaning", 3)
    rig.hub.advance(2)  # the scene's 1 s fade is done
    obs.wait_last(topic, "3")
    for seconds in (20, 20, 20, 20, 20):  # 100 s in all, without any hub event
        clock.advance(seconds)
        rig.bridge._wake.set()
        time.sleep(0.05)
    obs.wait_last(topic, "2")
    clock.advance(30)
    rig.bridge._wake.set()
    obs.wait_last(topic, "1")
    assert obs.on(topic)[-3:] == ["3", "2", "1"]
    assert obs.on(topic).count("3") == 1


@pytest.mark.broker
def test_last_will_when_the_hub_process_is_killed(
    broker: Mosquitto, tmp_path: Path, observers: Callable[..., Observer]
) -> None:
    config_path = write_config(
        tmp_path / "served",
        {
            "mqtt": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": broker.port,
                "node_id": "killed",
                **FAST,
            }
        },
    )
    proc = ServeProcess(config_path).start(wait=False)
    try:
        obs = observers(broker.port, ["massagehub/killed/#"])
        obs.wait_last("massagehub/killed/availability", "online", timeout=30)
        obs.publish("massagehub/killed/light_main/set", '{"state": "ON", "brightness": 255}')
        obs.wait_last(
            "massagehub/killed/light_main/state",
            '{"brightness": 255, "color_mode": "brightness", "state": "ON"}',
        )
        proc.stop(signal.SIGKILL)
        obs.wait_last("massagehub/killed/availability", "offline")
    finally:
        proc.stop()
    # the will is retained: a newcomer sees the hub offline
    late = observers(broker.port, ["massagehub/killed/availability"])
    late.wait_last("massagehub/killed/availability", "offline")


@pytest.mark.broker
def test_clean_stop_says_offline(
    broker: Mosquitto, tmp_path: Path, observers: Callable[..., Observer]
) -> None:
    rig = Rig(tmp_path / "clean", broker.port)
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    rig.close()
    obs.wait_last(f"{rig.base}/availability", "offline")


@pytest.mark.broker
def test_heat_select_obeys_the_safety_limits(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    # a pad that may be on for 0.6 s, then cools down for 6 s
    pad = {"max_on_minutes": 0.01, "manual_timeout_minutes": 0.01, "cooldown_minutes": 0.1}
    rig = rigs(broker.port, extra={"heat_pads": {"pad": pad}})
    obs = observers(broker.port, ["massagehub/#"])
    online(obs, rig.base)
    topic = f"{rig.base}/heat_pad"
    obs.publish(f"{topic}/set", "high")
    obs.wait_last(f"{topic}/state", "high")
    assert rig.pin("pad") == 1
    obs.wait_last(f"{topic}/state", "off", timeout=5)  # forced off at the stretch limit
    assert rig.pin("pad") == 0
    assert rig.hub.state()["devices"]["pad"]["locked_for_seconds"]
    count = len(obs.on(f"{topic}/state"))
    obs.publish(f"{topic}/set", "low")  # refused while cooling down
    wait_for(lambda: len(obs.on(f"{topic}/state")) > count)  # "off" is said again
    assert obs.last(f"{topic}/state") == "off"
    assert rig.pin("pad") == 0
    assert rig.hub.state()["devices"]["pad"]["heat"] == "off"


@pytest.mark.broker
def test_tls_with_a_client_certificate(
    tmp_path: Path, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    if not have_mosquitto() or shutil.which("openssl") is None:
        pytest.fail("mosquitto or openssl is not installed (setup.sh --test installs them)")
    certs = make_certificates(tmp_path / "certs")
    tls = {"ca": certs["ca.crt"], "cert": certs["server.crt"], "key": certs["server.key"]}
    broker = Mosquitto(tmp_path / "tls-broker", tls=tls).start()
    try:
        good = rigs(
            broker.port,
            "tls_hub",
            mqtt={
                "tls": True,
                "ca_file": str(certs["ca.crt"]),
                "cert_file": str(certs["client.crt"]),
                "key_file": str(certs["client.key"]),
            },
        )
        no_cert = rigs(broker.port, "no_cert", mqtt={"tls": True, "ca_file": str(certs["ca.crt"])})
        obs = observers(
            broker.port,
            ["massagehub/#"],
            tls=(certs["ca.crt"], certs["client.crt"], certs["client.key"]),
        )
        online(obs, good.base)
        obs.publish(f"{good.base}/light_main/set", '{"state": "ON"}')
        obs.wait_last(
            f"{good.base}/light_main/state",
            '{"brightness": 255, "color_mode": "brightness", "state": "ON"}',
        )
        assert good.pin("main") == 1.0
        wait_for(lambda: no_cert.bridge.last_error is not None)
        assert not no_cert.bridge.connected.is_set()
    finally:
        broker.stop()


def test_a_retained_command_is_never_obeyed_not_even_after_a_reconnect(
    broker: Mosquitto,
    rigs: Callable[..., Rig],
    observers: Callable[..., Observer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 11, item 3: a retained "high" left on the pad's command topic."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = "massagehub/massage_room/heat_pad/set"
    obs = observers(broker.port, ["massagehub/#"])
    obs.publish(topic, "high", retain=True)
    caplog.set_level("WARNING", logger="hub.mqtt")
    rig = rigs(broker.port)
    obs.wait_last(f"{rig.base}/availability", "online")

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if "retained command" in r.getMessage()]

    wait_for(lambda: warnings(), timeout=5)
    assert topic in warnings()[0] and "never obeyed" in warnings()[0]
    assert rig.hub.state()["devices"]["pad"]["heat"] == "off"

    # another client takes the hub's client id: the broker drops the bridge, which reconnects
    # and is sent the retained command again
    before = rig.bridge.announcements
    intruder = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="massagehub-massage_room"
    )
    intruder.connect("127.0.0.1", broker.port)
    intruder.loop(0.5)
    intruder.disconnect()
    wait_for(lambda: rig.bridge.connected.is_set() and rig.bridge.announcements > before, 10)
    obs.publish(f"{rig.base}/light_main/set", json.dumps({"state": "ON", "brightness": 128}))
    wait_for(lambda: rig.pin("main") > 0, timeout=5)  # commands after the reconnect are obeyed
    assert rig.hub.state()["devices"]["pad"]["heat"] == "off"
    assert rig.pin("pad") == 0
    assert len(warnings()) == 1, "logged once per topic, not on every reconnect"

    obs.publish(topic, "low")  # the same command, not retained, is obeyed
    obs.wait_last(f"{rig.base}/heat_pad/state", "low")


@pytest.mark.broker
def test_a_pad_sensor_shows_its_temperature_and_a_problem_in_words(
    broker: Mosquitto,
    rigs: Callable[..., Rig],
    observers: Callable[..., Observer],
    tmp_path: Path,
) -> None:
    # the real w1thermsensor library reads the kernel's w1_slave format from a folder
    bus = FakeW1Bus(tmp_path / "w1")
    bus.set("28-0316a279a4ff", 30.0)
    sensed = {
        "hardware": {"sensors": "w1", "w1_devices": str(tmp_path / "w1")},
        "heat_pads": {"pad": {"sensor": "auto"}},
    }
    rig = rigs(broker.port, extra=sensed)
    obs = observers(broker.port, ["massagehub/#", "homeassistant/#"])
    online(obs, rig.base)
    found = configs(obs)
    node = "massage_room"
    temperature = found[f"homeassistant/sensor/{node}/heat_pad_temperature/config"]
    assert temperature["device_class"] == "temperature"
    assert temperature["unit_of_measurement"] == "°C"
    assert temperature["state_class"] == "measurement"
    problem = found[f"homeassistant/binary_sensor/{node}/heat_pad_problem/config"]
    assert problem["device_class"] == "problem"
    assert "command_topic" not in problem  # a fault is cleared at the pad, never remotely
    obs.wait_last(f"{rig.base}/heat_pad_temperature/state", "30.0", timeout=10)
    obs.wait_last(f"{rig.base}/heat_pad_problem/state", "OFF")
    obs.publish(f"{rig.base}/heat_pad/set", "high")
    obs.wait_last(f"{rig.base}/heat_pad/state", "high")
    bus.set("28-0316a279a4ff", 46.5)  # past its 45 °C ceiling
    obs.wait_last(f"{rig.base}/heat_pad_problem/state", "ON", timeout=10)
    attrs = json.loads(obs.last(f"{rig.base}/heat_pad_problem/attributes"))
    assert attrs["kind"] == "over_ceiling" and attrs["celsius"] == 46.5
    assert "above its limit of 45 °C" in attrs["message"]
    obs.wait_last(f"{rig.base}/heat_pad/state", "off")
    assert rig.pin("pad") == 0


def test_a_pad_without_a_sensor_has_no_temperature_or_problem_entity(
    make_config: Callable[..., Any],
) -> None:
    from hub.mqtt.device import build_entities
    from hub.mqtt.entity import Choices

    hub = Hub(make_config(), clock=FakeClock(), pin_factory=SimFactory())
    try:
        ids = set(build_entities(hub, hub.config, Choices("swedish", 60)))
    finally:
        hub.close()
    assert "heat_pad_on_time" in ids
    assert not {"heat_pad_temperature", "heat_pad_problem"} & ids


ENERGY_WATTS = {"lights": {"main": {"watts": 24.0}}, "heat_pads": {"pad": {"watts": 60.0}}}


@pytest.mark.broker
def test_the_energy_sensor_is_for_home_assistants_energy_dashboard(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    clock = FakeClock()
    rig = rigs(broker.port, clock=clock, extra=ENERGY_WATTS)
    obs = observers(broker.port, ["homeassistant/#", "massagehub/#"])
    online(obs, rig.base)
    found = wait_for(lambda: (c := configs(obs)) and len(c) >= N_CONFIGS + 1 and c)
    cfg = found["homeassistant/sensor/massage_room/energy/config"]
    assert cfg["device_class"] == "energy"
    assert cfg["state_class"] == "total_increasing"
    assert cfg["unit_of_measurement"] == "kWh"
    assert cfg["state_topic"] == f"{rig.base}/energy/state"
    topic = f"{rig.base}/energy/state"
    obs.wait_last(topic, "0.000")
    rig.hub.devices.set("main", {"level": 1.0})  # 24 W at full duty
    rig.hub.advance(3600)  # an hour: 0.024 kWh, saved once a minute on the way
    rig.hub.recorder.stop()  # the saves are on disk
    rig.bridge._wake.set()
    obs.wait_last(topic, "0.024")
    sent = [float(p) for p in obs.on(topic)]
    assert sent == sorted(sent)  # a meter Home Assistant sums never goes back


@pytest.mark.broker
def test_no_watts_no_energy_sensor(
    broker: Mosquitto, rigs: Callable[..., Rig], observers: Callable[..., Observer]
) -> None:
    rig = rigs(broker.port)
    obs = observers(broker.port, ["homeassistant/#", "massagehub/#"])
    online(obs, rig.base)
    found = wait_for(lambda: (c := configs(obs)) and len(c) >= N_CONFIGS and c)
    assert "homeassistant/sensor/massage_room/session_phase/config" in found
    assert not [t for t in found if "/energy/" in t]
    assert not obs.on(f"{rig.base}/energy/state")
