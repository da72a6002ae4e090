"""The sensor platform: the session's phase, the minutes it has left, the room's energy."""

from __future__ import annotations

import json
import math
from typing import Any

from ..facts import Phase
from .entity import Entity, Node

#: Home Assistant's MQTT sensor reads this payload as "unknown"
UNKNOWN = "None"
IDLE, PAUSED = "idle", "paused"  # what Home Assistant shows beside the phases
PHASES = [IDLE, Phase.PREPARE.value, Phase.ACTIVE.value, PAUSED, Phase.FADE_OUT.value]
COUNTING = (Phase.PREPARE, Phase.ACTIVE)  # the phases whose time runs down
ATTRIBUTES = ("scene", "scene_name", "minutes", "paused", "started_at", "source")


def counting(session: dict[str, Any] | None) -> bool:
    """True while a session's time runs down (not paused, not fading out)."""
    return bool(session and not session.get("paused") and session.get("phase") in COUNTING)


class SessionPhase(Entity):
    """The session's phase (an enum sensor), with its details as attributes."""

    component = "sensor"

    def __init__(self) -> None:
        super().__init__("session_phase", "Session phase", "mdi:spa")

    def config(self, node: Node) -> dict[str, Any]:
        """Return an enum sensor with an attributes topic."""
        return {
            **super().config(node),
            "device_class": "enum",
            "options": PHASES,
            "json_attributes_topic": node.topic(self.object_id, "attributes"),
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return ``idle``, ``paused`` or the session's phase."""
        session = state.get("session")
        if not session:
            return IDLE
        if session.get("paused"):
            return PAUSED
        phase = str(session.get("phase"))
        return phase if phase in PHASES else IDLE

    def payloads(self, node: Node, state: dict[str, Any]) -> dict[str, str]:
        """Return the phase and the attributes (scene, minutes, paused, start, source)."""
        session = state.get("session")
        attrs = {k: session.get(k) for k in ATTRIBUTES} if session else {}
        # the attributes first: when Home Assistant sees the new state, they are current
        return {
            node.topic(self.object_id, "attributes"): json.dumps(attrs, sort_keys=True),
            **super().payloads(node, state),
        }


class MinutesRemaining(Entity):
    """Whole minutes left in the session; it changes with time, not only with hub events."""

    component = "sensor"
    ticks = True

    def __init__(self) -> None:
        super().__init__("minutes_remaining", "Minutes remaining", "mdi:timer-sand")

    def config(self, node: Node) -> dict[str, Any]:
        """Return a duration sensor in minutes."""
        return {
            **super().config(node),
            "unit_of_measurement": "min",
            "device_class": "duration",
            "state_class": "measurement",
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return the session's minutes left, rounded up (unknown without a session).

        The pre-warm does not count: while the pad warms, it is the session's whole length.
        """
        session = state.get("session")
        if not session:
            return UNKNOWN
        if session.get("phase") == Phase.PREPARE:
            return str(math.ceil(float(session.get("minutes") or 0) - 1e-9))
        if session.get("phase") != Phase.ACTIVE:
            return "0"
        return str(math.ceil(float(session.get("remaining_seconds") or 0) / 60 - 1e-9))

    def next_change(self, state: dict[str, Any]) -> float | None:
        """Return seconds until the next whole minute, while the session's time runs."""
        session = state.get("session")
        if not counting(session):
            return None
        assert session is not None
        if session.get("phase") == Phase.PREPARE:  # the count starts when the pre-warm ends
            return float(session.get("phase_remaining_seconds") or 0) or 60.0
        return float(session.get("remaining_seconds") or 0) % 60 or 60.0


#: while something draws power, the total goes out this often (Home Assistant's Energy
#: dashboard sums by the hour; a state a second would only fill its database)
ENERGY_EVERY = 60.0


class EnergyTotal(Entity):
    """The room's lifetime energy in kWh, for Home Assistant's Energy dashboard.

    Only when some light or pad has its watts in the config. ``total_increasing``: the figure
    sent is the one last saved (at most a minute behind), which a restart or a crash starts
    again from, so it never falls and Home Assistant sums it as a meter.
    """

    component = "sensor"
    ticks = True

    def __init__(self) -> None:
        super().__init__("energy", "Energy", "mdi:lightning-bolt")

    def config(self, node: Node) -> dict[str, Any]:
        """Return an energy sensor in kWh that only grows."""
        return {
            **super().config(node),
            "device_class": "energy",
            "state_class": "total_increasing",
            "unit_of_measurement": "kWh",
            "suggested_display_precision": 3,
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return the saved total in kWh, to the watt-hour (unknown until the hub says)."""
        energy = state.get("energy")
        if not energy:
            return UNKNOWN
        # the figure saved, not the live one: after a crash the hub starts again from the
        # saved figure, and Home Assistant must never see the meter go back
        return f"{math.floor(float(energy['saved_kwh']) * 1000) / 1000:.3f}"

    def next_change(self, state: dict[str, Any]) -> float | None:
        """Return :data:`ENERGY_EVERY` while something draws power, else None."""
        energy = state.get("energy")
        return ENERGY_EVERY if energy and energy.get("watts") else None
