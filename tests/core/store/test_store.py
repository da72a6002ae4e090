"""SQLite store: versioned migrations, WAL, documents, and sessions a crash interrupted."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import Config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.errors import NotFound
from hub.store import database as store_module
from hub.store.database import DB_FILE, MIGRATIONS, Store


def test_a_new_store_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    try:
        assert store.version == len(MIGRATIONS) >= 1
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
        tables = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"scenes", "sessions", "settings", "tokens", "routines"} <= tables
    finally:
        store.close()
    # another connection sees the same version and the WAL mode persists in the file
    db = sqlite3.connect(tmp_path / "data" / DB_FILE)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_reopening_keeps_data_and_runs_only_new_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.set_setting("theme", {"dark": True})
    store.close()
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, extra])
    store = Store(tmp_path)
    try:
        assert store.version == len(MIGRATIONS) + 1
        assert store.get_setting("theme") == {"dark": True}
        assert store.query("SELECT count(*) FROM notes")[0][0] == 0
    finally:
        store.close()
    store = Store(tmp_path)  # nothing left to run: opening again is a no-op
    store.close()


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(tmp_path).close()
    broken = "CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1)"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
        Store(tmp_path)
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    store = Store(tmp_path)
    try:
        assert store.version == len(MIGRATIONS)
        names = {r[0] for r in store.query("SELECT name FROM sqlite_master")}
        assert "half" not in names
    finally:
        store.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_FILE)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 5}")
    db.close()
    with pytest.raises(RuntimeError, match="written by a newer massage-hub"):
        Store(tmp_path)


def test_documents_and_settings(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        store.put_doc("scenes", "b", {"id": "b", "name": "B"}, "2026-01-01T00:00:00+00:00")
        store.put_doc("scenes", "a", {"id": "a", "name": "A"}, "2026-01-01T00:00:00+00:00")
        store.put_doc("scenes", "a", {"id": "a", "name": "A2"}, "2026-01-02T00:00:00+00:00")
        assert store.list_docs("scenes") == [{"id": "a", "name": "A2"}, {"id": "b", "name": "B"}]
        assert store.delete_doc("scenes", "a") is True
        assert store.delete_doc("scenes", "a") is False
        assert store.get_setting("missing", 7) == 7
        store.set_setting("k", [1, 2])
        store.set_setting("k", [3])
        assert store.get_setting("k") == [3]
    finally:
        store.close()


def test_a_failed_transaction_rolls_back(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        with pytest.raises(ZeroDivisionError), store.transaction() as db:
            db.execute("INSERT INTO settings(key, value) VALUES ('x', '1')")
            1 / 0  # noqa: B018
        assert store.get_setting("x") is None
    finally:
        store.close()


def test_history_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        first = store.session_started("swedish", "Swedish", 60, "2026-01-05T18:00:00+00:00", "api")
        second = store.session_started(
            "cleaning", "Cleaning", 10, "2026-01-05T19:00:00+00:00", "mqtt"
        )
        store.session_planned(first, 70)
        store.session_ended(first, 64.456, "2026-01-05T19:10:00+00:00", "completed")
        rows = store.history()
        assert [r["id"] for r in rows] == [second, first]
        assert rows[1]["planned_minutes"] == 70 and rows[1]["actual_minutes"] == 64.46
        assert rows[0]["end_reason"] is None and rows[0]["source"] == "mqtt"
        assert [r["id"] for r in store.history(limit=1, offset=1)] == [first]
    finally:
        store.close()


def _hub(config: Config, clock: FakeClock) -> Hub:
    return Hub(
        config,
        clock=clock,
        pin_factory=SimFactory(),
        speaker=SilentSpeaker(playlists=["calm"]),
        mirror=False,
    )


def test_a_session_cut_short_by_a_crash_is_marked_interrupted(
    config: Config, clock: FakeClock
) -> None:
    crashed = _hub(config, clock)
    crashed.start()
    crashed.sessions.start("swedish", 45)
    clock.advance(600)
    # the process dies here: no close(), no end row. A new service starts on the same data.
    hub = _hub(config, clock)
    hub.start()
    try:
        row = hub.sessions.history()[0]
        assert row["end_reason"] == "interrupted"
        assert row["ended_at"] == "2026-01-05T18:10:00+00:00"
        assert row["actual_minutes"] is None
        notice = hub.state()["interrupted_session"]
        assert (notice["id"], notice["scene"], notice["planned_minutes"]) == (
            row["id"],
            "swedish",
            45,
        )
        # outputs stay off: nothing resumes by itself
        assert hub.state()["session"] is None
        assert all(not pad.relay_on for pad in hub.room.heat_pads.values())
        seen: list[Any] = []
        hub.subscribe(seen.append)
        hub.sessions.dismiss_interrupted()
        assert hub.state()["interrupted_session"] is None
        assert seen[-1].data == {"action": "interrupted_dismissed"}
        with pytest.raises(NotFound):
            hub.sessions.dismiss_interrupted()
    finally:
        hub.close()
        crashed.store.close()
    # a third start finds nothing new to mark
    again = _hub(config, clock)
    again.start()
    try:
        assert again.sessions.interrupted == []
        assert again.sessions.history()[0]["end_reason"] == "interrupted"
    finally:
        again.close()


def test_a_clean_shutdown_records_the_session_as_ended(config: Config, clock: FakeClock) -> None:
    hub = _hub(config, clock)
    hub.start()
    hub.sessions.start("swedish", 45)
    clock.advance(60)
    hub.close()
    hub = _hub(config, clock)
    hub.start()
    try:
        assert hub.sessions.interrupted == []
        assert hub.sessions.history()[0]["end_reason"] == "shutdown"
    finally:
        hub.close()
