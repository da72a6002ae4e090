"""The event platform: moments of a session, sent as they happen and never retained."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..facts import Phase
from .entity import Entity, Node

if TYPE_CHECKING:
    from ..engine.event_types import SessionChanged

#: the hub's session event ``action``s Home Assistant hears: the phases a session enters,
#: and what someone did to it
SESSION_EVENTS = [
    "started",
    Phase.ACTIVE.value,
    "paused",
    "resumed",
    "extended",
    Phase.FADE_OUT.value,
    Phase.ENDED.value,
    "interrupted",  # the last session ended in a crash or power cut (sent on the next start)
]


class SessionEvent(Entity):
    """``{"event_type": "started", "scene": "swedish"}`` on each session event."""

    component = "event"

    def __init__(self) -> None:
        super().__init__("session_event", "Session", "mdi:bell-ring")

    def config(self, node: Node) -> dict[str, Any]:
        """Return the event types."""
        return {**super().config(node), "event_types": SESSION_EVENTS}

    def takes(self, change: SessionChanged) -> bool:
        """True if a hub session event is one to send."""
        return change.action in SESSION_EVENTS

    def moment(self, data: dict[str, Any], state: dict[str, Any]) -> str:
        """Return the event payload for a hub ``session`` event's ``data``."""
        # the scene, if the event does not say, is the session's (or the one just ended)
        session = state.get("session") or state.get("last_session") or {}
        body = {
            "event_type": data.get("action"),
            "scene": data.get("scene") or session.get("scene"),
            "reason": data.get("reason"),
        }
        return json.dumps({k: v for k, v in body.items() if v is not None})
