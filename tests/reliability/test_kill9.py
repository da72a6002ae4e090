"""``kill -9`` of the service at random moments during write-heavy runs (100 on a full run).

Three writers talk to one live service through the API at the same time: scenes (create,
rename, delete), routines (create, rename, delete) and sessions (start, stop, stop). Each
writer remembers what the service acknowledged (a 2xx answer received) and the one request
it had in flight. After a SIGKILL at a random moment the database must open with
``PRAGMA integrity_check`` = ok, hold every acknowledged write, and differ from the
acknowledged picture only by the in-flight request. The next run restarts the service on
the same database, so every run also checks that the service comes back.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import figure, scale
from tests.rigs.live import Api, LiveHub

pytestmark = pytest.mark.reliability

ROUTINE_BODY = {
    "schedule": {"kind": "weekly", "days": ["mon", "thu"], "time": "21:30"},
    "action": {"kind": "scene", "scene": "swedish", "minutes": 30},
}


class Writer(threading.Thread):
    """Make writes until stopped or the service dies; keep the acknowledged picture."""

    def __init__(self, api: Api, kind: str, run: int, known: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.kind = kind
        self.run_no = run
        self.known = known  # id -> name (scenes/routines) or id -> ended? (sessions)
        self.pending: tuple[str, Any] | None = None  # (what, id) of the request in flight
        self.acked = 0
        self.unexpected: list[str] = []
        self.stop_flag = threading.Event()

    def call(self, what: str, key: Any, method: str, path: str, body: Any = None) -> Any:
        self.pending = (what, key)
        status, data = self.api.call(method, path, body)  # raises once the service is gone
        if not 200 <= status < 300:
            self.unexpected.append(f"{method} {path} -> {status} {data}")
            raise RuntimeError("refused")
        self.acked += 1
        return data

    def run(self) -> None:
        n = 0
        try:
            while not self.stop_flag.is_set():
                n += 1
                getattr(self, f"step_{self.kind}")(n)
                self.pending = None
        except Exception:  # noqa: BLE001 - the kill ends every writer
            pass

    def step_scenes(self, n: int) -> None:
        sid = f"k{self.run_no}-{n}"
        self.call("create", sid, "POST", "/scenes",
                  {"id": sid, "name": f"S{sid}", "lights": {"main": 0.3}, "volume": 20})  # fmt: skip
        self.known[sid] = f"S{sid}"  # names are unique: each run's scenes have their own
        self.call("rename", sid, "PUT", f"/scenes/{sid}",
                  {"name": f"S{sid} renamed", "lights": {"main": 0.4}})  # fmt: skip
        self.known[sid] = f"S{sid} renamed"
        if n % 3 == 0:
            self.call("delete", sid, "DELETE", f"/scenes/{sid}")
            self.known[sid] = None

    def step_routines(self, n: int) -> None:
        rid = f"r{self.run_no}-{n}"
        self.call("create", rid, "POST", "/routines", {"id": rid, "name": f"R{n}", **ROUTINE_BODY})
        self.known[rid] = f"R{n}"
        self.call("rename", rid, "PUT", f"/routines/{rid}", {"name": f"R{n} renamed"})
        self.known[rid] = f"R{n} renamed"
        if n % 3 == 0:
            self.call("delete", rid, "DELETE", f"/routines/{rid}")
            self.known[rid] = None

    def step_sessions(self, n: int) -> None:
        data = self.call("start", None, "POST", "/session", {"scene": "cleaning", "minutes": 5})
        sid = int(data["id"])
        self.known[sid] = "started"
        self.call("stop", sid, "DELETE", "/session")
        self.call("end", sid, "DELETE", "/session")
        self.known[sid] = "ended"


def read_db(path: Path) -> dict[str, Any]:
    """Open the database as a fresh process would; return its integrity and contents."""
    db = sqlite3.connect(path)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        scenes = {i: json.loads(d)["name"] for i, d in db.execute("SELECT id, data FROM scenes")}
        routines = {
            i: json.loads(d)["spec"]["name"] for i, d in db.execute("SELECT id, data FROM routines")
        }
        sessions = {
            i: (ended, reason)
            for i, ended, reason in db.execute("SELECT id, ended_at, end_reason FROM sessions")
        }
    finally:
        db.close()
    return {"integrity": integrity, "scenes": scenes, "routines": routines, "sessions": sessions}


def check_docs(kind: str, writer: Writer, actual: dict[str, str]) -> list[str]:
    """Compare acknowledged scene/routine names with the database; allow the in-flight one."""
    problems = []
    pending = writer.pending[1] if writer.pending else None
    for key, name in writer.known.items():
        got = actual.get(key)
        if got == name or key == pending:
            continue
        problems.append(f"{kind} {key}: acknowledged {name!r}, database has {got!r}")
    for key in actual.keys() - writer.known.keys():
        if key != pending and key.startswith(("k", "r")):
            problems.append(f"{kind} {key}: in the database but never acknowledged")
    return problems


def check_sessions(writer: Writer, actual: dict[int, tuple[Any, Any]]) -> list[str]:
    """Every acknowledged session start has its row; every acknowledged end is recorded."""
    problems = []
    for sid, what in writer.known.items():
        row = actual.get(sid)
        if row is None:
            problems.append(f"session {sid}: acknowledged start, no row")
        elif what == "ended" and (row[0] is None or row[1] == "interrupted"):
            problems.append(f"session {sid}: acknowledged end, row says {row}")
    return problems


@pytest.mark.timeout(scale(120, 1800))
def test_kill9_during_writes(tmp_path: Path) -> None:
    runs = scale(5, 100)
    rng = random.Random(8)
    hub = LiveHub(tmp_path / "hub")
    db_path = hub.data_dir / "massage-hub.sqlite3"
    known: dict[str, dict[Any, Any]] = {"scenes": {}, "routines": {}, "sessions": {}}
    totals = {"acked": 0, "in_flight_lost": 0, "in_flight_kept": 0}
    problems: list[str] = []
    for run in range(runs):
        hub.start()
        if run:  # the service came back on the killed database and serves what was written
            status, body = hub.api.call("GET", "/scenes")
            assert status == 200, body
            served = {s["id"]: s["name"] for s in body["scenes"] if s["id"].startswith("k")}
            expected = {k: v for k, v in known["scenes"].items() if v is not None}
            assert served == expected, f"run {run}: scenes served after restart differ"
        writers = [
            Writer(Api(hub.port, hub.token), kind, run, known[kind])
            for kind in ("scenes", "routines", "sessions")
        ]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.2, 1.5))
        hub.kill9()
        for w in writers:
            w.stop_flag.set()
            w.join(10)
        for w in writers:
            assert not w.unexpected, f"run {run}: {w.kind}: {w.unexpected}"
            totals["acked"] += w.acked
        db = read_db(db_path)
        assert db["integrity"] == "ok", f"run {run}: integrity_check says {db['integrity']}"
        scenes_w, routines_w, sessions_w = writers
        problems += check_docs("scene", scenes_w, db["scenes"])
        problems += check_docs("routine", routines_w, db["routines"])
        problems += check_sessions(sessions_w, db["sessions"])
        assert not problems, f"run {run}: " + "; ".join(problems)
        # settle the in-flight writes to what the database holds, for the next run's check
        for w, table in ((scenes_w, "scenes"), (routines_w, "routines")):
            if w.pending is not None:
                key = w.pending[1]
                lost = known[table].get(key) != db[table].get(key)
                totals["in_flight_lost" if lost else "in_flight_kept"] += 1
                known[table][key] = db[table].get(key)
    figure(
        f"kill -9 during writes: {runs}/{runs} runs, database opened with integrity_check ok "
        f"every time, {totals['acked']} acknowledged writes all present, "
        f"in-flight writes: {totals['in_flight_kept']} kept, {totals['in_flight_lost']} lost"
    )
