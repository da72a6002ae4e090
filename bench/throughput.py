"""Requests per second of ``GET /api/v1/state`` at 10 concurrent clients.

Runs ``massage-hub serve`` as a child process (simulated pins) and loads it on loopback
with ``wrk`` (Debian package ``wrk``; bearer token in a header) or, when wrk is missing,
a Python thread pool of 10 keep-alive clients. The output says which one was used.

    .venv/bin/python bench/throughput.py [--quick] [--seconds 20] [--python]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.live import Api, LiveHub, cpu_seconds  # noqa: E402

CLIENTS = 10


def with_wrk(port: int, token: str, seconds: float) -> dict[str, Any]:
    """Load the endpoint with wrk; return requests/s, latency and errors."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{int(seconds)}s", "--latency",
         "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}/api/v1/state"],
        capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    p99_ms = None
    if p99:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
        p99_ms = float(p99.group(1)) * scale
    return {
        "tool": "wrk",
        "rps": rps,
        "p99_ms": p99_ms,
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "raw": text,
    }


def with_threads(port: int, token: str, seconds: float) -> dict[str, Any]:
    """Load the endpoint with 10 Python keep-alive clients; return requests/s and errors."""
    api = Api(port, token)
    counts = [0] * CLIENTS
    errors = [0] * CLIENTS
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            status, _ = api.raw("GET", "/api/v1/state")
            latencies[i].append((time.perf_counter() - t0) * 1000)
            counts[i] += 1
            if status != 200:
                errors[i] += 1
        api.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    lat = sorted(x for series in latencies for x in series)
    return {
        "tool": "python threads" + ("" if shutil.which("wrk") else " (wrk not found)"),
        "rps": sum(counts) / elapsed,
        "p99_ms": lat[int(0.99 * (len(lat) - 1))] if lat else None,
        "errors": sum(errors),
        "socket_errors": "",
    }


def measure(
    quick: bool = False, seconds: float | None = None, python: bool = False
) -> dict[str, Any]:
    """Start the service, warm it up, load it; return the figures."""
    seconds = seconds if seconds is not None else (5.0 if quick else 20.0)
    hub = LiveHub(Path(tempfile.mkdtemp(prefix="bench-rps-")))
    hub.start()
    try:
        for _ in range(50):  # warm-up
            hub.api.call("GET", "/state")
        hub.api.close()
        cpu0 = cpu_seconds(hub.pid)
        t0 = time.monotonic()
        if shutil.which("wrk") and not python:
            out = with_wrk(hub.port, hub.token, seconds)
        else:
            out = with_threads(hub.port, hub.token, seconds)
        out["server_cpu_pct"] = 100 * (cpu_seconds(hub.pid) - cpu0) / (time.monotonic() - t0)
    finally:
        hub.stop()
    out["seconds"] = seconds
    return out


def main() -> int:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s instead of 20 s")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--python", action="store_true", help="use the Python client, not wrk")
    args = parser.parse_args()
    r = measure(args.quick, args.seconds, args.python)
    p99 = f"{r['p99_ms']:.1f} ms" if r["p99_ms"] is not None else "n/a"
    print(f"GET /api/v1/state, {CLIENTS} concurrent clients, {r['seconds']:g} s, {r['tool']}: "
          f"{r['rps']:.0f} requests/s, p99 {p99}, errors {r['errors']} {r['socket_errors']}, "
          f"server CPU {r['server_cpu_pct']:.0f} % of one core")  # fmt: skip
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
