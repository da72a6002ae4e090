"""Latency of /healthz and All-off (token) from one client while another stalls connections.

Starts ``massage-hub serve`` as a child (tests/rigs/live.py: simulated pins, a free loopback
port, the default ``web.header_timeout_seconds: 10`` and ``web.connections_per_client:
32``), times ``GET /healthz`` and ``POST /api/v1/all-off`` from 127.0.0.1 (a new connection
for each request), then opens N connections from 127.0.0.2 that each send half a request's
headers (and, with ``--trickle``, one more header line every 5 s to stay "active") and
times the same requests again while they are open. Then it waits until the server has
closed every stalled connection and prints how long that took.

With ``--slow-reader`` it runs the slow-reading, pipelining attack instead: N connections
from 127.0.0.2 (under ``web.connections_per_client``), each with a 4 KiB receive buffer,
send 8000 bytes of pipelined ``GET /static/app.js`` and never read. It prints the
``/healthz`` and All-off latency from 127.0.0.1 while they are open, the service's CPU
(utime+stime from /proc) and open file descriptors meanwhile, how long the server kept
each attacking connection (its socket in /proc/<pid>/fd), and the ERROR lines it logged.
``--nofile 1024`` sets the soft RLIMIT_NOFILE the service starts with (systemd's default
soft limit; ``1024:1024`` sets the hard limit too).

    .venv/bin/python bench/stalled_connections.py [--stalled 500] [--requests 50] [--trickle]
    .venv/bin/python bench/stalled_connections.py --slow-reader [--stalled 20] [--nofile 1024]
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.live import LiveHub, cpu_seconds  # noqa: E402

HALF = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
PIPELINED = b"GET /static/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 160


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(port: int, method: str, path: str, token: str | None) -> tuple[float, int]:
    """Send one request on a new connection; return (milliseconds, status; 0 = no answer)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return (time.perf_counter() - t0) * 1000, status


def measure(port: int, token: str, n: int) -> dict[str, list[tuple[float, int]]]:
    """Time ``n`` of each request (a request without an answer in 5 s counts as failed)."""
    out: dict[str, list[tuple[float, int]]] = {"healthz": [], "all-off": []}
    for _ in range(n):
        for name, method, path, tok in (
            ("healthz", "GET", "/healthz", None),
            ("all-off", "POST", "/api/v1/all-off", token),
        ):
            out[name].append(timed(port, method, path, tok))
    return out


def is_closed(s: socket.socket) -> bool:
    """True if the server closed ``s``."""
    s.setblocking(False)
    try:
        while True:
            if not s.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def server_sockets(pid: int, port: int, peer: str) -> set[int]:
    """Return the client ports of the connections from ``peer`` that ``pid`` holds open."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        rows = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return set()
    want_peer = socket.inet_aton(peer)[::-1].hex().upper()  # /proc/net/tcp: little-endian
    found = set()
    for row in rows:
        f = row.split()
        local, remote, inode = f[1], f[2], f[9]
        if inode in inodes and int(local.split(":")[1], 16) == port:
            addr, cport = remote.split(":")
            if addr == want_peer:
                found.add(int(cport, 16))
    return found


def nofile_of(pid: int) -> str:
    """Return the soft:hard "Max open files" of ``pid`` (from /proc/<pid>/limits)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return f"{soft}:{hard}"
    return "?"


