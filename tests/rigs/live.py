"""A live ``massage-hub serve`` for benches and reliability tests: token, API calls, SSE, /proc.

Used by ``bench/*.py`` and ``tests/reliability/``. Everything runs on 127.0.0.1 and free
ports; the service is a child process started (and stopped) here, by PID.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.rigs.support import ROOT, ServeProcess, write_config

CLK_TCK = os.sysconf("SC_CLK_TCK")


def create_token(config_path: Path, name: str = "bench") -> str:
    """Make an API token with ``massage-hub token create NAME`` and return it."""
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "token", "create", name, "--config", str(config_path)],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=60,
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"token create failed ({out.returncode}): {out.stderr}")
    return out.stdout.strip().splitlines()[0]


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and every descendant process id."""
    found = [pid]
    i = 0
    while i < len(found):
        p = found[i]
        i += 1
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                text = Path(f"/proc/{p}/task/{task}/children").read_text()
                found += [int(c) for c in text.split()]
        except OSError:
            pass
    return found


def rss_mb(pid: int, children: bool = True) -> float:
    """Return the resident set size (VmRSS) of ``pid`` (and its children) in MB."""
    total = 0
    for p in process_tree(pid) if children else [pid]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int, children: bool = True) -> float:
    """Return utime+stime of ``pid`` (and its live children) in seconds, from /proc/<pid>/stat."""
    ticks = 0
    for p in process_tree(pid) if children else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError):
            pass
    return ticks / CLK_TCK


class Api:
    """Call the live API with a bearer token; one keep-alive connection per thread."""

    def __init__(self, port: int, token: str, timeout: float = 10.0) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def raw(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request (path under the server root); return (status, body bytes)."""
        hdrs = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # a keep-alive connection the server closed: retry once on a new one
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send JSON to ``/api/v1<path>``; return (status, decoded JSON or None)."""
        payload = None if body is None else json.dumps(body).encode()
        status, data = self.raw(method, "/api/v1" + path, payload)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode("utf-8", "replace")


class SSEClient(threading.Thread):
    """Read ``GET /api/v1/events`` on its own thread; record event seq numbers and gaps."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.token = token
        self.hello_seq: int | None = None
        self.seqs: list[int] = []
        self.last: dict[str, Any] | None = None  # the newest message (seq, type, data, state)
        self.hellos = 0  # fresh starts after the first (the client fell behind)
        self.error: str | None = None
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._conn: http.client.HTTPConnection | None = None

    def run(self) -> None:
        """Read events until stopped."""
        try:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self._conn.request(
                "GET", "/api/v1/events", headers={"Authorization": f"Bearer {self.token}"}
            )
            resp = self._conn.getresponse()
            if resp.status != 200:
                self.error = f"status {resp.status}"
                return
            event_id: int | None = None
            while not self._stop.is_set():
                line = resp.fp.readline()
                if not line:
                    if not self._stop.is_set():
                        self.error = "stream ended"
                    return
                line = line.rstrip(b"\r\n")
                if line.startswith(b"id:"):
                    event_id = int(line[3:].strip())
                elif line.startswith(b"data:") and line != b"data: {}":  # not a ping
                    message = json.loads(line[5:])
                    if self.hello_seq is None:
                        self.hello_seq = int(message["seq"])
                        self.connected.set()
                    elif message.get("type") == "hello":
                        self.hellos += 1
                    self.last = message
                elif line == b"":
                    if event_id is not None:
                        self.seqs.append(event_id)
                    event_id = None
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            if not self._stop.is_set():
                self.error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Stop reading and close the connection."""
        self._stop.set()
        if self._conn is not None and self._conn.sock is not None:
            try:
                self._conn.sock.shutdown(2)
            except OSError:
                pass
            self._conn.close()

    def backwards(self) -> int:
        """Return how many times an event number was not above the one before."""
        seen = [self.hello_seq or 0, *self.seqs]
        return sum(1 for a, b in zip(seen, seen[1:], strict=False) if b <= a)

    def gaps(self) -> int:
        """Return how many events were missed (seq numbers not contiguous after hello)."""
        start = self.hello_seq or 0
        seen = [s for s in self.seqs if s > start]
        if not seen:
            return 0
        missing = 0
        expected = start + 1
        for s in seen:
            if s > expected:
                missing += s - expected
            expected = max(expected, s + 1)
        return missing


class LiveHub:
    """A ``massage-hub serve`` child on a temp config, with an API token."""

    def __init__(self, folder: Path, overrides: dict[str, Any] | None = None) -> None:
        self.folder = Path(folder)
        self.config_path = write_config(self.folder, overrides)
        self.serve = ServeProcess(self.config_path)
        self.token = create_token(self.config_path)
        self.port = int(self.serve.config["web"]["port"])
        self.api = Api(self.port, self.token)
        self.ready_seconds: float | None = None

    @property
    def data_dir(self) -> Path:
        """The service's data folder."""
        return Path(self.serve.config["data_dir"])

    @property
    def pid(self) -> int:
        """The service's process id."""
        assert self.serve.proc is not None
        return self.serve.proc.pid

    def start(self) -> LiveHub:
        """Start the service; record the seconds until /healthz answered 200."""
        t0 = time.perf_counter()
        self.serve.start()
        self.ready_seconds = time.perf_counter() - t0
        return self

    def kill9(self) -> None:
        """Kill the service at once (SIGKILL)."""
        self.api.close()
        if self.serve.proc is not None and self.serve.proc.poll() is None:
            os.kill(self.serve.proc.pid, signal.SIGKILL)
            self.serve.proc.wait()
        self.serve.stop()

    def stop(self) -> int:
        """Stop the service with SIGTERM; return its exit code."""
        self.api.close()
        return self.serve.stop()

    def sse_clients(self, n: int, timeout: float = 15.0) -> list[SSEClient]:
        """Connect ``n`` SSE clients and wait until each has its first message."""
        clients = [SSEClient(self.port, self.token) for _ in range(n)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + timeout
        for c in clients:
            if not c.connected.wait(max(0.1, deadline - time.monotonic())):
                raise AssertionError(f"SSE client did not connect: {c.error}")
        return clients
