"""Backup and restore: the room's data in one versioned JSON file, to move to a new Pi.

What a backup holds is :data:`TABLES`, in this one place: user scenes, routines, profiles,
the journal, the history (sessions and who they were for, routine runs, guest actions) and
settings. Secrets (the password hash,
the cookie key, API token hashes) go in only when asked for. Never in a backup: cookie
logins, the first-run setup code, guest links (they are for one visit), and the heat
ledger (it belongs to this Pi's pads: a restore must never shorten a cool-down).

A restore measures the file before it parses it (size, nesting, number of values), checks
it whole (format, version, every table, column and row, with the same models and bounds as
the API: :mod:`hub.backup.row_checks`), and then replaces the data in one transaction under the hub
lock, so a bad, foreign or newer file changes nothing, and a running hub sees all of it or
none. A file that carries the password and API tokens replaces them only when that is
confirmed on its own (``replace_secrets``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..engine.event_types import ScenesChanged
from ..errors import Conflict, InvalidCommand
from ..store.guest_records import prune_guest_actions
from .row_checks import BadRow, bounded_json, check_row

if TYPE_CHECKING:
    from ..context import Context
    from ..routines.controller import RoutineController
    from ..store.database import Store

FORMAT = "massage-hub-backup"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # a backup file larger than this is refused unread
MAX_ROWS = 200_000  # per table
MAX_DEPTH = 8  # a backup is document -> tables -> rows -> row -> value; JSON columns are text
MAX_VALUES = 4_000_000  # ``massage-hub restore``: the owner's own file, on the box
# a restore sent over the network: what the web server takes must fit a 512 MB Pi's memory
# (each parsed value costs tens of bytes; 15 MB of "[]," would otherwise cost 385 MB)
MAX_WEB_VALUES = 400_000

SECRET_SETTINGS = ("web.password_hash", "web.secret_key")
NEVER_SETTINGS = ("web.setup_code",)
NEVER_PREFIXES = ("web.session.",)  # cookie logins: they end with the move


@dataclass(frozen=True)
class TableSpec:
    """One table a backup holds: ``since`` the schema version that made it; ``secret``."""

    name: str
    since: int = 1
    secret: bool = False


# everything a backup holds, in an order that keeps every reference whole on restore
TABLES: list[TableSpec] = [
    TableSpec("scenes"),
    TableSpec("routines"),
    TableSpec("sessions"),
    TableSpec("session_energy", since=6),
    TableSpec("profiles", since=3),
    TableSpec("session_people", since=3),
    TableSpec("journal", since=3),
    TableSpec("routine_runs"),
    TableSpec("settings"),
    TableSpec("guest_actions", since=4),
    TableSpec("tokens", secret=True),
]


class BackupError(InvalidCommand):
    """A backup file that cannot be restored; nothing was changed."""

    code = "bad_backup"


class SecretsNotConfirmed(InvalidCommand):
    """A backup that would replace the password and tokens, sent without confirming that."""

    code = "replace_secrets_not_confirmed"


SECRETS_WORDS = (
    "this backup holds a password and API tokens: restoring it replaces this hub's password "
    "and every API token, and ends every login"
)


def _columns(store: Store, table: str) -> list[str]:
    return [str(r["name"]) for r in store.query(f"PRAGMA table_info({table})")]


def _setting_kept(key: str, secrets: bool) -> bool:
    if key in NEVER_SETTINGS or key.startswith(NEVER_PREFIXES):
        return False
    return secrets or key not in SECRET_SETTINGS


def make_backup(store: Store, *, secrets: bool = False, created_at: str = "") -> dict[str, Any]:
    """Return the backup document of ``store`` (secrets only with ``secrets``)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with store.transaction():  # one consistent picture, even with the service writing
        for spec in TABLES:
            if spec.secret and not secrets:
                continue
            rows = [dict(r) for r in store.query(f"SELECT * FROM {spec.name} ORDER BY rowid")]
            if spec.name == "settings":
                rows = [r for r in rows if _setting_kept(str(r["key"]), secrets)]
            tables[spec.name] = rows
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "made_by": f"massage-hub {__version__}",
        "created_at": created_at,
        "schema": store.version,
        "secrets": secrets,
        "tables": tables,
    }


