"""Time ``massage-hub serve`` to a 200 from /healthz, then its idle RSS and CPU.

The service runs as a child process on simulated pins with MQTT on (a Mosquitto started
here on a free loopback port) and 5 SSE clients connected to ``GET /api/v1/events`` with a
token from ``massage-hub token create``. After the clients connect, the bench waits out an
idle window (60 s; ``--quick``: 10 s) and reads VmRSS (/proc/<pid>/status, children
included) and utime+stime (/proc/<pid>/stat) over the window.

    .venv/bin/python bench/startup.py [--quick] [--window SECONDS] [--runs N] [--cpu-quota F]

``--cpu-quota 0.125`` runs the service in a cgroup (v2 ``cpu.max`` or v1 ``cpu``; see
tests/rigs/cpu_quota.py) allowed 12.5 ms of CPU per 100 ms, a capacity model of a Raspberry Pi
Zero 2 W's one slow core, not a slow core (needs root).

The project's bytecode is compiled first, as systemd/install.sh does on a Pi (the service
cannot write it there); without that every start compiles ~80 modules again, which is
what a start here measured when PYTHONDONTWRITEBYTECODE was set.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.broker import Mosquitto, have_mosquitto  # noqa: E402
from tests.rigs.cpu_quota import CpuQuota  # noqa: E402
from tests.rigs.live import LiveHub, cpu_seconds, rss_mb  # noqa: E402


def compile_project() -> None:
    """Write the project's bytecode next to it, as the installer does."""
    for package in ("hub", "web", "hardware"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def measure(
    quick: bool = False,
    window: float | None = None,
    runs: int | None = None,
    prefix: list[str] | None = None,
) -> dict[str, Any]:
    """Start the service ``runs`` times (ready time), then idle it once; return the figures."""
    window = window if window is not None else (10.0 if quick else 60.0)
    runs = runs if runs is not None else (3 if quick else 5)
    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    broker = Mosquitto(folder / "broker").start() if have_mosquitto() else None
    overrides: dict[str, Any] = {}
    if broker is not None:
        overrides["mqtt"] = {"enabled": True, "host": "127.0.0.1", "port": broker.port,
                             "node_id": "bench"}  # fmt: skip
    ready: list[float] = []
    cpu: list[float] = []
    out: dict[str, Any] = {"mqtt": broker is not None, "window_s": window, "runs": runs}
    try:
        for i in range(runs):
            hub = LiveHub(folder / f"hub{i}", overrides)
            hub.serve.argv_prefix = prefix or []
            hub.start()
            assert hub.ready_seconds is not None
            ready.append(hub.ready_seconds)
            cpu.append(cpu_seconds(hub.pid))  # CPU to ready: what a busy machine does not move
            if i < runs - 1:
                hub.stop()
        clients = hub.sse_clients(5)
        time.sleep(2.0)  # let start-up work (MQTT announce, first SSE messages) settle
        cpu0, t0 = cpu_seconds(hub.pid), time.monotonic()
        time.sleep(window)
        cpu1, t1 = cpu_seconds(hub.pid), time.monotonic()
        out["rss_mb"] = rss_mb(hub.pid)
        out["cpu_pct"] = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        out["sse_errors"] = [c.error for c in clients if c.error]
        for c in clients:
            c.stop()
        hub.stop()
    finally:
        if broker is not None:
            broker.stop()
    out["ready_s"] = statistics.median(ready)
    out["ready_max_s"] = max(ready)
    out["ready_cpu_s"] = statistics.median(cpu)
    return out


def main() -> int:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s idle window, 3 starts")
    parser.add_argument("--window", type=float, help="idle window in seconds (default 60)")
    parser.add_argument("--runs", type=int, help="how many starts to time (default 5)")
    parser.add_argument(
        "--cpu-quota", type=float, help="share of one core the service may use (e.g. 0.125)"
    )
    args = parser.parse_args()
    compile_project()
    prefix: list[str] = []
    quota = None
    if args.cpu_quota:
        quota = CpuQuota(args.cpu_quota).open()
        prefix = quota.prefix
        print(f"service limited to {args.cpu_quota:g} of one core (cgroup v{quota.version}, "
              f"{quota.path}): a capacity model, not a slow core")  # fmt: skip
    try:
        r = measure(args.quick, args.window, args.runs, prefix)
    finally:
        if quota is not None:
            quota.close()
    print(f"start-up to /healthz 200: median {r['ready_s']:.2f} s, max {r['ready_max_s']:.2f} s "
          f"over {r['runs']} starts; CPU to ready: median {r['ready_cpu_s']:.2f} s")  # fmt: skip
    print(f"idle after {r['window_s']:g} s{' (--quick: shorter than 60 s)' if args.quick else ''}, "
          f"MQTT {'on' if r['mqtt'] else 'OFF (no mosquitto)'}, 5 SSE clients: "
          f"RSS {r['rss_mb']:.1f} MB, CPU {r['cpu_pct']:.2f} % of one core")  # fmt: skip
    if r["sse_errors"]:
        print(f"SSE errors: {r['sse_errors']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
