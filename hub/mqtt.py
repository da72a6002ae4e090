"""Home Assistant over MQTT: discovery, retained state, commands, availability.

The bridge talks to the hub only through its public commands and its event stream.
Hub events are noted under the hub lock (a few assignments, never blocking); a publisher
thread turns the newest state into per-entity payloads and publishes only those that
changed. paho's network thread runs the commands that arrive on ``…/<entity>/set``.

Topics (``base`` is ``<base_topic>/<node_id>``):

- ``base/availability``: ``online`` / ``offline``, retained, ``offline`` is the last will;
- ``base/<entity>/state``: retained state (the ``session_event`` entity is not retained);
- ``base/<entity>/set``: commands;
- ``<discovery_prefix>/<component>/<node_id>/<entity>/config``: retained discovery.

Discovery and every state are sent again on each (re)connect and whenever
``<discovery_prefix>/status`` says ``online``.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import Config
from .errors import HubError

if TYPE_CHECKING:
    from .core import Hub
    from .events import Event

log = logging.getLogger(__name__)

HEAT_OPTIONS = ["off", "low", "medium", "high"]
DIFFUSER_MODES = ["off", "on", "interval"]
PHASES = ["idle", "prepare", "active", "paused", "fade_out"]
SESSION_EVENTS = ["started", "active", "paused", "resumed", "extended", "fade_out", "ended"]
PRESS = "PRESS"
QOS = 1
# States and events go out at QoS 0: a QoS 1 publish makes the broker send a PUBACK, and
# with Mosquitto's default set_tcp_nodelay false the next command then waits ~40 ms for
# our delayed ACK (Nagle on the broker side). Everything is re-sent on reconnect anyway.
STATE_QOS = 0


class BadPayload(ValueError):
    """A command payload that cannot be used; nothing is changed."""


@dataclass
class Entity:
    """One Home Assistant entity: its component, object id and command handler."""

    component: str
    object_id: str
    handle: Callable[[str], None] | None = None
    retain: bool = True


def _text_option(payload: str, options: list[str]) -> str:
    value = payload.strip()
    if value not in options:
        raise BadPayload(f"{value[:40]!r} is not one of {', '.join(options)}")
    return value


def _number(payload: str, low: float, high: float) -> float:
    try:
        value = float(payload.strip())
    except ValueError:
        raise BadPayload(f"{payload[:40]!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadPayload(f"{value:g} is outside {low:g} to {high:g}")
    return value


def parse_light_command(payload: str) -> dict[str, Any]:
    """Turn a Home Assistant JSON light command into a hub ``set_device`` change."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise BadPayload("not JSON") from None
    if not isinstance(data, dict):
        raise BadPayload("expected a JSON object")
    unknown = set(data) - {"state", "brightness", "transition"}
    if unknown:
        raise BadPayload(f"unsupported keys: {', '.join(sorted(map(str, unknown)))}")
    state = data.get("state")
    if state is not None and state not in ("ON", "OFF"):
        raise BadPayload("state must be ON or OFF")
    fade = data.get("transition", 0)
    if isinstance(fade, bool) or not isinstance(fade, int | float) or not 0 <= fade <= 3600:
        raise BadPayload("transition must be 0 to 3600 seconds")
    change: dict[str, Any] = {"fade_seconds": float(fade)}
    brightness = data.get("brightness")
    if brightness is not None and (
        isinstance(brightness, bool)
        or not isinstance(brightness, int | float)
        or not 0 <= brightness <= 255
    ):
        raise BadPayload("brightness must be 0 to 255")
    if state == "OFF":
        change["on"] = False
    elif brightness is not None:
        change["level"] = round(float(brightness) / 255, 4)
    elif state == "ON":
        change["on"] = True
    else:
        raise BadPayload("send state or brightness")
    return change


def _minutes_left(session: dict[str, Any] | None) -> int:
    if not session or session.get("phase") not in ("prepare", "active"):
        return 0
    return math.ceil(float(session.get("remaining_seconds") or 0) / 60 - 1e-9)


def _phase(session: dict[str, Any] | None) -> str:
    if not session:
        return "idle"
    if session.get("paused"):
        return "paused"
    phase = str(session.get("phase"))
    return phase if phase in PHASES else "idle"


