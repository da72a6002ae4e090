"""Backup and restore: CLI and web, a round trip onto a fresh data dir, bad files refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.backup.commands import TABLES, make_backup
from hub.config.model import load_config
from hub.errors import Conflict, InvalidCommand
from hub.store.database import Store
from tests.core.routines.test_routines import START, Room, routine
from tests.rigs.support import run_cli
from web import create_app, web_state


def fill(room: Room) -> dict[str, Any]:
    """Give a hub some of everything a backup holds; return an owner API client's headers."""
    rc, hub = room.rc, room.hub
    assert rc is not None and hub is not None
    hub.scenes.create({"name": "Mine", "lights": {"main": 0.3}, "volume": 20})
    rc.create_routine(routine())
    anna = hub.people.create({"name": "Anna", "heat_max": "low", "notes": "tender knee"})
    session = hub.sessions.start("swedish", 20, profiles=[anna["id"]])
    hub.people.add_journal_entry(
        {"session_id": session["id"], "profile": anna["id"], "when": "before", "stress": 7}
    )
    guest = hub.guests.create({"name": "Ana"})
    hub.guests.record_action(hub.guests.for_token(guest["token"]), "paused the session")
    hub.sessions.stop()
    hub.advance(120)
    hub.store.set_setting("ui.theme", "dark")
    app = create_app(hub)
    auth = web_state(app).auth
    auth.set_password("a long password")
    token = auth.create_token("phone")["token"]
    return {"app": app, "headers": {"Authorization": f"Bearer {token}"}}


def tables(store: Store, secrets: bool = True) -> dict[str, Any]:
    return make_backup(store, secrets=secrets)["tables"]


@pytest.fixture
def rooms(tmp_path: Path) -> Iterator[tuple[Room, Room]]:
    old, new = Room(tmp_path / "old"), Room(tmp_path / "new")
    old.start(START)
    yield old, new
    old.stop()
    new.stop()


def test_cli_round_trip_onto_a_fresh_data_dir(rooms: tuple[Room, Room], tmp_path: Path) -> None:
    old, new = rooms
    fill(old)
    assert old.hub is not None
    want = tables(old.hub.store)
    held = ("scenes", "routines", "sessions", "profiles", "session_people", "journal", "settings")
    assert all(want[name] for name in (*held, "tokens"))
    assert want["guest_actions"][0]["guest_name"] == "Ana"
    old.stop()
    file = tmp_path / "room.json"
    out = run_cli(old.config_path, "backup", str(file), "--secrets")
    assert out.returncode == 0, out.stderr
    assert "with secrets" in out.stdout
    out = run_cli(new.config_path, "restore", str(file))
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout
    store = Store(load_config(new.config_path).data_path)
    try:
        assert tables(store) == want
    finally:
        store.close()
    rc = new.start(START)
    assert [r["name"] for r in rc.list_routines()] == ["Evening wind-down"]
    assert new.hub is not None and "mine" in [s["id"] for s in new.hub.scenes.list()]
    assert new.hub.sessions.history()[0]["actions"][0]["by"] == "Ana (guest)"
    assert new.hub.sessions.history()[0]["people"][0]["name"] == "Anna"
    assert new.hub.people.get("anna")["notes"] == "tender knee"


def test_secrets_only_when_asked_for(rooms: tuple[Room, Room], tmp_path: Path) -> None:
    old, new = rooms
    fill(old)
    old.stop()
    file = tmp_path / "plain.json"
    assert run_cli(old.config_path, "backup", str(file)).returncode == 0
    text = file.read_text()
    doc = json.loads(text)
    assert doc["secrets"] is False and "tokens" not in doc["tables"]
    keys = {r["key"] for r in doc["tables"]["settings"]}
    assert "ui.theme" in keys
    assert not keys & {"web.password_hash", "web.secret_key"}
    assert "argon2" not in text and "web.session." not in text
    # restoring it keeps the new hub's own password and tokens
    new.start(START)
    assert new.hub is not None
    auth = web_state(create_app(new.hub)).auth
    auth.set_password("the new pi's password")
    new_token = auth.create_token("new")["token"]
    new.stop()
    assert run_cli(new.config_path, "restore", str(file)).returncode == 0
    new.start(START)
    auth = web_state(create_app(new.hub)).auth
    assert auth.check_password("the new pi's password")
    assert auth.token_id(new_token) is not None


