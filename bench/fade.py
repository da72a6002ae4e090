"""Benchmark the fader: three light channels fading together on the real control loop.

Prints, per channel: updates per second while fading, the largest perceived step between
two updates, the longest gap between updates, and the end-time error; and the CPU share
of one core the whole process used (``time.process_time()`` / wall time over the run).

    .venv/bin/python bench/fade.py                 # 60 s fade, real clock, real loop thread
    .venv/bin/python bench/fade.py --seconds 1     # 1 s fade
    .venv/bin/python bench/fade.py --long          # 30 min fade on a FAKE (accelerated) clock

The real-clock runs use ``Hub`` with ``RealClock`` and gpiozero's mock pins (``SimFactory``),
so the figures are the control loop's own cost; real PWM pins add the driver's cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hardware import SilentSpeaker  # noqa: E402
from hardware.pins import SimFactory  # noqa: E402
from hub.config.model import load_config  # noqa: E402
from hub.core import Hub  # noqa: E402
from hub.engine.clock import FakeClock, RealClock  # noqa: E402
from tests.rigs.support import write_config  # noqa: E402

CHANNELS = {
    "main": ("GPIO18", 0.0, 1.0),
    "accent": ("GPIO13", 1.0, 0.0),
    "wash": ("GPIO12", 0.1, 0.8),
}


def make_hub(folder: Path, clock: Any, mirror: bool) -> tuple[Hub, SimFactory]:
    """Build a hub with a third light channel ("wash" on GPIO12)."""
    path = write_config(folder, {"lights": {"wash": {"pin": 12, "name": "Wash"}}, "button": None})
    config = load_config(path)
    factory = SimFactory()
    hub = Hub(
        config,
        clock=clock,
        pin_factory=factory,
        speaker=SilentSpeaker(playlists=["calm"]),
        mirror=mirror,
    )
    return hub, factory


def run(seconds: float, *, fake: bool, mirror: bool) -> dict[str, Any]:
    """Fade three channels over ``seconds``; return the measurements."""
    folder = Path(tempfile.mkdtemp(prefix="fade-bench-"))
    clock: Any = FakeClock() if fake else RealClock()
    hub, factory = make_hub(folder, clock, mirror)
    records: dict[str, list[tuple[float, float]]] = {pin: [] for pin, _, _ in CHANNELS.values()}
    lock = threading.Lock()

    def on_change(pin: str, value: float) -> None:
        if pin in records:
            with lock:
                records[pin].append((clock.monotonic(), value))

    hub.start()
    try:
        for lid, (_, start, _) in CHANNELS.items():
            hub.devices.set(lid, {"level": start})
        time.sleep(0 if fake else 0.2)
        factory.listeners.append(on_change)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with hub.lock:  # start all three in the same instant
            t0 = clock.monotonic()
            for lid, (_, _, target) in CHANNELS.items():
                hub.devices.set(lid, {"level": target, "fade_seconds": seconds})
        if fake:
            hub.advance(seconds + 1)
        else:
            time.sleep(seconds + 1)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        factory.listeners.remove(on_change)  # closing switches off: not part of the fade
    finally:
        hub.close()
    out: dict[str, Any] = {"seconds": seconds, "fake": fake, "channels": {}}
    for lid, (pin, start, target) in CHANNELS.items():
        light = hub.room.lights[lid]
        ups = [(t, light.level_for(v)) for t, v in records[pin] if t >= t0]
        late = [t for t, v in ups if t > t0 + seconds + 0.05 and abs(v - target) > 1e-9]
        if late:
            raise AssertionError(f"{lid} moved away from its target after the fade: {late[:3]}")
        levels = [start] + [v for _, v in ups]
        steps = [abs(b - a) for a, b in zip(levels, levels[1:], strict=False)]
        times = [t0] + [t for t, _ in ups]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        final = next((t for t, v in ups if abs(v - target) < 1e-9), None)
        out["channels"][lid] = {
            "updates": len(ups),
            "rate": len(ups) / seconds,
            "max_step": max(steps) if steps else 0.0,
            "max_gap": max(gaps) if gaps else 0.0,
            "end_error": None if final is None else final - (t0 + seconds),
            "on_target": bool(ups) and abs(ups[-1][1] - target) < 1e-9,
        }
    # with a fake clock the run is accelerated: CPU per simulated second instead
    out["cpu_percent"] = 100 * cpu / (seconds + 1 if fake else wall)
    out["cpu_seconds"] = cpu
    out["wall"] = wall
    return out


def show(result: dict[str, Any]) -> None:
    """Print one run as a small table."""
    seconds = result["seconds"]
    kind = (
        "FAKE clock, accelerated (hub.advance): rates are per simulated second"
        if result["fake"]
        else "real clock, real control-loop thread"
    )
    print(f"\n{seconds:g} s fade of 3 channels together: {kind}")
    print(
        f"{'channel':8} {'updates':>8} {'upd/s':>7} {'max step':>9} {'max gap':>9} {'end error':>12}"
    )
    for lid, c in result["channels"].items():
        err = c["end_error"]
        err_text = "never" if err is None else f"{err * 1000:+.1f} ms"
        pct = "" if err is None else f" ({100 * abs(err) / seconds:.2f}%)"
        print(
            f"{lid:8} {c['updates']:8d} {c['rate']:7.1f} {100 * c['max_step']:8.3f}% "
            f"{c['max_gap'] * 1000:7.1f}ms {err_text:>12}{pct}"
        )
    if result["fake"]:
        print(
            f"CPU: {result['cpu_seconds']:.2f} s for {seconds:g} simulated s "
            f"({result['cpu_percent']:.2f}% of one core if it ran in real time; "
            f"wall {result['wall']:.2f} s)"
        )
    else:
        print(
            f"CPU: {result['cpu_percent']:.1f}% of one core "
            f"({result['cpu_seconds']:.2f} s CPU over {result['wall']:.2f} s wall)"
        )
    print("max step = largest change in perceived level between two updates (% of full)")


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="fade length (real clock)")
    parser.add_argument("--long", action="store_true", help="30 min fade on a fake clock")
    parser.add_argument(
        "--mirror", action="store_true", help="also write sim-pins.json (as `serve` does)"
    )
    args = parser.parse_args()
    if args.long:
        show(run(30 * 60, fake=True, mirror=False))
    else:
        show(run(args.seconds, fake=False, mirror=args.mirror))
    return 0


if __name__ == "__main__":
    sys.exit(main())