def fd_count(pid: int) -> int:
    """Return how many file descriptors ``pid`` has open."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def slow_readers(port: int, n: int, source: str = "127.0.0.2") -> list[socket.socket]:
    """Open ``n`` connections that pipeline 8000 bytes of static requests and never read."""
    out = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((source, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        try:
            s.sendall(PIPELINED[:8000])
        except OSError:
            pass
        out.append(s)
    return out


def slow_reader_bench(args: argparse.Namespace) -> int:
    """The slow-reading, pipelining attack: latency, CPU, fds and connection lifetimes."""
    with tempfile.TemporaryDirectory() as tmp:
        hub = LiveHub(Path(tmp)).start()
        try:
            port, token, pid = hub.port, hub.token, hub.pid
            measure(port, token, 5)  # warm up
            quiet = measure(port, token, args.requests)
            fds_before = fd_count(pid)
            service_nofile = nofile_of(pid)
            log_before = len(hub.serve.log())
            t_open = time.monotonic()
            attack = slow_readers(port, args.stalled)
            ports = {s.getsockname()[1] for s in attack}
            time.sleep(1.0)
            cpu0, w0 = cpu_seconds(pid, children=False), time.monotonic()
            under = measure(port, token, args.requests)
            time.sleep(max(0.0, 5.0 - (time.monotonic() - w0)))
            cpu1, w1 = cpu_seconds(pid, children=False), time.monotonic()
            fds_peak = fd_count(pid)
            closed_at: dict[int, float] = {}
            deadline = t_open + args.wait
            while time.monotonic() < deadline:
                held = server_sockets(pid, port, "127.0.0.2")
                now = time.monotonic() - t_open
                for p in ports - held:
                    closed_at.setdefault(p, now)
                fds_peak = max(fds_peak, fd_count(pid))
                if len(closed_at) == len(ports):
                    break
                time.sleep(0.2)
            after = measure(port, token, 5)
            logged = hub.serve.log()[log_before:]
            errors = sum(line.split(" ", 2)[:2].count("ERROR") > 0 for line in logged.splitlines())
            tracebacks = logged.count("Traceback")
            emfile = logged.count("Too many open files")
            for s in attack:
                s.close()
        finally:
            hub.stop()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    started = f"{limit[0]}:{limit[1]}"
    print(
        f"stalled_connections --slow-reader: {args.stalled} connections from 127.0.0.2, each "
        "pipelining 8000 bytes of GET /static/app.js with a 4 KiB receive buffer, never read; "
        f"RLIMIT_NOFILE {started} at start, {service_nofile} in the service; "
        f"{args.requests} of each request from "
        "127.0.0.1, a new connection each"
    )
    print(
        f"  service CPU over {w1 - w0:.1f} s of the attack: {100 * (cpu1 - cpu0) / (w1 - w0):.0f} %"
        f" of a core; open fds {fds_before} before, peak {fds_peak}; {errors} ERROR lines,"
        f" {tracebacks} tracebacks, {emfile} 'Too many open files'"
    )
    lifetimes = sorted(closed_at.values())
    if lifetimes:
        print(
            f"  attacking connections closed by the server: {len(lifetimes)} of {len(ports)}, "
            f"after {lifetimes[0]:.1f} s (first) to {lifetimes[-1]:.1f} s (last)"
            + (
                f"; {len(ports) - len(lifetimes)} still open after {args.wait:.0f} s"
                if len(lifetimes) < len(ports)
                else ""
            )
        )
    else:
        print(f"  attacking connections closed by the server: none within {args.wait:.0f} s")
    report([("quiet", quiet), ("under attack", under), ("afterwards", after)])
    return 0


def report(sets: list[tuple[str, dict[str, list[tuple[float, int]]]]]) -> None:
    """Print the latency lines of each labelled set of figures."""
    for name in ("healthz", "all-off"):
        for label, figures in sets:
            v = [ms for ms, status in figures[name] if status == 200]
            failed = len(figures[name]) - len(v)
            line = f"  {name:<8} {label:<13} "
            if v:
                line += (
                    f"p50 {pct(v, 50):6.2f} ms  p90 {pct(v, 90):6.2f} ms  "
                    f"max {max(v):7.2f} ms  mean {statistics.fmean(v):6.2f} ms"
                )
            if failed:
                line += f"  {failed} of {len(figures[name])} got no 200 within 5 s"
            print(line)


def set_nofile(spec: str) -> None:
    """Set this process's RLIMIT_NOFILE (inherited by the service): SOFT or SOFT:HARD."""
    soft_text, _, hard_text = spec.partition(":")
    hard = int(hard_text) if hard_text else resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(soft_text), hard))


def main() -> int:
    """Run the bench and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=int, default=None, help="500; 20 with --slow-reader")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--trickle", action="store_true", help="a header line every 5 s")
    parser.add_argument("--slow-reader", action="store_true", help="pipelining, never reading")
    parser.add_argument("--nofile", help="RLIMIT_NOFILE for the service: SOFT or SOFT:HARD")
    parser.add_argument("--wait", type=float, default=150, help="--slow-reader: seconds to wait")
    args = parser.parse_args()
    if args.nofile:
        set_nofile(args.nofile)
    if args.slow_reader:
        args.stalled = 20 if args.stalled is None else args.stalled
        return slow_reader_bench(args)
    args.stalled = 500 if args.stalled is None else args.stalled
    with tempfile.TemporaryDirectory() as tmp:
        hub = LiveHub(Path(tmp)).start()
        try:
            port, token = hub.port, hub.token
            measure(port, token, 5)  # warm up
            quiet = measure(port, token, args.requests)
            stalled = []
            t_open = time.perf_counter()
            for _ in range(args.stalled):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.connect(("127.0.0.1", port))
                try:
                    s.sendall(HALF)
                except OSError:
                    pass
                stalled.append(s)
            opened = time.perf_counter() - t_open
            time.sleep(0.2)
            refused = sum(is_closed(s) for s in stalled)
            under = measure(port, token, args.requests)
            last_trickle = time.monotonic()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(is_closed(s) for s in stalled):
                if args.trickle and time.monotonic() - last_trickle > 5:
                    last_trickle = time.monotonic()
                    for s in stalled:
                        try:
                            s.send(b"x\r\nX-Slow: ")
                        except OSError:
                            pass
                time.sleep(0.1)
            all_closed = time.perf_counter() - t_open
            left = sum(not is_closed(s) for s in stalled)
            for s in stalled:
                s.close()
        finally:
            hub.stop()

    print(
        f"stalled_connections: {args.stalled} half-sent requests from 127.0.0.2"
        f"{' (a header line every 5 s)' if args.trickle else ''}; {args.requests} of each "
        "request from 127.0.0.1, a new connection each"
    )
    print(
        f"  opened in {opened:.2f} s; refused at once: {refused} "
        f"(web.connections_per_client: 32); all closed by the server after {all_closed:.1f} s"
        f"{f' ({left} still open!)' if left else ''}"
    )
    report([("quiet", quiet), ("under attack", under)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
