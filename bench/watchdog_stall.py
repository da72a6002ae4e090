"""Time from a hung control loop to the heat pad's pin going off, and the watchdog's cost.

Runs a real-clock hub (simulated pins) with the watchdog in this process, switches the pad
on, makes the next control step hang while holding the hub lock (the test hook), and
measures how long after ``hardware.watchdog_seconds`` the pad's pin drops. Also prints the
CPU time the watchdog thread costs per minute while idle.

    .venv/bin/python bench/watchdog_stall.py [--runs 10] [--limit 1]
"""

from __future__ import annotations

import argparse
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
from hub.config.model import load_config  # noqa: E402
from hub.engine.watchdog import stall_next_step, watchdog_component  # noqa: E402
from hub.service import Service  # noqa: E402
from tests.rigs.support import write_config  # noqa: E402

PAD = "GPIO24"


def main() -> None:
    """Run the measurements and print them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--limit", type=float, default=1.0, help="hardware.watchdog_seconds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            write_config(Path(tmp), {"hardware": {"watchdog_seconds": args.limit}})
        )
        factory = SimFactory()
        off = threading.Event()
        factory.listeners.append(lambda pin, v: off.set() if pin == PAD and v == 0 else None)
        service = Service(config, pin_factory=factory, speaker=SilentSpeaker())
        dog = watchdog_component(service)
        assert dog is not None
        service.watchdog = dog
        service.add(dog)
        service.start()
        hub = service.hub
        delays = []
        try:
            for _ in range(args.runs):
                hub.devices.set("pad", {"heat": "high", "minutes": 10})
                while factory.level(PAD) != 1.0:
                    time.sleep(0.01)
                off.clear()
                t0 = time.monotonic()
                stall_next_step(hub, args.limit + 1.5)
                off.wait(args.limit + 5)
                delays.append(time.monotonic() - t0)
                while dog.stalled:
                    time.sleep(0.05)
            delays.sort()
            print(f"watchdog_seconds={args.limit:g}, {args.runs} stalls")
            print(
                f"stall -> pad off: min {delays[0]:.3f}s  median {statistics.median(delays):.3f}s"
                f"  max {delays[-1]:.3f}s  (beyond the limit: max {delays[-1] - args.limit:.3f}s)"
            )
            assert dog._thread is not None and dog._thread.native_id is not None
            stat_path = Path(f"/proc/self/task/{dog._thread.native_id}/stat")

            def ticks() -> int:
                fields = stat_path.read_text().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])  # utime + stime

            t0, c0 = time.monotonic(), ticks()
            time.sleep(20)
            used = (ticks() - c0) / 100  # clock ticks of 10 ms
            per_min = used / (time.monotonic() - t0) * 60
            print(f"watchdog thread CPU while idle: {per_min:.3f} s per minute")
        finally:
            service.stop()


if __name__ == "__main__":
    main()
