"""Readiness checks for ``GET /healthz``: hub, store, scheduler (and MQTT, reported apart).

Every check is quick and never waits on the hub lock (a stalled control loop may hold it),
so /healthz answers even while the service is in trouble, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def hub_up(hub: Any) -> bool:
    """True when the hub has started and its control loop stepped recently."""
    return bool(hub.health()["ok"])


def store_up(hub: Any) -> bool:
    """True when the SQLite store answers a trivial query (within a second)."""
    return bool(hub.store.health()["ok"])


def scheduler_up(hub: Any) -> bool:
    """True when the routines' scheduler runs (or routines are switched off)."""
    routines = getattr(hub, "routines", None)
    if routines is None:
        return True  # routines disabled in the config: nothing to wait for
    return bool(routines.health()["ok"])


def mqtt_connected(service: Any) -> bool | None:
    """True/False for the MQTT connection; None when MQTT is not enabled."""
    if not service.config.mqtt.enabled:
        return None
    for component in getattr(service, "components", []):
        connected = getattr(component, "connected", None)
        if getattr(component, "name", "") == "mqtt" and hasattr(connected, "is_set"):
            return bool(connected.is_set())
    return False


def readiness_checks(service: Any) -> dict[str, Callable[[], bool]]:
    """Return the checks that decide readiness, by name."""
    hub = service.hub
    return {
        "hub": lambda: hub_up(hub),
        "store": lambda: store_up(hub),
        "scheduler": lambda: scheduler_up(hub),
    }


def health(service: Any) -> dict[str, Any]:
    """Return the /healthz body: each check, ``ready`` (all pass), and ``mqtt`` apart."""
    out: dict[str, Any] = {}
    for name, check in readiness_checks(service).items():
        try:
            out[name] = bool(check())
        except Exception:  # noqa: BLE001 - a failing check is a "no"
            out[name] = False
    ready = all(out.values())
    out["ready"] = ready
    out["status"] = "ok" if ready else "unavailable"
    out["mqtt"] = mqtt_connected(service)
    dog = getattr(service, "watchdog", None)
    if dog is not None:
        out["watchdog"] = dog.health()
    return out
