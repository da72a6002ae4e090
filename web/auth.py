"""Who may use the hub: a password (argon2 hash), cookie sessions with CSRF, API tokens.

Only ``/healthz``, the login and set-password pages, their two API calls and static files
answer without auth. A request is authenticated by ``Authorization: Bearer <token>`` or by
the login cookie; a state-changing request made with the cookie must also carry the
session's CSRF token in the ``X-CSRF-Token`` header.

The first password needs the one-time setup code that the service logs at start and
``massage-hub setup-code`` prints, so nobody else on the network can choose it. Cookie
sessions are kept on the server (rows in the settings table): logging out ends one, a new
password ends them all. Every password check is counted before it runs and runs on one of
at most ``web.password_checks_at_once`` threads (each argon2 check takes 19 MiB).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, session

from hub.commands import parse
from hub.errors import Conflict, InvalidCommand, NotFound

from .errors import ApiError, json_object
from .models import LoginBody, PasswordChange, SetupBody, TokenCreate

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PREFIX = "mh_"
SECRET_SETTING = "web.secret_key"
PASSWORD_SETTING = "web.password_hash"
SETUP_CODE_SETTING = "web.setup_code"
# one settings row per cookie session: "web.session.<sha256 of its id>" = expiry (epoch s)
SESSION_PREFIX = "web.session."
SESSION_END = "web.session/"  # "/" follows "." : every session key sorts in between
SESSION_SECONDS = 60 * 60 * 24 * 30
MAX_SESSIONS = 100  # the oldest logins end first beyond this
MIN_PASSWORD = 8
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read out
MAX_CLIENTS = 4096  # rate-limit records kept (least recently seen dropped first)

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

    def _hash(self, password: str) -> str:
        return str(self.hasher.hash(password))

    def _verify(self, stored: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self.hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _check_new(password: Any) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InvalidCommand(f"password: use at least {MIN_PASSWORD} characters")
        if len(password) > 256:
            raise InvalidCommand("password: use at most 256 characters")

    def set_password(self, password: str) -> None:
        """Check and store a new password (as an argon2 hash); every login ends."""
        self._check_new(password)
        self._store_hash(self._hash(password))

    def _store_hash(self, hashed: str, db: Any = None) -> None:
        if db is None:
            with self.store.transaction() as db:
                return self._store_hash(hashed, db)
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (PASSWORD_SETTING, json.dumps(hashed)),
        )
        db.execute("DELETE FROM settings WHERE key=?", (SETUP_CODE_SETTING,))
        db.execute("DELETE FROM settings WHERE key > ? AND key < ?", (SESSION_PREFIX, SESSION_END))
        return None

    def check_password(self, password: str) -> bool:
        """True if ``password`` is the stored one."""
        stored = self.password_hash()
        if stored is None or not isinstance(password, str):
            return False
        return self._verify(stored, password)

    # --- the first-run setup code -----------------------------------------------------------

    def setup_code(self, create: bool = True) -> str | None:
        """Return the one-time setup code (made when missing); None once a password is set."""
        with self.store.transaction() as db:  # one process makes it; the others read it
            if db.execute("SELECT 1 FROM settings WHERE key=?", (PASSWORD_SETTING,)).fetchall():
                return None
            rows = db.execute(
                "SELECT value FROM settings WHERE key=?", (SETUP_CODE_SETTING,)
            ).fetchall()
            if rows:
                return str(json.loads(rows[0]["value"]))
            if not create:
                return None
            raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
            code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?)",
                (SETUP_CODE_SETTING, json.dumps(code)),
            )
        return code

    @staticmethod
    def _same_code(given: str, stored: str) -> bool:
        def norm(code: str) -> bytes:
            return "".join(c for c in code.upper() if c.isalnum()).encode()

        return hmac.compare_digest(norm(given), norm(stored))

    def set_first_password(self, password: str, code: str) -> None:
        """Set the first password, if ``code`` is the setup code; the code is then used up."""
        self._check_new(password)
        stored = self.setup_code()
        if stored is None:
            raise Conflict("a password is set already; log in and change it in Settings")
        if not self._same_code(code, stored):
            raise ApiError(
                403,
                "wrong_setup_code",
                "code: that is not the setup code; the hub's log shows it at start "
                "(journalctl -u massage-hub), or run: massage-hub setup-code",
            )
        hashed = self._hash(password)  # slow: outside the transaction
        with self.store.transaction() as db:  # still unset and still that code?
            rows = db.execute(
                "SELECT value FROM settings WHERE key=?", (SETUP_CODE_SETTING,)
            ).fetchall()
            if not rows or json.loads(rows[0]["value"]) != stored:
                raise Conflict("a password is set already; log in and change it in Settings")
            self._store_hash(hashed, db)

    # --- server-side cookie sessions --------------------------------------------------------

    @staticmethod
    def _session_key(sid: str) -> str:
        return SESSION_PREFIX + hashlib.sha256(sid.encode()).hexdigest()[:32]

    def create_session(self) -> str:
        """Start a login; return its id (kept in the signed cookie; only its hash is stored)."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM settings WHERE key > ? AND key < ? AND CAST(value AS REAL) < ?",
                (SESSION_PREFIX, SESSION_END, now),
            )
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?)",
                (self._session_key(sid), json.dumps(now + SESSION_SECONDS)),
            )
            db.execute(
                "DELETE FROM settings WHERE key IN (SELECT key FROM settings "
                "WHERE key > ? AND key < ? ORDER BY CAST(value AS REAL) DESC LIMIT -1 OFFSET ?)",
                (SESSION_PREFIX, SESSION_END, MAX_SESSIONS),
            )
        return sid

    def session_valid(self, sid: Any) -> bool:
        """True if ``sid`` is a login that has not ended."""
        if not isinstance(sid, str) or not 20 <= len(sid) <= 100:
            return False
        rows = self.store.query("SELECT value FROM settings WHERE key=?", (self._session_key(sid),))
        return bool(rows) and float(json.loads(rows[0]["value"])) > time.time()

    def end_session(self, sid: Any) -> None:
        """End one login (logout)."""
        if isinstance(sid, str) and sid:
            with self.store.transaction() as db:
                db.execute("DELETE FROM settings WHERE key=?", (self._session_key(sid),))

    def session_count(self) -> int:
        """How many logins are open."""
        rows = self.store.query(
            "SELECT COUNT(*) AS n FROM settings WHERE key > ? AND key < ?",
            (SESSION_PREFIX, SESSION_END),
        )
        return int(rows[0]["n"])

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

    def revoke_all_tokens(self) -> int:
        """Delete every API token; return how many there were."""
        with self.store.transaction() as db:
            count = int(db.execute("DELETE FROM tokens").rowcount)
        self._token_used.clear()
        return count

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
    """Allow at most ``limit`` attempts per client in any ``window`` seconds.

    An attempt is counted when it starts, before the password is checked, so parallel
    requests cannot all slip through; a success forgets the client's attempts. At most
    ``MAX_CLIENTS`` clients are remembered (the least recently seen go first).
    """

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.now: Callable[[], float] = time.monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _wait(self, q: deque[float] | None, now: float) -> float:
        if not q:
            return 0.0
        while q and q[0] <= now - self.window:
            q.popleft()
        return 0.0 if len(q) < self.limit else q[0] + self.window - now

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 if now)."""
        with self._lock:
            return self._wait(self._failures.get(client), self.now())

    def attempt(self, client: str) -> float:
        """Count an attempt and return its stamp; raise a 429 ApiError if over the limit."""
        with self._lock:
            now = self.now()
            q = self._failures.get(client)
            wait = self._wait(q, now)
            if wait > 0:
                seconds = max(1, int(wait + 0.999))
                raise ApiError(
                    429,
                    "rate_limited",
                    f"too many wrong passwords; try again in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
            if q is None:
                self._make_room()
                q = self._failures[client] = deque()
            self._failures.move_to_end(client)
            q.append(now)
            return now

    def _make_room(self) -> None:
        while len(self._failures) >= MAX_CLIENTS:  # least recently seen first
            self._failures.popitem(last=False)

    def forget(self, client: str, stamp: float) -> None:
        """Take back one attempt (it was refused before its password was checked)."""
        with self._lock:
            q = self._failures.get(client)
            if q is not None and stamp in q:
                q.remove(stamp)

    def reset(self, client: str) -> None:
        """Forget ``client``'s attempts (after a success)."""
        with self._lock:
            self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)


