"""HTML pages: the app shell (one page, client-side routes), login and first-run set-up.

The shell's nav lists ``PAGES``; a page with a ``script`` (under ``web/static``) registers
itself with ``MH.page(id, {...})`` (see static/app.js). The shell also carries the facts
the scripts show as choices (heat levels, diffuser modes), from :mod:`hub.facts`, and the
hub's time zone (``MH.fmt`` shows times in it) and the scene list (no request for it on
the first load). All scripts reach the phone as one bundle (:mod:`web.assets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, render_template, url_for
from markupsafe import Markup

from hub.facts import DiffuserMode, HeatLevel

from .auth import csrf_token, public

bp = Blueprint("pages", __name__)

PAGES: list[dict[str, str]] = [
    {"id": "now", "label": "Now", "script": "now.js"},
    {"id": "room", "label": "Room", "script": "room.js"},
    {"id": "scenes", "label": "Scenes", "script": "scenes.js"},
    {"id": "routines", "label": "Routines", "script": "routines.js"},
    {"id": "history", "label": "History", "script": "history.js"},
    {"id": "people", "label": "People", "script": "people.js"},
    {"id": "journal", "label": "Journal", "script": "journal.js"},
    {"id": "settings", "label": "Settings", "script": "settings.js"},
]

# the pages in the first bundle: Now; the others load when one of them is first opened
FIRST: tuple[str, ...] = ("now",)
# parts of other pages that Now shows, in the first bundle: "Who is on the table?" and whose
# limits hold (profiles.js), the journal's questions (ask.js); the People page's editor and
# the Journal page's charts wait for the second; a pad's fault banner, on every page (faults.js)
FIRST_PARTS: list[str] = ["profiles.js", "ask.js", "faults.js"]
# scripts that add to other pages (MH.extend in static/app.js), in the second bundle
EXTENSIONS: list[str] = ["visits.js", "homekit.js"]

# the choices the scripts offer, in order (MH.facts in static/app.js)
FACTS: dict[str, list[str]] = {
    "heat_levels": [level.value for level in HeatLevel],
    "diffuser_modes": [mode.value for mode in DiffuserMode],
}


# the header's icon, drawn inline (one request fewer on the first load)
ICON = Path(__file__).parent / "static" / "icon.svg"


def page(view: Any) -> Any:
    """Mark a view as an HTML page: without auth it redirects to the login page."""
    view.page = True
    return view


@bp.get("/")
@page
def app_shell() -> str:
    """Serve the app (every page; routes are #now, #room, ...)."""
    from . import web_state

    state = web_state()
    zone = getattr(state.hub, "zone", None)
    return render_template(
        "app.html",
        pages=PAGES,
        facts={**FACTS, "timezone": getattr(zone, "key", None)},
        csrf=csrf_token() or "",
        backend=state.hub.backend,
        scenes=state.hub.scenes.list(),  # in the page: one request fewer on the first load
        profiles=state.hub.people.list(),  # the same: "Who is on the table?" on Now
        icon=Markup(
            ICON.read_text().replace("<svg ", '<svg aria-hidden="true" width="28" height="28" ', 1)
        ),
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
