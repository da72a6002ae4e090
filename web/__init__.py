"""The phone web UI and REST API (Flask), built by :func:`create_app`.

Extra parts plug in without touching this file's logic: a module named in
``OPTIONAL_BLUEPRINTS`` that exists is imported, and its ``bp`` (a Flask blueprint) is
registered; if it also has ``PAGE = {"id": ..., "label": ..., "script": ...}`` the page
gets a nav entry and its script (under ``web/static``) is loaded by the app shell.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported only when an app is made: the CLI stays quick
    from flask import Flask

log = logging.getLogger(__name__)

# modules that may add a blueprint (and a page) when they exist
OPTIONAL_BLUEPRINTS: list[str] = ["web.routines_api"]


def create_app(hub: Any, config: Any = None) -> Flask:
    """Make the Flask app that serves the UI and the API for ``hub``."""
    from flask import Flask

    from .api import bp as api_bp
    from .auth import Auth
    from .auth import bp as auth_bp
    from .errors import MAX_BODY_BYTES, register_error_handlers
    from .health import bp as health_bp
    from .hosts import RequestGate
    from .pages import CORE_PAGES
    from .pages import bp as pages_bp
    from .sse import EventBroker

    config = config if config is not None else hub.config
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    auth = Auth(hub, config)
    app.config.update(
        SECRET_KEY=auth.secret_key(),
        SESSION_COOKIE_NAME="massagehub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 30,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    state = WebState(hub, config, auth, EventBroker(hub))
    app.extensions["massagehub"] = state
    register_error_handlers(app)
    app.before_request(RequestGate(config).before_request)  # Host, Origin, JSON: first
    app.before_request(auth.before_request)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
    app.after_request(_security_headers)
    state.pages.extend(CORE_PAGES)
    for module in OPTIONAL_BLUEPRINTS:
        add_blueprint_module(app, module)
    return app


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _security_headers(resp: Any) -> Any:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", CSP)
    if resp.mimetype == "application/json":
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def add_blueprint_module(app: Flask, module: str) -> bool:
    """Register ``module.bp`` (and its ``PAGE``) if the module exists; return True if so."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return False
    app.register_blueprint(mod.bp)
    state = app.extensions["massagehub"]
    page = getattr(mod, "PAGE", None)
    if page:
        state.pages.append(dict(page))
    state.openapi_ops.extend(getattr(mod, "OPENAPI_OPS", []))
    return True


class WebState:
    """What the web layer keeps beside the hub: auth, the event broker, health checks."""

    def __init__(self, hub: Any, config: Any, auth: Any, broker: Any) -> None:
        self.hub = hub
        self.config = config
        self.auth = auth
        self.broker = broker
        self.pages: list[dict[str, str]] = []
        self.openapi_ops: list[Any] = []  # web.openapi.Op entries of extra blueprints
        # readiness checks beside hub.health_checks (see web/health.py)
        self.checks: dict[str, Any] = {}
        self.ready: Any = lambda: True  # web_component sets it to service.ready.is_set
        self.service: Any = None  # the Service, when run by web_component


def web_state(app: Flask | None = None) -> WebState:
    """Return the current app's :class:`WebState`."""
    from flask import current_app

    return (app or current_app).extensions["massagehub"]  # type: ignore[no-any-return]
