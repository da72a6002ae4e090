"""Where the CPU of one MQTT command goes: the hub's threads, each on its own.

Runs ``massage-hub serve`` (the real ``hub.cli.main``, web and logging included, simulated
pins, MQTT on) in this process against its own Mosquitto on a free loopback port, and, on a
second thread, one paho client that flips the diffuser switch ON/OFF and waits for each
state (QoS 0, or ``--qos 1``; the same round trip as bench/peer_mqttio.py). Per-thread CPU time comes from
``/proc/self/task/<tid>/stat``; the service's threads are told apart by their Python
names. Prints CPU per command for each of the service's threads, and the total; the
client's own threads are left out. ``--bare`` puts a bare paho client in the hub's place,
answering each command on its network thread: the floor of a threaded paho design.

    .venv/bin/python bench/mqtt_cpu.py [--count 3000] [--qos 1] [--client-delayed-ack] [--bare]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from peer_mqttio import RoundTrips, Target  # noqa: E402
from peers import echo_client  # noqa: E402

from tests.rigs.broker import Mosquitto  # noqa: E402
from tests.rigs.support import wait_for, write_config  # noqa: E402

NODE = "bench"
TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(native_id: int) -> float:
    """Return utime+stime of one of this process's threads, in seconds."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def service_threads(ours: set[int]) -> dict[str, int]:
    """Return {name: native id} of the threads that are not the bench's own."""
    return {
        t.name: t.native_id
        for t in threading.enumerate()
        if t.native_id is not None and t.native_id not in ours
    }


def drive(
    port: int,
    count: int,
    out: dict[str, object],
    ours: set[int],
    qos: int,
    quickack: bool,
    bare: bool = False,
) -> None:
    """The client thread: wait for the hub, measure, then stop the service (SIGTERM)."""
    ours.add(threading.get_native_id())
    try:
        base = f"massagehub/{NODE}"
        target = Target("hub", f"{base}/diffuser/set", f"{base}/diffuser/state", os.getpid())
        client = RoundTrips(port, [target], [f"{base}/availability"], quickack)
        # the client's network thread (paho names it after the client id, empty here)
        ours.update(t.native_id for t in threading.enumerate() if t.name == "paho-mqtt-client-")
        wait_for(lambda: client.obs.last(f"{base}/availability") == "online", timeout=30)
        client.ready(target)
        client.run_pass(target, qos, 100, measured=False)
        threads = service_threads(ours)
        before = {name: thread_cpu(tid) for name, tid in threads.items()}
        t0 = time.monotonic()
        client.run_pass(target, qos, count, measured=True)
        out["seconds"] = time.monotonic() - t0
        out["cpu"] = {name: thread_cpu(tid) - before[name] for name, tid in threads.items()}
        out["ms"] = sorted(target.ms[qos])
        out["lost"] = target.lost
        client.close()
    except Exception as exc:  # noqa: BLE001 - reported by main
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if not bare:
            os.kill(os.getpid(), signal.SIGTERM)  # serve's handler: everything off, then exit


def main() -> int:
    """Run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="round trips")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=0, help="commands' QoS")
    parser.add_argument(
        "--client-delayed-ack", action="store_true", help="as in bench/peer_mqttio.py"
    )
    parser.add_argument("--bare", action="store_true", help="a bare paho echo, not the hub")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-mqtt-cpu-"))
    broker = Mosquitto(folder / "broker").start()
    config = write_config(
        folder / "hub",
        {"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "node_id": NODE}},
    )
    out: dict[str, object] = {}
    ours: set[int] = set()  # the bench's own threads (serve runs on this main thread)
    driver = threading.Thread(
        target=drive,
        args=(broker.port, args.count, out, ours, args.qos, not args.client_delayed_ack, args.bare),
        name="bench-client",
    )
    from hub.cli import main as serve

    code = 0
    try:
        if args.bare:
            echo = echo_client(broker.port, f"massagehub/{NODE}")
            driver.start()
            driver.join()
            echo.disconnect()
            echo.loop_stop()
        else:
            driver.start()
            code = serve(["serve", "--config", str(config)])
    finally:
        driver.join(timeout=30)
        broker.stop()
    if "error" in out:
        print(f"bench failed: {out['error']}", file=sys.stderr)
        return 1
    n = args.count
    ms = out["ms"]
    assert isinstance(ms, list) and isinstance(out["cpu"], dict)
    print(
        f"{n} QoS {args.qos} diffuser ON/OFF round trips in {out['seconds']:.1f} s, lost {out['lost']}; "
        f"p50 {ms[len(ms) // 2]:.2f} ms, p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.2f} ms"
    )
    total = 0.0
    for name, seconds in sorted(out["cpu"].items(), key=lambda kv: -kv[1]):
        total += seconds
        if seconds > 0:
            print(f"  {name:<40} {1000 * seconds / n:.3f} ms per command")
    print(f"  {'all of the service':<40} {1000 * total / n:.3f} ms per command")
    return code


if __name__ == "__main__":
    sys.exit(main())
