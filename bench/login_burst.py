"""30 parallel wrong logins against ``massage-hub serve``: answers, time, and memory.

Starts the service as a child (tests/rigs/live.py: simulated pins, a free loopback port),
sets a password with ``massage-hub set-password``, warms Flask up, resets the process's
peak RSS (``/proc/<pid>/clear_refs``), then sends N wrong logins at once (each on its
own connection, released together by a barrier). Prints how many got 401 and 429 (split
into ``rate_limited`` and ``busy``), the time to the last answer, and the growth of the
service's resident memory (peak VmRSS sampled every 2 ms and VmHWM, against VmRSS before).
Runs once per ``web.password_checks_at_once`` value given.

    .venv/bin/python bench/login_burst.py [--parallel 30] [--checks 1 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.support import ServeProcess, write_config  # noqa: E402

PASSWORD = "correct horse battery"


def vm_kib(pid: int, field: str) -> int:
    """Return a /proc/<pid>/status figure in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def burst(folder: Path, parallel: int, checks: int) -> str:
    """Run one burst; return the printed line."""
    path = write_config(folder, {"web": {"password_checks_at_once": checks}})
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "set-password", "--config", str(path)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, cwd=str(ROOT),
    )  # fmt: skip
    served = ServeProcess(path).start()
    try:
        pid = served.proc.pid  # type: ignore[union-attr]
        port = served.config["web"]["port"]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/auth")
        conn.getresponse().read()
        conn.close()
        time.sleep(0.5)
        before = vm_kib(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], vm_kib(pid, "VmRSS"))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        barrier = threading.Barrier(parallel + 1)
        results: list[tuple[int, str]] = []
        ends: list[float] = []

        def attempt(i: int) -> None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.connect()
            body = json.dumps({"password": f"wrong {i}"}).encode()
            barrier.wait()
            c.request("POST", "/api/v1/login", body, {"Content-Type": "application/json"})
            resp = c.getresponse()
            data = json.loads(resp.read())
            ends.append(time.perf_counter())
            results.append((resp.status, data.get("error", {}).get("code", "")))
            c.close()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(parallel)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join(120)
        done.set()
        sampler.join()
        growth = (max(peak[0], vm_kib(pid, "VmHWM")) - before) * 1024 / 1e6
        after = vm_kib(pid, "VmRSS") * 1024 / 1e6
    finally:
        served.stop()
    codes = [c for _, c in results]
    return (
        f"  password_checks_at_once {checks}: {codes.count('wrong_password')} x 401, "
        f"{codes.count('rate_limited')} x 429 rate_limited, {codes.count('busy')} x 429 busy; "
        f"last answer after {(max(ends) - t0) * 1000:.0f} ms; RSS before {before * 1024 / 1e6:.1f} MB, "
        f"peak +{growth:.1f} MB, after {after:.1f} MB"
    )


def main() -> int:
    """Run the bursts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=30)
    parser.add_argument("--checks", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"login_burst: {args.parallel} parallel wrong logins from one address")
    with tempfile.TemporaryDirectory() as tmp:
        for checks in args.checks:
            print(burst(Path(tmp) / f"c{checks}", args.parallel, checks), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
