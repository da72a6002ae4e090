"""The auth API under ``/api/v1``: log in and out, the first password, tokens, the password.

Thin views over :class:`web.auth.Auth` (the request guard and the credentials).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, session

from hub.command_models import parse
from hub.errors import Conflict

from .auth import Auth, csrf_token
from .errors import ApiError, json_object
from .models import (
    AuthStatus,
    LoginBody,
    LoginResult,
    Ok,
    PasswordChange,
    SetupBody,
    TokenCreate,
    TokenCreated,
    TokenList,
)
from .openapi import describe

bp = Blueprint("auth", __name__, url_prefix="/api/v1")


def _auth() -> Auth:
    from . import web_state

    return web_state().auth  # type: ignore[no-any-return]


@bp.get("/auth")
@describe(AuthStatus, tag="auth", public=True)
def auth_status() -> Response:
    """Say whether a password is set and whether this request is logged in."""
    auth = _auth()
    try:
        via = auth.identify()
    except ApiError:
        via = None
    return jsonify(
        {
            "password_set": auth.password_set(),
            "authenticated": via is not None,
            "via": via,
            "csrf_token": csrf_token() if via in ("cookie", "guest") else None,
        }
    )


@bp.post("/login")
@describe(LoginResult, body=LoginBody, errors=(401, 409, 429), tag="auth", public=True)
def login() -> Response:
    """Log in with the password; set the session cookie; return the CSRF token."""
    auth = _auth()
    body = parse(LoginBody, json_object())
    if not auth.password_set():
        raise Conflict("no password is set yet; set one first")
    if not auth.guarded(auth.check_password, body.password):  # type: ignore[attr-defined]
        raise ApiError(401, "wrong_password", "wrong password")
    return jsonify({"ok": True, "csrf_token": auth.login_session()})


@bp.post("/setup")
@describe(LoginResult, status=201, body=SetupBody, errors=(403, 409, 429), tag="auth", public=True)
def setup() -> tuple[Response, int]:
    """Set the first password (only while none is set, with the setup code) and log in."""
    auth = _auth()
    body = parse(SetupBody, json_object())
    if auth.password_set():
        raise Conflict("a password is set already; log in and change it in Settings")

    def first_password() -> bool:
        auth.set_first_password(body.password, body.code)  # type: ignore[attr-defined]
        return True

    auth.guarded(first_password)  # a wrong code counts like a wrong password
    return jsonify({"ok": True, "csrf_token": auth.login_session()}), 201


@bp.post("/logout")
@describe(Ok, tag="auth", public=True)
def logout() -> Response:
    """End the cookie session (on the server too: the cookie no longer works)."""
    _auth().end_session(session.get("sid"))
    session.clear()
    return jsonify({"ok": True})


@bp.put("/password")
@describe(Ok, body=PasswordChange, errors=(429,), tag="auth")
def change_password() -> Response:
    """Change the password (the current one is needed); every other login ends."""
    auth = _auth()
    body = parse(PasswordChange, json_object())
    auth.check_new(body.new)  # type: ignore[attr-defined]
    if not auth.guarded(auth.check_password, body.current):  # type: ignore[attr-defined]
        raise ApiError(403, "wrong_password", "current: that is not the current password")
    auth.set_password(body.new)  # type: ignore[attr-defined]
    out: dict[str, Any] = {"ok": True}
    if body.revoke_tokens:  # type: ignore[attr-defined]
        out["tokens_revoked"] = auth.revoke_all_tokens()
    if g.auth == "cookie":
        out["csrf_token"] = auth.login_session()
    return jsonify(out)


@bp.get("/tokens")
@describe(TokenList, tag="auth")
def list_tokens() -> Response:
    """List API tokens (names and dates only)."""
    return jsonify({"tokens": _auth().list_tokens()})


@bp.post("/tokens")
@describe(TokenCreated, status=201, body=TokenCreate, tag="auth")
def create_token() -> tuple[Response, int]:
    """Create an API token; the response is the only time it is shown."""
    body = parse(TokenCreate, json_object())
    return jsonify(_auth().create_token(body.name)), 201  # type: ignore[attr-defined]


@bp.delete("/tokens/<int:token_id>")
@describe(None, status=204, errors=(404,), tag="auth")
def revoke_token(token_id: int) -> tuple[str, int]:
    """Revoke an API token."""
    _auth().revoke_token(token_id)
    return "", 204
