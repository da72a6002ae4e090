"""Who is on the table, for Home Assistant: a select per pad and the limits in force.

"On the table" offers the profiles by name and "Nobody"; choosing one puts that person on
the pad (``hub.people.seat``), so "activate Swedish massage" then holds their limits. The
limits sensor says, in words, what every output is held to now.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .entity import Action, BadPayload, Entity, Node
from .select import Select

if TYPE_CHECKING:
    from ..core import Hub

log = logging.getLogger(__name__)

NOBODY = "Nobody"
STATE_MAX = 255  # Home Assistant refuses a longer state


def _labels(hub: Hub) -> dict[str, str]:
    """Option label -> profile id (names, made unique)."""
    labels: dict[str, str] = {}
    try:
        profiles = hub.people.list()
    except Exception:
        log.exception("could not list profiles")
        profiles = []
    for prof in profiles:
        label = str(prof.get("name") or prof["id"])
        if label in labels or label == NOBODY:
            label = f"{label} ({prof['id']})"
        labels[label] = str(prof["id"])
    return labels


class TableSelect(Select):
    """Who lies on one pad: a person's name, or Nobody."""

    def __init__(self, hub: Hub, pad: str, name: str) -> None:
        super().__init__(f"table_{pad}", f"On the table ({name})", "mdi:account-heart")
        self.hub = hub
        self.pad = pad
        self._labels: dict[str, str] = {}

    def options(self) -> list[str]:
        """Return Nobody and the profiles' names (read again at each announcement)."""
        self._labels = _labels(self.hub)
        return [NOBODY, *self._labels]

    def state(self, state: dict[str, Any]) -> str:
        """Return the person on this pad (or on every pad), else Nobody."""
        people = (state.get("table") or {}).get("people") or []
        mine = [p for p in people if p.get("pad") == self.pad]
        mine = mine or [p for p in people if p.get("pad") is None]
        if not mine:
            return NOBODY
        pid = mine[0].get("profile")
        return next((k for k, v in self._labels.items() if v == pid), NOBODY)

    def command(self, payload: str) -> Action:
        """Parse a name (or Nobody) into putting that person on this pad."""
        value = payload.strip()
        labels = self._labels or _labels(self.hub)
        if value == NOBODY:
            return lambda: self.hub.people.seat(self.pad, None, by="home assistant")
        pid = labels.get(value) or (value if value in labels.values() else None)
        if pid is None:
            raise BadPayload(f"{value[:40]!r} is not a profile")
        return lambda: self.hub.people.seat(self.pad, pid, by="home assistant")


class LimitsSensor(Entity):
    """The limits every output keeps now, in words; the caps as attributes."""

    component = "sensor"

    def __init__(self) -> None:
        super().__init__("limits", "Limits in force", "mdi:shield-account")

    def config(self, node: Node) -> dict[str, Any]:
        """Return a text sensor with an attributes topic."""
        return {
            **super().config(node),
            "json_attributes_topic": node.topic(self.object_id, "attributes"),
        }

    def state(self, state: dict[str, Any]) -> str:
        """Return the limits in words ("none" when nobody is on the table)."""
        words = (state.get("table") or {}).get("limits_words") or "none"
        return str(words)[:STATE_MAX]

    def payloads(self, node: Node, state: dict[str, Any]) -> dict[str, str]:
        """Return the words and the attributes: who, from where, and each cap."""
        table = state.get("table") or {}
        attrs = {
            "people": [p.get("name") for p in table.get("people") or []],
            "source": table.get("source"),
            **(table.get("limits") or {}),
        }
        return {
            node.topic(self.object_id, "attributes"): json.dumps(attrs, sort_keys=True),
            **super().payloads(node, state),
        }
