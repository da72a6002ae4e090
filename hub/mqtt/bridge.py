"""The MQTT client: connection, availability, discovery, the publisher thread, commands.

The bridge talks to the hub only through its public commands and read-only queries.
The hub listener notes what changed, and the state that came with the event, and wakes
the publisher thread (a few assignments, never a call into the hub); that thread turns
the state into each entity's payloads and publishes the session's moments, then the
payloads that changed. Publishing the event's own state keeps Home Assistant's view in
the order things happened: a phase never shows before the event that announced it.

paho's network thread runs the commands that arrive on ``…/<entity>/set``: the entity
parses the payload, once, into a hub command, and the bridge runs it. Then it answers on
the same thread (:meth:`MqttBridge.answer`): it delivers the hub's queued events there
and publishes what they changed, so the reply does not wait for the event thread and the
publisher thread to wake in turn. One publish runs at a time, and a state older (by its
event's sequence number) than the one sent last is never sent after it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..engine.event_types import (
    ButtonPressed,
    FadeProgress,
    PeopleChanged,
    SceneApplied,
    ScenesChanged,
    SessionChanged,
)
from ..errors import HubError
from . import discovery
from .device import ORIGIN, build_entities, device_block
from .entity import BadPayload, Choices, Entity, Node
from .event import SessionEvent
from .people import PersonSensor, people_entities
from .scene import SceneEntity, scene_entities
from .trigger import SESSION_ACTIONS, action_topic

if TYPE_CHECKING:
    from ..config.model import Config
    from ..core import Hub
    from ..engine.events import Event

log = logging.getLogger(__name__)

# States and events go out at QoS 0: a QoS 1 publish makes the broker send a PUBACK, and
# with Mosquitto's default set_tcp_nodelay false the next command then waits ~40 ms for
# our delayed ACK (Nagle on the broker side). Everything is re-sent on reconnect anyway.
STATE_QOS = 0
QOS = 1  # subscriptions, discovery and availability
IDLE_WAKE = 5.0  # seconds: the publisher looks again at least this often


class MqttBridge:
    """Connect the hub to an MQTT broker as a Home Assistant device."""

    name = "mqtt"
    optional = True  # the hub runs without it if it cannot start (hub.service retries)

    def __init__(self, hub: Hub, config: Config, *, password: str | None = None) -> None:
        self.hub = hub
        self.config = config
        self.mc = config.mqtt
        self.node_id = self.mc.node_id
        self.base = f"{self.mc.base_topic}/{self.node_id}"
        self.prefix = self.mc.discovery_prefix
        self.node = Node(self.node_id, self.base, self.prefix)
        self.availability_topic = self.node.availability
        self.status_topic = f"{self.prefix}/status"
        self.legacy_subscription = discovery.legacy_pattern(self.node)
        self._password = password
        self.client: Any = None
        self.connected = threading.Event()
        self._retained_seen: set[str] = set()  # topics of retained commands already logged
        self.announcements = 0  # how many times discovery was sent (for tests and logs)
        self.last_error: str | None = None
        self._lock = threading.Lock()  # guards the fields the listener and paho write
        self._dirty = False
        self._fade_dirty = False
        self._moments: deque[dict[str, Any]] = deque(maxlen=100)  # session events to send
        self._reannounce = False
        self._force: set[str] = set()  # topics to publish again even if unchanged
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._publishing = threading.Lock()  # one publish at a time: publisher or paho thread
        self._answering: int | None = None  # the thread answering a command inline, if any
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        # only the publisher thread uses these
        self._state: dict[str, Any] | None = None
        self._event_state: dict[str, Any] | None = None  # the last delivered event's
        self._event_seq = 0  # the sequence number of the newest event delivered
        self._state_seq = 0  # … and of the one whose state went out last
        self._state_at = 0.0
        self._published: dict[str, str] = {}
        self._last_fade_publish = 0.0
        self.choices = Choices(
            config.session.default_scene,
            float(config.session.default_minutes),
            changed=self._changed,
        )
        self.entities = build_entities(hub, config, self.choices)
        self.entities.update(self._listed_entities())
        self._announced: set[str] = set()  # discovery topics sent last (publisher thread)
        #: old one-per-entity config topics: True to migrate, False to clear (see discovery)
        self._legacy: dict[str, bool] = {}
        session_event = self.entities["session_event"]
        assert isinstance(session_event, SessionEvent)
        self._session_event = session_event
        self._ticking = [e for e in self.entities.values() if e.ticks]
        self._told_interrupted = False  # the last crash's sessions go out once, on first connect
        self._closing = False  # the service is stopping: no more commands

    # --- discovery and state ----------------------------------------------------------------

    def topic(self, object_id: str, kind: str = "state") -> str:
        """Return ``base/<object_id>/<kind>``."""
        return self.node.topic(object_id, kind)

    def discovery(self, state: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Return every discovery config by its topic."""
        state = self.hub.state() if state is None else state
        shared = {"device": device_block(self.config, str(state.get("backend"))), "origin": ORIGIN}
        return discovery.configs(self.node, self.entities, shared)

    def _legacy_config(self, topic: str, payload: str) -> None:
        """Note an old one-per-entity config the broker holds for us (paho's thread)."""
        found = discovery.legacy_component(self.node, topic)
        if found is None or not payload.strip() or payload.strip() == discovery.MIGRATE:
            return
        component, object_id = found
        entity = self.entities.get(object_id)
        if entity is not None and not entity.on_device and entity.component == component:
            return  # a scene's own config, as it should be
        with self._lock:
            if len(self._legacy) < 512:
                # an entity still here moves to the device; one that is gone is just cleared
                self._legacy[topic] = entity is not None
                self._reannounce = True
        self._wake.set()

    def _listed_entities(self) -> dict[str, Entity]:
        listed: list[Entity] = [*scene_entities(self.hub), *people_entities(self.hub)]
        return {e.object_id: e for e in listed}

    def refresh_listed(self) -> None:
        """Make the scene and people entities again (one was added, renamed, removed)."""
        listed = (SceneEntity, PersonSensor)
        others = {k: e for k, e in self.entities.items() if not isinstance(e, listed)}
        # one assignment: paho's thread, reading commands, sees the old or the new dict
        self.entities = {**others, **self._listed_entities()}

    def state_payloads(self, state: dict[str, Any]) -> dict[str, str]:
        """Return the retained state payload of every entity, by topic."""
        return self._payloads(self.entities.values(), state)

    def _payloads(self, entities: Iterable[Entity], state: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for entity in entities:
            out.update(entity.payloads(self.node, state))
        return out

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the hub and connect in the background (never blocks on the broker)."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        mc = self.mc
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=mc.client_id or f"massagehub-{self.node_id}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if mc.username is not None:
            client.username_pw_set(mc.username, self._password)
        if mc.tls:
            client.tls_set(
                ca_certs=str(self.config.path(mc.ca_file)) if mc.ca_file else None,
                certfile=str(self.config.path(mc.cert_file)) if mc.cert_file else None,
                keyfile=str(self.config.path(mc.key_file)) if mc.key_file else None,
            )
        client.will_set(self.availability_topic, "offline", qos=QOS, retain=True)
        client.reconnect_delay_set(
            min_delay=mc.reconnect_min_seconds,  # type: ignore[arg-type]
            max_delay=max(mc.reconnect_min_seconds, mc.reconnect_max_seconds),  # type: ignore[arg-type]
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_connect_fail = self._on_connect_fail
        self.client = client
        with self._lock:
            self._dirty = True
        self._unsubscribe = self.hub.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()
        log.info(
            "MQTT: connecting to %s:%s as %s (base %s)", mc.host, mc.port, mc.node_id, self.base
        )
        client.connect_async(mc.host, mc.port, keepalive=mc.keepalive)
        client.loop_start()

    #: the service stops this after the hub, so the hub's last events go out (see quiesce)
    outlives_hub = True

    def quiesce(self) -> None:
        """Take no more commands: the service is stopping (the hub closes next)."""
        self._closing = True

    def stop(self) -> None:
        """Send the last states and moments (a session ``ended``), say ``offline``, disconnect."""
        self._closing = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        client = self.client
        if client is None:
            return
        if self.connected.is_set():
            try:
                # the hub's last events (the room off, ``ended`` reason shutdown), then offline
                self._publish_pending(final=True)
            except Exception:  # noqa: BLE001 - best effort on the way out
                log.warning("MQTT: could not send the last states", exc_info=True)
            try:
                info = client.publish(self.availability_topic, "offline", qos=QOS, retain=True)
                info.wait_for_publish(timeout=2)
            except Exception:  # noqa: BLE001 - best effort on the way out
                log.debug("could not publish offline", exc_info=True)
        client.disconnect()
        client.loop_stop()
        self.connected.clear()

    # --- hub events: note and wake, nothing more (never call the hub from here) --------------

    def _on_event(self, event: Event) -> None:
        payload = event.payload
        fading = isinstance(payload, FadeProgress) and payload.fading
        with self._lock:
            if event.seq > self._event_seq:  # a batch shares one state: keep the newest
                self._event_state = event.state
                self._event_seq = event.seq
            wake = not fading or not self._fade_dirty  # first fade step: schedule the update
            if fading:
                self._fade_dirty = True
            else:
                self._dirty = True
            if isinstance(payload, (ScenesChanged, PeopleChanged)):
                self._reannounce = True  # the scene select's options, or the people, changed
            elif isinstance(payload, SceneApplied) and payload.scene:
                self.choices.scene = str(payload.scene)
            elif isinstance(payload, SessionChanged) and self._session_event.takes(payload):
                self._moments.append(payload.to_data())
            elif isinstance(payload, ButtonPressed):
                self._moments.append({"button": payload.action})
        if wake and self._answering != threading.get_ident():  # answer() publishes it itself
            self._wake.set()

    def answer(self) -> None:
        """Publish what a command changed now, on this thread (paho's, after a command).

        The hub's queued events are delivered here, in order, with their state (the event
        thread, if it got there first, finishes its batch before), then published. The
        hub's loop still owns time and heat: this only sends what already happened.
        """
        self._answering = threading.get_ident()
        try:
            self.hub.deliver_events()
            self._publish_pending()
        except Exception:
            log.exception("MQTT: answering a command failed")
            self._wake.set()  # the publisher thread sends it instead
        finally:
            self._answering = None
        with self._lock:
            schedule = self._fade_dirty  # a fade's next update is the publisher's to time
        state = self._state  # … and so is a countdown's next minute
        if schedule or (state is not None and self._changes_with_time(state)):
            self._wake.set()

    def _changed(self) -> None:
        """Publish again: Home Assistant changed a choice of the bridge's own."""
        with self._lock:
            self._dirty = True
        self._wake.set()

    # --- the publisher thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._next_timeout())
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._publish_pending()
            except Exception:
                log.exception("MQTT: publishing failed")

    def _publish_pending(self, final: bool = False) -> None:
        with self._publishing:
            self._publish_now(final)

    def _next_timeout(self) -> float:
        """Seconds until the next throttled fade update or a state that changes with time."""
        now = time.monotonic()
        timeouts = [IDLE_WAKE]
        with self._lock:
            fade_dirty = self._fade_dirty
        if fade_dirty:
            timeouts.append(self._last_fade_publish + self.mc.fade_update_seconds - now)
        if self._state is not None:
            for entity in self._ticking:
                seconds = entity.next_change(self._state)
                if seconds is not None:
                    timeouts.append(self._state_at + seconds + 0.02 - now)
        return max(0.0, min(timeouts))

    def _changes_with_time(self, state: dict[str, Any]) -> bool:
        return any(e.next_change(state) is not None for e in self._ticking)

    def _interrupted_moments(self) -> list[dict[str, Any]]:
        """Return an ``interrupted`` moment per session the last crash ended (once)."""
        if self._told_interrupted:
            return []
        self._told_interrupted = True
        rows = self.hub.sessions.interrupted
        return [{"action": "interrupted", "scene": r.get("scene"), "reason": "crash"} for r in rows]

    def _publish_now(self, final: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if not self.connected.is_set():
                self._moments.clear()  # moments pass; the state is re-sent on connect
                return
            # on the way out the hub is closed: send states and moments, not discovery
            reannounce = self._reannounce and not final
            self._reannounce = self._reannounce and final
            fade_due = (
                self._fade_dirty and now >= self._last_fade_publish + self.mc.fade_update_seconds
            )
            dirty = self._dirty or fade_due or reannounce
            self._dirty = False
            if fade_due or reannounce:
                self._fade_dirty = False
                self._last_fade_publish = now
            moments = list(self._moments)
            self._moments.clear()
            legacy, self._legacy = self._legacy, {}
            force, self._force = self._force, set()
        for topic in force:
            self._published.pop(topic, None)
        with self._lock:
            delivered, self._event_state = self._event_state, None
            seq = self._event_seq
        state = self._state
        if delivered and seq > self._state_seq:  # never back to an older state
            state = delivered
            self._state_seq = seq
        elif not final and (state is None or self._changes_with_time(state)):
            # a whole minute may pass without a hub event: read the state for that too
            state = self.hub.state()
        if state is None:
            return
        if state is not self._state:
            self._state = state
            self._state_at = time.monotonic()
        client = self.client
        if reannounce:
            self._published.clear()
            self.refresh_listed()
            configs = self.discovery(state)
            for topic in sorted(t for t, move in legacy.items() if move):
                # Home Assistant keeps the entity (unique id, entity id, history) for the device
                client.publish(topic, discovery.MIGRATE, qos=QOS, retain=True)
            for topic in sorted(self._announced - set(configs)):
                # an empty retained config removes the entity (a deleted scene)
                client.publish(topic, "", qos=QOS, retain=True)
            for topic, cfg in configs.items():
                client.publish(topic, json.dumps(cfg, sort_keys=True), qos=QOS, retain=True)
            for topic in sorted(legacy):
                client.publish(topic, "", qos=QOS, retain=True)  # moved: the old one goes
            self._announced = set(configs)
            self.announcements += 1
        if reannounce and not final:
            moments = self._interrupted_moments() + moments
        session_event = self._session_event
        for data in moments:
            if "button" in data:  # the wall button's trigger: its plain payload only
                topic = action_topic(self.node, "button")
                client.publish(topic, str(data["button"]), qos=STATE_QOS, retain=False)
                continue
            client.publish(
                self.topic(session_event.object_id),
                session_event.moment(data, state),
                qos=STATE_QOS,
                retain=False,
            )
            if data.get("action") in SESSION_ACTIONS:  # the device trigger's plain payload
                topic = action_topic(self.node, "session")
                client.publish(topic, str(data["action"]), qos=STATE_QOS, retain=False)
        payloads = self._payloads(self.entities.values() if dirty else self._ticking, state)
        for topic, payload in payloads.items():
            if self._published.get(topic) != payload:
                client.publish(topic, payload, qos=STATE_QOS, retain=True)
                self._published[topic] = payload
        if reannounce:
            client.publish(self.availability_topic, "online", qos=QOS, retain=True)

    # --- what comes in from the broker, on paho's network thread ------------------------------

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
