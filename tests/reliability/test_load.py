"""Load: 50 requests/s of mixed commands with 20 SSE clients (10 minutes full, 30 s short).

Five paced workers (10 requests/s each, own keep-alive connection) drive a live service:
one walks through sessions (start, pause, resume, extend, stop, stop), scenes and all-off;
the others set lights with fades, the diffuser and the volume and read state, scenes,
history and routines. The service runs in a cgroup allowed 1/8 of one core (a capacity
model of a Raspberry Pi Zero 2 W, ``tests/rigs/cpu_quota.py``; at full speed where no cgroup
can be made, and the test says why), its clients outside it, so it falls behind the way a
Pi does. Checks: every request answered 2xx; on every SSE client the event numbers never
go backwards and every client ends on the same last event, whose devices are the true
state (updates are coalesced, so a client need not see every event: web/sse.py); and the
service's RSS grew by at most 5 MB from warm-up to the end, read once the load generator
has finished and the service has caught up (a figure, never a time).
"""

from __future__ import annotations

import compileall
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import figure, scale
from tests.rigs.cpu_quota import quota_or_reason
from tests.rigs.live import Api, LiveHub, rss_mb
from tests.rigs.support import ROOT, wait_for

pytestmark = pytest.mark.reliability

RATE = 50.0
WORKERS = 5
SSE_CLIENTS = 20
GROWTH_LIMIT_MB = 5.0
CPU_SHARE = 0.125  # of one core: the service's cgroup

SESSION_STEPS: list[tuple[str, str, Any]] = [
    # no heat, so no pre-warm: the first stop fades out, the second ends the fade-out
    ("POST", "/session", {"scene": "wind-down", "minutes": 30}),
    ("GET", "/state", None),
    ("POST", "/session/pause", None),
    ("POST", "/session/resume", None),
    ("POST", "/session/extend", {"minutes": 5}),
    ("GET", "/state", None),
    ("DELETE", "/session", None),
    ("DELETE", "/session", None),
    ("POST", "/scenes/deep-tissue/apply", {"fade_seconds": 1}),
    ("GET", "/history?limit=5", None),
    ("POST", "/all-off", None),
]
DEVICE_STEPS: list[tuple[str, str, Any]] = [
    ("PUT", "/devices/main", {"level": 0.6, "fade_seconds": 0.5}),
    ("GET", "/state", None),
    ("PUT", "/devices/accent", {"level": 0.3}),
    ("GET", "/scenes", None),
    ("PUT", "/devices/diffuser", {"mode": "interval"}),
    ("PUT", "/devices/main", {"level": 0.2, "fade_seconds": 1}),
    ("PUT", "/devices/speaker", {"volume": 30}),
    ("GET", "/routines", None),
    ("PUT", "/devices/diffuser", {"mode": "off"}),
    ("PUT", "/devices/accent", {"level": 0.7, "fade_seconds": 0.3}),
]


@pytest.mark.timeout(scale(300, 1200))
def test_mixed_load_with_sse_clients(tmp_path: Path) -> None:
    seconds = scale(30, 600)
    # compiled first, as an install on a Pi is (systemd/install.sh): with
    # PYTHONDONTWRITEBYTECODE set, every start at 1/8 of a core would compile the hub again
    for package in ("hub", "web", "hardware"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
    if os.environ.get("MASSAGE_HUB_LOAD_FULL_SPEED"):  # bench/pi_zero.py's other column
        quota, why = None, "MASSAGE_HUB_LOAD_FULL_SPEED is set"
    else:
        quota, why = quota_or_reason(CPU_SHARE)
    hub = LiveHub(tmp_path / "hub")
    if quota is not None:
        hub.serve.argv_prefix = quota.prefix
    errors: list[str] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    try:
        hub.start()
        clients = hub.sse_clients(SSE_CLIENTS, timeout=60)
        warm_api = Api(hub.port, hub.token)
        for method, path, body in SESSION_STEPS + DEVICE_STEPS * 3:  # warm-up
            warm_api.call(method, path, body)
        warm_api.close()
        time.sleep(2)
        warm = rss_mb(hub.pid)
        late = [0.0] * WORKERS

        def worker(i: int) -> None:
            api = Api(hub.port, hub.token)
            steps = SESSION_STEPS if i == 0 else DEVICE_STEPS
            interval = WORKERS / RATE
            start = time.monotonic() + i * (interval / WORKERS)
            k = 0
            while True:
                due = start + k * interval
                if due - start >= seconds:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    late[i] = max(late[i], -delay)
                method, path, body = steps[(k + i) % len(steps)]
                try:
                    status, data = api.call(method, path, body)
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    status, data = 0, f"{type(exc).__name__}: {exc}"
                with lock:
                    statuses[status] += 1
                    if not 200 <= status < 300:
                        errors.append(f"{method} {path} -> {status} {data}")
                k += 1
            api.close()

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        total = sum(statuses.values())

        def caught_up() -> bool:  # every client on one last event, and it is the truth
            lasts = {c.seqs[-1] if c.seqs else 0 for c in clients}
            if len(lasts) != 1 or any(c.last is None for c in clients):
                return False
            _, now = warm_api.call("GET", "/state")
            return all(c.last["state"]["devices"] == now["devices"] for c in clients)  # type: ignore[index]

        warm_api = Api(hub.port, hub.token)
        wait_for(caught_up, timeout=60, interval=0.5)
        warm_api.close()
        after = rss_mb(hub.pid)  # the load has ended and the service has caught up
        events = [len(c.seqs) for c in clients]
        backwards = [c.backwards() for c in clients]
        hellos = sum(c.hellos for c in clients)
        sse_errors = [c.error for c in clients if c.error]
        for c in clients:
            c.stop()
    finally:
        hub.stop()
        if quota is not None:
            quota.close()
    growth = after - warm
    where = f"at {CPU_SHARE:g} of a core" if quota is not None else f"at full speed ({why})"
    figure(
        f"load {where}: {total} requests in {elapsed:.0f} s ({total / elapsed:.1f}/s, mixed "
        f"commands), {len(errors)} errors; {SSE_CLIENTS} SSE clients got "
        f"{min(events)}-{max(events)} coalesced messages each ({hellos} fresh starts), "
        f"{sum(backwards)} out of order; RSS {warm:.1f} -> {after:.1f} MB ({growth:+.1f} MB); "
        f"worst pacing lag {max(late) * 1000:.0f} ms"
    )
    assert not errors, errors[:10]
    assert not sse_errors, sse_errors
    assert sum(backwards) == 0, backwards
    assert min(events) > 0, "an SSE client saw no event"
    assert growth <= GROWTH_LIMIT_MB