def write_backup(doc: dict[str, Any], path: Path) -> None:
    """Write a backup document to ``path`` (a temporary file first, then renamed)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(doc, out, ensure_ascii=False, indent=1)
        out.write("\n")
    tmp.replace(path)


def read_backup(raw: bytes | str, *, values: int = MAX_VALUES) -> dict[str, Any]:
    """Parse a backup file's bytes, measured first; BackupError (in plain words) if it is not one."""
    if len(raw) > MAX_BYTES:
        raise BackupError(f"the file is larger than {MAX_BYTES // 2**20} MiB; not a backup")
    try:
        doc = bounded_json(raw, "the file", size=MAX_BYTES, depth=MAX_DEPTH, elements=values)
    except BadRow as exc:
        if exc.message.endswith("not JSON"):
            raise BackupError(
                "this file is not a backup of this hub (the hub cannot read it); choose the file "
                "that Settings → Download backup made"
            ) from None
        raise BackupError(
            f"this file cannot be restored from the page ({exc.message}); choose the file "
            "that Settings → Download backup made, or restore a very large one on the hub itself"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BackupError(
            "this file is not a backup of this hub; choose the file that Settings → "
            "Download backup made"
        )
    return doc


def check_backup(store: Store, doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Check every part of a backup against this hub; return the tables to restore."""
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BackupError("version: the backup's format version is missing or not a number")
    if version > FORMAT_VERSION:
        raise BackupError(
            f"this backup was made by a newer massage-hub (format {version}, this one reads "
            f"up to {FORMAT_VERSION}); upgrade massage-hub first"
        )
    schema = doc.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise BackupError("schema: the backup's schema version is missing or not a number")
    if schema > store.version:
        raise BackupError(
            f"this backup was made by a newer massage-hub (data schema {schema}, this one "
            f"has {store.version}); upgrade massage-hub first"
        )
    secrets = doc.get("secrets")
    if not isinstance(secrets, bool):
        raise BackupError("secrets: must be true or false")
    tables = doc.get("tables")
    if not isinstance(tables, dict):
        raise BackupError("tables: missing, or not a mapping of tables")
    known = {s.name: s for s in TABLES}
    for name in tables:
        if name not in known:
            raise BackupError(f"tables.{str(name)[:40]}: not something a backup holds")
    out: dict[str, list[dict[str, Any]]] = {}
    for spec in TABLES:
        if spec.secret and not secrets:
            if spec.name in tables:
                raise BackupError(f"tables.{spec.name}: secrets in a backup marked without them")
            continue
        if spec.name not in tables:
            if spec.since > schema:
                out[spec.name] = []  # an older backup: that table did not exist yet
                continue
            raise BackupError(f"tables.{spec.name}: missing; the backup is incomplete")
        out[spec.name] = _check_rows(store, spec.name, tables[spec.name], secrets)
    return out


def _check_rows(store: Store, table: str, rows: Any, secrets: bool) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise BackupError(f"tables.{table}: must be a list of rows")
    if len(rows) > MAX_ROWS:
        raise BackupError(f"tables.{table}: more than {MAX_ROWS} rows")
    columns = set(_columns(store, table))
    for i, row in enumerate(rows):
        where = f"tables.{table}.{i}"
        if not isinstance(row, dict):
            raise BackupError(f"{where}: must be a mapping of columns")
        if set(row) != columns:
            odd = sorted(set(row) ^ columns)
            raise BackupError(f"{where}: columns do not match this hub's ({', '.join(odd)[:120]})")
        for key, value in row.items():
            if value is not None and not isinstance(value, str | int | float):
                raise BackupError(f"{where}.{key}: must be text, a number or null")
            if isinstance(value, bool):
                raise BackupError(f"{where}.{key}: must be text, a number or null")
        if table == "settings" and not _setting_kept(str(row["key"]), secrets):
            raise BackupError(f"{where}: the setting {str(row['key'])[:60]!r} is not restored")
        try:
            check_row(table, row)
        except BadRow as exc:
            raise BackupError(f"{where}: {exc.message}"[:400]) from None
    return rows


def restore_tables(
    store: Store, tables: dict[str, list[dict[str, Any]]], secrets: bool
) -> dict[str, int]:
    """Replace the data with checked ``tables`` in one transaction; return rows per table."""
    counts = {}
    with store.transaction() as db:
        for name, rows in tables.items():
            if name == "settings":
                keep = [
                    r["key"]
                    for r in db.execute("SELECT key FROM settings").fetchall()
                    if not _setting_kept(str(r["key"]), secrets)
                ]
                marks = ",".join("?" * len(keep))
                db.execute(f"DELETE FROM settings WHERE key NOT IN ({marks})", keep)
                if secrets:  # a restored password: every login ends
                    db.execute(
                        "DELETE FROM settings WHERE key >= 'web.session.' AND key < 'web.session/'"
                    )
            else:
                db.execute(f"DELETE FROM {name}")
            for row in rows:
                cols = list(row)
                db.execute(
                    f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    tuple(row[c] for c in cols),
                )
            counts[name] = len(rows)
        prune_guest_actions(db)  # the same bounds as every write (an older hub's file)
    return counts


def restore_store(store: Store, raw: bytes | str) -> dict[str, int]:
    """Check a backup file whole, then restore it into ``store`` (no hub: the CLI)."""
    doc = read_backup(raw)
    tables = check_backup(store, doc)
    try:
        return restore_tables(store, tables, bool(doc["secrets"]))
    except sqlite3.Error as exc:  # rolled back: nothing changed
        raise BackupError(f"the backup does not fit this hub's data ({exc})") from None


class BackupCommands:
    """Back the room's data up, and restore a backup, under the hub lock."""

    def __init__(self, ctx: Context, routines: Callable[[], RoutineController | None]) -> None:
        self._ctx = ctx
        self._routines = routines  # set after the hub is built (Hub.use_routines)

    def make(self, *, secrets: bool = False) -> dict[str, Any]:
        """Return a backup of the room's data (secrets only when asked for)."""
        c = self._ctx
        with c.lock:
            return make_backup(c.store, secrets=secrets, created_at=c.wall_iso())

    def restore(
        self, raw: bytes | str | dict[str, Any], *, replace_secrets: bool = False
    ) -> dict[str, Any]:
        """Check a backup whole, then replace the data with it at once; 409 in a session.

        A backup with the password and tokens needs ``replace_secrets`` (its own "yes").
        """
        c = self._ctx
        doc = raw if isinstance(raw, dict) else read_backup(raw, values=MAX_WEB_VALUES)
        if doc.get("format") != FORMAT:
            raise BackupError(
                "this file is not a backup of this hub; choose the file that Settings → "
                "Download backup made"
            )
        # checked before the hub lock: a large file takes seconds, the room must not wait
        tables = check_backup(c.store, doc)
        if doc["secrets"] and replace_secrets is not True:
            raise SecretsNotConfirmed(
                f"{SECRETS_WORDS}; nothing was changed. To restore it, confirm that on its own "
                "(replace_secrets: true; in Settings, tick 'Also replace the password and API "
                "tokens'), or restore a backup made without them"
            )
        with c.lock:
            if c.sessions.current is not None:
                raise Conflict("a session is running; stop it, then restore")
            try:
                counts = restore_tables(c.store, tables, bool(doc["secrets"]))
            except sqlite3.Error as exc:  # rolled back: nothing changed
                raise BackupError(f"the backup does not fit this hub's data ({exc})") from None
            routines = self._routines()
            if routines is not None:
                routines.reload()
            c.table.reload()  # who the restored file says
            c.devices.hold_to_limits(c.clock.monotonic())
        # outside the hub lock: it reads every table; the rows were checked, this keeps the
        # problems list true (the rows set aside before the restore are still kept)
        c.store.recheck()
        c.emit(ScenesChanged(action="restored"))
        return {"ok": True, "restored": counts, "secrets": bool(doc["secrets"])}
