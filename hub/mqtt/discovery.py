"""Discovery: one device config carrying every component, scenes apart, and the migration.

Home Assistant (2024.11 and later) reads one retained ``<prefix>/device/<node_id>/config``
with every component of the device under ``components``. Scenes are on no device (Assist
knows them by their own name), so each keeps its own ``<prefix>/scene/<node_id>/…/config``.

Hubs before this one sent one config per entity. On the first start after an upgrade the
broker still holds those (retained); the bridge sees them when it subscribes and moves them
the way Home Assistant asks: ``{"migrate_discovery": true}`` on each old topic, the device
config again, then the old topic cleared. Unique ids stay, so entity ids and history do too.
"""

from __future__ import annotations

from typing import Any

from .entity import Entity, Node

MIGRATE = '{"migrate_discovery": true}'


def device_topic(node: Node) -> str:
    """Return the device config's topic."""
    return f"{node.prefix}/device/{node.node_id}/config"


def legacy_pattern(node: Node) -> str:
    """Return the subscription that finds one-per-entity configs of this node."""
    return f"{node.prefix}/+/{node.node_id}/+/config"


def configs(
    node: Node, entities: dict[str, Entity], shared: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Return every discovery config by topic: the device's, and each scene's."""
    components: dict[str, Any] = {}
    out: dict[str, dict[str, Any]] = {}
    for entity in entities.values():
        if entity.on_device:
            cfg = entity.discovery(node, {})
            components[entity.object_id] = {"platform": entity.component, **cfg}
        else:
            out[node.discovery_topic(entity.component, entity.object_id)] = entity.discovery(
                node, shared
            )
    device = {"device": shared["device"], "origin": shared["origin"], "components": components}
    return {device_topic(node): device, **out}


def legacy_component(node: Node, topic: str) -> tuple[str, str] | None:
    """Return ``(component, object_id)`` of a one-per-entity config topic of this node."""
    parts = topic.split("/")
    prefix_parts = node.prefix.count("/") + 1
    if len(parts) != prefix_parts + 4 or "/".join(parts[:prefix_parts]) != node.prefix:
        return None
    component, node_id, object_id, leaf = parts[prefix_parts:]
    if node_id != node.node_id or leaf != "config" or component == "device":
        return None
    return component, object_id
