"""Who may use the hub: a password (argon2 hash), cookie sessions with CSRF, API tokens.

Only ``/healthz``, the login and set-password pages, their two API calls and static files
answer without auth. A request is authenticated by ``Authorization: Bearer <token>`` or by
the login cookie; a state-changing request made with the cookie must also carry the
session's CSRF token in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, session

from hub.commands import parse
from hub.errors import Conflict, InvalidCommand, NotFound

from .errors import ApiError, json_object
from .models import LoginBody, PasswordChange, SetupBody, TokenCreate

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PREFIX = "mh_"
SECRET_SETTING = "web.secret_key"
PASSWORD_SETTING = "web.password_hash"
MIN_PASSWORD = 8

bp = Blueprint("auth", __name__, url_prefix="/api/v1")


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as answering without auth."""
    view.public = True  # type: ignore[attr-defined]
    return view


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    """Return the stored form of an API token (sha256; tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Credentials:
    """The password hash, the cookie secret and API tokens, kept in the hub's store."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._hasher: Any = None
        self._token_used: dict[int, float] = {}

    @property
    def hasher(self) -> Any:
        """Return the argon2 hasher (sized for a Pi Zero: 19 MiB, 2 passes)."""
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        return self._hasher

    def secret_key(self) -> str:
        """Return the cookie-signing key, made once and kept in the store."""
        key = self.store.get_setting(SECRET_SETTING)
        if not key:
            key = secrets.token_hex(32)
            self.store.set_setting(SECRET_SETTING, key)
        return str(key)

    def password_hash(self) -> str | None:
        """Return the stored password hash, or None before a password is set."""
        value = self.store.get_setting(PASSWORD_SETTING)
        return str(value) if value else None

    def password_set(self) -> bool:
        """True once a password is set."""
        return self.password_hash() is not None

    def set_password(self, password: str) -> None:
        """Check and store a new password (as an argon2 hash)."""
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InvalidCommand(f"password: use at least {MIN_PASSWORD} characters")
        if len(password) > 256:
            raise InvalidCommand("password: use at most 256 characters")
        self.store.set_setting(PASSWORD_SETTING, self.hasher.hash(password))

    def check_password(self, password: str) -> bool:
        """True if ``password`` is the stored one."""
        stored = self.password_hash()
        if stored is None or not isinstance(password, str):
            return False
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self.hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def fingerprint(self) -> str:
        """Return a short digest of the password hash: changing it ends every login."""
        return hashlib.sha256((self.password_hash() or "").encode()).hexdigest()[:16]

    # --- API tokens ------------------------------------------------------------------------

    def create_token(self, name: str) -> dict[str, Any]:
        """Make a token called ``name``; return it (the only time it is shown) and its id."""
        name = (name or "").strip()
        if not 1 <= len(name) <= 60:
            raise InvalidCommand("name: use 1 to 60 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = _now_iso()
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO tokens(name, hash, created_at) VALUES (?, ?, ?)",
                (name, hash_token(token), created),
            )
            token_id = int(cur.lastrowid or 0)
        return {"id": token_id, "name": name, "created_at": created, "token": token}

    def list_tokens(self) -> list[dict[str, Any]]:
        """Return every token's id, name and dates (never the token)."""
        rows = self.store.query("SELECT id, name, created_at, last_used_at FROM tokens ORDER BY id")
        return [dict(r) for r in rows]

    def revoke_token(self, token_id: int) -> None:
        """Delete a token; raise NotFound if there is none with that id."""
        if not 0 <= token_id < 2**63:
            raise NotFound(f"no API token with id {token_id}")
        with self.store.transaction() as db:
            cur = db.execute("DELETE FROM tokens WHERE id=?", (token_id,))
            if cur.rowcount == 0:
                raise NotFound(f"no API token with id {token_id}")
        self._token_used.pop(token_id, None)

    def token_id(self, token: str) -> int | None:
        """Return the id of a valid token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        rows = self.store.query("SELECT id FROM tokens WHERE hash=?", (hash_token(token),))
        if not rows:
            return None
        token_id = int(rows[0]["id"])
        now = time.monotonic()
        if now - self._token_used.get(token_id, -1e9) > 60:  # note use at most once a minute
            self._token_used[token_id] = now
            with self.store.transaction() as db:
                db.execute("UPDATE tokens SET last_used_at=? WHERE id=?", (_now_iso(), token_id))
        return token_id


class RateLimiter:
    """Allow at most ``limit`` failed attempts per client in any ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.now: Callable[[], float] = time.monotonic
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 if now)."""
        with self._lock:
            now = self.now()
            q = self._failures.get(client)
            if not q:
                return 0.0
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) < self.limit:
                return 0.0
            return q[0] + self.window - now

    def failed(self, client: str) -> None:
        """Count a failed attempt."""
        with self._lock:
            if len(self._failures) > 10_000:
                self._failures.clear()
            self._failures.setdefault(client, deque()).append(self.now())

    def reset(self, client: str) -> None:
        """Forget ``client``'s failures (after a success)."""
        with self._lock:
            self._failures.pop(client, None)


