"""The Pi Zero 2 W figures: the service at 1/8 of one core, every client outside it.

A capacity model, not a slow core: the service runs in a cgroup allowed 12.5 ms of CPU per
100 ms (tests/rigs/cpu_quota.py; cgroup v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), which is
about what a Zero 2 W's one Cortex-A53 core does against this machine's (sysbench, one
thread: ~9x). The process gets bursts of full speed and then waits out the period, so
tails reflect the scheduler as much as the work; caches, memory bandwidth and I/O stay
this machine's. The same figures are measured the same way at full speed beside them.

Figures (targets from issue 28):

- ready: ``serve`` to ``/healthz`` 200, MQTT on (bench/startup.py), median of 3;
- HTTP PUT /devices/main -> answer with 5 and 20 SSE pages connected, commands back to
  back on one keep-alive connection: the pin is set before the answer is written, so this
  is an upper bound on PUT -> pin;
- fades: bench/fade.py (3 channels, real control loop, pins mirrored to sim-pins.json as
  ``serve`` does) run inside the cgroup, lowest updates/s of a channel;
- MQTT QoS 0 command -> state (diffuser ON/OFF; the pin is set before the state is
  published, so an upper bound on command -> pin), Mosquitto and the client outside;
- RSS growth in tests/reliability/test_load.py (it makes its own cgroup at 1/8 core, and
  runs at full speed only when none can be made).

Floors, measured in the same cgroup in the same run, for the figures no server built on
these libraries can beat there: the libraries' import alone (flask, pydantic, waitress,
paho, gpiozero, yaml) against ready; a bare waitress app answering 200 with nothing else
against HTTP; a bare paho echo (bench/peers.py) against MQTT.

    .venv/bin/python bench/pi_zero.py [--quick] [--share 0.125] [--period-ms 100]

``--period-ms 10`` gives the same share in 1.25 ms slices: the waits are then at most
8.75 ms, nearer what a core at an eighth of the speed does (it never stops for 87.5 ms).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import startup  # noqa: E402
from peers import pct  # noqa: E402

from tests.rigs.broker import Mosquitto  # noqa: E402
from tests.rigs.cpu_quota import PERIOD_US, CpuQuota  # noqa: E402
from tests.rigs.live import Api, LiveHub  # noqa: E402

SHARE = 0.125
TARGETS = {  # figure -> (target text, test) at 1/8 core
    "ready_s": ("≤ 3 s", lambda v: v <= 3),
    "http5_p99_ms": ("≤ 50 ms", lambda v: v <= 50),
    "http20_p99_ms": ("≤ 150 ms", lambda v: v <= 150),
    "fade_rate": ("≥ 50/s", lambda v: v >= 50),
    "mqtt_p99_ms": ("≤ 20 ms", lambda v: v <= 20),
    "load_rss_mb": ("≤ 5 MB", lambda v: v <= 5),
}
FLOORS = {  # figure -> (floor key, what the floor is)
    "ready_s": ("floor_ready_s", "the libraries' import alone"),
    "http5_p99_ms": ("floor_http_ms", "a bare waitress app, no pages"),
    "http20_p99_ms": ("floor_http_ms", "a bare waitress app, no pages"),
    "mqtt_p99_ms": ("floor_mqtt_ms", "a bare paho echo"),
}
LABELS = {
    "ready_s": "ready: `serve` to /healthz 200 (MQTT on), median of 3",
    "http5_p99_ms": "HTTP PUT -> answer (>= PUT -> pin) p99, 5 SSE pages, back to back",
    "http20_p99_ms": "HTTP PUT -> answer (>= PUT -> pin) p99, 20 SSE pages, back to back",
    "fade_rate": "fade, 3 channels: lowest updates/s of a channel (bench/fade.py --mirror)",
    "mqtt_p99_ms": "MQTT QoS 0 command -> state (>= command -> pin) p99",
    "load_rss_mb": "RSS growth, tests/reliability/test_load.py (20 SSE, 50 req/s, short)",
}


LIBRARIES = "import flask, pydantic, waitress, paho.mqtt.client, gpiozero, yaml"
BARE_APP = """
import sys, waitress
def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


