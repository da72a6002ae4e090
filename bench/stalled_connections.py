"""Latency of /healthz and All-off (token) from one client while another stalls connections.

Starts ``massage-hub serve`` as a child (tests/live.py: simulated pins, a free loopback
port, the default ``web.header_timeout_seconds: 10`` and ``web.connections_per_client:
32``), times ``GET /healthz`` and ``POST /api/v1/all-off`` from 127.0.0.1 (a new connection
for each request), then opens N connections from 127.0.0.2 that each send half a request's
headers (and, with ``--trickle``, one more header line every 5 s to stay "active") and
times the same requests again while they are open. Then it waits until the server has
closed every stalled connection and prints how long that took.

    .venv/bin/python bench/stalled_connections.py [--stalled 500] [--requests 50] [--trickle]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import LiveHub  # noqa: E402

HALF = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(port: int, method: str, path: str, token: str | None) -> tuple[float, int]:
    """Send one request on a new connection; return (milliseconds, status; 0 = no answer)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return (time.perf_counter() - t0) * 1000, status


def measure(port: int, token: str, n: int) -> dict[str, list[tuple[float, int]]]:
    """Time ``n`` of each request (a request without an answer in 5 s counts as failed)."""
    out: dict[str, list[tuple[float, int]]] = {"healthz": [], "all-off": []}
    for _ in range(n):
        for name, method, path, tok in (
            ("healthz", "GET", "/healthz", None),
            ("all-off", "POST", "/api/v1/all-off", token),
        ):
            out[name].append(timed(port, method, path, tok))
    return out


def is_closed(s: socket.socket) -> bool:
    """True if the server closed ``s``."""
    s.setblocking(False)
    try:
        while True:
            if not s.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def main() -> int:
    """Run the bench and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--trickle", action="store_true", help="a header line every 5 s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = LiveHub(Path(tmp)).start()
        try:
            port, token = hub.port, hub.token
            measure(port, token, 5)  # warm up
            quiet = measure(port, token, args.requests)
            stalled = []
            t_open = time.perf_counter()
            for _ in range(args.stalled):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", port))
                try:
                    s.sendall(HALF)
                except OSError:
                    pass
                stalled.append(s)
            opened = time.perf_counter() - t_open
            time.sleep(0.2)
            refused = sum(is_closed(s) for s in stalled)
            under = measure(port, token, args.requests)
            last_trickle = time.monotonic()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(is_closed(s) for s in stalled):
                if args.trickle and time.monotonic() - last_trickle > 5:
                    last_trickle = time.monotonic()
                    for s in stalled:
                        try:
                            s.send(b"x\r\nX-Slow: ")
                        except OSError:
                            pass
                time.sleep(0.1)
            all_closed = time.perf_counter() - t_open
            left = sum(not is_closed(s) for s in stalled)
            for s in stalled:
                s.close()
        finally:
            hub.stop()

    print(
        f"stalled_connections: {args.stalled} half-sent requests from 127.0.0.2"
        f"{' (a header line every 5 s)' if args.trickle else ''}; {args.requests} of each "
        "request from 127.0.0.1, a new connection each"
    )
    print(
        f"  opened in {opened:.2f} s; refused at once: {refused} "
        f"(web.connections_per_client: 32); all closed by the server after {all_closed:.1f} s"
        f"{f' ({left} still open!)' if left else ''}"
    )
    for name in ("healthz", "all-off"):
        for label, figures in (("quiet", quiet), ("under attack", under)):
            v = [ms for ms, status in figures[name] if status == 200]
            failed = len(figures[name]) - len(v)
            line = f"  {name:<8} {label:<13} "
            if v:
                line += (
                    f"p50 {pct(v, 50):6.2f} ms  p90 {pct(v, 90):6.2f} ms  "
                    f"max {max(v):7.2f} ms  mean {statistics.fmean(v):6.2f} ms"
                )
            if failed:
                line += f"  {failed} of {len(figures[name])} got no 200 within 5 s"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
