"""Routines survive a restart of ``massage-hub serve``: made through the API, stop, start.

Real time, kept short with one-off routines a few seconds ahead (times may carry seconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.rigs.support import ROOT, ServeProcess, wait_for, write_config

ZONE = ZoneInfo("America/New_York")


def call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        base + "/api/v1" + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def once_at(name: str, at: datetime) -> dict[str, Any]:
    local = at.astimezone(ZONE)
    return {
        "name": name,
        "schedule": {"kind": "once", "date": local.date().isoformat(), "time": f"{local:%H:%M:%S}"},
        "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
    }


@pytest.mark.slow
def test_routines_survive_a_restart_and_catch_up_once(tmp_path: Path) -> None:
    config = write_config(tmp_path / "svc", {"timezone": ZONE.key})
    token = subprocess.run(
        [sys.executable, "-m", "hub.cli", "token", "create", "test", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]

    first = ServeProcess(config).start()
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        missed_at, later_at = now + timedelta(seconds=5), now + timedelta(seconds=15)
        missed = call(first.base_url, token, "POST", "/routines", once_at("While down", missed_at))
        later = call(first.base_url, token, "POST", "/routines", once_at("After restart", later_at))
    finally:
        assert first.stop() == 0
    down_at = datetime.now(UTC)
    assert down_at < missed_at, "the service took too long to stop for this test"

    wait_for(lambda: datetime.now(UTC) > missed_at + timedelta(seconds=1), timeout=15)
    second = ServeProcess(config).start()  # the hub was down at `missed_at`: within grace
    try:
        base = second.base_url
        got = {r["id"]: r for r in call(base, token, "GET", "/routines")["routines"]}
        assert set(got) == {missed["id"], later["id"]}  # still there
        run = wait_for(lambda: call(base, token, "GET", f"/routines/{missed['id']}")["runs"])
        assert [r["outcome"] for r in run] == ["ran"]
        assert datetime.fromisoformat(run[0]["planned_at"]) == missed_at

        run = wait_for(
            lambda: call(base, token, "GET", f"/routines/{later['id']}")["runs"], timeout=25
        )
        assert run[0]["outcome"] == "ran"
        lag = datetime.fromisoformat(run[0]["ran_at"]) - later_at
        assert timedelta(0) <= lag <= timedelta(seconds=2), lag  # on time, to the second
        state = call(base, token, "GET", "/state")
        assert state["devices"]["main"]["level"] > 0  # the scene is on
        assert state["next_routine"] is None
    finally:
        assert second.stop() == 0

    third = ServeProcess(config).start()  # and again: nothing runs twice
    try:
        time.sleep(0.5)
        for rid in (missed["id"], later["id"]):
            r = call(third.base_url, token, "GET", f"/routines/{rid}")
            assert len(r["runs"]) == 1 and r["last_outcome"] == "ran" and r["next_run"] is None
        assert call(third.base_url, token, "GET", "/state")["devices"]["main"]["level"] == 0
    finally:
        assert third.stop() == 0
