"""SQLite rows for people: profiles, who each session was for, and journal entries.

The tables come from migration 3 in :mod:`hub.store.database`; every method is one transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type: the store's start-up check reads the people models
    from ..store.database import Store


class PeopleRecords:
    """Read and write the people tables of the hub's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- profiles -------------------------------------------------------------------------

    def profiles(self) -> list[dict[str, Any]]:
        """Every stored profile."""
        rows = self._store.query("SELECT data FROM profiles ORDER BY id")
        return [json.loads(r["data"]) for r in rows]

    def profile(self, profile_id: str) -> dict[str, Any] | None:
        """One profile, or None."""
        rows = self._store.query("SELECT data FROM profiles WHERE id=?", (profile_id,))
        return json.loads(rows[0]["data"]) if rows else None

    def put_profile(self, profile_id: str, data: dict[str, Any], now: str) -> None:
        """Insert or replace a profile."""
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO profiles(id, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
                (profile_id, json.dumps(data, sort_keys=True), now),
            )

    def delete_profile(self, profile_id: str) -> None:
        """Delete a profile and (by the foreign key) its journal entries."""
        with self._store.transaction() as db:
            db.execute("DELETE FROM profiles WHERE id=?", (profile_id,))

    # --- who a session was for ------------------------------------------------------------

    def link_session(self, session_id: int, people: list[tuple[str, str, str | None]]) -> None:
        """Record who the session is for: (profile id, name, pad or None) each."""
        with self._store.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO session_people(session_id, profile_id, name, pad) "
                "VALUES (?, ?, ?, ?)",
                [(session_id, pid, name, pad) for pid, name, pad in people],
            )

    def session_people(self, session_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Who each of ``session_ids`` was for."""
        out: dict[int, list[dict[str, Any]]] = {sid: [] for sid in session_ids}
        if not session_ids:
            return out
        marks = ",".join("?" * len(session_ids))
        rows = self._store.query(
            f"SELECT * FROM session_people WHERE session_id IN ({marks}) "
            "ORDER BY session_id, pad, name",
            tuple(session_ids),
        )
        for r in rows:
            out[r["session_id"]].append(
                {"profile": r["profile_id"], "name": r["name"], "pad": r["pad"]}
            )
        return out

    def session(self, session_id: int) -> dict[str, Any] | None:
        """One history row, or None."""
        rows = self._store.query("SELECT * FROM sessions WHERE id=?", (session_id,))
        return dict(rows[0]) if rows else None

    # --- the journal ----------------------------------------------------------------------

    def put_entry(self, entry: dict[str, Any]) -> int:
        """Insert an entry, or replace the same person's entry for the same moment."""
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO journal(session_id, profile_id, moment, stress, sleep, areas, note, "
                "created_at) VALUES (:session_id, :profile, :when, :stress, :sleep, :areas, "
                ":note, :created_at) ON CONFLICT(session_id, profile_id, moment) DO UPDATE SET "
                "stress=excluded.stress, sleep=excluded.sleep, areas=excluded.areas, "
                "note=excluded.note, created_at=excluded.created_at",
                {**entry, "areas": json.dumps(entry["areas"])},
            )
            row = db.execute(
                "SELECT id FROM journal WHERE session_id=? AND profile_id=? AND moment=?",
                (entry["session_id"], entry["profile"], entry["when"]),
            ).fetchone()
        return int(row["id"])

    def entries(
        self,
        profile: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 20_000,
    ) -> list[dict[str, Any]]:
        """Journal entries with their session's scene and start, oldest session first.

        At most ``limit``, the newest (years of sessions): a bound on every answer.
        """
        where, params = [], []
        if profile is not None:
            where.append("j.profile_id=?")
            params.append(profile)
        if since is not None:
            where.append("s.started_at>=?")
            params.append(since)
        if until is not None:
            where.append("s.started_at<?")
            params.append(until)
        sql = (
            "SELECT j.*, s.scene, s.scene_name, s.started_at FROM journal j "
            "JOIN sessions s ON s.id=j.session_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY s.started_at DESC, j.session_id DESC, j.profile_id DESC, j.id DESC LIMIT ?"
        )
        rows = self._store.query(sql, (*params, limit))[::-1]
        return [
            {
                "id": r["id"],
                "session_id": r["session_id"],
                "profile": r["profile_id"],
                "when": r["moment"],
                "stress": r["stress"],
                "sleep": r["sleep"],
                "areas": json.loads(r["areas"]),
                "note": r["note"],
                "created_at": r["created_at"],
                "scene": r["scene"],
                "scene_name": r["scene_name"],
                "session_started_at": r["started_at"],
            }
            for r in rows
        ]

    def entries_for(self, session_ids: list[int]) -> list[dict[str, Any]]:
        """The journal entries of ``session_ids`` (for the history)."""
        if not session_ids:
            return []
        marks = ",".join("?" * len(session_ids))
        rows = self._store.query(
            f"SELECT session_id, profile_id, moment, stress, sleep FROM journal "
            f"WHERE session_id IN ({marks})",
            tuple(session_ids),
        )
        return [dict(r) for r in rows]
