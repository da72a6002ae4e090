"""The store's records of who may use the web UI and API: the password, logins, tokens.

:class:`~hub.store.database.Store` inherits these; they share its connection, lock and transactions.
Only hashes are kept: the password's (argon2), each token's (SHA-256).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Any

# settings keys of the web logins
PASSWORD_KEY = "web.password_hash"
SETUP_CODE_KEY = "web.setup_code"
LOGIN_PREFIX = "web.session."
LOGIN_END = "web.session/"  # "/" follows ".": every login key sorts in between


class AccessRecords:
    """Password hash, setup code, cookie logins and API tokens (the Store's methods)."""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # the Store's

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # the Store's

    def get_setting(self, key: str, default: Any = None) -> Any:
        raise NotImplementedError  # the Store's

    def set_setting(self, key: str, value: Any) -> None:
        raise NotImplementedError  # the Store's

    def _insert(self, sql: str, params: tuple[Any, ...]) -> int:
        raise NotImplementedError  # the Store's

    # --- web logins: the password hash, the setup code, cookie logins ----------------------
    # Settings rows: the argon2 hash, the one-time setup code, and one row per cookie login,
    # "web.session.<hash of its id>" = its expiry (epoch seconds).

    def password_hash(self) -> str | None:
        """Return the web password's hash, or None before a password is set."""
        value = self.get_setting(PASSWORD_KEY)
        return str(value) if value else None

    def set_password_hash(self, hashed: str, setup_code: str | None = None) -> bool:
        """Store the password hash, use up the setup code and end every login.

        With ``setup_code``, only while that is still the stored setup code (and so no
        password is set yet); return whether the hash was stored.
        """
        with self.transaction() as db:
            if setup_code is not None:
                rows = db.execute("SELECT value FROM settings WHERE key=?", (SETUP_CODE_KEY,))
                row = rows.fetchone()
                if row is None or json.loads(row["value"]) != setup_code:
                    return False
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (PASSWORD_KEY, json.dumps(hashed)),
            )
            db.execute("DELETE FROM settings WHERE key=?", (SETUP_CODE_KEY,))
            db.execute("DELETE FROM settings WHERE key > ? AND key < ?", (LOGIN_PREFIX, LOGIN_END))
        return True

    def setup_code(self, new: str | None = None) -> str | None:
        """Return the first-run setup code, storing ``new`` if there is none.

        None once a password is set. One transaction, so of several processes asking at
        once one stores its code and the others read it.
        """
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM settings WHERE key=?", (PASSWORD_KEY,)).fetchall():
                return None
            row = db.execute("SELECT value FROM settings WHERE key=?", (SETUP_CODE_KEY,)).fetchone()
            if row is not None:
                return str(json.loads(row["value"]))
            if new is None:
                return None
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?)", (SETUP_CODE_KEY, json.dumps(new))
            )
        return new

    def add_login(self, login: str, expires: float, now: float, keep: int) -> None:
        """Record a cookie login (by the hash of its id) lasting until ``expires``.

        Logins expired by ``now`` are dropped, and beyond ``keep`` the oldest go first.
        """
        with self.transaction() as db:
            db.execute(
                "DELETE FROM settings WHERE key > ? AND key < ? AND CAST(value AS REAL) < ?",
                (LOGIN_PREFIX, LOGIN_END, now),
            )
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?)",
                (LOGIN_PREFIX + login, json.dumps(expires)),
            )
            db.execute(
                "DELETE FROM settings WHERE key IN (SELECT key FROM settings "
                "WHERE key > ? AND key < ? ORDER BY CAST(value AS REAL) DESC LIMIT -1 OFFSET ?)",
                (LOGIN_PREFIX, LOGIN_END, keep),
            )

    def login_expires(self, login: str) -> float | None:
        """Return when a cookie login ends (epoch seconds), or None if there is no such login."""
        value = self.get_setting(LOGIN_PREFIX + login)
        return None if value is None else float(value)

    def end_login(self, login: str) -> None:
        """End one cookie login."""
        with self.transaction() as db:
            db.execute("DELETE FROM settings WHERE key=?", (LOGIN_PREFIX + login,))

    def login_count(self) -> int:
        """Return how many cookie logins are stored."""
        rows = self.query(
            "SELECT COUNT(*) AS n FROM settings WHERE key > ? AND key < ?",
            (LOGIN_PREFIX, LOGIN_END),
        )
        return int(rows[0]["n"])

    # --- API tokens (only their hashes) -----------------------------------------------------

    def add_token(self, name: str, token_hash: str, created_at: str) -> int:
        """Store an API token's hash under ``name``; return its id."""
        return self._insert(
            "INSERT INTO tokens(name, hash, created_at) VALUES (?, ?, ?)",
            (name, token_hash, created_at),
        )

    def tokens(self) -> list[dict[str, Any]]:
        """Return every token's id, name, creation and last use, by id."""
        rows = self.query("SELECT id, name, created_at, last_used_at FROM tokens ORDER BY id")
        return [dict(r) for r in rows]

    def token_id(self, token_hash: str) -> int | None:
        """Return the id of the token with this hash, or None."""
        rows = self.query("SELECT id FROM tokens WHERE hash=?", (token_hash,))
        return int(rows[0]["id"]) if rows else None

    def token_used(self, token_id: int, used_at: str) -> None:
        """Note when a token was last used."""
        with self.transaction() as db:
            db.execute("UPDATE tokens SET last_used_at=? WHERE id=?", (used_at, token_id))

    def delete_token(self, token_id: int) -> bool:
        """Delete a token; return whether there was one with that id."""
        with self.transaction() as db:
            return db.execute("DELETE FROM tokens WHERE id=?", (token_id,)).rowcount > 0

    def delete_tokens(self) -> int:
        """Delete every token; return how many there were."""
        with self.transaction() as db:
            return int(db.execute("DELETE FROM tokens").rowcount)
