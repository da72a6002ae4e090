"""Routine figures: how late the real scheduler fires, and what routines cost at start-up.

    .venv/bin/python bench/routines.py [N]

Makes a hub on simulated pins with the real clock, N one-off routines (default 10) one
second apart, and records when each run's event arrives against its planned second.
Also times importing astral, ``next_fire`` and ``hub.state()`` with 50
routines. Prints figures; asserts nothing.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


RSS = "int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])"


def import_cost() -> None:
    """Time and resident memory of importing astral, in a fresh process."""
    code = (
        "import time; t=time.perf_counter(); "
        "import astral.sun; "
        f"print(time.perf_counter()-t, {RSS})"
    )
    py = sys.executable
    t, rss = map(float, subprocess.check_output([py, "-c", code], text=True).split())
    rss0 = float(subprocess.check_output([py, "-c", f"print({RSS})"], text=True))
    print(f"import astral: {t * 1000:.0f} ms, +{(rss - rss0) / 1024:.1f} MB RSS")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    from hardware import SilentSpeaker
    from hardware.pins import SimFactory
    from hub.command_models import parse
    from hub.config.model import load_config
    from hub.core import Hub
    from hub.engine.event_types import RoutinesChanged
    from hub.engine.events import Event
    from hub.routines.controller import RoutineController
    from hub.routines.models import RoutineIn, next_fire
    from tests.rigs.support import write_config

    import_cost()
    folder = Path(tempfile.mkdtemp())
    config = load_config(write_config(folder, {"timezone": "Europe/London"}))
    hub = Hub(config, pin_factory=SimFactory(), speaker=SilentSpeaker())
    hub.start()
    rc = RoutineController(hub)
    rc.start()
    zone = hub.zone
    arrived: dict[str, float] = {}

    def on_event(e: Event) -> None:
        p = e.payload
        if isinstance(p, RoutinesChanged) and p.outcome == "ran":
            arrived[p.routine] = time.time()

    hub.subscribe(on_event)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    planned: dict[str, float] = {}
    for i in range(n):
        at = (start + timedelta(seconds=i)).astimezone(zone)
        r = rc.create_routine(
            {
                "name": f"bench {i}",
                "schedule": {
                    "kind": "once",
                    "date": at.date().isoformat(),
                    "time": f"{at:%H:%M:%S}",
                },
                "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
            }
        )
        planned[r["id"]] = at.timestamp()
    deadline = time.time() + n + 10
    while len(arrived) < n and time.time() < deadline:
        time.sleep(0.05)
    lags = sorted((arrived[k] - planned[k]) * 1000 for k in arrived)
    print(
        f"real scheduler, {len(lags)}/{n} runs: lag p50 {statistics.median(lags):.1f} ms, "
        f"max {max(lags):.1f} ms (planned second -> run event)"
    )

    sched = parse(
        RoutineIn,
        {
            "name": "x",
            "schedule": {"kind": "weekly", "days": ["mon", "fri"], "time": "21:30"},
            "action": {"kind": "wind_down"},
        },
    ).schedule  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    t = time.perf_counter()
    for i in range(2000):
        next_fire(sched, now + timedelta(hours=i), zone)
    print(f"next_fire (weekly): {(time.perf_counter() - t) / 2000 * 1e6:.0f} µs")
    for i in range(50):
        rc.create_routine(
            {
                "name": f"many {i}",
                "schedule": {
                    "kind": "weekly",
                    "days": ["mon"],
                    "time": f"{i % 24:02d}:{i % 60:02d}",
                },
                "action": {"kind": "scene", "scene": "cleaning", "minutes": 1},
            }
        )
    t = time.perf_counter()
    for _ in range(500):
        hub.state()
    print(
        f"hub.state() with {len(rc.routines)} routines: {(time.perf_counter() - t) / 500 * 1e6:.0f} µs"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {rss:.1f} MB")
    rc.stop()
    hub.close()


if __name__ == "__main__":
    main()
