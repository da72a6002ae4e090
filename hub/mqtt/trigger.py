"""Device triggers (``device_automation``): the session's moments.

Home Assistant lists them under the device's automations ("When Session started"), so an
automation needs no template. Each kind of trigger has a plain topic whose payload names
what happened (never retained: a moment is not a state):

- ``base/session/action``: ``started``, ``paused``, ``resumed``, ``extended``, ``ended``,
  ``interrupted`` (a crash or power cut ended the last session; sent on the next start);
- ``base/button/action``: ``press``, ``hold`` (the wall button, if the room has one).
"""

from __future__ import annotations

from typing import Any

from ..facts import ButtonAction
from .entity import Entity, Node

SESSION_ACTIONS = ["started", "paused", "resumed", "extended", "ended", "interrupted"]
# Home Assistant's own trigger types for a button, so its automation editor words them
BUTTON_TRIGGERS = {ButtonAction.PRESS: "button_short_press", ButtonAction.HOLD: "button_long_press"}


class DeviceTrigger(Entity):
    """One trigger: ``payload`` on ``base/<source>/action``."""

    component = "device_automation"
    has_state = False

    def __init__(self, source: str, payload: str, kind: str, subtype: str) -> None:
        super().__init__(f"trigger_{source}_{payload}", f"{subtype} {kind}")
        self.source = source
        self.payload = payload
        self.kind = kind
        self.subtype = subtype

    def discovery(self, node: Node, shared: dict[str, Any]) -> dict[str, Any]:
        """Return the trigger's discovery config (a trigger has no entity fields)."""
        # in the device config, the device and origin are the config's own (``shared`` empty)
        return {
            "automation_type": "trigger",
            "topic": action_topic(node, self.source),
            "payload": self.payload,
            "type": self.kind,
            "subtype": self.subtype,
            **shared,
        }


def action_topic(node: Node, source: str) -> str:
    """Return the topic of a trigger source's moments (``session`` or ``button``)."""
    return node.topic(source, "action")


def device_triggers(has_button: bool) -> list[DeviceTrigger]:
    """Return the session's triggers, and the wall button's if there is one."""
    made = [DeviceTrigger("session", action, action, "session") for action in SESSION_ACTIONS]
    if has_button:  # a trigger that can never fire would mislead
        made += [
            DeviceTrigger("button", action.value, kind, "button_1")
            for action, kind in BUTTON_TRIGGERS.items()
        ]
    return made
