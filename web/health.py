"""``GET /healthz``: open, quick, never waits on the hub lock; 503 until ready.

The body comes from :func:`hub.health.health` when the web layer runs inside the service
(hub loop, store, scheduler; MQTT and watchdog reported apart), or from the hub's own checks
when an app is made for a bare hub. Extra checks: ``hub.health_checks[name] = fn`` (any
component) or ``web_state().checks[name] = fn``; a ``bool`` result decides readiness,
anything else is only reported.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .auth import public

bp = Blueprint("health", __name__)


def _bare(hub: Any) -> dict[str, Any]:
    try:
        from hub.health import hub_up, store_up
    except ImportError:  # pragma: no cover - hub.health is part of the service
        return {"hub": bool(getattr(hub, "_started", False))}
    return {"hub": hub_up(hub), "store": store_up(hub)}


def health_body() -> tuple[dict[str, Any], int]:
    """Return the /healthz body and its status (200 ready, 503 not)."""
    from . import web_state

    state = web_state()
    hub = state.hub
    if state.service is not None:
        from hub.health import health

        body = dict(health(state.service))
    else:
        body = _bare(hub)
        body["ready"] = all(body.values())
    ready = bool(body.get("ready", True))
    extra = {**getattr(hub, "health_checks", {}), **state.checks}
    for name, check in extra.items():
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
    body.setdefault("version", _version())
    body["backend"] = getattr(hub, "backend", None)
    body["sse_clients"] = state.broker.client_count
    return body, 200 if ready else 503


def _version() -> str:
    from hub import __version__

    return __version__


@bp.get("/healthz")
@public
def healthz() -> tuple[Response, int]:
    """Say whether the hub is up and ready (open: no auth)."""
    body, status = health_body()
    return jsonify(body), status
