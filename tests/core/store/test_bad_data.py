"""Nothing in the data can stop the hub from starting: bad rows are set aside and shown."""

# ruff: noqa: F811  (the browser fixture imported from tests/web/test_guest_browser.py)
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.core.backup.test_backup import fill
from tests.core.routines.test_routines import START, Room, routine
from tests.rigs.service_api import api, create_token
from tests.rigs.support import ServeProcess, run_cli
from tests.web.test_guest_browser import PASSWORD, browser, phone  # noqa: F401
from web import create_app, web_state

BAD_NEXT = "9999-12-31T23:59:59-14:00"


def spoil(db_path: Path) -> None:
    """Write the rows a hostile or broken backup left behind, straight into SQLite."""
    db = sqlite3.connect(db_path)
    try:
        (data,) = db.execute("SELECT data FROM routines").fetchone()
        doc = json.loads(data)
        doc["status"]["next_planned"] = BAD_NEXT
        db.execute("UPDATE routines SET data=?", (json.dumps(doc),))
        db.execute("UPDATE journal SET areas='not json'")
        (sid, pid) = db.execute("SELECT session_id, profile_id FROM journal").fetchone()
        db.execute(
            "INSERT INTO journal(session_id, profile_id, moment, stress, areas, note, created_at)"
            " VALUES (?, ?, 'after', 'high', '[]', '', '2026-01-01T10:00:00+00:00')",
            (sid, pid),
        )
        db.execute(
            "INSERT INTO sessions(scene, scene_name, source, started_at, planned_minutes) "
            "VALUES ('swedish', 'Swedish', 'api', 'not-a-date', 20)"
        )
        db.execute("UPDATE guests SET profiles='not json'")
        db.commit()
    finally:
        db.close()


def test_bad_rows_are_set_aside_and_shown(tmp_path: Path) -> None:
    room = Room(tmp_path / "room")
    room.start(START)
    fill(room)
    assert room.hub is not None
    db_path = room.hub.store.path
    room.stop()
    spoil(db_path)
    rc = room.start(START)  # neither raises nor loses the good rows
    try:
        hub = room.hub
        assert hub is not None
        app = create_app(hub)
        token = web_state(app).auth.create_token("t")["token"]
        client = app.test_client()
        h = {"Authorization": f"Bearer {token}"}
        for path in (
            "/api/v1/routines",
            "/api/v1/journal",
            "/api/v1/journal.csv",
            "/api/v1/journal/insight",
            "/api/v1/people/sensors",
            "/api/v1/history",
            "/api/v1/guests",
            "/api/v1/state",
        ):
            r = client.get(path, headers=h)
            assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
        problems = client.get("/api/v1/state", headers=h).json["problems"]
        words = " ".join(p["message"] for p in problems)
        assert "routine" in words and "journal" in words and "session" in words, words
        assert "set aside" in words and "link" in words
        assert client.get("/healthz").json["problems"] == problems
        # the routine was set aside, not planned at year 9999; the good session stays
        assert rc.list_routines() == []
        assert [s["started_at"] for s in hub.sessions.history()] != []
        assert all(s["started_at"] != "not-a-date" for s in hub.sessions.history())
    finally:
        room.stop()
    # set aside once: a second start finds nothing new, and the problem is still shown
    room.start(START)
    try:
        assert room.hub is not None
        assert len(room.hub.store.problems()) == len(problems)
    finally:
        room.stop()


@pytest.mark.slow
def test_serve_starts_on_bad_data(tmp_path: Path, browser: Any) -> None:
    room = Room(tmp_path / "room")
    room.start(START)
    assert room.rc is not None and room.hub is not None
    room.rc.create_routine(routine())
    db_path = room.hub.store.path
    room.stop()
    db = sqlite3.connect(db_path)
    (data,) = db.execute("SELECT data FROM routines").fetchone()
    doc = json.loads(data)
    doc["status"]["next_planned"] = BAD_NEXT
    db.execute("UPDATE routines SET data=?", (json.dumps(doc),))
    db.commit()
    db.close()
    assert run_cli(room.config_path, "set-password", stdin=PASSWORD + "\n").returncode == 0
    serve = ServeProcess(room.config_path).start()
    try:
        token = create_token(room.config_path)
        status, body = api(serve.base_url, "GET", "/api/v1/routines", token=token)
        assert status == 200, body
        status, body = api(serve.base_url, "GET", "/api/v1/state", token=token)
        assert status == 200 and "set aside" in body["problems"][0]["message"]
        # Settings says so, in plain words
        page = phone(browser)
        page.goto(serve.base_url + "/login")
        page.fill("#password", PASSWORD)
        page.click("#submit")
        page.click("#tabs a[data-page=settings]")
        card = page.locator("#problems-card")
        card.wait_for(state="visible")
        assert "1 routine could not be read and was set aside" in card.inner_text()
        assert page.errors == []
    finally:
        assert serve.stop() == 0


def test_a_bad_profile_takes_its_journal_entries_aside_not_away(tmp_path: Path) -> None:
    room = Room(tmp_path / "room")
    room.start(START)
    fill(room)
    assert room.hub is not None
    path = room.hub.store.path
    room.stop()
    db = sqlite3.connect(path)
    db.execute('UPDATE profiles SET data=\'{"id": "anna", "heat_max": "max"}\'')
    db.commit()
    db.close()
    room.start(START)
    try:
        assert room.hub is not None
        kept = room.hub.store.query("SELECT source, why FROM set_aside ORDER BY id")
        assert [r["source"] for r in kept] == ["journal", "profiles"]
        assert kept[0]["why"] == "its profile was set aside"
        words = " ".join(p["message"] for p in room.hub.store.problems())
        assert "1 profile could not be read" in words and "1 journal entry" in words
    finally:
        room.stop()
