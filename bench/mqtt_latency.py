"""Time an MQTT command to the simulated pin change, and to the state coming back.

Starts its own Mosquitto on a free loopback port, a hub (real clock, simulated pins)
with its MQTT bridge in this process, and a second client that publishes light commands
on ``massagehub/bench/light_main/set``. Prints p50/p90/p99/max over N commands for QoS 0
and QoS 1: publish -> PWM pin changed, and publish -> state topic received.

    .venv/bin/python bench/mqtt_latency.py [--count 1000] [--broker-nodelay]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardware import SilentSpeaker  # noqa: E402
from hardware.pins import SimFactory  # noqa: E402
from hub.config.model import load_config  # noqa: E402
from hub.core import Hub  # noqa: E402
from hub.engine.clock import RealClock  # noqa: E402
from hub.mqtt import mqtt_component  # noqa: E402
from tests.rigs.broker import Mosquitto, Observer  # noqa: E402
from tests.rigs.support import wait_for, write_config  # noqa: E402


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def show(label: str, ms: list[float]) -> None:
    """Print the figures for one series."""
    print(
        f"{label:<34} n={len(ms):<5} p50={pct(ms, 50):6.2f} ms  p90={pct(ms, 90):6.2f} ms  "
        f"p99={pct(ms, 99):6.2f} ms  max={max(ms):6.2f} ms  mean={statistics.fmean(ms):6.2f} ms"
    )


def main() -> int:
    """Run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--broker-nodelay",
        action="store_true",
        help="run Mosquitto with set_tcp_nodelay true (it is false by default)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mqtt-bench-"))
    broker = Mosquitto(folder / "broker", nodelay=args.broker_nodelay).start()
    print(f"Mosquitto set_tcp_nodelay {'true' if args.broker_nodelay else 'false (default)'}")
    config = load_config(
        write_config(
            folder / "hub",
            {
                "mqtt": {
                    "enabled": True,
                    "host": "127.0.0.1",
                    "port": broker.port,
                    "node_id": "bench",
                }
            },
        )
    )
    factory = SimFactory()
    hub = Hub(config, clock=RealClock(), pin_factory=factory, speaker=SilentSpeaker())
    hub.start()
    bridge = mqtt_component(SimpleNamespace(hub=hub, config=config))
    assert bridge is not None
    bridge.start()
    base = bridge.base
    state_topic = f"{base}/light_main/state"
    pin_changed = threading.Event()
    state_seen = threading.Event()
    stamps: dict[str, float] = {}

    def on_pin(name: str, value: float) -> None:
        if name == "GPIO18":
            stamps["pin"] = time.perf_counter()
            pin_changed.set()

    factory.listeners.append(on_pin)
    obs = Observer(broker.port, [state_topic, f"{base}/availability"])
    wait_for(lambda: obs.last(f"{base}/availability") == "online")
    original = obs._on_message

    def on_message(client, userdata, msg):  # type: ignore[no-untyped-def]
        if msg.topic == state_topic:
            stamps["state"] = time.perf_counter()
            state_seen.set()
        original(client, userdata, msg)

    obs.client.on_message = on_message
    try:
        for qos in (0, 1):
            to_pin: list[float] = []
            to_state: list[float] = []
            for i in range(args.count + 20):
                brightness = 60 + (i % 2) * 120
                pin_changed.clear()
                state_seen.clear()
                t0 = time.perf_counter()
                obs.client.publish(
                    f"{base}/light_main/set",
                    f'{{"state": "ON", "brightness": {brightness}}}',
                    qos=qos,
                )
                if not pin_changed.wait(2) or not state_seen.wait(2):
                    print(f"command {i} was lost", file=sys.stderr)
                    return 1
                if i >= 20:  # warm-up
                    to_pin.append((stamps["pin"] - t0) * 1000)
                    to_state.append((stamps["state"] - t0) * 1000)
            show(f"QoS {qos}: publish -> pin changed", to_pin)
            show(f"QoS {qos}: publish -> state received", to_state)
    finally:
        obs.close()
        bridge.stop()
        hub.close()
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
