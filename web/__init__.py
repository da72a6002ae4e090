"""The phone web UI and REST API (Flask), built by :func:`create_app`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported only when an app is made: the CLI stays quick
    from flask import Blueprint, Flask

log = logging.getLogger(__name__)


def blueprints() -> list[Blueprint]:
    """Return every blueprint of the app, in the order they are registered."""
    from .api import bp as api_bp
    from .assets import bp as assets_bp
    from .auth_api import bp as auth_bp
    from .backup_api import bp as backup_bp
    from .guests_api import bp as guests_bp
    from .health import bp as health_bp
    from .homekit_api import bp as homekit_bp
    from .journal_api import bp as journal_bp
    from .pages import bp as pages_bp
    from .profiles_api import bp as profiles_bp
    from .routines_api import bp as routines_bp
    from .table_api import bp as table_bp

    return [
        health_bp,
        auth_bp,
        api_bp,
        routines_bp,
        profiles_bp,
        table_bp,
        journal_bp,
        homekit_bp,
        guests_bp,
        backup_bp,
        pages_bp,
        assets_bp,
    ]


def create_app(hub: Any, config: Any = None) -> Flask:
    """Make the Flask app that serves the UI and the API for ``hub``."""
    from flask import Flask

    from .auth import COOKIE_NAME, Auth
    from .errors import MAX_BODY_BYTES, register_error_handlers
    from .guests import record as record_guest_action
    from .hosts import RequestGate
    from .sse import EventBroker

    config = config if config is not None else hub.config
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    auth = Auth(hub, config)
    app.config.update(
        SECRET_KEY=auth.secret_key(),
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 30,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.extensions["massagehub"] = WebState(hub, config, auth, EventBroker(hub))
    register_error_handlers(app)
    app.before_request(RequestGate(config).before_request)  # Host, Origin, JSON: first
    app.before_request(auth.before_request)
    for bp in blueprints():
        app.register_blueprint(bp)
    app.after_request(lambda resp: record_guest_action(hub, resp))
    app.after_request(_security_headers)
    from .assets import init_app as init_assets

    init_assets(app)  # gzip answers (the other after_request hooks only set headers)
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


class WebState:
    """What the web layer keeps beside the hub: auth and the event broker."""

    def __init__(self, hub: Any, config: Any, auth: Any, broker: Any) -> None:
        self.hub = hub
        self.config = config
        self.auth = auth
        self.broker = broker
        self.ready: Any = lambda: True  # web_component sets it to service.ready.is_set
        self.service: Any = None  # the Service, when run by web_component


def web_state(app: Flask | None = None) -> WebState:
    """Return the current app's :class:`WebState`."""
    from flask import current_app

    return (app or current_app).extensions["massagehub"]  # type: ignore[no-any-return]
