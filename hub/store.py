"""SQLite storage in ``data_dir``: scenes, routines, history, settings, tokens, heat ledger.

WAL journal, full sync, one writer at a time; the schema is versioned by
``PRAGMA user_version`` and upgraded by the migrations below, in order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DB_FILE = "massage-hub.sqlite3"

# settings keys of the web logins (see the Store's "web logins" methods)
PASSWORD_KEY = "web.password_hash"
SETUP_CODE_KEY = "web.setup_code"
LOGIN_PREFIX = "web.session."
LOGIN_END = "web.session/"  # "/" follows ".": every login key sorts in between

MIGRATIONS: list[str] = [
    # 1: the foundation
    """
    CREATE TABLE scenes (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scene TEXT NOT NULL,
        scene_name TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'api',
        started_at TEXT NOT NULL,
        planned_minutes REAL NOT NULL,
        actual_minutes REAL,
        ended_at TEXT,
        end_reason TEXT
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used_at TEXT
    );
    CREATE TABLE routines (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE routine_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        routine_id TEXT NOT NULL,
        planned_at TEXT,
        ran_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT
    );
    """,
    # 2: the heat ledger: each pad's on-time record, written before its relay closes
    """
    CREATE TABLE heat_ledger (
        pad TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
]


class Store:
    """The hub's database; every method is a complete transaction."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # well under the watchdog limit: a write waiting on another process must not stall the loop
        self._db.execute("PRAGMA busy_timeout=1500")
        self.migrate()

    @property
    def version(self) -> int:
        """The schema version."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every migration newer than the file's schema version."""
        with self._lock:
            current = self.version
            if current > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path} was written by a newer massage-hub (schema {current}); "
                    "upgrade massage-hub"
                )
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                with self.transaction() as db:
                    for statement in filter(str.strip, script.split(";")):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run a read-only query."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _insert(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run one INSERT as a transaction; return the new row's id."""
        with self.transaction() as db:
            return int(db.execute(sql, params).lastrowid or 0)

    def health(self, timeout: float = 1.0) -> dict[str, Any]:
        """The store's health: it answers a trivial query within ``timeout`` seconds."""
        if not self._lock.acquire(timeout=timeout):
            return {"ok": False, "why": "busy"}
        try:
            ok = self._db.execute("SELECT 1").fetchone()[0] == 1
        except Exception as exc:  # noqa: BLE001 - any failure means "not up"
            return {"ok": False, "why": str(exc)}
        finally:
            self._lock.release()
        return {"ok": bool(ok)}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # --- documents (scenes, routines) ---------------------------------------------------

    def list_docs(self, table: str) -> list[dict[str, Any]]:
        """Return every JSON document in ``table`` (``scenes`` or ``routines``)."""
        assert table in ("scenes", "routines")
        rows = self.query(f"SELECT data FROM {table} ORDER BY id")
        return [json.loads(r["data"]) for r in rows]

    def put_doc(self, table: str, doc_id: str, data: dict[str, Any], now: str) -> None:
        """Insert or replace one document."""
        assert table in ("scenes", "routines")
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO {table}(id, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
                (doc_id, json.dumps(data, sort_keys=True), now),
            )

    def delete_doc(self, table: str, doc_id: str) -> bool:
        """Delete one document; return whether it existed."""
        assert table in ("scenes", "routines")
        with self.transaction() as db:
            return db.execute(f"DELETE FROM {table} WHERE id=?", (doc_id,)).rowcount > 0

    # --- session history ------------------------------------------------------------------

    def session_started(
        self, scene: str, scene_name: str, planned: float, started_at: str, source: str
    ) -> int:
        """Record a session's start; return its history id."""
        return self._insert(
            "INSERT INTO sessions(scene, scene_name, source, started_at, planned_minutes) "
            "VALUES (?, ?, ?, ?, ?)",
            (scene, scene_name, source, started_at, planned),
        )

    def session_planned(self, session_id: int, planned: float) -> None:
        """Update a running session's planned minutes (after an extend)."""
        with self.transaction() as db:
            db.execute("UPDATE sessions SET planned_minutes=? WHERE id=?", (planned, session_id))

    def session_ended(self, session_id: int, actual: float, ended_at: str, reason: str) -> None:
        """Record how a session ended."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sessions SET actual_minutes=?, ended_at=?, end_reason=? WHERE id=?",
                (round(actual, 2), ended_at, reason, session_id),
            )

    def mark_interrupted(self, ended_at: str) -> list[dict[str, Any]]:
        """Mark sessions that never ended (the service died) as interrupted; return them."""
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM sessions WHERE end_reason IS NULL").fetchall()
            db.execute(
                "UPDATE sessions SET end_reason='interrupted', ended_at=? WHERE end_reason IS NULL",
                (ended_at,),
            )
        return [dict(r) for r in rows]

    def history(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Return past sessions, newest first."""
        rows = self.query(
            "SELECT * FROM sessions ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        )
        return [dict(r) for r in rows]

    # --- routine runs -----------------------------------------------------------------------

    def routine_run(
        self, routine_id: str, planned_at: str | None, ran_at: str, outcome: str, detail: str = ""
    ) -> int:
        """Log one routine run (ran, skipped, missed, failed); return its id."""
        return self._insert(
            "INSERT INTO routine_runs(routine_id, planned_at, ran_at, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (routine_id, planned_at, ran_at, outcome, detail),
        )

    def routine_runs(self, routine_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return logged routine runs, newest first (of one routine, or of all)."""
        if routine_id is None:
            rows = self.query("SELECT * FROM routine_runs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self.query(
                "SELECT * FROM routine_runs WHERE routine_id=? ORDER BY id DESC LIMIT ?",
                (routine_id, limit),
            )
        return [dict(r) for r in rows]

    # --- settings ---------------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """Return a stored setting (JSON value) or ``default``."""
        rows = self.query("SELECT value FROM settings WHERE key=?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting (any JSON value)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value)),
            )

    # --- the heat ledger --------------------------------------------------------------------

    def load_heat_ledger(self) -> dict[str, dict[str, Any]]:
        """Return each pad's last heat record (unreadable rows come back as empty dicts)."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.query("SELECT pad, data FROM heat_ledger"):
            try:
                data = json.loads(row["data"])
            except ValueError:
                data = {}
            out[row["pad"]] = data if isinstance(data, dict) else {}
        return out

    def save_heat_ledger(self, pad_id: str, record: dict[str, Any]) -> None:
        """Store a pad's heat record (durably: the relay waits for this)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO heat_ledger(pad, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(pad) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
                (pad_id, json.dumps(record, sort_keys=True), float(record.get("wall", 0.0))),
            )

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
