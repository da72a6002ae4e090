"""Sensors per person: how their last session changed their stress, and last night's sleep.

They come from the journal (``hub.people.sensors()``), not from the room's state, so the
bridge reads them again when a ``people`` event says a profile or an entry changed, and
makes the entities again (a profile added or deleted adds or removes its sensors).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .entity import Entity, Node
from .sensor import UNKNOWN

if TYPE_CHECKING:
    from ..core import Hub

log = logging.getLogger(__name__)


class PersonSensor(Entity):
    """One figure of one person's journal (unknown until there is one)."""

    component = "sensor"

    def __init__(self, profile_id: str, name: str, field: str, values: dict[str, Any]) -> None:
        label, icon = FIELDS[field]
        super().__init__(f"profile_{profile_id}_{field}", f"{name} {label}", icon)
        self.profile_id = profile_id
        self.field = field
        self.values = values  # the bridge's latest read of the journal, shared

    def config(self, node: Node) -> dict[str, Any]:
        """Return a measurement sensor (stress change in points, sleep from 1 to 5)."""
        return {**super().config(node), "state_class": "measurement"}

    def state(self, state: dict[str, Any]) -> str:
        """Return the figure, or unknown when the journal has none yet."""
        value = self.values.get(self.profile_id, {}).get(self.field)
        return UNKNOWN if value is None else str(value)


#: field of ``hub.people.sensors()`` → (what the sensor is called after the name, icon)
FIELDS = {
    "stress_change": ("stress change", "mdi:emoticon-happy-outline"),
    "sleep": ("sleep", "mdi:sleep"),
}


def people_entities(hub: Hub) -> list[PersonSensor]:
    """Return two sensors per profile, reading the journal once for all of them."""
    try:
        values = hub.people.sensors()
    except Exception:
        log.exception("could not read the journal for the people sensors")
        return []
    return [
        PersonSensor(pid, str(row.get("name") or pid), field, values)
        for pid, row in values.items()
        for field in FIELDS
    ]
