"""RSS of ``massage-hub serve`` after 1 000 sessions and 10 000 API calls, against warm-up.

Runs the service as a child process (simulated pins), warms it up (50 sessions, 500 calls),
reads VmRSS, then starts and stops 1 000 sessions (no pre-warm; start, stop, stop again to
end the fade-out) and makes 10 000 mixed API calls (state, devices, scenes, history) on 2 keep-alive
clients, and reads VmRSS again. ``--quick`` does a fifth of the work.

    .venv/bin/python bench/memory.py [--quick] [--sessions 1000] [--calls 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.live import Api, LiveHub, rss_mb  # noqa: E402

CALLS: list[tuple[str, str, Any]] = [
    ("GET", "/state", None),
    ("PUT", "/devices/main", {"level": 0.4}),
    ("PUT", "/devices/accent", {"level": 0.2, "fade_seconds": 0.5}),
    ("PUT", "/devices/diffuser", {"mode": "interval"}),
    ("GET", "/scenes", None),
    ("PUT", "/devices/main", {"level": 0.7}),
    ("GET", "/history?limit=20", None),
    ("PUT", "/devices/diffuser", {"mode": "off"}),
    ("PUT", "/devices/speaker", {"volume": 30}),
    ("GET", "/routines", None),
]


def sessions(api: Api, n: int) -> int:
    """Start and stop ``n`` sessions; return how many calls failed.

    A stop fades out, and a second stop ends the fade-out; a stop during the pre-warm ends
    the session at once (the answer's ``session`` is then null), so it needs no second."""
    bad = 0
    for _ in range(n):
        status, _ = api.call("POST", "/session", {"scene": "swedish", "minutes": 30})
        bad += status >= 300
        for _stop in range(2):
            status, body = api.call("DELETE", "/session")
            bad += status >= 300
            if status >= 300 or body.get("session") is None:
                break
    return bad


def calls(api: Api, n: int) -> int:
    """Make ``n`` mixed API calls; return how many failed."""
    bad = 0
    for i in range(n):
        method, path, body = CALLS[i % len(CALLS)]
        status, _ = api.call(method, path, body)
        bad += status >= 300
    return bad


def measure(
    quick: bool = False, n_sessions: int | None = None, n_calls: int | None = None
) -> dict[str, Any]:
    """Run the workload; return RSS before and after, growth and failures."""
    n_sessions = n_sessions if n_sessions is not None else (200 if quick else 1000)
    n_calls = n_calls if n_calls is not None else (2000 if quick else 10_000)
    # no pre-warm: each session runs, fades out on the first stop and ends on the second
    hub = LiveHub(Path(tempfile.mkdtemp(prefix="bench-mem-")), {"session": {"prewarm_minutes": 0}})
    hub.start()
    failures = [0, 0]
    try:
        api = hub.api
        failures[0] += sessions(api, 50) + calls(api, 500)
        time.sleep(1)
        warm = rss_mb(hub.pid)
        t0 = time.monotonic()

        def run_calls() -> None:
            failures[1] += calls(api, n_calls)
            api.close()

        other = threading.Thread(target=run_calls)
        other.start()
        failures[0] += sessions(api, n_sessions)
        other.join()
        elapsed = time.monotonic() - t0
        time.sleep(1)
        after = rss_mb(hub.pid)
    finally:
        hub.stop()
    return {
        "sessions": n_sessions,
        "calls": n_calls,
        "warm_mb": warm,
        "after_mb": after,
        "growth_mb": after - warm,
        "failures": sum(failures),
        "seconds": elapsed,
    }


def main() -> int:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 sessions and 2 000 calls")
    parser.add_argument("--sessions", type=int)
    parser.add_argument("--calls", type=int)
    args = parser.parse_args()
    r = measure(args.quick, args.sessions, args.calls)
    print(f"memory: RSS {r['warm_mb']:.1f} MB after warm-up, {r['after_mb']:.1f} MB after "
          f"{r['sessions']} sessions and {r['calls']} API calls ({r['seconds']:.0f} s): "
          f"growth {r['growth_mb']:+.1f} MB; failed calls {r['failures']}")  # fmt: skip
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
