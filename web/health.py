"""``GET /healthz``: open, quick, never waits on the hub lock; 503 until ready.

The body comes from :meth:`hub.service.Service.health` when the web layer runs inside the
service (hub loop, store, scheduler; MQTT and watchdog reported apart), or from the hub's
and the store's own checks when an app is made for a bare hub. Any component may add a check:
``hub.health_checks[name] = fn``; a ``bool`` result decides readiness, anything else is
only reported.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub import __version__

from .models import Health
from .openapi import describe

bp = Blueprint("health", __name__)


def health_body() -> tuple[dict[str, Any], int]:
    """Return the /healthz body and its status (200 ready, 503 not)."""
    from . import web_state

    state = web_state()
    hub = state.hub
    if state.service is not None:
        body = dict(state.service.health())
    else:
        body = {"hub": bool(hub.health()["ok"]), "store": bool(hub.store.health()["ok"])}
        body["ready"] = all(body.values())
    ready = bool(body.get("ready", True))
    for name, check in hub.health_checks.items():
        try:
            value = check()
        except Exception:  # noqa: BLE001 - a failing check is a "no"
            value = False
        body[name] = value
        if isinstance(value, bool) and not value:
            ready = False
    try:
        started = bool(state.ready())
    except Exception:  # noqa: BLE001
        started = False
    ready = ready and started
    body["ready"] = ready
    body["status"] = "ok" if ready else ("starting" if not started else "unavailable")
    body.setdefault("version", __version__)
    body["backend"] = hub.backend
    body["sse_clients"] = state.broker.client_count
    body["problems"] = hub.store.problems()  # rows set aside: the hub runs, but says so
    return body, 200 if ready else 503


@bp.get("/healthz")
@describe(Health, errors=(503,), tag="meta", public=True)
def healthz() -> tuple[Response, int]:
    """Say whether the hub is up and ready (open: no auth)."""
    body, status = health_body()
    return jsonify(body), status
