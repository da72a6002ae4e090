"""``massage-hub serve`` over real HTTP: 20 event streams plus commands; a clean stop."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.rigs.support import ROOT, ServeProcess, sim_pins, wait_for, write_config


def _stream(port: int, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def _read_until(sock: socket.socket, needle: bytes, timeout: float = 10) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        assert time.monotonic() < deadline, buf[-500:]
        chunk = sock.recv(65536)
        assert chunk, "stream closed early"
        buf += chunk
    return buf


def _health(served: ServeProcess) -> dict:
    with urllib.request.urlopen(served.base_url + "/healthz", timeout=5) as resp:
        return json.loads(resp.read())


def test_twenty_streams_commands_and_a_clean_stop(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "hub.cli", "token", "create", "t", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        check=True,
    )
    token = r.stdout.strip()
    served = ServeProcess(path).start()
    try:
        port = served.config["web"]["port"]
        streams = [_stream(port, token) for _ in range(20)]
        for s in streams:
            head = _read_until(s, b"event: state")
            assert b"200 OK" in head and b"text/event-stream" in head
        req = urllib.request.Request(
            served.base_url + "/api/v1/devices/main",
            data=json.dumps({"level": 0.5}).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # a normal request still gets a thread
            assert resp.status == 200
        for s in streams:
            got = _read_until(s, b'"type":"device"')
            assert b'"level":0.5' in got
        wait_for(lambda: sim_pins(path).get("GPIO18", 0) > 0)
        assert _health(served)["sse_clients"] == 20

        # clients that go away are cleaned up (at the next event they would have got)
        for s in streams[15:]:
            s.close()
        streams = streams[:15]
        for level in (0.4, 0.3, 0.2):
            req.data = json.dumps({"level": level}).encode()
            with urllib.request.urlopen(req, timeout=5):
                pass
            time.sleep(0.1)
        wait_for(lambda: _health(served)["sse_clients"] == 15, timeout=10)
        started = time.monotonic()
        assert served.stop() == 0
        assert time.monotonic() - started < 10
        for s in streams:  # every stream was ended by the server
            s.settimeout(5)
            rest = b""
            while chunk := s.recv(65536):
                rest += chunk
            s.close()
        log = served.log()
        assert "Traceback" not in log, log
        assert all(v == 0 for v in sim_pins(path).values())
    finally:
        served.stop()
