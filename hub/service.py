"""The running service: the hub plus its components (web, MQTT, routines, watchdog).

A component is any object with ``start()`` and ``stop()``; they start after the hub and
stop before it, in reverse order, so the hub always switches the room off last.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from .config import Config
from .core import Hub

log = logging.getLogger(__name__)


class Component(Protocol):
    """Something that runs beside the hub."""

    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...


class Service:
    """Run the hub and its components until asked to stop."""

    def __init__(self, config: Config, hub: Hub | None = None, **hub_args: Any) -> None:
        self.config = config
        self.hub = hub or Hub(config, **hub_args)
        self.components: list[Component] = []
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def add(self, component: Component) -> None:
        """Add a component to start after the hub."""
        self.components.append(component)

    def start(self) -> None:
        """Start the hub, then every component."""
        self.hub.start()
        started: list[Component] = []
        try:
            for component in self.components:
                component.start()
                started.append(component)
        except BaseException:
            for component in reversed(started):
                _quietly_stop(component)
            self.hub.close()
            raise
        self.ready.set()

    def stop(self) -> None:
        """Switch heat off, stop every component, then the hub (which switches everything off)."""
        self.hub.guard.emergency_off()  # components may take seconds to stop; heat can't wait
        for component in reversed(self.components):
            _quietly_stop(component)
        self.hub.close()

    def run(self) -> None:
        """Start, wait for :attr:`stop_event`, stop."""
        self.start()
        try:
            self.stop_event.wait()
        finally:
            self.stop()


def _quietly_stop(component: Component) -> None:
    try:
        component.stop()
    except Exception:
        log.exception("stopping %s failed", getattr(component, "name", component))


def build_service(config: Config, **hub_args: Any) -> Service:
    """Make the service with every component the config asks for."""
    service = Service(config, **hub_args)
    for factory in component_factories():
        component = factory(service)
        if component is not None:
            service.add(component)
    return service


def component_factories() -> list[Any]:
    """Return the functions that make components, in start order.

    Each takes the Service and returns a component or None (when disabled).
    """
    from web.server import web_component

    from .mqtt import mqtt_component
    from .routines import routines_component
    from .watchdog import watchdog_component

    return [routines_component, watchdog_component, mqtt_component, web_component]
