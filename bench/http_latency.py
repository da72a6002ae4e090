"""Time from an HTTP command to the simulated pin changing, with 20 SSE clients connected.

Runs the whole service in-process (hub, routines, web on waitress; simulated pins) on a
free loopback port, connects 20 clients to ``GET /api/v1/events``, then sends 1000
``PUT /api/v1/devices/main {"level": x}`` over one keep-alive connection with a token and
times each from just before the request is written to the moment the PWM pin changes
(gpiozero MockFactory listener). Prints p50/p90/p99/max, the full round trip, and how many
events the SSE clients received. The GIL switch interval is serve's
(``hub.cli.SWITCH_INTERVAL``, 0.5 ms), as in the real service; ``--switch-interval`` sets
another (Python's default is 5 ms).

    .venv/bin/python bench/http_latency.py [--commands 1000] [--sse 20] [--switch-interval S]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardware import SilentSpeaker  # noqa: E402
from hardware.pins import SimFactory  # noqa: E402
from hub.cli import SWITCH_INTERVAL  # noqa: E402
from hub.config.model import load_config  # noqa: E402
from hub.service import build_service  # noqa: E402
from tests.rigs.support import wait_for, write_config  # noqa: E402
from web.auth import Credentials  # noqa: E402

PIN = "GPIO18"  # the shipped config's "main" light


class SseClient(threading.Thread):
    """Hold one event stream open and count the events."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.events = 0
        self.connected = threading.Event()
        self.sock: socket.socket | None = None

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock = sock
        sock.sendall(
            (
                "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        buf = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
                self.events += buf.count(b"event: state")
                buf = buf[buf.rfind(b"\n") + 1 :]
                self.connected.set()
        except OSError:
            return


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commands", type=int, default=1000)
    ap.add_argument("--sse", type=int, default=20)
    ap.add_argument("--switch-interval", type=float, default=SWITCH_INTERVAL, help="seconds")
    args = ap.parse_args()
    sys.setswitchinterval(args.switch_interval)  # as serve does

    folder = Path(tempfile.mkdtemp(prefix="mh-bench-"))
    config = load_config(write_config(folder, {"log_level": "WARNING"}))
    factory = SimFactory()
    changed = threading.Event()
    stamp = [0.0]

    def on_pin(pin: str, value: float) -> None:
        if pin == PIN:
            stamp[0] = time.perf_counter()
            changed.set()

    factory.listeners.append(on_pin)
    service = build_service(config, pin_factory=factory, speaker=SilentSpeaker())
    service.start()
    port = config.web.port
    token = Credentials(service.hub.store).create_token("bench")["token"]
    try:
        clients = [SseClient(port, token) for _ in range(args.sse)]
        for c in clients:
            c.start()
        for c in clients:
            c.connected.wait(10)
        wait_for(lambda: service.web.app.extensions["massagehub"].broker.client_count == args.sse)

        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        to_pin: list[float] = []
        round_trip: list[float] = []
        for i in range(args.commands + 50):  # the first 50 warm up
            level = 0.3 if i % 2 else 0.6
            body = json.dumps({"level": level, "fade_seconds": 0})
            changed.clear()
            t0 = time.perf_counter()
            conn.request("PUT", "/api/v1/devices/main", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            t1 = time.perf_counter()
            if resp.status != 200 or not changed.wait(2):
                raise SystemExit(
                    f"command {i}: status {resp.status}, pin changed: {changed.is_set()}"
                )
            if i >= 50:
                to_pin.append((stamp[0] - t0) * 1000)
                round_trip.append((t1 - t0) * 1000)
        time.sleep(0.5)
        received = [c.events for c in clients]
    finally:
        service.stop()

    print(
        f"http_latency: {args.commands} PUT /api/v1/devices/main, {args.sse} SSE clients, "
        f"GIL switch interval {args.switch_interval * 1000:g} ms"
    )
    for name, values in (("PUT->pin", to_pin), ("round trip", round_trip)):
        print(
            f"  {name:<11} p50 {pct(values, 50):6.2f} ms  p90 {pct(values, 90):6.2f} ms  "
            f"p99 {pct(values, 99):6.2f} ms  max {max(values):6.2f} ms  "
            f"mean {statistics.fmean(values):6.2f} ms"
        )
    if received:
        print(
            f"  SSE events per client: min {min(received)} max {max(received)} "
            f"(commands sent: {args.commands + 50})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
