"""A pad's sensor in Home Assistant: its temperature, and a problem when it has a fault.

Only for a pad with a sensor (``heat_pads.<id>.sensor``). The problem sensor's attributes
carry the fault's kind and its message in words, for an automation that tells the house.
A fault is cleared only from the hub's own page, by a person at the pad: never remotely.
"""

from __future__ import annotations

import json
from typing import Any

from .entity import Entity, Node
from .sensor import UNKNOWN


def _pad(state: dict[str, Any], device_id: str) -> dict[str, Any]:
    return state.get("devices", {}).get(device_id, {})


class PadTemperature(Entity):
    """The pad's temperature in °C (unknown while its sensor gives nothing good)."""

    component = "sensor"

    def __init__(self, device_id: str, name: str) -> None:
        super().__init__(f"heat_{device_id}_temperature", f"{name} temperature", "mdi:thermometer")
        self.device_id = device_id

    def config(self, node: Node) -> dict[str, Any]:
        """Return a temperature sensor in °C."""
        return {
            **super().config(node),
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "state_class": "measurement",
            "suggested_display_precision": 1,
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return the temperature, or unknown."""
        celsius = _pad(state, self.device_id).get("temperature")
        return UNKNOWN if celsius is None else f"{float(celsius):.1f}"


class PadProblem(Entity):
    """ON while the pad has a fault (off and locked until a person clears it)."""

    component = "binary_sensor"

    def __init__(self, device_id: str, name: str) -> None:
        super().__init__(f"heat_{device_id}_problem", f"{name} problem", "mdi:heat-wave")
        self.device_id = device_id

    def config(self, node: Node) -> dict[str, Any]:
        """Return a problem binary sensor with an attributes topic."""
        return {
            **super().config(node),
            "device_class": "problem",
            "payload_on": "ON",
            "payload_off": "OFF",
            "json_attributes_topic": node.topic(self.object_id, "attributes"),
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return ON with a fault, else OFF."""
        return "ON" if _pad(state, self.device_id).get("fault") else "OFF"

    def payloads(self, node: Node, state: dict[str, Any]) -> dict[str, str]:
        """Return the state and the attributes (the fault's kind, message and temperature)."""
        fault = _pad(state, self.device_id).get("fault") or {}
        attrs = {k: fault.get(k) for k in ("kind", "message", "celsius")}
        # the attributes first: when Home Assistant sees the new state, they are current
        return {
            node.topic(self.object_id, "attributes"): json.dumps(attrs, sort_keys=True),
            **super().payloads(node, state),
        }


def pad_sensors(device_id: str, name: str) -> list[Entity]:
    """Return a sensed pad's temperature and problem entities."""
    return [PadTemperature(device_id, name), PadProblem(device_id, name)]
