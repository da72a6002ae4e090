"""The hub's MQTT diffuser switch against mqtt-io 2.7 with one mock output, side by side.

Starts its own Mosquitto on a free loopback port (tests/rigs/broker.py; set_tcp_nodelay as
shipped, i.e. false, unless ``--broker-nodelay``), then two servers on it (and the paho
echo below), each a child process:

- the hub: ``python -m hub.cli serve`` (the real service, web included) on a temp config
  with simulated pins and MQTT on (node ``bench``); its ``diffuser`` switch takes ``ON`` /
  ``OFF`` on ``massagehub/bench/diffuser/set`` and publishes ``.../diffuser/state``;
- the peer: mqtt-io 2.7 (``python -m mqtt_io``) from a bench-only venv (built when missing,
  by default in /var/cache/massage-hub-bench/mqttio-venv: ``mqtt-io==2.7.*`` and the hub's
  own gpiozero version), with its ``gpiozero`` GPIO module on gpiozero's MockFactory
  (``GPIOZERO_PIN_FACTORY=mock``) and one digital output ``diffuser`` (pin 23, class
  DigitalOutputDevice): commands on ``mqttio/bench/output/diffuser/set``, state on
  ``mqttio/bench/output/diffuser``. Its logging is as shipped (INFO, one line per command,
  to a file) unless ``--peer-quiet``.

First both idle for ``--idle`` seconds, the hub with 5 SSE clients on ``GET /api/v1/events``
(token from ``massage-hub token create``), and VmRSS is read (the "idle RSS" figure). The
SSE clients are then closed, and one client (paho, TCP_NODELAY) makes ON/OFF command ->
state round trips against each, QoS 0 then QoS 1, in interleaved passes (hub, peer, hub,
peer, ...) of ``--count`` each after a warm-up. Printed: p50/p99 of command -> state per
QoS, CPU per round trip (utime+stime from /proc/<pid>/stat, over that server's measured
passes only), VmRSS, each as figures and as hub/mqtt-io ratios; the last line is the
ratios as JSON for bench/run_all.py.

Two floors are measured in the same run (bench/peers.py): a bare paho echo, a third target
in the same passes, that answers each command on its network thread and does nothing else
(what no threaded paho server can beat), and the VmRSS of a Python that only imports the
hub's libraries (what no hub on them can go under), then its own modules too.

The measuring client ACKs the broker's PUBACK at once (TCP_QUICKACK when it arrives).
Without that (``--client-delayed-ack``), Mosquitto's Nagle (``set_tcp_nodelay false``, as
shipped) holds the state behind the PUBACK until this client's delayed ACK, about 40 ms,
for either server alike: a QoS 1 figure of the bench itself, which hides the servers'
difference (and the CPU per round trip then mostly counts 40 ms of each server idling).

    .venv/bin/python bench/peer_mqttio.py [--count 500] [--passes 3] [--idle 10]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.broker import Mosquitto, Observer  # noqa: E402
from tests.rigs.live import LiveHub, cpu_seconds, rss_mb  # noqa: E402
from tests.rigs.support import wait_for  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from peers import DEFAULT_VENV, NODE, MqttIo, PahoEcho, ensure_venv, pct, stack_rss_mb  # noqa: E402

WARMUP = 30  # round trips per target and QoS before the measured passes


# --- the client ---------------------------------------------------------------------------


class Target:
    """One server under test: its topics, process and measurements."""

    def __init__(self, name: str, set_topic: str, state_topic: str, pid: int) -> None:
        self.name = name
        self.set_topic = set_topic
        self.state_topic = state_topic
        self.pid = pid
        self.last: str | None = None  # newest state payload seen
        self.ms: dict[int, list[float]] = {0: [], 1: []}
        self.cpu: dict[int, float] = {0: 0.0, 1: 0.0}
        self.lost = 0


class RoundTrips:
    """One paho client that publishes commands and times the state coming back."""

    def __init__(
        self, port: int, targets: list[Target], extra: list[str], quickack: bool = True
    ) -> None:
        self.by_topic = {t.state_topic: t for t in targets}
        self.obs = Observer(port, [t.state_topic for t in targets] + extra)
        if quickack:
            self.obs.client.on_publish = self._ack_now
        self.seen = threading.Event()
        self.want: tuple[str, str] | None = None
        self.stamp = 0.0
        self.qos = 0  # of the command under way
        original = self.obs._on_message

        def on_message(client, userdata, msg):  # type: ignore[no-untyped-def]
            target = self.by_topic.get(msg.topic)
            if target is not None:
                now = time.perf_counter()
                payload = msg.payload.decode("utf-8", "replace")
                target.last = payload
                if self.want == (msg.topic, payload):
                    self.stamp = now
                    self.seen.set()
            original(client, userdata, msg)

        self.obs.client.on_message = on_message

    def _ack_now(self, client: Any, *args: Any) -> None:
        """A PUBACK came: ACK it now, so the broker's Nagle sends the state (see the top).

        paho calls this for a QoS 0 command too, once it is written: that is left alone."""
        sock = client.socket()
        if self.qos == 1 and sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def one(self, target: Target, qos: int, timeout: float = 2.0) -> float | None:
        """Flip ``target`` (ON <-> OFF) once; return command -> state in ms, or None if lost."""
        payload = "OFF" if target.last == "ON" else "ON"
        self.qos = qos
        self.want = (target.state_topic, payload)
        self.seen.clear()
        t0 = time.perf_counter()
        self.obs.client.publish(target.set_topic, payload, qos=qos)
        if not self.seen.wait(timeout):
            target.lost += 1
            target.last = None  # unknown: the next command is ON
            return None
        return (self.stamp - t0) * 1000

    def ready(self, target: Target, timeout: float = 30.0) -> None:
        """Wait until ``target`` answers a command."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.one(target, 1, timeout=1.0) is not None:
                target.lost = 0
                return
        raise RuntimeError(f"{target.name} never answered on {target.state_topic}")

    def run_pass(self, target: Target, qos: int, count: int, measured: bool) -> None:
        cpu0 = cpu_seconds(target.pid)
        for _ in range(count):
            ms = self.one(target, qos)
            if ms is not None and measured:
                target.ms[qos].append(ms)
        if measured:
            target.cpu[qos] += cpu_seconds(target.pid) - cpu0

    def close(self) -> None:
        self.obs.close()


