"""Home Assistant over MQTT: discovery, retained state, commands, availability.

Topics (``base`` is ``<base_topic>/<node_id>``):

- ``base/availability``: ``online`` / ``offline``, retained, ``offline`` is the last will;
- ``base/<entity>/state``: retained state (the ``session_event`` entity is not retained);
- ``base/<entity>/set``: commands (a retained command is never obeyed);
- ``base/session/action``: the session's moments, for Home Assistant's device triggers;
- ``<discovery_prefix>/device/<node_id>/config``: retained discovery of the device and every
  component; ``<discovery_prefix>/scene/<node_id>/scene_<id>/config``: each scene's (scenes
  are on no device, so Assist knows them by name).

Discovery and every state are sent again on each (re)connect and whenever
``<discovery_prefix>/status`` says ``online``.

Layout: :mod:`.bridge` is the paho client: the publisher thread, and what paho's thread
receives (connection news, commands, each answered there), :mod:`.discovery` the device config
and the move from one config per entity; each platform module (:mod:`.light`,
:mod:`.switch`, :mod:`.select`, :mod:`.number`, :mod:`.button`, :mod:`.sensor`,
:mod:`.diagnostics`, :mod:`.event`, :mod:`.scene`, :mod:`.trigger`) holds entity classes
that own their discovery config, state payload and command parsing; :mod:`.device` lists
the room's entities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bridge import MqttBridge
from .entity import BadPayload
from .light import parse_light_command

if TYPE_CHECKING:
    from ..config.model import Config

__all__ = ["BadPayload", "MqttBridge", "mqtt_component", "parse_light_command", "read_password"]


def read_password(config: Config) -> str | None:
    """Return the MQTT password from ``mqtt.password_file`` (first line), or None."""
    mc = config.mqtt
    if mc.password_file is None:
        return None
    path = config.path(mc.password_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeError(f"mqtt.password_file: cannot read {path}: {exc.strerror}") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise RuntimeError(f"mqtt.password_file: {path} is empty")
    return password


def mqtt_component(service: Any) -> MqttBridge | None:
    """Make the MQTT bridge for the service, or None when ``mqtt.enabled`` is false."""
    config: Config = service.config
    mc = config.mqtt
    if not mc.enabled:
        return None
    if mc.password_file is not None and mc.username is None:
        raise RuntimeError("mqtt.password_file needs mqtt.username as well")
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(mc, key)
        if value is not None and not config.path(value).is_file():
            raise RuntimeError(f"mqtt.{key}: {config.path(value)} does not exist")
    return MqttBridge(service.hub, config, password=read_password(config))
