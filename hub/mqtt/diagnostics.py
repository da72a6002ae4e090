"""Sensors that tell when things happen and what runs: timestamps, backends, uptime, music.

Timestamps (ISO 8601, UTC offset included) change only when the hub's plan changes, not
every second; Home Assistant shows them as "in 42 minutes".
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from ..facts import Phase
from .entity import DIAGNOSTIC, Entity, Node
from .sensor import UNKNOWN


def at(state: dict[str, Any], seconds: Any) -> str:
    """Return the hub's time plus ``seconds`` as an ISO timestamp (unknown for None)."""
    if seconds is None or not state.get("time"):
        return UNKNOWN
    moment = datetime.fromisoformat(str(state["time"])) + timedelta(seconds=float(seconds))
    return moment.isoformat(timespec="seconds")


class Sensor(Entity):
    """A read-only value."""

    component = "sensor"


class TimestampSensor(Sensor):
    """A moment (``device_class: timestamp``)."""

    def config(self, node: Node) -> dict[str, Any]:
        """Return a timestamp sensor."""
        return {**super().config(node), "device_class": "timestamp"}


class SessionEndsAt(TimestampSensor):
    """When the running session ends (unknown when idle or paused)."""

    def __init__(self) -> None:
        super().__init__("session_ends_at", "Session ends at", "mdi:timer-check-outline")

    def state(self, state: dict[str, Any]) -> str:
        """Return the session's end (its fade-out's start), or unknown."""
        session = state.get("session")
        if not session or session.get("paused"):
            return UNKNOWN
        if session.get("phase") == Phase.PREPARE:
            seconds = float(session.get("phase_remaining_seconds") or 0)
            return at(state, seconds + float(session.get("minutes") or 0) * 60)
        if session.get("phase") == Phase.ACTIVE:
            return at(state, session.get("remaining_seconds"))
        return UNKNOWN


class PadTime(TimestampSensor):
    """A pad's next forced moment: its auto-off, or the end of its cool-down."""

    def __init__(self, device_id: str, name: str, field: str, label: str, icon: str) -> None:
        super().__init__(
            f"heat_{device_id}_{label.replace('-', '').replace(' ', '_')}",
            f"{name} {label}",
            icon,
            category=DIAGNOSTIC,
        )
        self.device_id = device_id
        self.field = field

    def state(self, state: dict[str, Any]) -> str:
        """Return the moment, or unknown when the pad has none."""
        pad = state.get("devices", {}).get(self.device_id, {})
        return at(state, pad.get(self.field))


class PadOnTime(Sensor):
    """A pad's on-time in this stretch, in whole minutes (the safety limit counts it)."""

    ticks = True

    def __init__(self, device_id: str, name: str) -> None:
        super().__init__(
            f"heat_{device_id}_on_time", f"{name} on-time", "mdi:timer-outline", category=DIAGNOSTIC
        )
        self.device_id = device_id

    def config(self, node: Node) -> dict[str, Any]:
        """Return a duration sensor in minutes."""
        return {**super().config(node), "unit_of_measurement": "min", "device_class": "duration"}

    def _pad(self, state: dict[str, Any]) -> dict[str, Any]:
        return state.get("devices", {}).get(self.device_id, {})

    def state(self, state: dict[str, Any]) -> str:
        """Return the whole minutes the pad has been on in this stretch."""
        seconds = self._pad(state).get("on_seconds")
        return UNKNOWN if seconds is None else str(int(float(seconds) // 60))

    def next_change(self, state: dict[str, Any]) -> float | None:
        """Return seconds until the next whole minute while the heat is on."""
        pad = self._pad(state)
        if pad.get("heat", "off") == "off" or pad.get("on_seconds") is None:
            return None
        return 60 - float(pad["on_seconds"]) % 60


def pad_diagnostics(device_id: str, name: str) -> list[Entity]:
    """Return a pad's on-time, auto-off and cool-down sensors."""
    return [
        PadOnTime(device_id, name),
        PadTime(device_id, name, "off_in_seconds", "auto-off", "mdi:timer-off-outline"),
        PadTime(device_id, name, "locked_for_seconds", "cool-down until", "mdi:snowflake"),
    ]


class Backends(Sensor):
    """The hardware and audio backends (``mock``/``lgpio``, ``vlc``/``silent``)."""

    def __init__(self) -> None:
        super().__init__("backend", "Backend", "mdi:chip", category=DIAGNOSTIC)

    def config(self, node: Node) -> dict[str, Any]:
        """Return a sensor with an attributes topic."""
        return {
            **super().config(node),
            "json_attributes_topic": node.topic(self.object_id, "attributes"),
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return ``hardware / audio``."""
        return f"{state.get('backend')} / {state.get('audio')}"

    def payloads(self, node: Node, state: dict[str, Any]) -> dict[str, str]:
        """Return the state and the attributes (hardware, audio, version)."""
        attrs = {k: state.get(k) for k in ("backend", "audio", "version")}
        # the attributes first: when Home Assistant sees the new state, they are current
        return {
            node.topic(self.object_id, "attributes"): json.dumps(attrs, sort_keys=True),
            **super().payloads(node, state),
        }


class StartedAt(TimestampSensor):
    """When the hub started (Home Assistant's way of showing uptime)."""

    def __init__(self, started: datetime) -> None:
        super().__init__("started_at", "Started", "mdi:clock-start", category=DIAGNOSTIC)
        self.started = started.isoformat(timespec="seconds")

    def state(self, state: dict[str, Any]) -> str:
        """Return the start time."""
        return self.started


class NowPlaying(Sensor):
    """What the speaker plays: the track, else the playlist, else ``nothing``."""

    def __init__(self, device_id: str) -> None:
        super().__init__("now_playing", "Now playing", "mdi:music")
        self.device_id = device_id

    def state(self, state: dict[str, Any]) -> str:
        """Return the track or playlist playing."""
        speaker = state.get("devices", {}).get(self.device_id, {})
        if not speaker.get("playing"):
            return "paused" if speaker.get("paused") else "nothing"
        return str(speaker.get("track") or speaker.get("playlist") or "music")[:255]
