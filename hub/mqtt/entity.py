"""What every Home Assistant entity shares: topics, discovery fields, payload parsing.

Each platform module (light, switch, select, number, button, sensor, event) defines
entity classes that own three things, as in Home Assistant's own MQTT integration:

- ``config()``: the platform's part of the discovery config;
- ``state(hub_state)``: the retained state payload, from the hub's ``state()``;
- ``command(payload)``: the payload parsed, once, into a call of a hub command
  (raising :class:`BadPayload` before anything changes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from ..command_models import Command
    from ..core import Hub

#: a parsed command, ready to run: it calls the hub (and may raise HubError)
Action = Callable[[], object]

E = TypeVar("E", bound=StrEnum)

ON, OFF = "ON", "OFF"  # Home Assistant's payloads for on and off
CONFIG, DIAGNOSTIC = "config", "diagnostic"  # Home Assistant's entity categories


class BadPayload(ValueError):
    """A command payload that cannot be used; nothing is changed."""


@dataclass(frozen=True)
class Node:
    """Where one hub's entities live on the broker."""

    node_id: str
    base: str  # ``<base_topic>/<node_id>``
    prefix: str  # Home Assistant's discovery prefix

    @property
    def availability(self) -> str:
        """The availability topic (``online``/``offline``, retained, the last will)."""
        return f"{self.base}/availability"

    def topic(self, object_id: str, kind: str = "state") -> str:
        """Return ``base/<object_id>/<kind>``."""
        return f"{self.base}/{object_id}/{kind}"

    def discovery_topic(self, component: str, object_id: str) -> str:
        """Return the discovery config topic of one entity."""
        return f"{self.prefix}/{component}/{self.node_id}/{object_id}/config"

    def unique_id(self, object_id: str) -> str:
        """Return the entity's unique id, stable across restarts."""
        return f"massagehub_{self.node_id}_{object_id}"

    def entity_object_id(self, object_id: str) -> str:
        """Return the object id Home Assistant builds the entity id from (``light.<this>``)."""
        return f"{self.node_id}_{object_id}".replace("-", "_").lower()


@dataclass
class Choices:
    """What **Start session** uses next: Home Assistant picks both, the bridge shows them."""

    scene: str
    minutes: float
    #: called after Home Assistant changed a choice (no hub event says so)
    changed: Callable[[], None] = lambda: None


class Entity:
    """One Home Assistant entity; subclasses are the platforms."""

    component: ClassVar[str]
    #: False for a platform without a state topic (a button)
    has_state: ClassVar[bool] = True
    #: True if the state changes with time alone, without a hub event (see next_change)
    ticks: ClassVar[bool] = False
    #: False for an entity Home Assistant shows by its own name, on no device (a scene)
    on_device: ClassVar[bool] = True

    def __init__(
        self,
        object_id: str,
        name: str,
        icon: str | None = None,
        category: str | None = None,
    ) -> None:
        self.object_id = object_id
        self.name = name
        self.icon = icon
        #: Home Assistant's entity category: ``config``, ``diagnostic`` or None (a control)
        self.category = category

    @property
    def takes_commands(self) -> bool:
        """True if the entity has a command topic."""
        return type(self).command is not Entity.command

    def config(self, node: Node) -> dict[str, Any]:
        """Return the platform's own discovery fields."""
        out: dict[str, Any] = {"name": self.name}
        if self.icon is not None:
            out["icon"] = self.icon
        if self.category is not None:
            out["entity_category"] = self.category
        return out

    def discovery(self, node: Node, shared: dict[str, Any]) -> dict[str, Any]:
        """Return the whole discovery config: ``shared`` fields, topics and ``config()``."""
        oid = self.object_id
        cfg: dict[str, Any] = {
            "unique_id": node.unique_id(oid),
            # the entity id comes from the hub's own ids, never from a display name
            "object_id": node.entity_object_id(oid),
            "availability_topic": node.availability,
            **{k: v for k, v in shared.items() if self.on_device or k != "device"},
        }
        if self.takes_commands:
            cfg["command_topic"] = node.topic(oid, "set")
        if self.has_state:
            cfg["state_topic"] = node.topic(oid)
        cfg.update(self.config(node))
        return cfg

    def state(self, state: dict[str, Any]) -> str | None:
        """Return the retained state payload from the hub's state (None: nothing to send)."""
        return None

    def payloads(self, node: Node, state: dict[str, Any]) -> dict[str, str]:
        """Return every retained payload of the entity, by topic."""
        payload = self.state(state)
        return {} if payload is None else {node.topic(self.object_id): payload}

    def command(self, payload: str) -> Action:
        """Parse ``payload`` into the hub command to run; raise BadPayload if it is unusable."""
        raise NotImplementedError(f"{self.object_id} takes no commands")

    def next_change(self, state: dict[str, Any]) -> float | None:
        """Return seconds until the state changes by time alone, or None if it won't."""
        return None


# --- parsing helpers ------------------------------------------------------------------------


def parse_choice(payload: str, options: Sequence[str]) -> str:
    """Return the stripped payload if it is one of ``options``."""
    value = payload.strip()
    if value not in options:
        raise BadPayload(f"{value[:40]!r} is not one of {', '.join(options)}")
    return value


def parse_enum(payload: str, enum: type[E]) -> E:
    """Return the member of ``enum`` the payload names."""
    return enum(parse_choice(payload, list(enum)))


def parse_number(payload: str, low: float, high: float) -> float:
    """Return the payload as a finite number from ``low`` to ``high``."""
    try:
        value = float(payload.strip())
    except ValueError:
        raise BadPayload(f"{payload[:40]!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadPayload(f"{value:g} is outside {low:g} to {high:g}")
    return value


def values_of(enum: type[StrEnum]) -> list[str]:
    """Return the values of ``enum`` as plain strings (for discovery JSON)."""
    return [member.value for member in enum]


def device_change(hub: Hub, device_id: str, command: Command) -> Action:
    """Return the call that applies a parsed device command through ``hub.devices.set``."""
    # parsed once, here at the edge: hub.devices.set takes the model as it is
    return lambda: hub.devices.set(device_id, command)
