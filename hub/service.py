"""The running service: the hub and its components, wired in one place.

This is the entry layer (with :mod:`hub.cli`): the only module that knows every component,
the web adapter included. Components start after the hub and stop before it, in reverse
order, so the hub always switches the room off last; a component that ``outlives_hub`` (MQTT,
which tells Home Assistant how the hub ended) takes no more commands then, and stops after.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

from .config.model import Config
from .core import Hub

if TYPE_CHECKING:
    from .engine.watchdog import Watchdog
    from .routines.controller import RoutineController

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0  # an optional adapter that could not start is tried again this often


class Component(Protocol):
    """Something that runs beside the hub, and says how it is doing.

    One with ``optional = True`` (Home Assistant's MQTT, Apple Home) never takes the hub down:
    if it cannot start, the hub runs without it, says why, and tries again.
    """

    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...


class Service:
    """Run the hub and its components until asked to stop."""

    def __init__(self, config: Config, hub: Hub | None = None, **hub_args: Any) -> None:
        self.config = config
        self.hub = hub or Hub(config, **hub_args)
        self.routines: RoutineController | None = None
        self.watchdog: Watchdog | None = None
        self.mqtt: Any = None  # hub.mqtt.MqttBridge, when mqtt.enabled (paho loads only then)
        self.homekit: Any = None  # hub.homekit.HomeKitBridge, when homekit.enabled (likewise)
        self.web: Any = None  # web.server.WebComponent
        self.components: list[Component] = []
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        #: optional component name -> why it is not running (shown in Settings and /healthz)
        self.problems: dict[str, str] = {}
        self._retries: dict[str, threading.Timer] = {}
        self._retry_lock = threading.Lock()
        self.hub.state_providers["problems"] = lambda: dict(self.problems)

    def add(self, component: Component) -> None:
        """Add a component to start after the hub."""
        self.components.append(component)

    def start(self) -> None:
        """Start the hub, then every component."""
        self.hub.start()
        started: list[Component] = []
        try:
            for component in self.components:
                if getattr(component, "optional", False):
                    self._start_optional(component)  # never raises: the hub runs without it
                else:
                    component.start()
                started.append(component)
        except BaseException:
            for component in reversed(started):
                _quietly_stop(component)
            self.hub.close()
            raise
        self.ready.set()

    def _start_optional(self, component: Component) -> None:
        """Start an optional component; if it cannot, say why and try again later."""
        name = getattr(component, "name", type(component).__name__)
        try:
            component.start()
        except Exception as exc:  # noqa: BLE001 - whatever it is, the hub goes on
            why = str(exc) or type(exc).__name__
            first = name not in self.problems
            self.problems[name] = f"{why} (trying again every {RETRY_SECONDS:g} s)"
            (log.error if first else log.info)(
                "%s could not start: %s; the hub runs without it and tries again", name, why
            )
            with self._retry_lock:
                if not self.stop_event.is_set():
                    timer = threading.Timer(RETRY_SECONDS, self._start_optional, (component,))
                    timer.daemon = True
                    self._retries[name] = timer
                    timer.start()
            return
        if self.problems.pop(name, None) is not None:
            log.info("%s started after all", name)

    def stop(self) -> None:
        """Switch heat off, stop every component, then the hub (which switches everything off)."""
        self.hub.guard.emergency_off()  # components may take seconds to stop; heat can't wait
        with self._retry_lock:
            self.stop_event.set()
            for timer in self._retries.values():
                timer.cancel()
        later: list[Any] = []
        for component in reversed(self.components):
            if getattr(component, "outlives_hub", False):
                # it tells others how the hub ended (MQTT: final states, ``ended``, then
                # ``offline``): it takes no more commands now and stops after the hub
                later.append(component)
                _quietly(component, "quiesce")
            else:
                _quietly_stop(component)
        self.hub.close()
        for component in later:
            _quietly_stop(component)

    def run(self) -> None:
        """Start, wait for :attr:`stop_event`, stop."""
        self.start()
        try:
            self.stop_event.wait()
        finally:
            self.stop()

    def health(self) -> dict[str, Any]:
        """The /healthz body: each readiness check, ``ready``, and MQTT and the watchdog apart.

        Every check is quick and never waits on the hub lock (a stalled control loop may
        hold it), so /healthz answers even while the service is in trouble, and says so.
        """
        checks = {
            "hub": lambda: self.hub.health()["ok"],
            "store": lambda: self.hub.store.health()["ok"],
            # routines disabled in the config: nothing to wait for
            "scheduler": lambda: self.routines is None or self.routines.health()["ok"],
        }
        out: dict[str, Any] = {}
        for name, check in checks.items():
            try:
                out[name] = bool(check())
            except Exception:  # noqa: BLE001 - a failing check is a "no"
                out[name] = False
        out["ready"] = all(out.values())
        out["status"] = "ok" if out["ready"] else "unavailable"
        out["mqtt"] = None if self.mqtt is None else bool(self.mqtt.connected.is_set())
        if self.problems:
            out["problems"] = dict(self.problems)
        if self.watchdog is not None:
            out["watchdog"] = self.watchdog.health()
        return out


def _quietly(component: Any, method: str) -> None:
    try:
        getattr(component, method)()
    except Exception:
        log.exception("%s of %s failed", method, getattr(component, "name", component))


def _quietly_stop(component: Component) -> None:
    try:
        component.stop()
    except Exception:
        log.exception("stopping %s failed", getattr(component, "name", component))


def build_service(config: Config, **hub_args: Any) -> Service:
    """Make the service with every component the config asks for, in start order."""
    from .engine.watchdog import watchdog_component
    from .routines.controller import routines_component

    service = Service(config, **hub_args)
    service.routines = routines_component(service)
    service.watchdog = watchdog_component(service)
    if config.mqtt.enabled:
        from .mqtt import mqtt_component  # paho is imported only when MQTT is on

        service.mqtt = mqtt_component(service)
    if config.homekit.enabled:
        from .homekit import homekit_component  # HAP-python and zeroconf: only when on

        service.homekit = homekit_component(service)
    from web.server import web_component

    service.web = web_component(service)
    parts = (service.routines, service.watchdog, service.mqtt, service.homekit, service.web)
    for component in parts:
        if component is not None:
            service.add(component)
    return service