def floor_ready(prefix: list[str]) -> float:
    """Return the median seconds to import the hub's libraries alone (3 runs)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([*prefix, sys.executable, "-c", LIBRARIES], check=True, cwd=str(ROOT))
        times.append(time.perf_counter() - t0)
    return sorted(times)[1]


def floor_http(prefix: list[str], count: int) -> float:
    """Return the p99 ms of PUTs back to back to a bare waitress app."""
    import http.client
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*prefix, sys.executable, "-c", BARE_APP, str(port)])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        body = b'{"level": 0.5}'
        times = []
        for i in range(count + 20):
            t0 = time.perf_counter()
            conn.request("PUT", "/api/v1/devices/main", body, {"Content-Type": "application/json"})
            conn.getresponse().read()
            if i >= 20:
                times.append((time.perf_counter() - t0) * 1000)
        conn.close()
        return pct(times, 99)
    finally:
        proc.terminate()
        proc.wait()


def http_p99(prefix: list[str], pages: int, count: int) -> dict[str, float]:
    """Time ``count`` PUTs back to back with ``pages`` SSE clients; return p50/p99/max ms."""
    folder = Path(tempfile.mkdtemp(prefix="bench-pizero-http-"))
    hub = LiveHub(folder / "hub")
    hub.serve.argv_prefix = prefix
    hub.start()
    clients = []
    try:
        clients = hub.sse_clients(pages, timeout=60)
        api = Api(hub.port, hub.token, timeout=30)
        for i in range(20):  # warm-up
            api.call("PUT", "/devices/main", {"level": 0.2 if i % 2 else 0.8})
        times = []
        for i in range(count):
            t0 = time.perf_counter()
            status, _ = api.call("PUT", "/devices/main", {"level": 0.2 if i % 2 else 0.8})
            times.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"PUT answered {status}")
        api.close()
        return {"p50": pct(times, 50), "p99": pct(times, 99), "max": max(times)}
    finally:
        for c in clients:
            c.stop()
        hub.stop()


def fade_rate(prefix: list[str], seconds: float) -> float:
    """Run bench/fade.py (under ``prefix``); return the lowest channel's updates/s."""
    out = subprocess.run(
        [*prefix, sys.executable, str(ROOT / "bench" / "fade.py"), "--seconds", f"{seconds:g}",
         "--mirror"],
        capture_output=True, text=True, cwd=str(ROOT), timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    rates = [float(m.group(1)) for m in re.finditer(r"^\w+\s+\d+\s+([\d.]+)\s", out.stdout, re.M)]
    if out.returncode != 0 or not rates:
        raise RuntimeError(f"bench/fade.py failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    return min(rates)


def mqtt_p99(prefix: list[str], count: int) -> dict[str, float]:
    """Flip the diffuser over MQTT ``count`` times at QoS 0; return p50/p99 ms and losses."""
    from peer_mqttio import RoundTrips, Target
    from peers import PahoEcho

    folder = Path(tempfile.mkdtemp(prefix="bench-pizero-mqtt-"))
    broker = Mosquitto(folder / "broker").start()
    node = "pizero"
    hub = LiveHub(
        folder / "hub",
        {"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "node_id": node}},
    )
    hub.serve.argv_prefix = prefix
    echo = PahoEcho(broker.port, prefix)
    client = None
    try:
        hub.start()
        echo.start()
        base = f"massagehub/{node}"
        target = Target("hub", f"{base}/diffuser/set", f"{base}/diffuser/state", hub.pid)
        t_echo = Target("paho echo", echo.set_topic, echo.state_topic, echo.pid)
        client = RoundTrips(broker.port, [target, t_echo], [])
        client.ready(target, timeout=60)
        client.ready(t_echo, timeout=60)
        for t in (target, t_echo):  # one after the other: each has the cgroup to itself
            client.run_pass(t, 0, 30, measured=False)
            client.run_pass(t, 0, count, measured=True)
        ms = target.ms[0]
        return {
            "p50": pct(ms, 50),
            "p99": pct(ms, 99),
            "lost": float(target.lost),
            "floor": pct(t_echo.ms[0], 99),
        }
    finally:
        if client is not None:
            client.close()
        echo.stop()
        hub.stop()
        broker.stop()


def load_rss(full_speed: bool) -> tuple[float, str]:
    """Run the load test (short); return its RSS growth in MB and its figure line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if full_speed:
        env["MASSAGE_HUB_LOAD_FULL_SPEED"] = "1"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/reliability/test_load.py"],
        capture_output=True, text=True, cwd=str(ROOT), timeout=900, env=env,
    )  # fmt: skip
    line = next((x for x in out.stdout.splitlines() if x.startswith("load ")), "")
    found = re.search(r"\(([+-][\d.]+) MB\)", line)
    if not found:
        raise RuntimeError(f"the load test printed no figure: {out.stdout[-800:]}")
    return float(found.group(1)), line


def measure(prefix: list[str], quick: bool, full_speed: bool) -> dict[str, Any]:
    """Measure every figure with the service under ``prefix``."""
    count = 200 if quick else 1000
    r: dict[str, Any] = {}
    s = startup.measure(quick=True, window=1.0, runs=3, prefix=prefix)
    r["ready_s"] = s["ready_s"]
    r["floor_ready_s"] = floor_ready(prefix)
    r["floor_http_ms"] = floor_http(prefix, count)
    print(f"  ready {s['ready_s']:.2f} s (CPU {s['ready_cpu_s']:.2f} s); the libraries' import "
          f"alone {r['floor_ready_s']:.2f} s; a bare waitress app's PUT p99 "
          f"{r['floor_http_ms']:.1f} ms")  # fmt: skip
    for pages in (5, 20):
        h = http_p99(prefix, pages, count)
        r[f"http{pages}_p99_ms"] = h["p99"]
        r[f"http{pages}"] = h
        print(f"  HTTP, {pages} pages: p50 {h['p50']:.1f} p99 {h['p99']:.1f} max {h['max']:.1f} ms")
    r["fade_rate"] = fade_rate(prefix, 5.0 if quick else 20.0)
    m = mqtt_p99(prefix, count)
    r["mqtt_p99_ms"] = m["p99"]
    r["floor_mqtt_ms"] = m["floor"]
    r["mqtt"] = m
    print(f"  MQTT QoS 0: p50 {m['p50']:.2f} p99 {m['p99']:.2f} ms, {m['lost']:.0f} lost; "
          f"a bare paho echo p99 {m['floor']:.2f} ms")  # fmt: skip
    r["load_rss_mb"], r["load_line"] = load_rss(full_speed)
    print(f"  {r['load_line']}")
    return r


def table(slow: dict[str, Any], fast: dict[str, Any], share: float) -> str:
    """Return the markdown table: each figure at ``share`` of a core and at full speed."""
    units = {"ready_s": " s", "fade_rate": "/s", "load_rss_mb": " MB"}
    lines = [
        f"| figure | at {share:g} core | full speed | target at {share:g} core | result | "
        f"floor at {share:g} core |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in LABELS.items():
        unit = units.get(key, " ms")
        target, ok = TARGETS[key]
        fmt = "{:+.1f}" if key == "load_rss_mb" else "{:.2f}" if key == "ready_s" else "{:.1f}"
        floor = FLOORS.get(key)
        below = ""
        if floor is not None:
            value = slow[floor[0]]
            below = f"{floor[1]}: {fmt.format(value)}{unit}"
            if not ok(value):
                below += " (the target is below it)"
        lines.append(
            f"| {label} | {fmt.format(slow[key])}{unit} | {fmt.format(fast[key])}{unit} | "
            f"{target} | {'pass' if ok(slow[key]) else '**miss**'} | {below} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Run both columns and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 commands instead of 1000")
    parser.add_argument("--share", type=float, default=SHARE, help="of one core (0.125)")
    parser.add_argument(
        "--period-ms",
        type=float,
        default=PERIOD_US / 1000,
        help="the quota's period (100): shorter spreads the share, nearer a slow core",
    )
    args = parser.parse_args()
    print(report(args.quick, args.share, int(args.period_ms * 1000)))
    return 0


def report(quick: bool, share: float = SHARE, period_us: int = PERIOD_US) -> str:
    """Measure both columns; return the text to print (a note and the table)."""
    startup.compile_project()
    quota = CpuQuota(share, period_us=period_us).open()
    try:
        print(f"===== at {share:g} of one core (cgroup v{quota.version}) =====", flush=True)
        slow = measure(quota.prefix, quick, full_speed=False)
    finally:
        quota.close()
    print("===== at full speed =====", flush=True)
    fast = measure([], quick, full_speed=True)
    load = os.getloadavg()
    return (
        f"\n## Pi Zero 2 W capacity model{' (--quick)' if quick else ''}\n\n"
        f"The service in a cgroup at {share:g} of one core, every client outside it: a "
        "capacity model, not a slow core (bursts at full speed, then a wait for the next "
        f"{period_us / 1000:g} ms period; this machine's caches and I/O). "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n\n" + table(slow, fast, share)
    )


if __name__ == "__main__":
    sys.exit(main())
