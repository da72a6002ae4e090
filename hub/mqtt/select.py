"""The select platform: diffuser mode, heat levels, playlists and scenes."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..command_models import DiffuserCommand, HeatPadCommand, SpeakerCommand
from ..facts import DiffuserMode, HeatLevel
from .entity import (
    CONFIG,
    Action,
    BadPayload,
    Choices,
    Entity,
    Node,
    device_change,
    parse_choice,
    parse_enum,
    values_of,
)

if TYPE_CHECKING:
    from ..core import Hub

log = logging.getLogger(__name__)

NO_PLAYLIST = (
    "no music"  # the playlist select's option for no music ("none" reads as unknown in HA)
)


class Select(Entity):
    """A choice among ``options()``."""

    component = "select"

    def options(self) -> list[str]:
        """Return the options Home Assistant offers."""
        raise NotImplementedError

    def config(self, node: Node) -> dict[str, Any]:
        """Return the name, icon and options."""
        return {**super().config(node), "options": self.options()}


class DiffuserModeSelect(Select):
    """The diffuser's mode: off, on or interval."""

    def __init__(self, hub: Hub, device_id: str) -> None:
        super().__init__("diffuser_mode", "Diffuser mode", "mdi:scent")
        self.hub = hub
        self.device_id = device_id

    def options(self) -> list[str]:
        """Return every diffuser mode."""
        return values_of(DiffuserMode)

    def state(self, state: dict[str, Any]) -> str:
        """Return the diffuser's mode."""
        return str(state.get("devices", {}).get(self.device_id, {}).get("mode", DiffuserMode.OFF))

    def command(self, payload: str) -> Action:
        """Parse a mode into setting the diffuser's mode."""
        mode = parse_enum(payload, DiffuserMode)
        return device_change(self.hub, self.device_id, DiffuserCommand.model_construct(mode=mode))


class HeatSelect(Select):
    """A heat pad's level; a manual level carries the pad's timeout, the hub's limits apply."""

    def __init__(self, hub: Hub, device_id: str, name: str) -> None:
        super().__init__(f"heat_{device_id}", f"{name} heat", "mdi:heating-coil")
        self.hub = hub
        self.device_id = device_id

    def options(self) -> list[str]:
        """Return every heat level."""
        return values_of(HeatLevel)

    def state(self, state: dict[str, Any]) -> str:
        """Return the pad's heat level."""
        return str(state.get("devices", {}).get(self.device_id, {}).get("heat", HeatLevel.OFF))

    def config(self, node: Node) -> dict[str, Any]:
        """Return the select's fields and its attributes topic."""
        return {
            **super().config(node),
            "json_attributes_topic": node.topic(self.object_id, "attributes"),
        }

    def payloads(self, node: Node, state: dict[str, Any]) -> dict[str, str]:
        """Return the level and the attributes: owner, auto-off time, locked-until."""
        from .diagnostics import at

        pad = state.get("devices", {}).get(self.device_id, {})
        off_at, locked = (
            at(state, pad.get("off_in_seconds")),
            at(state, pad.get("locked_for_seconds")),
        )
        attrs = {
            "owner": pad.get("owner"),
            "auto_off_at": None if off_at == "None" else off_at,
            "locked_until": None if locked == "None" else locked,
            "max_on_minutes": pad.get("max_on_minutes"),
        }
        # the attributes first: when Home Assistant sees the new state, they are current
        return {
            node.topic(self.object_id, "attributes"): json.dumps(attrs, sort_keys=True),
            **super().payloads(node, state),
        }

    def command(self, payload: str) -> Action:
        """Parse a heat level into setting the pad."""
        heat = parse_enum(payload, HeatLevel)
        return device_change(self.hub, self.device_id, HeatPadCommand.model_construct(heat=heat))


class PlaylistSelect(Select):
    """The speaker's playlist (the music folder's sub-folders); choosing one plays it."""

    def __init__(self, hub: Hub, device_id: str) -> None:
        super().__init__("playlist", "Playlist", "mdi:playlist-music")
        self.hub = hub
        self.device_id = device_id

    def options(self) -> list[str]:
        """Return ``no music`` and the playlists."""
        return [NO_PLAYLIST, *(p for p in self.hub.devices.playlists() if p != NO_PLAYLIST)]

    def state(self, state: dict[str, Any]) -> str:
        """Return the playlist playing, or ``no music``: always one of the options."""
        speaker = state.get("devices", {}).get(self.device_id, {})
        playlist = speaker.get("playlist")
        known = speaker.get("playlists") or []
        if not playlist or not speaker.get("playing") or playlist not in known:
            return NO_PLAYLIST
        return str(playlist)

    def command(self, payload: str) -> Action:
        """Parse a playlist name into playing it (``no music`` pauses it)."""
        playlist = parse_choice(payload, self.options())
        if playlist == NO_PLAYLIST:
            cmd = SpeakerCommand.model_construct(playing=False)
        else:
            cmd = SpeakerCommand.model_construct(playlist=playlist, playing=True)
        return device_change(self.hub, self.device_id, cmd)


class SceneSelect(Select):
    """The default scene: the one **Start session** uses (a setting; it changes nothing now).

    To apply a scene now, Home Assistant activates its ``scene`` entity (a session).
    """

    def __init__(self, hub: Hub, choices: Choices) -> None:
        super().__init__("scene", "Default scene", "mdi:palette", category=CONFIG)
        self.hub = hub
        self.choices = choices
        self._labels: dict[str, str] = {}  # option label -> scene id, as last announced

    def _scene_labels(self) -> dict[str, str]:
        """Return option label -> scene id (labels are names, made unique)."""
        labels: dict[str, str] = {}
        try:
            scenes = self.hub.scenes.list()
        except Exception:
            log.exception("could not list scenes")
            scenes = []
        for sc in scenes:
            label = str(sc.get("name") or sc["id"])
            if label in labels:
                label = f"{label} ({sc['id']})"
            labels[label] = sc["id"]
        return labels

    def options(self) -> list[str]:
        """Return the scenes' labels (read again at each announcement)."""
        self._labels = self._scene_labels()
        return list(self._labels)

    def state(self, state: dict[str, Any]) -> str:
        """Return the running session's scene, else the one chosen last, as its label."""
        session = state.get("session")
        scene_id = session["scene"] if session else self.choices.scene
        return next((k for k, v in self._labels.items() if v == scene_id), "None")

    def command(self, payload: str) -> Action:
        """Parse a scene label (or id) into choosing it for the next start."""
        labels = self._labels or self._scene_labels()
        value = payload.strip()
        scene_id = labels.get(value) or (value if value in labels.values() else None)
        if scene_id is None:
            raise BadPayload(f"{value[:40]!r} is not a scene")

        def choose() -> None:
            self.choices.scene = scene_id
            self.choices.changed()

        return choose