# --- the bench ----------------------------------------------------------------------------


def measure(
    count: int = 500,
    passes: int = 3,
    idle: float = 10.0,
    venv: Path = DEFAULT_VENV,
    nodelay: bool = False,
    peer_quiet: bool = False,
    quickack: bool = True,
) -> dict[str, Any]:
    """Run both servers and return every figure (see the module docstring)."""
    peer_version, gz_version = ensure_venv(venv)
    folder = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    broker = Mosquitto(folder / "broker", nodelay=nodelay).start()
    out: dict[str, Any] = {
        "mqttio": peer_version,
        "gpiozero": gz_version,
        "count": count,
        "passes": passes,
        "idle_s": idle,
        "nodelay": nodelay,
        "peer_quiet": peer_quiet,
        "client_quickack": quickack,
    }
    hub = LiveHub(
        folder / "hub",
        {"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port, "node_id": NODE}},
    )
    peer = MqttIo(venv, folder / "mqttio", broker.port, peer_quiet)
    echo = PahoEcho(broker.port)
    client: RoundTrips | None = None
    clients: list[Any] = []
    try:
        hub.start()
        peer.start()
        echo.start()
        base = f"massagehub/{NODE}"
        t_hub = Target("hub", f"{base}/diffuser/set", f"{base}/diffuser/state", hub.pid)
        t_peer = Target("mqtt-io", peer.set_topic, peer.state_topic, peer.pid)
        t_echo = Target("paho echo", echo.set_topic, echo.state_topic, echo.pid)
        targets = [t_hub, t_peer, t_echo]
        client = RoundTrips(
            broker.port,
            targets,
            [f"{base}/availability", f"{peer.prefix}/status"],
            quickack,
        )
        wait_for(lambda: client.obs.last(f"{base}/availability") == "online", timeout=20)
        wait_for(lambda: peer.check() or client.obs.last(f"{peer.prefix}/status"), timeout=30)
        for t in targets:
            client.ready(t)  # both subscribed and answering
            client.ready(t)  # and back where it started (OFF)
        # idle: the hub with 5 SSE clients, both with MQTT connected and nothing to do
        clients = hub.sse_clients(5)
        time.sleep(2.0)
        c0 = {t.name: cpu_seconds(t.pid) for t in (t_hub, t_peer)}
        t0 = time.monotonic()
        time.sleep(idle)
        elapsed = time.monotonic() - t0
        out["idle_cpu_pct"] = {
            t.name: 100 * (cpu_seconds(t.pid) - c0[t.name]) / elapsed for t in (t_hub, t_peer)
        }
        out["idle_rss_mb"] = {t.name: rss_mb(t.pid) for t in (t_hub, t_peer)}
        out["sse_errors"] = [c.error for c in clients if c.error]
        for c in clients:
            c.stop()
        clients = []
        out["stack_rss_mb"] = stack_rss_mb()  # the hub's libraries imported, nothing else
        out["modules_rss_mb"] = stack_rss_mb(hub_modules=True)  # and the hub's own modules
        time.sleep(0.5)
        # round trips, interleaved passes
        t0 = time.monotonic()
        for qos in (0, 1):
            for t in targets:
                client.run_pass(t, qos, WARMUP, measured=False)
            for _ in range(passes):
                for t in targets:
                    client.run_pass(t, qos, count, measured=True)
        out["round_trip_s"] = time.monotonic() - t0
        peer.check()
        out["rss_after_mb"] = {t.name: rss_mb(t.pid) for t in (t_hub, t_peer)}
        for t in targets:
            n = {q: len(t.ms[q]) for q in (0, 1)}
            out[t.name] = {
                "pid": t.pid,
                "lost": t.lost,
                "n": n,
                "p50": {q: pct(t.ms[q], 50) for q in (0, 1) if t.ms[q]},
                "p99": {q: pct(t.ms[q], 99) for q in (0, 1) if t.ms[q]},
                "mean": {q: statistics.fmean(t.ms[q]) for q in (0, 1) if t.ms[q]},
                "cpu_ms": {q: 1000 * t.cpu[q] / max(1, n[q]) for q in (0, 1)},
                "cpu_ms_all": 1000 * sum(t.cpu.values()) / max(1, n[0] + n[1]),
            }
    finally:
        for c in clients:
            c.stop()
        if client is not None:
            client.close()
        echo.stop()
        peer.stop()
        hub.stop()
        broker.stop()
    h, p, e = out["hub"], out["mqtt-io"], out["paho echo"]
    out["ratios"] = {
        "qos0_p50": h["p50"][0] / p["p50"][0],
        "qos0_p99": h["p99"][0] / p["p99"][0],
        "qos1_p50": h["p50"][1] / p["p50"][1],
        "qos1_p99": h["p99"][1] / p["p99"][1],
        "cpu": h["cpu_ms_all"] / p["cpu_ms_all"],
        "cpu_qos0": h["cpu_ms"][0] / p["cpu_ms"][0] if p["cpu_ms"][0] else None,
        "cpu_qos1": h["cpu_ms"][1] / p["cpu_ms"][1] if p["cpu_ms"][1] else None,
        "idle_rss": out["idle_rss_mb"]["hub"] / out["idle_rss_mb"]["mqtt-io"],
        "rss_after": out["rss_after_mb"]["hub"] / out["rss_after_mb"]["mqtt-io"],
        "hub_idle_rss_mb": out["idle_rss_mb"]["hub"],
        "peer_idle_rss_mb": out["idle_rss_mb"]["mqtt-io"],
        "hub_qos0_p99_ms": h["p99"][0],
        "peer_qos0_p99_ms": p["p99"][0],
        "hub_qos1_p99_ms": h["p99"][1],
        "peer_qos1_p99_ms": p["p99"][1],
        "hub_cpu_ms": h["cpu_ms_all"],
        "peer_cpu_ms": p["cpu_ms_all"],
        "hub_cpu_qos0_ms": h["cpu_ms"][0],
        "peer_cpu_qos0_ms": p["cpu_ms"][0],
        # the floors: what a paho server doing nothing costs, what the imports alone take
        "echo_qos0_p99_ms": e["p99"][0],
        "echo_cpu_qos0_ms": e["cpu_ms"][0],
        "echo_qos0_p99": e["p99"][0] / p["p99"][0],
        "echo_cpu_qos0": e["cpu_ms"][0] / p["cpu_ms"][0] if p["cpu_ms"][0] else None,
        "stack_rss_mb": out["stack_rss_mb"],
        "modules_rss_mb": out["modules_rss_mb"],
        "count": count,
        "passes": passes,
    }
    return out


def show(r: dict[str, Any]) -> None:
    """Print the figures."""
    h, p, e, q = r["hub"], r["mqtt-io"], r["paho echo"], r["ratios"]
    print(
        f"hub: massage-hub serve child process (pid {h['pid']}), simulated pins, MQTT on; "
        f"peer: mqtt-io {r['mqttio']} child process (pid {p['pid']}), gpiozero {r['gpiozero']} "
        f"MockFactory, 1 output{' (logging WARNING)' if r['peer_quiet'] else ' (logging INFO)'}"
    )
    print(
        f"Mosquitto set_tcp_nodelay {'true' if r['nodelay'] else 'false (default)'}; "
        f"client {'ACKs PUBACKs at once' if r['client_quickack'] else 'delays its ACKs'}; "
        f"{r['passes']} interleaved passes x {r['count']} round trips per server and QoS "
        f"(+{WARMUP} warm-up); round trips took {r['round_trip_s']:.0f} s"
    )
    for qos in (0, 1):
        for name, t in (("hub", h), ("mqtt-io", p), ("paho echo", e)):
            print(
                f"QoS {qos} command -> state  {name:<9} n={t['n'][qos]:<5} "
                f"p50={t['p50'][qos]:7.2f} ms  p99={t['p99'][qos]:7.2f} ms  "
                f"mean={t['mean'][qos]:7.2f} ms  CPU/round trip={t['cpu_ms'][qos]:.3f} ms"
            )
        print(f"QoS {qos} hub/mqtt-io: p50 {q[f'qos{qos}_p50']:.2f}  p99 {q[f'qos{qos}_p99']:.2f}")
    print(
        f"CPU per round trip (both QoS): hub {h['cpu_ms_all']:.3f} ms, mqtt-io "
        f"{p['cpu_ms_all']:.3f} ms, hub/mqtt-io {q['cpu']:.2f}"
    )
    rss, idle = r["idle_rss_mb"], r["idle_cpu_pct"]
    print(
        f"idle RSS after {r['idle_s']:g} s: hub {rss['hub']:.1f} MB (MQTT on, 5 SSE clients), "
        f"mqtt-io {rss['mqtt-io']:.1f} MB, hub/mqtt-io {q['idle_rss']:.2f}; idle CPU hub "
        f"{idle['hub']:.2f} %, mqtt-io {idle['mqtt-io']:.2f} %"
    )
    print(
        f"floors: a paho echo (one thread, no work) QoS 0 p99 {q['echo_qos0_p99_ms']:.2f} ms = "
        f"{q['echo_qos0_p99']:.2f} x mqtt-io's, CPU {q['echo_cpu_qos0_ms']:.3f} ms = "
        f"{q['echo_cpu_qos0'] or 0:.2f} x; RSS of the hub's libraries imported alone "
        f"{q['stack_rss_mb']:.1f} MB, with the hub's own modules and models imported too "
        f"{q['modules_rss_mb']:.1f} MB (nothing started)"
    )
    after = r["rss_after_mb"]
    print(
        f"RSS after the round trips: hub {after['hub']:.1f} MB, mqtt-io {after['mqtt-io']:.1f} MB, "
        f"hub/mqtt-io {q['rss_after']:.2f}"
    )
    if h["lost"] or p["lost"] or r["sse_errors"]:
        print(
            f"lost round trips: hub {h['lost']}, mqtt-io {p['lost']}; SSE errors {r['sse_errors']}"
        )
    print("peer-ratios: " + json.dumps(q, sort_keys=True))


def main() -> int:
    """Run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="round trips per pass")
    parser.add_argument("--passes", type=int, default=3, help="passes per server and QoS")
    parser.add_argument("--idle", type=float, default=10.0, help="idle window for RSS, s")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="bench-only venv")
    parser.add_argument("--broker-nodelay", action="store_true", help="set_tcp_nodelay true")
    parser.add_argument("--peer-quiet", action="store_true", help="mqtt-io logs WARNING only")
    parser.add_argument(
        "--client-delayed-ack", action="store_true", help="no TCP_QUICKACK (see the top)"
    )
    args = parser.parse_args()
    r = measure(args.count, args.passes, args.idle, args.venv, args.broker_nodelay,
                args.peer_quiet, not args.client_delayed_ack)  # fmt: skip
    show(r)
    lost = r["hub"]["lost"] + r["mqtt-io"]["lost"]
    return 1 if lost > 0.01 * 2 * args.count * args.passes or r["sse_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
