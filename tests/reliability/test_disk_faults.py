"""Safety commands never wait on the disk: the real service against a locked, full and
read-only data folder.

Another program holds ``BEGIN EXCLUSIVE`` on the hub's database (a backup tool, a stuck
writer) while a phone and Home Assistant keep sending "+10 min": All-off is answered while
that lock is still held, with the pads off, and the session's end is written once the lock
goes. A full disk (a 2 MiB tmpfs as ``data_dir``): commands that need the disk answer 503 in
words, safety commands still act, and the service keeps running. (A read-only remount is
refused by the kernel while the database is open for writing, so that case is not here.)
No test here times anything: each checks what happened *while the fault was still there*.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import figure
from tests.rigs.live import LiveHub
from tests.rigs.support import wait_for

HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
db.execute("COMMIT")
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveHub]:
    hub = LiveHub(tmp_path / "hub", {"session": {"prewarm_minutes": 5}}).start()
    yield hub
    hub.stop()


def hold_database(path: Path) -> subprocess.Popen[str]:
    """Start another program that holds an exclusive lock on the database until told."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_all_off_does_not_wait_for_a_locked_database(live: LiveHub) -> None:
    status, session = live.api.call("POST", "/session", {"scene": "hot-stone", "minutes": 30})
    assert status == 201, session
    assert live.api.call("GET", "/state")[1]["devices"]["pad"]["heat"] == "high"
    holder = hold_database(live.data_dir / "massage-hub.sqlite3")
    try:
        # a phone and Home Assistant keep asking for more time meanwhile
        answers: list[int] = []

        def extend() -> None:
            api = type(live.api)(live.port, live.token)
            answers.append(api.call("POST", "/session/extend", {"minutes": 1})[0])
            api.close()

        extends = [threading.Thread(target=extend) for _ in range(10)]
        for t in extends:
            t.start()
        status, state = live.api.call("POST", "/all-off")
        still_locked = holder.poll() is None
        for t in extends:
            t.join(timeout=30)
        assert status == 200, state
        assert still_locked, "All-off waited for the other program to let go of the database"
        assert state["session"] is None
        assert all(d.get("heat", "off") == "off" for d in state["devices"].values())
        assert all(a in (200, 409) for a in answers), answers  # never a 500
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    # the record follows once the lock goes: the session ended by All-off, not "interrupted"
    row = wait_for(
        lambda: (
            (h := live.api.call("GET", "/history")[1]["sessions"])
            and h[0]["end_reason"] == "all_off"
            and h[0]
        ),
        timeout=20,
    )
    assert row["id"] == session["id"]
    figure(
        f"all-off under another program's database lock: answered, pads off; {len(answers)} extends"
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (mounted here, as root) for ``data_dir``."""
    folder = tmp_path / "disk"
    folder.mkdir()
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, f"cannot mount a tmpfs for the test: {out.stderr}"
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Fill the folder's file system to the last byte."""
    fd = os.open(folder / "ballast", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                continue
    finally:
        os.close(fd)


def test_a_full_disk_answers_in_words_and_safety_still_acts(
    tmp_path: Path, small_disk: Path
) -> None:
    hub = LiveHub(
        tmp_path / "hub", {"data_dir": str(small_disk), "session": {"prewarm_minutes": 0}}
    )
    hub.start()
    try:
        assert hub.api.call("POST", "/session", {"scene": "swedish", "minutes": 30})[0] == 201
        hub.api.call("PUT", "/devices/main", {"level": 0.5})
        fill(small_disk)
        # what needs the disk says so, in words
        status, body = hub.api.call("POST", "/profiles", {"name": "Anna"})
        assert status == 503, body
        assert body["error"]["code"] == "storage_unavailable"
        assert "cannot save this now" in body["error"]["message"]
        # safety commands still act, again and again (the token's last use is no obstacle)
        for _ in range(3):
            status, state = hub.api.call("POST", "/all-off")
            assert status == 200, state
            assert state["session"] is None
            assert all(d.get("heat", "off") == "off" for d in state["devices"].values())
        status, pad = hub.api.call("PUT", "/devices/pad", {"heat": "off"})
        assert status == 200, pad
        # heat that would need its on-record first stays off, and says why
        status, body = hub.api.call("PUT", "/devices/pad", {"heat": "low", "minutes": 5})
        assert status == 503 and "on-time" in body["error"]["message"], body
        assert hub.serve.proc is not None and hub.serve.proc.poll() is None  # still running
        assert hub.api.raw("GET", "/healthz")[0] == 200  # it reads; it runs
    finally:
        hub.stop()
    figure("full data folder: 503 in words for saving, All-off 200 three times")
