"""Gate waitress's connections: a limit per client address, room at the server's limit.

Waitress reads every connection on one thread and starts no request until its headers and
body are in, so idle connections cost no worker thread. What it lacks, added here and in
``web.channel`` (each connection's own limits):

- **a limit per client address** (``web.connections_per_client``): a client over it gets a
  short ``503`` and its connection closed at once, so one client's stalled connections
  never fill the server's ``connection_limit`` (waitress stops accepting anyone then);
- **room for everyone at the server's limit**: when ``connection_limit`` connections are
  open, the one that has waited longest for its request is closed to let a new one in;
- **file descriptors**: the soft ``RLIMIT_NOFILE`` is raised to the hard limit at start,
  ``connection_limit`` is lowered to what the limit leaves room for, and when ``accept()``
  runs out of descriptors anyway the server stops accepting for a second (waitress
  retried at once, in a busy loop) and logs one line a minute;
- **the time limits of each connection** (``web.channel``), checked every second by the
  maintenance pass here, which closes the connections past them.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
import time
from typing import Any

from .channel import json_error

# the gate's lines are the web server's: they keep its logger name (what operators filter on)
log = logging.getLogger("web.server")

SEND_BUFFER = 256 * 1024  # bytes of answers the kernel holds for one connection
SEND_TIMEOUT_FACTOR = 3  # a response untaken for 3 x web.header_timeout_seconds: closed
FD_RESERVE = 64  # file descriptors left for the rest of the hub (SQLite, MQTT, sound, logs)
FDS_PER_CONNECTION = 2  # its socket and at most one response buffer spilled to a temp file
ACCEPT_PAUSE_SECONDS = 1.0  # no accept() for this long when it ran out of descriptors
OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (at most 65536); return the soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):  # pragma: no cover - a sandbox refused it
            pass
    return 65536 if soft == resource.RLIM_INFINITY else int(soft)


def fitting_connection_limit(wanted: int) -> int:
    """Raise the soft file limit; return how many of ``wanted`` connections it leaves room for."""
    nofile = raise_fd_limit()
    limit = max(8, min(wanted, (nofile - FD_RESERVE) // FDS_PER_CONNECTION))
    if limit < wanted:
        log.warning(
            "only %d file descriptors (RLIMIT_NOFILE): at most %d web connections instead of "
            "%d (LimitNOFILE= in the unit)",
            nofile,
            limit,
            wanted,
        )
    return limit


def guarded_server_class(connection_class: type) -> type:
    """Make the server class, whose connections are ``connection_class`` (``web.channel``)."""
    from waitress.server import TcpWSGIServer  # waitress is imported only when serving

    class GuardedServer(TcpWSGIServer):  # type: ignore[misc]
        """waitress's server with a connection limit per client and request time limits."""

        channel_class = connection_class

        def __init__(
            self,
            *args: Any,
            map: dict[int, Any],  # waitress's name for it
            per_client: int,
            header_timeout: float,
            **kw: Any,
        ):
            # the server's and its connections' sockets by descriptor: the dict handed to
            # waitress (its own reference to it is private)
            self.socket_map = map
            self.per_client = per_client
            self.header_timeout = header_timeout
            self.send_timeout = header_timeout * SEND_TIMEOUT_FACTOR
            self.clients: dict[str, int] = {}  # open connections per address (at most
            # connection_limit entries: an entry exists only while its connections do)
            self.refused = 0
            self.timed_out = 0
            self.evicted = 0
            self.dropped = 0  # closed because their client did not take the answer
            self.out_of_fds = 0
            self.accept_paused_until = 0.0
            self._warned: dict[str, float] = {}
            super().__init__(*args, map=map, **kw)

        def _warn(self, kind: str, message: str, *args: Any) -> None:
            now = time.monotonic()
            if now - self._warned.get(kind, -1e9) > 60:  # at most one line a minute each
                self._warned[kind] = now
                log.warning(message, *args)

        def handle_accept(self) -> None:
            try:
                pair = self.accept()
                if pair is None:
                    return
                conn, addr = pair
                self.set_socket_options(conn)
                # a fixed send buffer: the kernel's autotuning otherwise keeps growing it
                # while a client takes nothing, so such a client never looks stalled
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            except OSError as exc:
                if exc.errno in OUT_OF_FDS:
                    self._pause_accepting(exc)
                return
            addr = self.fix_addr(addr)
            host = addr[0] if isinstance(addr, tuple) else str(addr)
            if self.clients.get(host, 0) >= self.per_client:
                self._refuse(
                    conn,
                    host,
                    f"{self.per_client} connections from {host} are open already; "
                    "close some (web.connections_per_client)",
                )
                return
            if len(self.socket_map) >= self.adj.connection_limit and not self._evict_one(
                time.time()
            ):
                self._refuse(conn, host, "the hub has too many connections open")
                return
            channel = self.channel_class(self, conn, addr, self.adj, map=self.socket_map)
            self.clients[host] = self.clients.get(host, 0) + 1
            channel.counted = True

        def _refuse(self, conn: socket.socket, host: str, message: str) -> None:
            self.refused += 1
            try:
                conn.setblocking(False)
                conn.send(
                    json_error(
                        503,
                        "Service Unavailable",
                        "too_many_connections",
                        f"{message}; try again in a few seconds",
                        "Retry-After: 10\r\n",
                    )
                )
            except OSError:
                pass
            conn.close()
            self._warn(
                "refused",
                "refused a connection from %s: %s (%d since start)",
                host,
                message,
                self.refused,
            )

        def _pause_accepting(self, exc: OSError) -> None:
            """Out of file descriptors: stop accepting for a while instead of retrying."""
            self.out_of_fds += 1
            self.accept_paused_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
            self._evict_one(time.time())
            self._warn(
                "fds",
                "cannot accept connections: %s (%d open connections; %d times since start); "
                "pausing %.0f s each time (raise LimitNOFILE= in the unit)",
                exc.strerror or exc,
                len(self.active_channels),
                self.out_of_fds,
                ACCEPT_PAUSE_SECONDS,
            )

        def client_closed(self, addr: Any) -> None:
            host = addr[0] if isinstance(addr, tuple) else str(addr)
            left = self.clients.get(host, 0) - 1
            if left > 0:
                self.clients[host] = left
            else:
                self.clients.pop(host, None)

        def readable(self) -> bool:
            # waitress stops accepting at connection_limit; here a new connection is taken
            # and the one waiting longest closed for it (a few may be closing meanwhile)
            now = time.time()
            if now >= self.next_channel_cleanup:
                self.next_channel_cleanup = now + self.adj.cleanup_interval
                self.maintenance(now)
            if self.accept_paused_until and time.monotonic() < self.accept_paused_until:
                return False
            return bool(self.accepting) and len(self.socket_map) < self.adj.connection_limit + 16

        def _evict_one(self, now: float) -> bool:
            """Close the connection idle or stuck longest; True if there was one.

            Candidates: connections waiting for their request (since its first byte, or
            since the last answer) and connections whose client has not taken its answer
            (since the last byte it took). Connections being answered to a client that
            reads (event streams included) are never closed, nor one that did something
            less than a second ago.
            """
            oldest, since = None, now - 1.0
            for channel in self.active_channels.values():
                if channel.shut:
                    continue
                if channel.send_blocked():
                    start = channel.last_activity
                elif (
                    channel.requests
                    or channel.will_close
                    or channel.close_when_flushed
                    or channel.total_outbufs_len
                ):
                    continue
                else:
                    request = channel.request
                    start = request.started if request else channel.last_activity
                if start < since:
                    oldest, since = channel, start
            if oldest is None:
                return False
            if oldest.send_blocked():
                oldest.shut_down()  # will_close alone waits for a writable socket
            else:
                oldest.will_close = True  # closed by the loop on its next round
            self.evicted += 1
            return True

        def maintenance(self, now: float) -> None:
            super().maintenance(now)
            for channel in list(self.active_channels.values()):
                if channel.send_stalled(now, self.send_timeout):
                    self.dropped += 1
                    self._warn(
                        "send",
                        "closed a connection from %s: it took no byte of its answer for "
                        "%.0f s (%d closed so since start)",
                        channel.addr[0] if isinstance(channel.addr, tuple) else channel.addr,
                        self.send_timeout,
                        self.dropped,
                    )
                    channel.drop()
                elif channel.stalled(now, self.header_timeout):
                    self.timed_out += 1

    return GuardedServer