class Auth(Credentials):
    """Credentials plus the per-request checks the Flask app runs."""

    def __init__(self, hub: Any, config: Any) -> None:
        super().__init__(hub.store)
        self.limiter = RateLimiter(config.web.login_attempts_per_minute)

    # --- the request gate ------------------------------------------------------------------

    def identify(self) -> str | None:
        """Return how the request is authenticated: "token", "cookie" or None."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
            if self.token_id(value.strip()) is None:
                raise ApiError(401, "unauthorized", "that API token is not valid (revoked?)")
            return "token"
        if session.get("auth") and hmac.compare_digest(
            str(session.get("pw", "")), self.fingerprint()
        ):
            return "cookie"
        return None

    def before_request(self) -> Response | None:
        """Let public views through; require auth (and CSRF with a cookie) elsewhere."""
        from flask import current_app, redirect, url_for

        view = current_app.view_functions.get(request.endpoint or "")
        if view is None or request.endpoint == "static" or getattr(view, "public", False):
            g.auth = None
            return None
        try:
            g.auth = self.identify()
        except ApiError:
            if getattr(view, "page", False):
                return redirect(url_for("pages.login"))
            raise
        if g.auth is None:
            if getattr(view, "page", False):
                target = "pages.login" if self.password_set() else "pages.setup"
                return redirect(url_for(target))
            if not self.password_set():
                raise ApiError(401, "unauthorized", "set a password first (open the web UI)")
            raise ApiError(401, "unauthorized", "log in, or send 'Authorization: Bearer <token>'")
        if g.auth == "cookie" and request.method not in SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token", "")
            if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
                raise ApiError(403, "csrf", "missing or wrong X-CSRF-Token header; reload the page")
        return None

    def login_session(self) -> str:
        """Start a cookie session; return its CSRF token."""
        session.clear()
        session.permanent = True
        session["auth"] = 1
        session["pw"] = self.fingerprint()
        session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    def client(self) -> str:
        """Return the client's address (the key for rate limits)."""
        return request.remote_addr or "unknown"

    def check_rate(self) -> None:
        """Refuse with 429 if this client failed too often lately."""
        wait = self.limiter.retry_after(self.client())
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise ApiError(
                429,
                "rate_limited",
                f"too many wrong passwords; try again in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )


def _auth() -> Auth:
    from . import web_state

    return web_state().auth  # type: ignore[no-any-return]


def csrf_token() -> str | None:
    """Return the cookie session's CSRF token, if logged in with the cookie."""
    return session.get("csrf") if session.get("auth") else None


@bp.get("/auth")
@public
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
            "csrf_token": csrf_token() if via == "cookie" else None,
        }
    )


@bp.post("/login")
@public
def login() -> Response:
    """Log in with the password; set the session cookie; return the CSRF token."""
    auth = _auth()
    auth.check_rate()
    body = parse(LoginBody, json_object())
    if not auth.password_set():
        raise Conflict("no password is set yet; set one first")
    if not auth.check_password(body.password):  # type: ignore[attr-defined]
        auth.limiter.failed(auth.client())
        raise ApiError(401, "wrong_password", "wrong password")
    auth.limiter.reset(auth.client())
    return jsonify({"ok": True, "csrf_token": auth.login_session()})


@bp.post("/setup")
@public
def setup() -> tuple[Response, int]:
    """Set the first password (only while none is set) and log in."""
    auth = _auth()
    body = parse(SetupBody, json_object())
    if auth.password_set():
        raise Conflict("a password is set already; log in and change it in Settings")
    auth.set_password(body.password)  # type: ignore[attr-defined]
    return jsonify({"ok": True, "csrf_token": auth.login_session()}), 201


@bp.post("/logout")
@public
def logout() -> Response:
    """End the cookie session."""
    session.clear()
    return jsonify({"ok": True})


@bp.put("/password")
def change_password() -> Response:
    """Change the password (the current one is needed); other logins end."""
    auth = _auth()
    auth.check_rate()
    body = parse(PasswordChange, json_object())
    if not auth.check_password(body.current):  # type: ignore[attr-defined]
        auth.limiter.failed(auth.client())
        raise ApiError(403, "wrong_password", "current: that is not the current password")
    auth.set_password(body.new)  # type: ignore[attr-defined]
    out: dict[str, Any] = {"ok": True}
    if g.auth == "cookie":
        out["csrf_token"] = auth.login_session()
    return jsonify(out)


@bp.get("/tokens")
def list_tokens() -> Response:
    """List API tokens (names and dates only)."""
    return jsonify({"tokens": _auth().list_tokens()})


@bp.post("/tokens")
def create_token() -> tuple[Response, int]:
    """Create an API token; the response is the only time it is shown."""
    body = parse(TokenCreate, json_object())
    return jsonify(_auth().create_token(body.name)), 201  # type: ignore[attr-defined]


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> tuple[str, int]:
    """Revoke an API token."""
    _auth().revoke_token(token_id)
    return "", 204
