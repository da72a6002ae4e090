"""The scene platform: one Home Assistant scene per hub scene; activating one starts a session.

Each scene is shown by its own name, on no device ("Swedish massage", not "Massage room
Swedish massage"), so Assist understands "activate Swedish massage" and Alexa or Google
(through Home Assistant) see a scene they support. The session runs for the scene's own
``default_minutes``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..scenes.scene import spoken_name
from .entity import ON, Action, BadPayload, Entity, Node

if TYPE_CHECKING:
    from ..core import Hub

log = logging.getLogger(__name__)


class SceneEntity(Entity):
    """A hub scene: ``ON`` starts a session with it for its default length."""

    component = "scene"
    has_state = False
    on_device = False

    def __init__(self, hub: Hub, scene_id: str, name: str) -> None:
        super().__init__(f"scene_{scene_id}", name, "mdi:spa-outline")
        self.hub = hub
        self.scene_id = scene_id

    def config(self, node: Node) -> dict[str, Any]:
        """Return the name, icon and the activation payload."""
        return {**super().config(node), "payload_on": ON}

    def command(self, payload: str) -> Action:
        """Accept ``ON`` only: start a session with this scene (its default minutes)."""
        if payload.strip() != ON:
            raise BadPayload(f"a scene takes {ON}")
        return lambda: self.hub.sessions.start(self.scene_id, source="mqtt")


def scene_entities(hub: Hub) -> list[SceneEntity]:
    """Return a scene entity for every scene, built-in and user."""
    try:
        scenes = hub.scenes.list()
    except Exception:
        log.exception("could not list scenes")
        return []
    return [SceneEntity(hub, str(sc["id"]), spoken_name(sc)) for sc in scenes]
