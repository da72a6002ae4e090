"""SQLite storage in ``data_dir``: scenes, routines, history, settings, tokens, heat ledger, guests.

Profiles and the journal keep their own SQL in :mod:`hub.people.records`.

WAL journal, full sync, one writer at a time; the schema is versioned by
``PRAGMA user_version`` and upgraded by the migrations below, in order.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StorageUnavailable
from .access_records import AccessRecords
from .guest_records import GuestRecords

log = logging.getLogger(__name__)

DB_FILE = "massage-hub.sqlite3"
#: how long one write waits for another program's lock on the file (ms): the hub lock may be
#: held meanwhile, so it stays short; records that can wait are retried by hub.recorder
BUSY_MS = 500
#: how long a write waits for another write of ours in flight before it gives up (s)
WAIT_FOR_WRITER = 1.0
#: after a write failed, commands fail at once for this long (s), not one wait each
FAIL_FAST_SECONDS = 2.0

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
    # 3: people: profiles, who each session was for (a name kept if the profile goes), journal
    """
    CREATE TABLE profiles (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE session_people (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        profile_id TEXT NOT NULL,
        name TEXT NOT NULL,
        pad TEXT,
        PRIMARY KEY (session_id, profile_id)
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
        moment TEXT NOT NULL,
        stress INTEGER,
        sleep INTEGER,
        areas TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        UNIQUE (session_id, profile_id, moment)
    );
    CREATE INDEX journal_by_profile ON journal(profile_id, created_at);
    """,
    # 4: guests: a visiting therapist's time-limited link (only its token's hash), and
    # what was done through it
    """
    CREATE TABLE guests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        profiles TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        expires_at REAL NOT NULL,
        ended_at TEXT
    );
    CREATE TABLE guest_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guest_id INTEGER NOT NULL,
        guest_name TEXT NOT NULL,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        session_id INTEGER
    );
    """,
    # 5: rows found unreadable when the store opened, kept (never read back) and shown as a
    # problem: nothing in the data can stop the hub from starting (hub/backup/set_aside.py)
    """
    CREATE TABLE set_aside (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        row TEXT NOT NULL,
        why TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX guest_actions_by_guest ON guest_actions(guest_id, id);
    """,
    # 6: energy: each session's kWh (and its cost at the price then), and the room's lifetime
    # total (one row, saved about once a minute; this hub's meter, never in a backup)
    """
    CREATE TABLE session_energy (
        session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        kwh REAL NOT NULL,
        cost REAL,
        currency TEXT
    );
    CREATE TABLE energy_meter (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        total_kwh REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
]


#: SQLite's primary result codes for a file it cannot write: PERM, BUSY, LOCKED, READONLY,
#: IOERR, CORRUPT, FULL, CANTOPEN, NOTADB (not bad SQL, not a constraint)
DISK_CODES = frozenset({3, 5, 6, 8, 10, 11, 13, 14, 26})


def _disk_error(exc: BaseException) -> bool:
    """True for SQLite failing to write (locked, full, read-only, broken), not for bad SQL."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None and code & 0xFF in DISK_CODES


class Store(AccessRecords, GuestRecords):
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
        self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        self._down_until = 0.0  # monotonic: until then writes fail at once (the last one failed)
        self._down_why = ""
        self.migrate()
        self._prune()
        from ..backup.set_aside import set_aside_bad_rows  # it reads the tables through this store

        self._problems = set_aside_bad_rows(self)

    def _prune(self) -> None:
        """Hold the bounded tables to their bounds (a file an older hub wrote may be over)."""
        from .guest_records import MAX_ACTIONS_PER_LINK, prune_guest_actions

        try:
            # a write only when one may be over: a read-only disk is not tried at every start
            if self.query("SELECT COUNT(*) FROM guest_actions")[0][0] <= MAX_ACTIONS_PER_LINK:
                return
            with self.transaction() as db:
                prune_guest_actions(db)
        except (sqlite3.Error, StorageUnavailable):  # the bound waits for the next write
            log.exception("could not prune the guest actions")

    def problems(self) -> list[dict[str, Any]]:
        """What was found wrong in the data (rows set aside), in plain words."""
        return list(self._problems)

    def recheck(self) -> None:
        """Check every row again (after a restore) and set aside what no reader can use."""
        from ..backup.set_aside import set_aside_bad_rows

        self._problems = set_aside_bad_rows(self)

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

    @property
    def writable(self) -> bool:
        """False while writes fail at once, after one could not be made."""
        return time.monotonic() >= self._down_until

    @contextmanager
    def transaction(self, *, retry: bool = False) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction; raise StorageUnavailable, in words, if it
        cannot be made (another program holds the file, the disk is full or read-only).

        The wait is bounded (:data:`BUSY_MS`); after a failure, writes fail at once for
        :data:`FAIL_FAST_SECONDS` unless ``retry`` (the recorder trying again).
        """
        if not retry and time.monotonic() < self._down_until:
            raise StorageUnavailable(self._words(self._down_why))
        if not self._lock.acquire(timeout=WAIT_FOR_WRITER):
            raise StorageUnavailable(self._words("busy"))
        try:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if _disk_error(exc):
                    raise self._failed(exc) from None
                raise
            try:
                yield self._db
            except BaseException as exc:
                self._rollback()
                if _disk_error(exc):
                    raise self._failed(exc) from None
                raise
            else:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    if _disk_error(exc):
                        raise self._failed(exc) from None
                    raise
            self._down_until = 0.0
        finally:
            self._lock.release()

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # nothing was begun, or SQLite rolled back by itself

    def _failed(self, exc: Exception) -> StorageUnavailable:
        why = str(exc)
        self._down_until = time.monotonic() + FAIL_FAST_SECONDS
        self._down_why = why
        log.warning("the database cannot be written now: %s", why)
        return StorageUnavailable(self._words(why))

    @staticmethod
    def _words(why: str) -> str:
        low = why.lower()
        if "full" in low:
            cause = "the disk is full"
        elif "readonly" in low or "read-only" in low:
            cause = "the data folder is read-only"
        elif "locked" in low or "busy" in low:
            cause = "another program is using its database"
        else:
            cause = "its database cannot be written"
        return f"the hub cannot save this now: {cause}; try again in a moment"

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

    def session_ended(
        self,
        session_id: int,
        actual: float,
        ended_at: str,
        reason: str,
        energy: dict[str, Any] | None = None,
    ) -> None:
        """Record how a session ended, with its energy (``kwh``, ``cost``, ``currency``) if
        the room counts it."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sessions SET actual_minutes=?, ended_at=?, end_reason=? WHERE id=?",
                (round(actual, 2), ended_at, reason, session_id),
            )
            if energy is not None:
                db.execute(
                    "INSERT INTO session_energy(session_id, kwh, cost, currency) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
                    "kwh=excluded.kwh, cost=excluded.cost, currency=excluded.currency",
                    (session_id, energy["kwh"], energy.get("cost"), energy.get("currency")),
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
        """Return past sessions, newest first, each with its energy (null where not counted)."""
        rows = self.query(
            "SELECT s.*, e.kwh AS energy_kwh, e.cost AS energy_cost, "
            "e.currency AS energy_currency FROM sessions s "
            "LEFT JOIN session_energy e ON e.session_id = s.id "
            "ORDER BY s.id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [dict(r) for r in rows]

    # --- the room's energy meter -----------------------------------------------------------

    def energy_total(self) -> float:
        """Return the room's lifetime energy in kWh as last saved (0 if never, or unreadable)."""
        rows = self.query("SELECT total_kwh FROM energy_meter WHERE id=1")
        if not rows:
            return 0.0
        value = rows[0]["total_kwh"]
        ok = isinstance(value, int | float) and value == value and 0 <= value < 1e9
        if not ok:
            log.warning("the stored energy total %r is not a number of kWh; counting from 0", value)
            return 0.0
        return float(value)

    def save_energy_total(self, kwh: float) -> None:
        """Store the room's lifetime energy in kWh (never lower than what is stored)."""
        with self.transaction() as db:
            # max(): a late write of an older figure never takes the meter backwards
            db.execute(
                "INSERT INTO energy_meter(id, total_kwh, updated_at) VALUES (1, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET "
                "total_kwh=max(total_kwh, excluded.total_kwh), updated_at=excluded.updated_at",
                (float(kwh), time.time()),
            )

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

    def save_heat_ledger(
        self, pad_id: str, record: dict[str, Any], still: Callable[[], bool] | None = None
    ) -> None:
        """Store a pad's heat record durably (if ``still()`` holds, checked under the lock)."""
        with self.transaction() as db:
            if still is not None and not still():
                return  # a newer record of this pad was written meanwhile
            db.execute(
                "INSERT INTO heat_ledger(pad, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(pad) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
                (pad_id, json.dumps(record, sort_keys=True), float(record.get("wall", 0.0))),
            )
