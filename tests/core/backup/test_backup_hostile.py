"""Hostile backups: every one is refused with words or restored whole; none can hurt the hub.

The cases the review found (a routine planned for the year 9999, journal rows that are not
what the journal reads, a session that started at "not-a-date", a 14 KB gzip body of 15 MB
of "[],"), then a Hypothesis-generated corpus from the backup's own schema: each answer is
below 500, and a restart afterwards finds nothing to set aside (so restore refused every
row that the start-up check would).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.backup.commands import make_backup
from tests.core.backup.test_backup import fill, tables
from tests.core.routines.test_routines import START, Room
from tests.rigs.support import ROOT
from web import create_app, web_state

HOSTILE_TEXT = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "not-a-date",
    "not json",
    "high",
    "",
    "[]",
    "{}",
    "null",
    '{"id": "x"}',
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "x" * 5000,
    "2026-03-01T21:30:00+00:00",
]
VALUES = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
ROUTINE_STATUS = ("next_planned", "last_planned", "last_run", "skip_next", "last_outcome")


@pytest.fixture
def hub_room(tmp_path: Path) -> Iterator[tuple[Room, dict[str, Any]]]:
    room = Room(tmp_path / "room")
    room.start(START)
    fill(room)
    assert room.hub is not None
    room.hub.store.set_setting("table", [{"profile": "anna", "pad": "pad"}])
    yield room, make_backup(room.hub.store)
    room.stop()


def client_of(room: Room) -> tuple[Any, dict[str, str]]:
    assert room.hub is not None
    app = create_app(room.hub)
    token = web_state(app).auth.create_token("t")["token"]
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def post(client: Any, headers: dict[str, str], doc: Any, query: str = "") -> Any:
    body = gzip.compress(json.dumps(doc, allow_nan=True).encode())
    h = {**headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    return client.post("/api/v1/restore" + query, data=body, headers=h)


def copy(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(doc))


def routine_status(doc: dict[str, Any], **status: Any) -> dict[str, Any]:
    doc = copy(doc)
    row = doc["tables"]["routines"][0]
    data = json.loads(row["data"])
    data["status"].update(status)
    row["data"] = json.dumps(data)
    return doc


def column(doc: dict[str, Any], table: str, key: str, value: Any) -> dict[str, Any]:
    doc = copy(doc)
    doc["tables"][table][0][key] = value
    return doc


def test_the_cases_found_are_refused_with_words(hub_room: tuple[Room, dict[str, Any]]) -> None:
    room, good = hub_room
    assert room.hub is not None
    client, h = client_of(room)
    before = tables(room.hub.store, secrets=False)  # a token's last use changes
    cases = [
        (routine_status(good, next_planned="9999-12-31T23:59:59-14:00"), "status.next_planned"),
        (routine_status(good, last_run="yesterday"), "status.last_run"),
        (routine_status(good, last_outcome="exploded"), "status.last_outcome"),
        (column(good, "journal", "areas", "not json"), "areas"),
        (column(good, "journal", "stress", "high"), "stress"),
        (column(good, "journal", "stress", 11), "stress"),
        (column(good, "journal", "moment", "noon"), "moment"),
        (column(good, "sessions", "started_at", "not-a-date"), "started_at"),
        (column(good, "sessions", "planned_minutes", -5), "planned_minutes"),
        (column(good, "guest_actions", "at", "soon"), "at"),
    ]
    table = copy(good)
    row = next(r for r in table["tables"]["settings"] if r["key"] == "table")
    row["value"] = json.dumps([{"profile": f"p{i}", "pad": None} for i in range(9)])
    cases.append((table, "who is on the table"))
    for doc, words in cases:
        r = post(client, h, doc)
        assert r.status_code == 422, (words, r.status_code, r.json)
        assert words in r.json["error"]["message"], (words, r.json)
        assert tables(room.hub.store, secrets=False) == before


def test_a_backup_with_secrets_needs_its_own_yes(hub_room: tuple[Room, dict[str, Any]]) -> None:
    room, _ = hub_room
    assert room.hub is not None
    client, h = client_of(room)
    doc = make_backup(room.hub.store, secrets=True)
    before = tables(room.hub.store, secrets=False)  # a token's last use changes
    r = post(client, h, doc)
    assert r.status_code == 422
    assert r.json["error"]["code"] == "replace_secrets_not_confirmed"
    assert "replaces this hub's password and every API token" in r.json["error"]["message"]
    assert tables(room.hub.store, secrets=False) == before
    assert post(client, h, doc, "?replace_secrets=maybe").status_code == 422
    r = post(client, h, doc, "?replace_secrets=true")
    assert r.status_code == 200, r.json
    assert r.json["secrets"] is True


PEAK = """
import gzip, json, sys
from hub.backup import commands as backup
raw = open(sys.argv[2], "rb").read()  # made by the test: not in this process's peak
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from web.backup_api import gunzip
base = peak()
body = gunzip(raw)
try:
    if sys.argv[1] == "bounded":  # as POST /api/v1/restore reads it
        backup.read_backup(body, values=backup.MAX_WEB_VALUES)
    else:
        json.loads(body)
