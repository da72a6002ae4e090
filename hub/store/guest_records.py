"""The store's records of visiting therapists: guest links (only their tokens' hashes) and
what was done through them.

:class:`~hub.store.database.Store` inherits these; they share its connection, lock and transactions.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Any

MAX_GUESTS_KEPT = 200  # the oldest ended links are forgotten beyond this (their actions stay)
MAX_ACTIONS_KEPT = 20_000  # the oldest guest actions are forgotten beyond this, in all
MAX_ACTIONS_PER_LINK = 2_000  # and beyond this per link: one busy link cannot push out the rest


def prune_guest_actions(db: sqlite3.Connection, guest_id: int | None = None) -> None:
    """Forget the oldest guest actions beyond the bounds (of one link, or of every link)."""
    if guest_id is None:
        ids = [
            int(r[0])
            for r in db.execute(
                "SELECT guest_id FROM guest_actions GROUP BY guest_id HAVING COUNT(*) > ?",
                (MAX_ACTIONS_PER_LINK,),
            ).fetchall()
        ]
    else:
        ids = [guest_id]
    for gid in ids:
        db.execute(
            "DELETE FROM guest_actions WHERE guest_id=? AND id <= (SELECT id FROM guest_actions "
            "WHERE guest_id=? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (gid, gid, MAX_ACTIONS_PER_LINK),
        )
    db.execute(
        "DELETE FROM guest_actions WHERE id <= "
        "(SELECT id FROM guest_actions ORDER BY id DESC LIMIT 1 OFFSET ?)",
        (MAX_ACTIONS_KEPT,),
    )


class GuestRecords:
    """Guest links and their actions (the Store's methods)."""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # the Store's

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # the Store's

    def add_guest(
        self, name: str, token_hash: str, profiles: list[Any], created_at: str, expires_at: float
    ) -> int:
        """Store a guest link by its token's hash; return its id."""
        with self.transaction() as db:
            guest_id = int(
                db.execute(
                    "INSERT INTO guests(name, token_hash, profiles, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, token_hash, json.dumps(profiles), created_at, expires_at),
                ).lastrowid
                or 0
            )
            db.execute(
                "DELETE FROM guests WHERE id IN (SELECT id FROM guests WHERE ended_at IS NOT NULL "
                "ORDER BY id DESC LIMIT -1 OFFSET ?)",
                (MAX_GUESTS_KEPT,),
            )
        return guest_id

    @staticmethod
    def _guest(row: sqlite3.Row) -> dict[str, Any]:
        out = dict(row)
        out.pop("token_hash", None)
        out["profiles"] = json.loads(out["profiles"])
        return out

    def guests(self) -> list[dict[str, Any]]:
        """Return every guest link, newest first (never its token)."""
        return [self._guest(r) for r in self.query("SELECT * FROM guests ORDER BY id DESC")]

    def guest_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        """Return the guest link with this token hash, or None."""
        rows = self.query("SELECT * FROM guests WHERE token_hash=?", (token_hash,))
        return self._guest(rows[0]) if rows else None

    def end_guest(self, guest_id: int, ended_at: str) -> bool:
        """End a guest link now; return whether it existed and was still open."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE guests SET ended_at=? WHERE id=? AND ended_at IS NULL", (ended_at, guest_id)
            )
            return cur.rowcount > 0

    def guest_exists(self, guest_id: int) -> bool:
        """Return whether there is a guest link with this id."""
        return bool(self.query("SELECT 1 FROM guests WHERE id=?", (guest_id,)))

    def add_guest_action(
        self, guest_id: int, name: str, at: str, action: str, session_id: int | None
    ) -> int:
        """Log one action taken through a guest link; return its id."""
        with self.transaction() as db:
            action_id = int(
                db.execute(
                    "INSERT INTO guest_actions(guest_id, guest_name, at, action, session_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (guest_id, name, at, action, session_id),
                ).lastrowid
                or 0
            )
            prune_guest_actions(db, guest_id)
        return action_id

    def guest_actions(
        self, *, session_ids: list[int] | None = None, guest_id: int | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Return logged guest actions, oldest first: of some sessions, or of one guest."""
        if session_ids is not None:
            if not session_ids:
                return []
            marks = ",".join("?" * len(session_ids))
            rows = self.query(
                f"SELECT * FROM guest_actions WHERE session_id IN ({marks}) ORDER BY id LIMIT ?",
                (*session_ids, limit),
            )
        elif guest_id is not None:
            rows = self.query(
                "SELECT * FROM guest_actions WHERE guest_id=? ORDER BY id DESC LIMIT ?",
                (guest_id, limit),
            )
            rows = list(reversed(rows))
        else:
            rows = self.query("SELECT * FROM guest_actions ORDER BY id DESC LIMIT ?", (limit,))
            rows = list(reversed(rows))
        return [dict(r) for r in rows]
