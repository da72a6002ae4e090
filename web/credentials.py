"""The web password (argon2 hash), the first-run setup code, cookie logins and API tokens.

Everything is kept by the hub's store, through its public methods (only hashes: never a
password, a login id or a token). ``massage-hub set-password`` and ``token`` use this too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from hub.errors import Conflict, InvalidCommand, NotFound

from .errors import ApiError

TOKEN_PREFIX = "mh_"
SECRET_SETTING = "web.secret_key"
SESSION_SECONDS = 60 * 60 * 24 * 30
MAX_SESSIONS = 100  # the oldest logins end first beyond this
MIN_PASSWORD = 8
MAX_PASSWORD = 256
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read out
TOKEN_TOUCH_SECONDS = 60  # a token's last use is written at most this often


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    """Return the stored form of an API token (sha256; tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _login_key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()[:32]


def _same_code(given: str, stored: str) -> bool:
    def norm(code: str) -> bytes:
        return "".join(c for c in code.upper() if c.isalnum()).encode()

    return hmac.compare_digest(norm(given), norm(stored))


class Credentials:
    """The password hash, the cookie secret, logins and API tokens, kept in the hub's store."""

    def __init__(self, store: Any, recorder: Any = None) -> None:
        self.store = store
        self._hasher: Any = None
        self._token_used: dict[int, float] = {}
        #: notes the last use of a token off the request's path (the hub's recorder)
        self._recorder = recorder

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

    # --- the password ------------------------------------------------------------------------

    def password_hash(self) -> str | None:
        """Return the stored password hash, or None before a password is set."""
        return self.store.password_hash()  # type: ignore[no-any-return]

    def password_set(self) -> bool:
        """Return True once a password is set."""
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
    def check_new(password: Any) -> None:
        """Refuse a new password that is too short or too long (InvalidCommand)."""
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InvalidCommand(f"password: use at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise InvalidCommand(f"password: use at most {MAX_PASSWORD} characters")

    def set_password(self, password: str) -> None:
        """Check and store a new password (as an argon2 hash); every login ends."""
        self.check_new(password)
        self.store.set_password_hash(self._hash(password))

    def check_password(self, password: str) -> bool:
        """Return True if ``password`` is the stored one."""
        stored = self.password_hash()
        if stored is None or not isinstance(password, str):
            return False
        return self._verify(stored, password)

    # --- the first-run setup code -----------------------------------------------------------

    def setup_code(self, create: bool = True) -> str | None:
        """Return the one-time setup code (made when missing); None once a password is set."""
        new = None
        if create:
            raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
            new = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
        return self.store.setup_code(new)  # type: ignore[no-any-return]

    def set_first_password(self, password: str, code: str) -> None:
        """Set the first password, if ``code`` is the setup code; the code is then used up."""
        self.check_new(password)
        stored = self.setup_code()
        if stored is None:
            raise Conflict("a password is set already; log in and change it in Settings")
        if not _same_code(code, stored):
            raise ApiError(
                403,
                "wrong_setup_code",
                "code: that is not the setup code; the hub's log shows it at start "
                "(journalctl -u massage-hub), or run: massage-hub setup-code",
            )
        hashed = self._hash(password)  # slow: before the store's transaction
        if not self.store.set_password_hash(hashed, setup_code=stored):  # still that code?
            raise Conflict("a password is set already; log in and change it in Settings")

    # --- server-side cookie logins ----------------------------------------------------------

    def create_session(self) -> str:
        """Start a login; return its id (kept in the signed cookie; only its hash is stored)."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        self.store.add_login(_login_key(sid), now + SESSION_SECONDS, now, MAX_SESSIONS)
        return sid

    def session_valid(self, sid: Any) -> bool:
        """Return True if ``sid`` is a login that has not ended."""
        if not isinstance(sid, str) or not 20 <= len(sid) <= 100:
            return False
        expires = self.store.login_expires(_login_key(sid))
        return expires is not None and expires > time.time()

    def end_session(self, sid: Any) -> None:
        """End one login (logout)."""
        if isinstance(sid, str) and sid:
            self.store.end_login(_login_key(sid))

    def session_count(self) -> int:
        """Return how many logins are open."""
        return int(self.store.login_count())

    # --- API tokens ------------------------------------------------------------------------

    def create_token(self, name: str) -> dict[str, Any]:
        """Make a token called ``name``; return it (the only time it is shown) and its id."""
        name = (name or "").strip()
        if not 1 <= len(name) <= 60:
            raise InvalidCommand("name: use 1 to 60 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = _now_iso()
        token_id = self.store.add_token(name, hash_token(token), created)
        return {"id": token_id, "name": name, "created_at": created, "token": token}

    def list_tokens(self) -> list[dict[str, Any]]:
        """Return every token's id, name and dates (never the token)."""
        if self._recorder is not None:
            self._recorder.flush(1.0)  # the last uses noted so far show
        return self.store.tokens()  # type: ignore[no-any-return]

    def revoke_token(self, token_id: int) -> None:
        """Delete a token; raise NotFound if there is none with that id."""
        if not 0 <= token_id < 2**63 or not self.store.delete_token(token_id):
            raise NotFound(f"no API token with id {token_id}")
        self._token_used.pop(token_id, None)

    def revoke_all_tokens(self) -> int:
        """Delete every API token; return how many there were."""
        count = int(self.store.delete_tokens())
        self._token_used.clear()
        return count

    def token_id(self, token: str) -> int | None:
        """Return the id of a valid token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        token_id = self.store.token_id(hash_token(token))
        if token_id is None:
            return None
        now = time.monotonic()
        if now - self._token_used.get(token_id, -1e9) > TOKEN_TOUCH_SECONDS:
            self._token_used[token_id] = now
            used_at, store = _now_iso(), self.store
            if self._recorder is None:
                store.token_used(token_id, used_at)
            else:  # a note: never before, nor instead of, the command it rides on
                self._recorder.record(
                    "an API token's last use",
                    lambda: store.token_used(token_id, used_at),
                    later=True,
                )
        return int(token_id)
