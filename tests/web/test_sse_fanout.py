"""The page fan-out against the real service: coalesced, ordered, bounded (web/sse.py).

A burst of commands with five reading pages and one stalled page (it asks for the stream
and then never reads): every command is answered, every reading page ends on the final
state with its event numbers never going backwards, and the stalled page costs nothing
that grows: when it finally reads, what the server held for it is its socket buffers and
one coalesced message, not the burst, and it too ends on the final state.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from tests.rigs.live import LiveHub, rss_mb
from tests.rigs.support import wait_for

BURST = 1500
PAGES = 5
RCVBUF = 4096


def _stalled_page(port: int, token: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)  # a small window, never read
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def _read_until_quiet(sock: socket.socket, quiet: float = 0.5) -> bytes:
    sock.settimeout(quiet)  # under the heartbeat's 1 s: a pause means it has caught up
    out = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return out
        if not chunk:
            return out
        out += chunk
    return out


def _body(raw: bytes) -> bytes:
    """Return the body of a chunked HTTP response (as far as it came)."""
    _, rest = raw.split(b"\r\n\r\n", 1)
    out = b""
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def test_a_stalled_page_neither_blocks_commands_nor_grows_and_every_page_ends_true(
    tmp_path: Path,
) -> None:
    hub = LiveHub(tmp_path / "hub").start()
    stalled = None
    try:
        pages = hub.sse_clients(PAGES)
        stalled = _stalled_page(hub.port, hub.token)
        for i in range(100):  # warm-up: the same commands, so the figure is the burst's own
            hub.api.call("PUT", "/devices/accent", {"level": (i % 10) / 10})
        time.sleep(1)
        warm = rss_mb(hub.pid)
        statuses = []
        for i in range(1, BURST + 1):
            device = "main" if i % 2 else "accent"  # two devices: events alternate in kind too
            status, _ = hub.api.call("PUT", f"/devices/{device}", {"level": i / BURST})
            statuses.append(status)
        final = hub.api.call("GET", "/state")[1]["devices"]
        assert (
            final["main"]["level"] == round((BURST - 1) / BURST, 4)
            and final["accent"]["level"] == 1
        )

        def on_final() -> bool:
            return all(p.last is not None and p.last["state"]["devices"] == final for p in pages)

        wait_for(on_final, timeout=30)
        after = rss_mb(hub.pid)
        held = _read_until_quiet(stalled)
        assert sorted(set(statuses)) == [200], "every command is answered while a page stalls"
        assert [p.backwards() for p in pages] == [0] * PAGES
        assert len({p.seqs[-1] for p in pages}) == 1
        assert not [p.error for p in pages if p.error]
        # the burst's events, serialised, are megabytes; the stalled page got its socket
        # buffers' worth, then the newest state: the server held no backlog for it
        messages = [m for m in _body(held).split(b"\n\n") if b'data: {"seq"' in m]
        last = json.loads(messages[-1].split(b"data: ", 1)[1])
        assert last["state"]["devices"] == final
        assert len(held) < 1024 * 1024  # the burst serialised is about 1500 x 2 KB
        assert after - warm <= 5.0, f"RSS grew {after - warm:.1f} MB"
        print(
            f"burst of {BURST}: pages got {min(len(p.seqs) for p in pages)}-"
            f"{max(len(p.seqs) for p in pages)} messages; the stalled page read {len(held)} "
            f"bytes afterwards; RSS {warm:.1f} -> {after:.1f} MB"
        )
        for p in pages:
            p.stop()
    finally:
        if stalled is not None:
            stalled.close()
        hub.stop()
