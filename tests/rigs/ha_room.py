"""A room for the Home Assistant tier: Mosquitto, a real Home Assistant and a served hub."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.broker import Mosquitto, Observer, have_mosquitto
from tests.rigs.ha_rig import HomeAssistant
from tests.rigs.support import ServeProcess, free_port, wait_for, write_config

NODE = "massage_room"
FAST = {"reconnect_min_seconds": 0.1, "reconnect_max_seconds": 0.5, "fade_update_seconds": 0.5}


class Room:
    """Mosquitto, Home Assistant and a served hub, wired together."""

    def __init__(self, folder: Path, ha_config: str = "") -> None:
        if not have_mosquitto():
            pytest.fail("mosquitto is not installed (setup.sh --test installs it)")
        self.folder = folder
        self.broker = Mosquitto(folder / "broker").start()
        self.ha = HomeAssistant(folder / "ha", self.broker.port, free_port(), ha_config).start()
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


@contextmanager
def open_room(folder: Path, ha_config: str = "") -> Iterator[Room]:
    """Yield a :class:`Room` in ``folder`` (``ha_config`` added to Home Assistant's
    configuration.yaml); print Home Assistant's log if the test fails."""
    room = Room(folder, ha_config)
    try:
        yield room
    except BaseException:
        print(room.ha.log())
        raise
    finally:
        room.close()


def hub_session(room: Room) -> dict[str, Any]:
    """Return the hub's own session attributes, as it publishes them (retained)."""
    obs = room.observe([f"massagehub/{NODE}/session_phase/attributes"])
    topic = f"massagehub/{NODE}/session_phase/attributes"
    return json.loads(wait_for(lambda: obs.last(topic), timeout=10))


def wait_state(ha: HomeAssistant, entity_id: str, check: Callable[[dict[str, Any]], bool]) -> Any:
    """Wait until HA's state of ``entity_id`` passes ``check``; return it."""
    return wait_for(lambda: (s := ha.state(entity_id)) is not None and check(s) and s, timeout=20)


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
