"""Backup and restore: the room's data in one versioned JSON file, to move to a new Pi.

What a backup holds is :data:`TABLES`, in this one place: user scenes, routines, profiles,
the journal, the history (sessions and who they were for, routine runs, guest actions) and
settings. Secrets (the password hash,
the cookie key, API token hashes) go in only when asked for. Never in a backup: cookie
logins, the first-run setup code, guest links (they are for one visit), and the heat
ledger (it belongs to this Pi's pads: a restore must never shorten a cool-down).

A restore checks the whole file first (format, version, every table, column, value,
scene and routine) and then replaces the data in one transaction under the hub lock, so a
bad, foreign or newer file changes nothing, and a running hub sees all of it or none.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import Conflict, InvalidCommand
from .facts import EventType

if TYPE_CHECKING:
    from .store import Store

FORMAT = "massage-hub-backup"
FORMAT_VERSION = 1
MAX_BYTES = 64 * 1024 * 1024  # a backup file larger than this is refused unread
MAX_ROWS = 200_000  # per table

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


def read_backup(raw: bytes | str) -> dict[str, Any]:
    """Parse a backup file's bytes; BackupError (in plain words) if it is not one."""
    if len(raw) > MAX_BYTES:
        raise BackupError(f"the file is larger than {MAX_BYTES // 2**20} MiB; not a backup")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BackupError(
            "this file is not a backup of this hub (the hub cannot read it); choose the file "
            "that Settings → Download backup made"
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
    _check_documents(out)
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
    return rows


def _check_documents(tables: dict[str, list[dict[str, Any]]]) -> None:
    """Every scene, routine and profile must be one this hub can read, every JSON value JSON."""
    from pydantic import ValidationError

    from .profiles import ProfileOut
    from .routine_records import Routine
    from .scenes import Scene

    for i, row in enumerate(tables.get("scenes", [])):
        try:
            doc = json.loads(row["data"])
            Scene.model_validate(doc)
        except (ValueError, TypeError, ValidationError) as exc:
            raise BackupError(
                f"tables.scenes.{i}: not a scene this hub can read ({exc})"[:300]
            ) from None
        if doc.get("id") != row["id"] or doc.get("builtin"):
            raise BackupError(f"tables.scenes.{i}: its id does not match its data")
    for i, row in enumerate(tables.get("routines", [])):
        try:
            Routine.from_doc(json.loads(row["data"]))
        except (ValueError, TypeError, KeyError, ValidationError) as exc:
            raise BackupError(
                f"tables.routines.{i}: not a routine this hub can read ({exc})"[:300]
            ) from None
    for i, row in enumerate(tables.get("profiles", [])):
        try:
            profile = ProfileOut.model_validate(json.loads(row["data"]))
        except (ValueError, TypeError, ValidationError) as exc:
            raise BackupError(
                f"tables.profiles.{i}: not a profile this hub can read ({exc})"[:300]
            ) from None
        if profile.id != row["id"]:
            raise BackupError(f"tables.profiles.{i}: its id does not match its data")
    for i, row in enumerate(tables.get("settings", [])):
        try:
            json.loads(row["value"])
        except (ValueError, TypeError):
            raise BackupError(f"tables.settings.{i}: its value is not JSON") from None


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
    """The hub's backup and restore commands (the attributes are the Hub's)."""

    store: Store

    def backup(self, *, secrets: bool = False) -> dict[str, Any]:
        """Return a backup of the room's data (secrets only when asked for)."""
        with self.lock:  # type: ignore[attr-defined]
            return make_backup(self.store, secrets=secrets, created_at=self.wall_iso())  # type: ignore[attr-defined]

    def restore(self, raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
        """Check a backup whole, then replace the data with it at once; 409 in a session."""
        doc = raw if isinstance(raw, dict) else read_backup(raw)
        if doc.get("format") != FORMAT:
            raise BackupError(
                "this file is not a backup of this hub; choose the file that Settings → "
                "Download backup made"
            )
        with self.lock:  # type: ignore[attr-defined]
            if self.sessions.current is not None:  # type: ignore[attr-defined]
                raise Conflict("a session is running; stop it, then restore")
            tables = check_backup(self.store, doc)
            try:
                counts = restore_tables(self.store, tables, bool(doc["secrets"]))
            except sqlite3.Error as exc:  # rolled back: nothing changed
                raise BackupError(f"the backup does not fit this hub's data ({exc})") from None
            routines = getattr(self, "routines", None)
            if routines is not None:
                routines.reload()
        self._emit(EventType.SCENES, {"action": "restored"})  # type: ignore[attr-defined]
        return {"ok": True, "restored": counts, "secrets": bool(doc["secrets"])}
