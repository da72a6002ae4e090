"""Bounded by construction: guest action records per link and in all; a backup always restores."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from hub.config.model import load_config
from hub.store import guest_records
from hub.store.database import Store
from tests.core.guests.test_guests import as_guest, make_guest
from tests.core.routines.test_routines import START, Room
from tests.rigs.support import run_cli
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401


def test_guest_actions_are_bounded_per_link_and_in_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guest_records, "MAX_ACTIONS_PER_LINK", 30)
    monkeypatch.setattr(guest_records, "MAX_ACTIONS_KEPT", 50)
    room = Room(tmp_path / "room")
    room.start(START)
    try:
        hub = room.hub
        assert hub is not None
        calm = hub.guests.for_token(hub.guests.create({"name": "Calm"})["token"])
        busy = hub.guests.for_token(hub.guests.create({"name": "Busy"})["token"])
        for i in range(10):
            hub.guests.record_action(calm, f"calm {i}")
        for i in range(100):
            hub.guests.record_action(busy, f"busy {i}")
        store = hub.store
        mine = store.guest_actions(guest_id=busy["id"], limit=500)
        assert len(mine) == 30 and mine[-1]["action"] == "busy 99"  # the oldest pruned
        assert len(store.guest_actions(guest_id=calm["id"], limit=500)) == 10  # a quiet link kept
        for i in range(40):
            hub.guests.record_action(calm, f"calm more {i}")
        everything = store.guest_actions(limit=500)
        assert len(everything) == 50 and everything[-1]["action"] == "calm more 39"
    finally:
        room.stop()


def test_a_backup_made_by_the_cli_always_restores(tmp_path: Path) -> None:
    room = Room(tmp_path / "room")
    room.start(START)
    assert room.hub is not None
    path = room.hub.store.path
    room.stop()
    # an older hub let one link write 200,001 rows
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO guest_actions(guest_id, guest_name, at, action) VALUES (1, 'Ana', ?, 'light')",
        (("2026-01-01T10:00:00+00:00",) for _ in range(200_001)),
    )
    db.commit()
    db.close()
    file = tmp_path / "b.json"
    out = run_cli(room.config_path, "backup", str(file))
    assert out.returncode == 0, out.stderr
    out = run_cli(room.config_path, "restore", str(file))
    assert out.returncode == 0, out.stderr
    store = Store(load_config(room.config_path).data_path)
    try:
        n = store.query("SELECT COUNT(*) AS n FROM guest_actions")[0]["n"]
        assert n == guest_records.MAX_ACTIONS_PER_LINK
    finally:
        store.close()


def test_guest_links_never_take_the_owners_live_stream(api: Api, client: FlaskClient) -> None:
    open_streams = []
    try:
        busy = as_guest(client, make_guest(api, name="Busy"))
        said = []
        for _ in range(26):  # one link opening stream after stream (found: the owner got 503)
            r = busy.get("/events", buffered=False)
            if r.status_code == 200:
                open_streams.append(r)
            else:
                said.append((r.status_code, r.json["error"]["message"]))
        assert len(open_streams) == 4
        assert said[0][0] == 429 and "this link" in said[0][1]
        others = [as_guest(client, make_guest(api, name=f"G{i}")) for i in range(8)]
        for guest in others:  # many links: together they still leave the owner room
            for _ in range(4):
                r = guest.get("/events", buffered=False)
                if r.status_code == 200:
                    open_streams.append(r)
        mine = api.get("/events", buffered=False)
        assert mine.status_code == 200, mine.json
        open_streams.append(mine)
        assert next(mine.response).startswith(b"retry:")
    finally:
        for r in open_streams:
            r.close()