def test_web_download_and_restore_on_a_running_hub(rooms: tuple[Room, Room]) -> None:
    old, new = rooms
    made = fill(old)
    assert old.hub is not None
    client = made["app"].test_client()
    r = client.get("/api/v1/backup", headers=made["headers"])
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith('attachment; filename="massage-hub-')
    doc = r.json
    assert doc["secrets"] is False
    assert client.get("/api/v1/backup?secrets=true", headers=made["headers"]).json["secrets"]
    assert client.get("/api/v1/backup?secrets=maybe", headers=made["headers"]).status_code == 422
    rc = new.start(START)
    assert new.hub is not None
    app = create_app(new.hub)
    token = web_state(app).auth.create_token("new")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = app.test_client().post("/api/v1/restore", json=doc, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["restored"]["scenes"] == 1
    assert tables(new.hub.store, secrets=False) == tables(old.hub.store, secrets=False)
    assert [r["name"] for r in rc.list_routines()] == ["Evening wind-down"]  # live, no restart
    assert rc.next_routine() is not None


def bad_docs(good: dict[str, Any]) -> list[tuple[Any, str]]:
    def changed(**over: Any) -> dict[str, Any]:
        return {**json.loads(json.dumps(good)), **over}

    newer = changed(version=99)
    newer_schema = changed(schema=99)
    foreign = {"format": "something-else", "version": 1}
    extra_table = changed(tables={**good["tables"], "heat_ledger": []})
    bad_column = changed()
    bad_column["tables"]["scenes"][0]["colour"] = "red"
    bad_scene = changed()
    bad_scene["tables"]["scenes"][0]["data"] = json.dumps({"id": "mine", "name": ""})
    bad_profile = changed()  # a limit no profile may have
    profile = json.loads(bad_profile["tables"]["profiles"][0]["data"])
    bad_profile["tables"]["profiles"][0]["data"] = json.dumps({**profile, "heat_max": "max"})
    missing = changed()
    del missing["tables"]["sessions"]
    secret_sneaked = changed(tables={**good["tables"], "tokens": []})
    login = changed()
    login["tables"]["settings"].append({"key": "web.session.abc", "value": "1"})
    nested = changed()
    nested["tables"]["sessions"][0]["scene"] = {"x": 1}
    return [
        (b"not json at all", "the hub cannot read it"),
        (json.dumps(foreign), "not a backup of this hub"),
        (json.dumps([1, 2]), "not a backup of this hub"),
        (json.dumps(newer), "newer massage-hub"),
        (json.dumps(newer_schema), "newer massage-hub"),
        (json.dumps(extra_table), "heat_ledger"),
        (json.dumps(bad_column), "colour"),
        (json.dumps(bad_scene), "scene"),
        (json.dumps(bad_profile), "tables.profiles.0: not a profile"),
        (json.dumps(missing), "incomplete"),
        (json.dumps(secret_sneaked), "secrets"),
        (json.dumps(login), "web.session.abc"),
        (json.dumps(nested), "text, a number or null"),
    ]


@pytest.mark.slow
def test_bad_files_are_refused_and_change_nothing(rooms: tuple[Room, Room], tmp_path: Path) -> None:
    old, _ = rooms
    fill(old)
    assert old.hub is not None
    good = make_backup(old.hub.store)
    before = tables(old.hub.store)
    for i, (raw, words) in enumerate(bad_docs(good)):
        with pytest.raises(InvalidCommand) as exc:
            old.hub.backup.restore(raw if isinstance(raw, bytes) else raw.encode())
        assert words in exc.value.message, (i, exc.value.message)
        assert tables(old.hub.store) == before
    old.stop()
    for raw, words in bad_docs(good)[:4]:
        file = tmp_path / "bad.json"
        file.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
        out = run_cli(old.config_path, "restore", str(file))
        assert out.returncode == 1 and "nothing changed" in out.stderr and words in out.stderr
    store = Store(load_config(old.config_path).data_path)
    try:
        assert tables(store) == before
    finally:
        store.close()
    out = run_cli(old.config_path, "restore", str(tmp_path / "missing.json"))
    assert out.returncode == 1 and "cannot read" in out.stderr


def test_restore_is_all_or_nothing(rooms: tuple[Room, Room]) -> None:
    old, _ = rooms
    fill(old)
    assert old.hub is not None
    doc = make_backup(old.hub.store, secrets=True)
    before = tables(old.hub.store)
    doc["tables"]["tokens"].append(dict(doc["tables"]["tokens"][0], id=99))  # same hash: UNIQUE
    doc["tables"]["scenes"] = []  # the earlier table's change must be rolled back too
    with pytest.raises(InvalidCommand) as exc:
        old.hub.backup.restore(json.dumps(doc), replace_secrets=True)
    assert "does not fit" in exc.value.message
    assert tables(old.hub.store) == before


def test_no_restore_during_a_session(rooms: tuple[Room, Room]) -> None:
    old, _ = rooms
    fill(old)
    assert old.hub is not None
    doc = make_backup(old.hub.store)
    old.hub.sessions.start("swedish", 20)
    with pytest.raises(Conflict):
        old.hub.backup.restore(json.dumps(doc))


def test_every_backed_up_table_exists() -> None:
    store_tables = {spec.name for spec in TABLES}
    assert {"scenes", "routines", "sessions", "settings", "tokens"} <= store_tables


def test_cli_backup_to_a_folder_that_is_not_there(tmp_path: Path) -> None:
    room = Room(tmp_path / "room")
    out = run_cli(room.config_path, "backup", str(tmp_path / "no" / "such" / "dir" / "b.json"))
    assert out.returncode == 1 and "cannot write" in out.stderr
    assert not (tmp_path / "no").exists()


def test_web_restore_takes_a_gzip_body_past_the_body_limit(rooms: tuple[Room, Room]) -> None:
    import gzip

    old, new = rooms
    fill(old)
    assert old.hub is not None
    for i in range(600):  # a year of sessions: the file outgrows the 64 KiB body limit
        old.hub.store.session_started(
            "swedish", "Swedish", 60, f"2026-01-01T10:{i % 60:02d}", "web"
        )
    raw = json.dumps(make_backup(old.hub.store)).encode()
    assert len(raw) > 64 * 1024
    new.start(START)
    assert new.hub is not None
    app = create_app(new.hub)
    token = web_state(app).auth.create_token("new")["token"]
    client = app.test_client()
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert client.post("/api/v1/restore", data=raw, headers=h).status_code == 413
    bomb = gzip.compress(b" " * (40 * 2**20))
    r = client.post("/api/v1/restore", data=bomb, headers={**h, "Content-Encoding": "gzip"})
    assert r.status_code == 422 and "larger than" in r.json["error"]["message"]
    r = client.post("/api/v1/restore", data=b"not gzip", headers={**h, "Content-Encoding": "gzip"})
    assert r.status_code == 422 and "gzip" in r.json["error"]["message"]
    r = client.post("/api/v1/restore", data=raw, headers={**h, "Content-Encoding": "br"})
    assert r.status_code == 415
    assert new.hub.sessions.history() == []
    packed = gzip.compress(raw)
    assert len(packed) < 64 * 1024
    r = client.post("/api/v1/restore", data=packed, headers={**h, "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.json
    assert r.json["restored"]["sessions"] == 601
    assert tables(new.hub.store, secrets=False) == tables(old.hub.store, secrets=False)
