"""What a pad's sensor costs: idle CPU and RSS of ``massage-hub serve`` without and with one.

Runs the service three times as a child process (simulated pins): a pad on time alone, a pad
with the simulated sensor (a thermal model read at each look), and a pad with a DS18B20
read through the real w1thermsensor library from files in the kernel's format (its reading
thread every 2 s, as on a Pi). Each run settles, then reads VmRSS and the CPU time used over
an idle window. A figure, not a test: it prints and exits 0.

    .venv/bin/python bench/pad_sensor.py [--idle 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.fake_w1 import FakeW1Bus  # noqa: E402
from tests.rigs.live import LiveHub, cpu_seconds, rss_mb  # noqa: E402

SETTLE_SECONDS = 3.0


def measure(name: str, overrides: dict[str, Any], idle: float) -> dict[str, Any]:
    """Start the service with ``overrides``, let it settle, and measure an idle window."""
    hub = LiveHub(Path(tempfile.mkdtemp(prefix=f"bench-pad-{name}-")), overrides)
    hub.start()
    try:
        time.sleep(SETTLE_SECONDS)
        cpu0, t0 = cpu_seconds(hub.pid), time.monotonic()
        time.sleep(idle)
        cpu1, t1 = cpu_seconds(hub.pid), time.monotonic()
        return {
            "run": name,
            "rss_mb": rss_mb(hub.pid),
            "cpu_pct": 100.0 * (cpu1 - cpu0) / (t1 - t0),
        }
    finally:
        hub.stop()


def main() -> int:
    """Measure the three runs and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    args = parser.parse_args()
    w1 = Path(tempfile.mkdtemp(prefix="bench-pad-w1-")) / "devices"
    FakeW1Bus(w1).set("28-0316a279a4ff", 23.5)
    runs = [
        ("time alone", {}),
        ("simulated sensor", {"heat_pads": {"pad": {"sensor": "auto"}}}),
        (
            "DS18B20 (w1thermsensor)",
            {
                "hardware": {"sensors": "w1", "w1_devices": str(w1)},
                "heat_pads": {"pad": {"sensor": "auto"}},
            },
        ),
    ]
    print(f"idle window {args.idle:g} s after {SETTLE_SECONDS:g} s to settle; simulated pins")
    for name, overrides in runs:
        r = measure(name.split()[0], overrides, args.idle)
        print(f"  {name:<26} RSS {r['rss_mb']:6.1f} MB   idle CPU {r['cpu_pct']:5.2f} % of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
