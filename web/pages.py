"""HTML pages: the app shell (one page, client-side routes), login and first-run set-up.

The shell's nav comes from ``web_state().pages``: the core pages below, then any page an
extra blueprint module declares (``PAGE = {"id", "label", "script"}``); its script, under
``web/static``, registers the page with ``MH.page(id, {...})`` (see static/app.js).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, url_for

from .auth import csrf_token, public

bp = Blueprint("pages", __name__)

CORE_PAGES: list[dict[str, str]] = [
    {"id": "now", "label": "Now", "script": ""},
    {"id": "room", "label": "Room", "script": ""},
    {"id": "scenes", "label": "Scenes", "script": ""},
    # extra pages (e.g. Routines) are inserted before History
    {"id": "history", "label": "History", "script": ""},
    {"id": "settings", "label": "Settings", "script": ""},
]


def page(view: Any) -> Any:
    """Mark a view as an HTML page: without auth it redirects to the login page."""
    view.page = True
    return view


def nav_pages() -> list[dict[str, str]]:
    """Return the pages in nav order (extra pages before History and Settings)."""
    from . import web_state

    pages = web_state().pages
    core = [p for p in pages if p in CORE_PAGES]
    extra = [p for p in pages if p not in CORE_PAGES]
    return core[:3] + extra + core[3:]


@bp.get("/")
@page
def app_shell() -> str:
    """Serve the app (every page; routes are #now, #room, ...)."""
    from . import web_state

    state = web_state()
    return render_template(
        "app.html",
        pages=nav_pages(),
        csrf=csrf_token() or "",
        backend=state.hub.backend,
    )


@bp.get("/login")
@public
def login() -> Any:
    """Serve the login page (or the set-up page before a password is set)."""
    from . import web_state

    if not web_state().auth.password_set():
        return redirect(url_for("pages.setup"))
    return render_template("login.html", mode="login")


@bp.get("/setup")
@public
def setup() -> Any:
    """Serve the first-run page that sets the password."""
    from . import web_state

    if web_state().auth.password_set():
        return redirect(url_for("pages.login"))
    return render_template("login.html", mode="setup")


@bp.get("/manifest.webmanifest")
@public
def manifest() -> Response:
    """Serve the web app manifest (installable on a phone's home screen)."""
    from flask import current_app

    resp = current_app.send_static_file("manifest.webmanifest")
    resp.mimetype = "application/manifest+json"
    return resp


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    """Point browsers at the icon."""
    return redirect(url_for("static", filename="icon.svg"), code=301)  # type: ignore[return-value]
