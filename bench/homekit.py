"""What Apple Home costs: RSS and idle CPU of ``massage-hub serve`` with the bridge off and on.

Runs the service twice as a child process (simulated pins): once with ``homekit.enabled``
false, once with it true (HAP server and zeroconf on 127.0.0.1). With the bridge on, a real
HomeKit controller (aiohomekit) pairs, lists the accessories and subscribes to every
light and switch, and stays connected, as a Home hub (an Apple TV, a HomePod) would. Each
run settles, then reads VmRSS and the CPU time used over an idle window.

    .venv/bin/python bench/homekit.py [--quick] [--idle 30]

Targets: RSS delta < 10 MB; idle CPU with the bridge on about the same as off.
Exit code 1 if the RSS delta misses its target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.live import LiveHub, cpu_seconds, rss_mb  # noqa: E402
from tests.rigs.support import free_port, wait_for  # noqa: E402

RSS_TARGET_MB = 10.0
SETTLE_SECONDS = 3.0


def private_mb(pid: int) -> float:
    """Return the process's private (anonymous) resident memory in MB: RssAnon.

    The rest of VmRSS is file-backed (the code of shared libraries, such as cryptography's
    Rust module): shared with other processes and dropped first under memory pressure.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _idle(hub: LiveHub, seconds: float) -> tuple[float, float, float]:
    """Return (RSS MB, private MB, CPU % of one core) over an idle window of ``seconds``."""
    cpu0, t0 = cpu_seconds(hub.pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = cpu_seconds(hub.pid), time.monotonic()
    return rss_mb(hub.pid), private_mb(hub.pid), 100.0 * (cpu1 - cpu0) / (t1 - t0)


def run_off(idle: float) -> dict[str, float]:
    """Measure the service with Apple Home off."""
    hub = LiveHub(Path(tempfile.mkdtemp(prefix="bench-hk-off-")))
    hub.start()
    try:
        time.sleep(SETTLE_SECONDS)
        rss, private, cpu = _idle(hub, idle)
    finally:
        hub.stop()
    return {"rss_mb": rss, "private_mb": private, "cpu_pct": cpu}


def run_on(idle: float) -> dict[str, Any]:
    """Measure the service with Apple Home on and a paired, subscribed controller."""
    from tests.rigs.homekit_controller import controller, pair

    overrides = {
        "homekit": {
            "enabled": True,
            "port": free_port(),
            "address": "127.0.0.1",
            "interfaces": ["127.0.0.1"],
        }
    }
    hub = LiveHub(Path(tempfile.mkdtemp(prefix="bench-hk-on-")), overrides)
    hub.start()
    state_file = hub.data_dir / "homekit" / "accessory.state"
    log = wait_for(lambda: "Apple Home is not paired yet" in hub.serve.log() and hub.serve.log())
    code = log.split("setup code ", 1)[1][:10]
    device_id = json.loads(state_file.read_text())["mac"]

    async def measure() -> dict[str, Any]:
        async with controller() as c:
            t0 = time.perf_counter()
            pairing = await pair(c, device_id, code)
            paired_s = time.perf_counter() - t0
            accessories = await pairing.list_accessories_and_characteristics()
            chars = [
                (a["aid"], ch["iid"])
                for a in accessories
                for s in a["services"]
                for ch in s["characteristics"]
                if "ev" in ch.get("perms", [])
            ]
            await pairing.subscribe(chars)
            await asyncio.sleep(SETTLE_SECONDS)
            loop = asyncio.get_running_loop()
            rss, private, cpu = await loop.run_in_executor(None, _idle, hub, idle)
            await pairing.close()
            return {
                "rss_mb": rss,
                "private_mb": private,
                "cpu_pct": cpu,
                "pair_seconds": paired_s,
                "accessories": len(accessories),
                "subscribed": len(chars),
            }

    try:
        return asyncio.run(measure())
    finally:
        hub.stop()


def main() -> int:
    """Run both, print the figures, exit 1 if the RSS delta misses its target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 10 s idle window")
    ap.add_argument("--idle", type=float, default=None, help="idle window in seconds (30)")
    args = ap.parse_args()
    idle = args.idle if args.idle is not None else (10.0 if args.quick else 30.0)
    off = run_off(idle)
    on = run_on(idle)
    delta = on["rss_mb"] - off["rss_mb"]
    print(
        f"Apple Home off: RSS {off['rss_mb']:.1f} MB (private {off['private_mb']:.1f}), "
        f"idle CPU {off['cpu_pct']:.2f} % of a core"
    )
    print(
        f"Apple Home on:  RSS {on['rss_mb']:.1f} MB (private {on['private_mb']:.1f}), "
        f"idle CPU {on['cpu_pct']:.2f} % of a core "
        f"({on['accessories']} accessories, {on['subscribed']} characteristics subscribed, "
        f"paired in {on['pair_seconds']:.2f} s)"
    )
    ok = delta < RSS_TARGET_MB
    print(
        f"RSS delta {delta:+.1f} MB (target < {RSS_TARGET_MB:g}): {'pass' if ok else 'MISS'} "
        f"(private {on['private_mb'] - off['private_mb']:+.1f} MB); "
        f"idle CPU delta {on['cpu_pct'] - off['cpu_pct']:+.2f} points over {idle:g} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