except backup.BackupError as exc:
    print(exc.message, file=sys.stderr)
print(len(raw), len(body), round(peak() - base, 1))
"""


def peak_mb(mode: str, body: Path) -> tuple[int, int, float, str]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PEAK), mode, str(body)],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    packed, unpacked, grew = out.stdout.split()
    return int(packed), int(unpacked), float(grew), out.stderr


@pytest.mark.slow
def test_a_small_body_that_unpacks_big_costs_little_memory(tmp_path: Path) -> None:
    body = tmp_path / "bomb.json.gz"
    body.write_bytes(gzip.compress(b"[" + b"[]," * (5 * 2**20) + b"[]]"))
    packed, unpacked, grew, said = peak_mb("bounded", body)
    assert packed < 64 * 1024 and unpacked > 15 * 10**6
    assert "more than 400,000 values" in said
    # the unpacked body is held (16 MiB at most); parsing it is refused before it costs more
    assert grew < 64, grew
    _, _, unbounded, _ = peak_mb("json.loads", body)
    assert unbounded > 3 * grew  # what json.loads alone would have cost (385 MB when found)


def test_a_corpus_of_hostile_backups(hub_room: tuple[Room, dict[str, Any]]) -> None:
    from hub.backup.row_checks import CHECKS
    from hub.backup.set_aside import _bad_rows

    room, good = hub_room
    assert room.hub is not None
    client, h = client_of(room)
    store = room.hub.store

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def restore_one(data: st.DataObject) -> None:
        doc = copy(good)
        for _ in range(data.draw(st.integers(1, 3))):
            where = data.draw(st.sampled_from(["column", "status", "top", "table", "rows"]))
            full = sorted(t for t in doc["tables"] if isinstance(doc["tables"][t], list))
            full = [t for t in full if doc["tables"][t]]
            if where == "column" and full:
                rows = doc["tables"][data.draw(st.sampled_from(full))]
                row = rows[data.draw(st.integers(0, len(rows) - 1))]
                if isinstance(row, dict) and row:
                    row[data.draw(st.sampled_from(sorted(row)))] = data.draw(VALUES)
            elif where == "status" and doc["tables"].get("routines") == good["tables"]["routines"]:
                key = data.draw(st.sampled_from(ROUTINE_STATUS))
                doc = routine_status(doc, **{key: data.draw(VALUES)})
            elif where == "top":
                key = data.draw(st.sampled_from(["version", "schema", "secrets", "format"]))
                doc[key] = data.draw(VALUES)
            elif where == "table":
                doc["tables"][data.draw(st.sampled_from(sorted(doc["tables"])))] = data.draw(VALUES)
            elif full:
                doc["tables"][data.draw(st.sampled_from(full))].append(data.draw(VALUES))
        r = post(client, h, doc, data.draw(st.sampled_from(["", "?replace_secrets=true"])))
        assert r.status_code < 500, r.get_data(as_text=True)[:500]
        # what a start would find: nothing to set aside (restore refused all of it)
        assert {t: _bad_rows(store, t) for t in CHECKS} == {t: [] for t in CHECKS}
        assert store.problems() == []  # nor did the check after the restore set any aside
        room.hub.backup.restore(good)  # type: ignore[union-attr]  # the good data for the next one

    restore_one()
    # and a real restart on whatever the last restore left
    post(client, h, routine_status(good, last_outcome="ran"))
    room.stop()
    room.start(START)
    assert room.hub is not None
    assert room.hub.store.problems() == []
    client, h = client_of(room)
    for path in ("/routines", "/journal", "/journal.csv", "/journal/insight", "/history"):
        got = client.get("/api/v1" + path, headers=h)
        assert got.status_code == 200, (path, got.get_data(as_text=True)[:300])
