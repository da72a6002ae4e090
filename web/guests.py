"""The guest role: what a visiting therapist's link lets its holder do (deny by default).

A guest is signed in by ``GET /guest/<token>`` (the link; it sets the login cookie, with
its own CSRF token) or sends ``Authorization: Bearer mhg_...``. Each request checks the
link again, so it stops working the moment it expires or the owner ends it. A guest
reaches only :data:`GUEST_OPERATIONS`; everything else answers 403. Each change made
through a link is logged (:func:`record`), and shows in the history as "by <name> (guest)".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import g, request, session

from hub.guests.commands import GUEST_PREFIX

from .errors import ApiError

# the endpoints a guest may reach: run sessions, set lights, music and the diffuser, read
# the room and the scenes, the therapist page and its client panel; nothing else
GUEST_OPERATIONS = frozenset(
    {
        "api.state",
        "api.start_session",
        "api.pause_session",
        "api.resume_session",
        "api.extend_session",
        "api.stop_session",
        "api.all_off",
        "api.list_scenes",
        "api.get_scene",
        "api.set_device",
        "api.events",
        "guests.guest_me",
        "guests.therapist",
    }
)
GUEST_DEVICE_KINDS = frozenset({"light", "diffuser", "speaker"})  # never a heat pad by hand

ENDED = (
    "this visit's link has ended (it expired, or the owner ended it); ask the owner for a new one"
)
COOKIE_KEY = "guest_token"

ACTIONS = {
    "api.start_session": "started a session",
    "api.pause_session": "paused the session",
    "api.resume_session": "resumed the session",
    "api.extend_session": "extended the session",
    "api.stop_session": "stopped the session",
    "api.all_off": "switched everything off",
}


def bearer_guest_token() -> str | None:
    """Return the guest token sent as ``Authorization: Bearer mhg_...``, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(GUEST_PREFIX):
        return value
    return None


def identify_guest(hub: Any) -> bool | None:
    """Say whether the request comes from a guest: True, None (not a guest); 401 if ended.

    Sets ``g.guest`` (its id, name, profiles, expiry) and ``g.guest_cookie``.
    """
    token = bearer_guest_token()
    via_cookie = False
    if token is None:
        token = session.get(COOKIE_KEY)
        via_cookie = True
        if not isinstance(token, str):
            return None
    guest = hub.guests.for_token(token)
    if guest is None:
        if via_cookie:
            session.clear()
        raise ApiError(401, "guest_ended", ENDED)
    g.guest = guest
    g.guest_token = token
    g.guest_cookie = via_cookie
    return True


def while_guest_valid(hub: Any, chunks: Iterator[str]) -> Iterator[str]:
    """Pass an event stream on; for a guest, end it once the link has ended.

    The stream yields at least every heartbeat, so it ends within one of the expiry.
    """
    token = g.get("guest_token")
    if token is None:
        return chunks

    def checked() -> Iterator[str]:
        try:
            for chunk in chunks:
                if hub.guests.for_token(token) is None:
                    return
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    return checked()


def check_guest_request(hub: Any, endpoint: str, view_args: dict[str, Any] | None) -> None:
    """Refuse (403) what a guest may not do: anything outside :data:`GUEST_OPERATIONS`."""
    if endpoint not in GUEST_OPERATIONS:
        raise ApiError(
            403,
            "guest_forbidden",
            "a visiting therapist's link runs sessions and sets the lights, music and "
            "diffuser; this needs the owner's login",
        )
    if endpoint == "api.set_device":
        device = (view_args or {}).get("device_id")
        kinds = {d.id: d.kind for d in hub.devices.info()}
        if device in kinds and str(kinds[device]) not in GUEST_DEVICE_KINDS:
            raise ApiError(
                403,
                "guest_forbidden",
                "a heat pad follows the session on a guest link; it cannot be set by hand",
            )


def login_guest(token: str) -> str:
    """Sign the browser in as the guest of ``token`` (cookie); return its CSRF token."""
    import secrets

    session.clear()
    session.permanent = False  # the link's own expiry ends it; the cookie ends with the browser
    session[COOKIE_KEY] = token
    session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def describe_action(endpoint: str, view_args: dict[str, Any] | None, body: Any) -> str | None:
    """Return the history's words for a change a guest made, or None for a read."""
    if endpoint in ACTIONS:
        words = ACTIONS[endpoint]
        if endpoint == "api.start_session" and isinstance(body, dict) and body.get("scene"):
            words += f" ({str(body['scene'])[:40]})"
        if endpoint == "api.extend_session" and isinstance(body, dict):
            minutes = body.get("minutes", 10)
            if isinstance(minutes, int | float) and not isinstance(minutes, bool):
                words += f" by {minutes:g} min"
        return words
    if endpoint == "api.set_device":
        device = str((view_args or {}).get("device_id", "?"))[:40]
        fields = ", ".join(sorted(str(k)[:20] for k in body)[:5]) if isinstance(body, dict) else ""
        return f"set {device}" + (f" ({fields})" if fields else "")
    return None


def record(hub: Any, response: Any) -> Any:
    """After a guest's successful change, log it for the history (an after_request hook)."""
    guest = g.get("guest")
    if guest is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return response
    if response.status_code >= 400:
        return response
    body = request.get_json(silent=True)
    action = describe_action(request.endpoint or "", request.view_args, body)
    if action is not None:
        hub.guests.record_action(guest, action)
    return response
