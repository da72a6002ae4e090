"""What comes in from the broker, on paho's network thread: connection news and commands.

A mixin of :class:`~hub.mqtt.bridge.MqttBridge`: it only notes what happened and wakes the
publisher, or parses a command, once, and runs it.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

from ..errors import HubError
from .entity import BadPayload, Entity

if TYPE_CHECKING:
    from ..config.model import MqttConfig

log = logging.getLogger("hub.mqtt.bridge")

QOS = 1  # subscriptions, discovery and availability


class Inbound:
    """paho's callbacks and the command handler (the bridge's fields, set by the bridge)."""

    mc: MqttConfig
    base: str
    status_topic: str
    connected: threading.Event
    last_error: str | None
    entities: dict[str, Entity]
    _lock: threading.Lock
    _wake: threading.Event
    _stop: threading.Event
    _reannounce: bool
    _dirty: bool
    _closing: bool
    _force: set[str]
    _retained_seen: set[str]

    legacy_subscription: str

    def topic(self, object_id: str, kind: str = "state") -> str:
        raise NotImplementedError

    def _legacy_config(self, topic: str, payload: str) -> None:
        raise NotImplementedError

    def answer(self) -> None:
        raise NotImplementedError

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            log.debug("TCP_NODELAY not set", exc_info=True)

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            if self.last_error != str(reason_code):
                log.error("MQTT: broker refused the connection: %s", reason_code)
            self.last_error = str(reason_code)
            return
        self.last_error = None
        log.info("MQTT: connected to %s:%s", self.mc.host, self.mc.port)
        client.subscribe(
            [
                (f"{self.base}/+/set", QOS),
                (self.status_topic, QOS),
                (self.legacy_subscription, QOS),
            ]
        )
        self.connected.set()
        with self._lock:
            self._reannounce = True
        self._wake.set()

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        if self.last_error != "unreachable":
            log.warning(
                "MQTT: cannot reach %s:%s; retrying (the hub works without it)",
                self.mc.host,
                self.mc.port,
            )
        self.last_error = "unreachable"

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if self._stop.is_set():
            return
        if was:
            log.warning("MQTT: disconnected (%s); reconnecting", reason_code)
        elif self.last_error is None or self.last_error == "unreachable":
            # closed before the broker accepted us: a TLS or protocol problem, most likely
            self.last_error = f"closed before connecting ({reason_code})"
            log.error(
                "MQTT: %s:%s closed the connection before accepting it (%s); check TLS "
                "settings and certificates; retrying",
                self.mc.host,
                self.mc.port,
                reason_code,
            )

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            payload = msg.payload.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("MQTT: %s: payload is not UTF-8; ignored", msg.topic)
            return
        if msg.topic.endswith("/config"):
            if msg.retain:  # what the broker held from before; our own live copies pass
                self._legacy_config(msg.topic, payload)
            return
        if msg.topic == self.status_topic:
            if payload.strip() == "online":
                log.info("MQTT: Home Assistant is online: announcing again")
                with self._lock:
                    self._reannounce = True
                self._wake.set()
            return
        if msg.retain:
            # a retained command is replayed on every (re)connect, by anyone who left it there:
            # obeying it would switch things (heat!) on by itself after a restart
            with self._lock:
                first = msg.topic not in self._retained_seen
                if first and len(self._retained_seen) < 256:
                    self._retained_seen.add(msg.topic)
            if first:
                log.warning(
                    "MQTT: %s: a retained command is never obeyed; ignored (clear it with: "
                    "mosquitto_pub -r -n -t '%s')",
                    msg.topic,
                    msg.topic,
                )
            return
        self.handle_command(msg.topic, payload)

    def handle_command(self, topic: str, payload: str) -> bool:
        """Run the command ``payload`` sent to ``topic``; return True if the hub accepted it."""
        if self._closing:
            log.warning("MQTT: %s: the hub is stopping; ignored", topic)
            return False
        parts = topic.split("/")
        if topic.count("/") != self.base.count("/") + 2 or not topic.startswith(self.base + "/"):
            return False
        entity: Entity | None = self.entities.get(parts[-2])
        if entity is None or not entity.takes_commands or parts[-1] != "set":
            log.warning("MQTT: no entity takes commands at %s; ignored", topic)
            return False
        result: object = None
        try:
            action = entity.command(payload)  # parsed here, once; nothing has changed yet
            result = action()
        except BadPayload as exc:
            log.warning("MQTT: %s: bad payload %r: %s; ignored", topic, payload[:80], exc)
        except HubError as exc:
            log.warning("MQTT: %s: refused (%s): %s", topic, exc.code, exc)
        except Exception:
            log.exception("MQTT: %s: command failed", topic)
        else:
            if not (isinstance(result, dict) and result.get("capped")):
                self.answer()
                return True
            # a person's limit held it back: the state may not have changed, so say it again
            log.info("MQTT: %s: %s", topic, result["capped"])
        # make Home Assistant show the real state again (a select or number may have moved)
        with self._lock:
            self._force.add(self.topic(entity.object_id))
            self._dirty = True
        self.answer()
        return isinstance(result, dict)