class PasswordChecks:
    """Run argon2 on at most ``n`` threads of its own; refuse with 429 when all are busy.

    Dedicated threads also bound memory: glibc keeps a freed 19 MiB argon2 block in the
    arena of the thread that used it, so checks spread over 32 server threads would keep
    32 x 19 MiB.
    """

    def __init__(self, n: int) -> None:
        self._slots = threading.BoundedSemaphore(n)
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="password-check")

    def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Return ``func(*args)`` run on a password thread."""
        if not self._slots.acquire(blocking=False):
            raise ApiError(
                429,
                "busy",
                "the hub is checking other passwords right now; try again in a second",
                headers={"Retry-After": "1"},
            )
        try:
            return self._pool.submit(func, *args).result()
        finally:
            self._slots.release()


class Auth(Credentials):
    """Credentials plus the per-request checks the Flask app runs."""

    def __init__(self, hub: Any, config: Any) -> None:
        super().__init__(hub.store)
        self.limiter = RateLimiter(config.web.login_attempts_per_minute)
        self.checks = PasswordChecks(config.web.password_checks_at_once)

    def _hash(self, password: str) -> str:
        return str(self.checks.run(super()._hash, password))

    def _verify(self, stored: str, password: str) -> bool:
        return bool(self.checks.run(super()._verify, stored, password))

    def guarded(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a password check counted against this client's attempts.

        The attempt counts before the check runs; a check refused as busy does not count;
        a success forgets the client's attempts.
        """
        client = self.client()
        stamp = self.limiter.attempt(client)
        try:
            ok = func(*args)
        except ApiError as exc:
            if exc.code == "busy":
                self.limiter.forget(client, stamp)
            raise
        if ok:
            self.limiter.reset(client)
        return ok

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
        if session.get("auth") and self.session_valid(session.get("sid")):
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
        session["sid"] = self.create_session()
        session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    def client(self) -> str:
        """Return the client's address (the key for rate limits)."""
        return request.remote_addr or "unknown"


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
    body = parse(LoginBody, json_object())
    if not auth.password_set():
        raise Conflict("no password is set yet; set one first")
    if not auth.guarded(auth.check_password, body.password):  # type: ignore[attr-defined]
        raise ApiError(401, "wrong_password", "wrong password")
    return jsonify({"ok": True, "csrf_token": auth.login_session()})


@bp.post("/setup")
@public
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
@public
def logout() -> Response:
    """End the cookie session (on the server too: the cookie no longer works)."""
    _auth().end_session(session.get("sid"))
    session.clear()
    return jsonify({"ok": True})


@bp.put("/password")
def change_password() -> Response:
    """Change the password (the current one is needed); every other login ends."""
    auth = _auth()
    body = parse(PasswordChange, json_object())
    auth._check_new(body.new)  # type: ignore[attr-defined]
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