class MqttBridge:
    """Connect the hub to an MQTT broker as a Home Assistant device."""

    name = "mqtt"

    def __init__(self, hub: Hub, config: Config, *, password: str | None = None) -> None:
        self.hub = hub
        self.config = config
        self.mc = config.mqtt
        self.node_id = self.mc.node_id
        self.base = f"{self.mc.base_topic}/{self.node_id}"
        self.prefix = self.mc.discovery_prefix
        self.availability_topic = f"{self.base}/availability"
        self.status_topic = f"{self.prefix}/status"
        self._password = password
        self.client: Any = None
        self.connected = threading.Event()
        self._retained_seen: set[str] = set()  # topics of retained commands already logged
        self.announcements = 0  # how many times discovery was sent (for tests and logs)
        self.last_error: str | None = None
        self._lock = threading.Lock()  # guards the fields the hub listener writes
        self._state: dict[str, Any] | None = None
        self._state_at = 0.0
        self._dirty = False
        self._fade_dirty = False
        self._events: deque[dict[str, Any]] = deque(maxlen=100)
        self._reannounce = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._published: dict[str, str] = {}  # only the publisher thread uses it
        self._force: set[str] = set()  # topics to publish again even if unchanged
        self._last_fade_publish = 0.0
        self.scene_choice = config.session.default_scene
        self.minutes_choice = float(config.session.default_minutes)
        self._scene_labels: dict[str, str] = {}
        self.entities = self._entities()

    # --- entities ---------------------------------------------------------------------------

    def _entities(self) -> dict[str, Entity]:
        room = self.hub.room
        out: dict[str, Entity] = {}

        def add(component: str, object_id: str, handle: Any = None, retain: bool = True) -> None:
            out[object_id] = Entity(component, object_id, handle, retain)

        for lid in room.lights:
            add("light", f"light_{lid}", self._light_handler(lid))
        if room.diffuser is not None:
            add("switch", "diffuser", self._on_diffuser)
            add("select", "diffuser_mode", self._on_diffuser_mode)
        for pid in room.heat_pads:
            add("select", f"heat_{pid}", self._pad_handler(pid))
        if room.speaker is not None:
            add("number", "volume", self._on_volume)
            add("select", "playlist", self._on_playlist)
        add("select", "scene", self._on_scene)
        add("number", "session_minutes", self._on_minutes)
        add("button", "session_start", self._press(self._start))
        add("button", "session_pause", self._press(self.hub.pause_session))
        add("button", "session_resume", self._press(self.hub.resume_session))
        add("button", "session_extend", self._press(lambda: self.hub.extend_session(10)))
        add("button", "session_stop", self._press(self.hub.stop_session))
        add("button", "all_off", self._press(lambda: self.hub.all_off(reason="mqtt")))
        add("sensor", "session_phase")
        add("sensor", "minutes_remaining")
        add("event", "session_event", retain=False)
        return out

    def topic(self, object_id: str, kind: str = "state") -> str:
        """Return ``base/<object_id>/<kind>``."""
        return f"{self.base}/{object_id}/{kind}"

    def discovery_topic(self, entity: Entity) -> str:
        """Return the discovery config topic of ``entity``."""
        return f"{self.prefix}/{entity.component}/{self.node_id}/{entity.object_id}/config"

    def device_block(self) -> dict[str, Any]:
        """Return the Home Assistant device block shared by every entity."""
        name = self.mc.device_name or self.node_id.replace("_", " ").replace("-", " ").capitalize()
        return {
            "identifiers": [f"massagehub_{self.node_id}"],
            "name": name,
            "manufacturer": "massage-hub",
            "model": f"massage-hub ({self.hub.backend})",
            "sw_version": __version__,
            "configuration_url": self.configuration_url(),
        }

    def configuration_url(self) -> str:
        """Return the web UI's address for Home Assistant's device page."""
        if self.mc.configuration_url:
            return self.mc.configuration_url
        host = self.config.web.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname() or "localhost"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.config.web.port}/"

    def _scene_options(self) -> dict[str, str]:
        """Return option label -> scene id (labels are names, made unique)."""
        labels: dict[str, str] = {}
        try:
            scenes = self.hub.list_scenes()
        except Exception:
            log.exception("could not list scenes")
            scenes = []
        for sc in scenes:
            label = str(sc.get("name") or sc["id"])
            if label in labels:
                label = f"{label} ({sc['id']})"
            labels[label] = sc["id"]
        return labels

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Return every discovery config by its topic."""
        device = self.device_block()
        origin = {"name": "massage-hub", "sw_version": __version__}
        c = self.config
        room = self.hub.room
        self._scene_labels = self._scene_options()
        out: dict[str, dict[str, Any]] = {}
        for e in self.entities.values():
            cfg: dict[str, Any] = {
                "unique_id": f"massagehub_{self.node_id}_{e.object_id}",
                "availability_topic": self.availability_topic,
                "device": device,
                "origin": origin,
            }
            oid = e.object_id
            if e.handle is not None:
                cfg["command_topic"] = self.topic(oid, "set")
            if e.component != "button":
                cfg["state_topic"] = self.topic(oid)
            if e.component == "light":
                lid = oid[len("light_") :]
                cfg.update(
                    name=c.lights[lid].name or lid.replace("_", " ").capitalize(),
                    schema="json",
                    supported_color_modes=["brightness"],
                    brightness_scale=255,
                )
            elif oid == "diffuser":
                cfg.update(name=(c.diffuser.name if c.diffuser else None) or "Diffuser")
                cfg.update(icon="mdi:scent")
            elif oid == "diffuser_mode":
                cfg.update(name="Diffuser mode", options=DIFFUSER_MODES, icon="mdi:scent")
            elif oid.startswith("heat_"):
                pid = oid[len("heat_") :]
                label = c.heat_pads[pid].name or pid.replace("_", " ").capitalize()
                cfg.update(name=f"{label} heat", options=HEAT_OPTIONS, icon="mdi:heating-coil")
            elif oid == "volume":
                cfg.update(
                    name="Volume",
                    min=0,
                    max=float(c.speaker.max_volume),
                    step=1,
                    mode="slider",
                    icon="mdi:volume-high",
                )
            elif oid == "playlist":
                options = room.speaker.playlists() if room.speaker is not None else []
                cfg.update(name="Playlist", options=options or ["none"], icon="mdi:playlist-music")
            elif oid == "scene":
                cfg.update(name="Scene", options=list(self._scene_labels), icon="mdi:palette")
            elif oid == "session_minutes":
                cfg.update(
                    name="Session minutes",
                    min=1,
                    max=float(c.session.max_minutes),
                    step=1,
                    mode="box",
                    unit_of_measurement="min",
                    icon="mdi:timer-cog-outline",
                )
            elif e.component == "button":
                titles = {
                    "session_start": ("Start session", "mdi:play"),
                    "session_pause": ("Pause session", "mdi:pause"),
                    "session_resume": ("Resume session", "mdi:play-pause"),
                    "session_extend": ("Extend session 10 min", "mdi:timer-plus-outline"),
                    "session_stop": ("Stop session", "mdi:stop"),
                    "all_off": ("All off", "mdi:power"),
                }
                title, icon = titles[oid]
                cfg.update(name=title, icon=icon, payload_press=PRESS)
            elif oid == "session_phase":
                cfg.update(
                    name="Session phase",
                    device_class="enum",
                    options=PHASES,
                    json_attributes_topic=self.topic(oid, "attributes"),
                    icon="mdi:spa",
                )
            elif oid == "minutes_remaining":
                cfg.update(
                    name="Minutes remaining",
                    unit_of_measurement="min",
                    device_class="duration",
                    state_class="measurement",
                    icon="mdi:timer-sand",
                )
            elif oid == "session_event":
                cfg.update(name="Session", event_types=SESSION_EVENTS, icon="mdi:bell-ring")
            out[self.discovery_topic(e)] = cfg
        return out

    def state_payloads(self, state: dict[str, Any]) -> dict[str, str]:
        """Return the retained state payload of every entity, by topic."""
        devices = state.get("devices", {})
        session = state.get("session")
        out: dict[str, str] = {}
        for lid in self.hub.room.lights:
            dev = devices.get(lid, {})
            level = float(dev.get("level", 0.0))
            on = level > 0
            body: dict[str, Any] = {"state": "ON" if on else "OFF"}
            if on:
                body["brightness"] = max(1, round(level * 255))
                body["color_mode"] = "brightness"
            out[self.topic(f"light_{lid}")] = json.dumps(body, sort_keys=True)
        if "diffuser_mode" in self.entities:
            mode = str(devices.get("diffuser", {}).get("mode", "off"))
            out[self.topic("diffuser")] = "OFF" if mode == "off" else "ON"
            out[self.topic("diffuser_mode")] = mode
        for pid in self.hub.room.heat_pads:
            out[self.topic(f"heat_{pid}")] = str(devices.get(pid, {}).get("heat", "off"))
        if "volume" in self.entities:
            spk = devices.get(self.hub.room.speaker_id, {})
            out[self.topic("volume")] = str(round(float(spk.get("volume", 0))))
            out[self.topic("playlist")] = str(spk.get("playlist") or "None")
        scene_id = session["scene"] if session else self.scene_choice
        label = next((k for k, v in self._scene_labels.items() if v == scene_id), "None")
        out[self.topic("scene")] = label
        out[self.topic("session_minutes")] = f"{self.minutes_choice:g}"
        out[self.topic("session_phase")] = _phase(session)
        attrs = {}
        if session:
            attrs = {
                k: session.get(k)
                for k in ("scene", "scene_name", "minutes", "paused", "started_at", "source")
            }
        out[self.topic("session_phase", "attributes")] = json.dumps(attrs, sort_keys=True)
        out[self.topic("minutes_remaining")] = str(_minutes_left(session))
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
            self._state = self.hub.state()
            self._state_at = time.monotonic()
            self._dirty = True
        self._unsubscribe = self.hub.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()
        log.info(
            "MQTT: connecting to %s:%s as %s (base %s)", mc.host, mc.port, mc.node_id, self.base
        )
        client.connect_async(mc.host, mc.port, keepalive=mc.keepalive)
        client.loop_start()

    def stop(self) -> None:
        """Say ``offline``, disconnect and stop the threads."""
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
                info = client.publish(self.availability_topic, "offline", qos=QOS, retain=True)
                info.wait_for_publish(timeout=2)
            except Exception:  # noqa: BLE001 - best effort on the way out
                log.debug("could not publish offline", exc_info=True)
        client.disconnect()
        client.loop_stop()
        self.connected.clear()

    # --- paho callbacks (paho's network thread) ----------------------------------------------

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
        client.subscribe([(f"{self.base}/+/set", QOS), (self.status_topic, QOS)])
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
        parts = topic.split("/")
        if topic.count("/") != self.base.count("/") + 2 or not topic.startswith(self.base + "/"):
            return False
        entity = self.entities.get(parts[-2])
        if entity is None or entity.handle is None or parts[-1] != "set":
            log.warning("MQTT: no entity takes commands at %s; ignored", topic)
            return False
        try:
            entity.handle(payload)
        except BadPayload as exc:
            log.warning("MQTT: %s: bad payload %r: %s; ignored", topic, payload[:80], exc)
        except HubError as exc:
            log.warning("MQTT: %s: refused (%s): %s", topic, exc.code, exc)
        except Exception:
            log.exception("MQTT: %s: command failed", topic)
        else:
            return True
        # make Home Assistant show the real state again (a select or number may have moved)
        with self._lock:
            self._force.add(self.topic(entity.object_id))
            self._dirty = True
        self._wake.set()
        return False

    # --- command handlers -------------------------------------------------------------------

    def _light_handler(self, lid: str) -> Callable[[str], None]:
        def handle(payload: str) -> None:
            self.hub.set_device(lid, parse_light_command(payload))

        return handle

    def _on_diffuser(self, payload: str) -> None:
        value = _text_option(payload.upper(), ["ON", "OFF"])
        self.hub.set_device("diffuser", {"on": value == "ON"})

    def _on_diffuser_mode(self, payload: str) -> None:
        self.hub.set_device("diffuser", {"mode": _text_option(payload, DIFFUSER_MODES)})

    def _pad_handler(self, pid: str) -> Callable[[str], None]:
        def handle(payload: str) -> None:
            self.hub.set_device(pid, {"heat": _text_option(payload, HEAT_OPTIONS)})

        return handle

    def _on_volume(self, payload: str) -> None:
        volume = _number(payload, 0, float(self.config.speaker.max_volume))
        self.hub.set_device(self.hub.room.speaker_id, {"volume": volume})

    def _on_playlist(self, payload: str) -> None:
        speaker = self.hub.room.speaker
        playlist = _text_option(payload, speaker.playlists() if speaker else [])
        self.hub.set_device(self.hub.room.speaker_id, {"playlist": playlist, "playing": True})

    def _on_scene(self, payload: str) -> None:
        labels = self._scene_labels or self._scene_options()
        value = payload.strip()
        scene_id = labels.get(value) or (value if value in labels.values() else None)
        if scene_id is None:
            raise BadPayload(f"{value[:40]!r} is not a scene")
        self.hub.apply_scene(scene_id)
        with self._lock:
            self.scene_choice = scene_id
            self._dirty = True
        self._wake.set()

    def _on_minutes(self, payload: str) -> None:
        minutes = _number(payload, 1, float(self.config.session.max_minutes))
        with self._lock:
            self.minutes_choice = float(round(minutes))
            self._dirty = True
        self._wake.set()

    def _start(self) -> None:
        self.hub.start_session(self.scene_choice, self.minutes_choice, source="mqtt")

    def _press(self, action: Callable[[], Any]) -> Callable[[str], None]:
        def handle(payload: str) -> None:
            if payload.strip() != PRESS:
                raise BadPayload(f"a button takes {PRESS}")
            action()

        return handle

    # --- hub events (under the hub lock: note and wake, nothing more) -------------------------

    def _on_event(self, event: Event) -> None:
        fading = event.type == "progress" and bool(event.data.get("fading"))
        with self._lock:
            self._state = event.state
            self._state_at = time.monotonic()
            wake = not fading or not self._fade_dirty  # first fade step: schedule the update
            if fading:
                self._fade_dirty = True
            else:
                self._dirty = True
            if event.type == "scenes":
                self._reannounce = True  # the scene select's options changed
            if event.type == "scene":
                self.scene_choice = str(event.data.get("scene") or self.scene_choice)
            if event.type == "session":
                action = event.data.get("action")
                if action in SESSION_EVENTS:
                    session = event.state.get("session") or event.state.get("last_session") or {}
                    self._events.append(
                        {
                            "event_type": action,
                            "scene": session.get("scene"),
                            "reason": event.data.get("reason"),
                        }
                    )
        if wake:
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

    def _next_timeout(self) -> float:
        """Seconds until the next throttled fade update or whole-minute change."""
        now = time.monotonic()
        timeouts = [5.0]
        with self._lock:
            if self._fade_dirty:
                timeouts.append(self._last_fade_publish + self.mc.fade_update_seconds - now)
            session = (self._state or {}).get("session")
            if (
                session
                and not session.get("paused")
                and session.get("phase") in ("prepare", "active")
            ):
                remaining = float(session.get("remaining_seconds") or 0)
                to_next = remaining % 60 or 60.0
                timeouts.append(self._state_at + to_next + 0.02 - now)
        return max(0.0, min(timeouts))

    def _publish_pending(self) -> None:
        now = time.monotonic()
        with self._lock:
            if not self.connected.is_set():
                self._events.clear()  # events are moments; the state is re-sent on connect
                return
            reannounce = self._reannounce
            self._reannounce = False
            fade_due = (
                self._fade_dirty and now >= self._last_fade_publish + self.mc.fade_update_seconds
            )
            dirty = self._dirty or fade_due or reannounce
            self._dirty = False
            if fade_due or reannounce:
                self._fade_dirty = False
                self._last_fade_publish = now
            state = self._state
            events = list(self._events)
            self._events.clear()
            for topic in self._force:
                self._published.pop(topic, None)
            self._force.clear()
        session = (state or {}).get("session")
        ticking = bool(
            session and not session.get("paused") and session.get("phase") in ("prepare", "active")
        )
        client = self.client
        if reannounce:
            self._published.clear()
            for topic, cfg in self.discovery().items():
                client.publish(topic, json.dumps(cfg, sort_keys=True), qos=QOS, retain=True)
            self.announcements += 1
        if state is None or (ticking and not dirty):
            stale = state
            state = self.hub.state()  # a whole minute may have passed without a hub event
            with self._lock:
                if self._state is stale:
                    self._state = state
                    self._state_at = time.monotonic()
        payloads = self.state_payloads(state)
        if not dirty:
            minutes = self.topic("minutes_remaining")
            payloads = {minutes: payloads[minutes]} if ticking else {}
        for topic, payload in payloads.items():
            if self._published.get(topic) != payload:
                client.publish(topic, payload, qos=STATE_QOS, retain=True)
                self._published[topic] = payload
        for ev in events:
            body = {k: v for k, v in ev.items() if v is not None}
            client.publish(
                self.topic("session_event"), json.dumps(body), qos=STATE_QOS, retain=False
            )
        if reannounce:
            client.publish(self.availability_topic, "online", qos=QOS, retain=True)


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
