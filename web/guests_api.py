"""Visiting therapists in the web app: the owner's guest-link API, the link, the therapist page.

- ``POST /api/v1/guests`` (owner): make a link; the answer carries its URL and a QR code
  (SVG, made here by segno) — the only time the link is shown;
- ``GET /api/v1/guests``, ``DELETE /api/v1/guests/<id>`` (owner): list, end early;
- ``GET /api/v1/guest`` (guest): the visit and its client panel;
- ``GET /guest/<token>``: the link itself; signs the browser in as the guest, then shows
  ``/therapist`` (static/therapist.js).

What a guest may reach is :data:`web.guests.GUEST_OPERATIONS`.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for
from pydantic import BaseModel

from hub.guests.commands import GuestCreate

from . import web_state
from .auth import csrf_token, public
from .errors import ApiError, json_body
from .guests import ENDED, login_guest
from .models import Open
from .openapi import describe
from .pages import FACTS, page

bp = Blueprint("guests", __name__)


class GuestCreated(BaseModel):
    """A new guest link: ``url`` (and its QR code, SVG) is shown this once."""

    id: int
    name: str
    profiles: list[Any]
    url: str
    expires_at: str
    qr_svg: str


class GuestInfo(BaseModel):
    """A guest link (never its token)."""

    id: int
    name: str
    profiles: list[Any]
    created_at: str
    expires_at: str
    ended_at: str | None
    active: bool
    actions: list[dict[str, Any]] = []


class GuestList(BaseModel):
    """Every guest link, newest first."""

    guests: list[GuestInfo]


class GuestMe(Open):
    """The visit this guest link is for, and the clients it may show."""

    name: str
    expires_at: str
    clients: list[dict[str, Any]]


def qr_svg(text: str) -> str:
    """Return ``text`` as a QR code, an SVG document (dark on white, 4 modules of border)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, light="#fff", xmldecl=False)
    return out.getvalue().decode()


@bp.post("/api/v1/guests")
@describe(
    GuestCreated, status=201, body=GuestCreate, body_required=True, errors=(409,), tag="guests"
)
def create_guest() -> tuple[Response, int]:
    """Make a link for a visiting therapist (default 3 h); shown only in this answer."""
    made = web_state().hub.guests.create(json_body(required=True))
    url = request.host_url.rstrip("/") + url_for("guests.guest_link", token=made.pop("token"))
    return jsonify({**made, "url": url, "qr_svg": qr_svg(url)}), 201


@bp.get("/api/v1/guests")
@describe(GuestList, tag="guests")
def list_guests() -> Response:
    """List guest links (names, expiry, whether each still works)."""
    return jsonify({"guests": web_state().hub.guests.list()})


@bp.delete("/api/v1/guests/<int:guest_id>")
@describe(None, status=204, errors=(404,), tag="guests")
def end_guest(guest_id: int) -> tuple[str, int]:
    """End a guest link now: it stops working at once."""
    web_state().hub.guests.end(guest_id)
    return "", 204


@bp.get("/api/v1/guest")
@describe(GuestMe, errors=(404,), tag="guests")
def guest_me() -> Response:
    """Return this guest link's visit: the therapist's name, the expiry, the client panel."""
    guest = g.get("guest")
    if guest is None:
        raise ApiError(404, "not_guest", "this request is not made through a guest link")
    clients = web_state().hub.guests.clients(guest)
    return jsonify({"name": guest["name"], "expires_at": guest["expires_at"], "clients": clients})


@bp.get("/guest/<token>")
@public
def guest_link(token: str) -> Any:
    """Open a guest link: sign this browser in as the guest and show the therapist page."""
    guest = web_state().hub.guests.for_token(token)
    if guest is None:
        return render_template("guest_ended.html", message=ENDED), 401
    login_guest(token)
    return redirect(url_for("guests.therapist"))


@bp.get("/guest-ended")
@public
def guest_ended() -> Any:
    """Say that the guest link has ended."""
    return render_template("guest_ended.html", message=ENDED), 401


@bp.get("/therapist")
@page
def therapist() -> str:
    """Serve the therapist's page (a guest link's view: session, room, client notes)."""
    guest = g.get("guest")
    return render_template(
        "therapist.html",
        csrf=csrf_token() or "",
        facts=FACTS,
        guest_name=guest["name"] if guest else "",
        backend=web_state().hub.backend,
    )
