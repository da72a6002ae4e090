"""Set aside stored rows that no reader can use, so nothing in the data stops the hub.

When the store opens (and after a restore) every row of every table a reader trusts is
checked with :mod:`hub.backup.row_checks`. A bad row (a routine planned for the year 9999, a
journal entry whose areas are not JSON, a session that started at "not-a-date") is moved,
whole, into the ``set_aside`` table: kept, never read back, and shown as a problem in
plain words (``GET /api/v1/state`` and ``/healthz``: ``problems``; Settings). A failure of
the check itself is logged and shown the same way; it never stops the start.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .row_checks import CHECKS, NOUNS, BadRow, check_row

if TYPE_CHECKING:
    from ..store.database import Store

log = logging.getLogger(__name__)

# rows that go with a bad row (their foreign key would delete them unseen): (table, column)
DEPENDENTS = {
    "sessions": (
        ("session_people", "session_id"),
        ("journal", "session_id"),
        ("session_energy", "session_id"),
    ),
    "profiles": (("journal", "profile_id"),),
}
KEYS = {"sessions": "id", "profiles": "id"}  # the column the dependents refer to


def _bad_rows(store: Store, table: str) -> list[tuple[int, dict[str, Any], str]]:
    bad = []
    for r in store.query(f"SELECT rowid AS set_aside_rowid, * FROM {table}"):
        row = dict(r)
        rowid = row.pop("set_aside_rowid")
        try:
            check_row(table, row)
        except BadRow as exc:
            bad.append((rowid, row, exc.message))
    return bad


def _move(db: Any, table: str, rowid: int, row: dict[str, Any], why: str, at: str) -> None:
    db.execute(
        "INSERT INTO set_aside(source, row, why, at) VALUES (?, ?, ?, ?)",
        (table, json.dumps(row, default=repr, ensure_ascii=False), why[:300], at),
    )
    db.execute(f"DELETE FROM {table} WHERE rowid=?", (rowid,))


def set_aside_bad_rows(store: Store) -> list[dict[str, Any]]:
    """Move every unreadable row into ``set_aside``; return the problems, in plain words."""
    extra: list[dict[str, Any]] = []
    try:
        found = {table: _bad_rows(store, table) for table in CHECKS}
        if any(found.values()):
            at = datetime.now(UTC).isoformat(timespec="seconds")
            with store.transaction() as db:
                for table, rows in found.items():
                    for rowid, row, why in rows:
                        log.error("set aside a %s row: %s (%s)", table, why, row)
                        for dep, col in DEPENDENTS.get(table, ()):
                            why_dep = f"its {NOUNS[table][0]} was set aside"
                            for d in db.execute(
                                f"SELECT rowid AS r, * FROM {dep} WHERE {col}=?",
                                (row.get(KEYS[table]),),
                            ).fetchall():
                                drow = dict(d)
                                _move(db, dep, drow.pop("r"), drow, why_dep, at)
                        _move(db, table, rowid, row, why, at)
    except Exception as exc:  # noqa: BLE001 - checking the data must never stop the hub
        log.exception("could not check the stored data")
        extra.append(
            {
                "source": "store",
                "count": 0,
                "message": f"The stored data could not be checked at start ({exc}).",
            }
        )
    return extra + problems(store)


def problems(store: Store) -> list[dict[str, Any]]:
    """The rows set aside so far, per table, in plain words."""
    try:
        rows = store.query(
            "SELECT source, COUNT(*) AS n, MIN(why) AS why FROM set_aside "
            "GROUP BY source ORDER BY source"
        )
    except Exception:  # noqa: BLE001 - an unreadable store is reported by its own health
        log.exception("could not read the rows set aside")
        return []
    out = []
    for r in rows:
        n, source = int(r["n"]), str(r["source"])
        one, many = NOUNS.get(source, (f"{source} row", f"{source} rows"))
        out.append(
            {
                "source": source,
                "count": n,
                "message": (
                    f"{n} {one if n == 1 else many} could not be read and "
                    f"{'was' if n == 1 else 'were'} set aside ({r['why']}). "
                    "The hub runs without them; they are kept in the database."
                ),
            }
        )
    return out
