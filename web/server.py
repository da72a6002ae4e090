"""Serve the web app with waitress inside ``massage-hub serve``.

Waitress reads every connection on one thread and starts no request until its headers and
body are in, so idle connections cost no worker thread. What it lacks, added here:

- **a limit per client address** (``web.connections_per_client``): a client over it gets a
  short ``503`` and its connection closed at once, so one client's stalled connections
  never fill the server's ``connection_limit`` (waitress stops accepting anyone then);
- **room for everyone at the server's limit**: when ``connection_limit`` connections are
  open, the one that has waited longest for its request is closed to let a new one in;
- **time limits for reading a request**: the headers within ``web.header_timeout_seconds``
  of the request's first byte, the whole request within 20 s more, and an idle keep-alive
  connection is closed after ``web.header_timeout_seconds`` (waitress's own
  ``channel_timeout`` is reset by every byte, so a header line every 50 s kept a
  connection forever);
- **a time limit for taking a response**: a connection whose response has waited
  ``SEND_TIMEOUT_FACTOR`` x ``web.header_timeout_seconds`` (30 s) without the client
  taking a byte is reset and closed from the maintenance pass (waitress acts on its own
  ``will_close`` only when the socket is writable, which a client advertising a zero
  window never lets happen), and at the connection limit such a connection is closed
  first;
- **one request at a time per connection**: pipelined requests are parsed only once the
  answer to the one before has been sent (waitress parsed them all at once and queued
  every answer; each static file answer held its file open), and static files are sent
  from memory, not as open files, so a connection holds at most its socket and one
  response buffer;
- **file descriptors**: the soft ``RLIMIT_NOFILE`` is raised to the hard limit at start,
  ``connection_limit`` is lowered to what the limit leaves room for, and when ``accept()``
  runs out of descriptors anyway the server stops accepting for a second (waitress
  retried at once, in a busy loop) and logs one line a minute;
- **JSON errors** for what waitress refuses itself (a body over 64 KiB, headers over
  32 KiB, bad HTTP), in the API's ``{"error": {"code", "message"}}`` shape.
"""

from __future__ import annotations

import errno
import json
import logging
import resource
import select
import socket
import struct
import threading
import time
from typing import Any

from .errors import MAX_BODY_BYTES

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 32 * 1024
BODY_EXTRA_SECONDS = 20.0  # the whole request: header timeout + this
CONNECTION_LIMIT = 512  # all clients together (poll(), so no FD_SETSIZE limit)
SEND_TIMEOUT_FACTOR = 3  # a response untaken for 3 x web.header_timeout_seconds: closed
FD_RESERVE = 64  # file descriptors left for the rest of the hub (SQLite, MQTT, sound, logs)
FDS_PER_CONNECTION = 2  # its socket and at most one response buffer spilled to a temp file
ACCEPT_PAUSE_SECONDS = 1.0  # no accept() for this long when it ran out of descriptors
OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def json_error(status: int, reason: str, code: str, message: str, extra: str = "") -> bytes:
    """Return a whole HTTP/1.1 error response that closes the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


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


def without_file_wrapper(app: Any) -> Any:
    """Wrap a WSGI app so that files are sent from memory, not kept open until sent.

    With ``wsgi.file_wrapper`` every static file answer held its open file in the
    connection's output until the client took it; the files here are small (tens of KiB).
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("wsgi.file_wrapper", None)
        return app(environ, start_response)

    return wrapped


def _classes() -> tuple[type, type]:
    """Make the server and channel classes (waitress is imported only when serving)."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask

    messages = {  # codes as the Flask app names the same errors (web/errors.py)
        400: ("bad_request", "the request is not valid HTTP"),
        413: (
            "request_entity_too_large",
            f"the request body is too large (at most {MAX_BODY_BYTES} bytes)",
        ),
        431: (
            "request_header_fields_too_large",
            f"the request headers are too large (at most {MAX_HEADER_BYTES} bytes)",
        ),
        501: ("not_implemented", "that transfer encoding is not supported"),
    }

    class JsonErrorTask(ErrorTask):  # type: ignore[misc]
        """Answer what waitress refuses itself in the API's error shape."""

        def execute(self) -> None:
            error = self.request.error
            code, message = messages.get(
                error.code, ("internal", "something went wrong inside the hub; see its log")
            )
            if error.code == 400 and error.body:
                message = f"{message}: {error.body}"
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class TimedParser(HTTPRequestParser):  # type: ignore[misc]
        """A request parser that knows when its request's first byte came."""

        def __init__(self, adj: Any) -> None:
            super().__init__(adj)
            self.started = time.time()

    class GuardedChannel(HTTPChannel):  # type: ignore[misc]
        """A connection that is closed when it sends its request too slowly."""

        error_task_class = JsonErrorTask
        parser_class = TimedParser
        counted = False
        shut = False  # reset by the server: the loop closes it on its next round
        pending = b""  # bytes received but not parsed yet: the next pipelined request(s)

        # --- one request at a time -----------------------------------------------------

        def readable(self) -> bool:
            return not self.pending and bool(super().readable())

        def writable(self) -> bool:
            return bool(super().writable()) or self._resumable()

        def _resumable(self) -> bool:
            return bool(
                self.pending
                and self.connected
                and not (self.requests or self.total_outbufs_len)
                and not (self.will_close or self.close_when_flushed)
            )

        def handle_write(self) -> None:
            super().handle_write()
            if self._resumable():  # the answer before is out: parse the next request
                self.received(b"")

        def received(self, data: bytes) -> bool:
            """Parse ``data`` up to the end of one complete request; keep the rest.

            waitress 3.0's ``received`` with one change: once a request is queued, the
            bytes after it wait in ``pending`` (``readable()`` is False meanwhile, so at
            most one ``recv`` of them) until its answer has been sent.
            """
            if self.pending:
                data, self.pending = self.pending + data, b""
            if not data:
                return False
            with self.requests_lock:
                if self.will_close or self.close_when_flushed:
                    return False
                while data:
                    if self.requests:
                        self.pending = data
                        break
                    if self.request is None:
                        self.request = self.parser_class(self.adj)
                    n = self.request.received(data)
                    if (
                        self.request.expect_continue
                        and self.request.headers_finished
                        and not self.requests
                        and not self.sent_continue
                    ):
                        self.send_continue()
                    if self.request.completed:
                        self.sent_continue = False
                        if not self.request.empty:
                            self.requests.append(self.request)
                            self.server.add_task(self)
                        self.request = None
                    if n >= len(data):
                        break
                    data = data[n:]
            return True

        # --- clients that do not take their answer -------------------------------------

        def send_blocked(self) -> bool:
            """True if the connection has something to write (an answer, the next request
            to parse once the answer before is out, or its close) and the socket takes no
            more: the kernel's send buffer is full because the client is not reading."""
            if not self.writable():
                return False
            try:
                poller = select.poll()
                poller.register(self._fileno, select.POLLOUT)
                return not poller.poll(0)
            except (OSError, TypeError, ValueError):  # closed meanwhile
                return False

        def send_stalled(self, now: float, timeout: float) -> bool:
            """True if the client has taken nothing for ``timeout`` seconds.

            ``last_activity`` moves with every byte sent or received and at the end of
            every request, and nothing is read while an answer waits.
            """
            return now - self.last_activity >= timeout and self.send_blocked()

        def _reset_on_close(self) -> None:
            try:  # close() sends a reset and drops what the kernel still holds for it
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, AttributeError):
                pass

        def drop(self) -> None:
            """Close the connection now, from the loop's thread (its answer is dropped)."""
            self._reset_on_close()
            self.handle_close()

        def shut_down(self) -> None:
            """Make the loop close the connection on its next round (``poll`` sees HUP).

            For use while the loop is dispatching events: closing at once would free the
            descriptor for the next ``accept`` while events for the old one are pending.
            """
            self.shut = True
            self.will_close = True
            self._reset_on_close()
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass

        def stalled(self, now: float, header_timeout: float) -> bool:
            """Close the connection if it is too slow; return True if it was closed."""
            if self.requests or self.will_close or self.close_when_flushed:
                return False  # being answered
            if self.total_outbufs_len:
                return False
            request = self.request
            if request is None:  # idle between requests (or since it connected)
                if now - self.last_activity < header_timeout:
                    return False
            elif not request.headers_finished:
                if now - request.started < header_timeout:
                    return False
            elif now - request.started < header_timeout + BODY_EXTRA_SECONDS:
                return False
            if request is not None:  # tell a real client why (best effort, no waiting)
                try:
                    self.socket.send(
                        json_error(
                            408,
                            "Request Timeout",
                            "request_timeout",
                            "the request did not arrive in time; send it again",
                        )
                    )
                except OSError:
                    pass
            self.will_close = True
            return True

        def del_channel(self, map: Any = None) -> None:
            if self.counted:
                self.counted = False
                self.server.client_closed(self.addr)
            super().del_channel(map)

    class GuardedServer(TcpWSGIServer):  # type: ignore[misc]
        """waitress's server with a connection limit per client and request time limits."""

        channel_class = GuardedChannel

        def __init__(self, *args: Any, per_client: int, header_timeout: float, **kw: Any):
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
            super().__init__(*args, **kw)

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
            if len(self._map) >= self.adj.connection_limit and not self._evict_one(time.time()):
                self._refuse(conn, host, "the hub has too many connections open")
                return
            channel = self.channel_class(self, conn, addr, self.adj, map=self._map)
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
            return bool(self.accepting) and len(self._map) < self.adj.connection_limit + 16

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

    return GuardedServer, GuardedChannel


def create_server(app: Any, web: Any) -> Any:
    """Return a waitress server for ``app`` with the limits of ``web`` (the web config)."""
    from waitress.adjustments import Adjustments
    from waitress.task import ThreadedTaskDispatcher

    server_class, _ = _classes()
    wanted = max(CONNECTION_LIMIT, web.connections_per_client * 4)
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
    adj = Adjustments(
        host=web.host,
        port=web.port,
        threads=web.threads,
        channel_timeout=120,
        cleanup_interval=1,  # the stalled-connection check runs every second
        connection_limit=limit,
        max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses at >= this
        max_request_header_size=MAX_HEADER_BYTES,
        asyncore_use_poll=True,
        ident="massage-hub",
        clear_untrusted_proxy_headers=True,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    sockinfo = adj.listen[0]
    return server_class(
        without_file_wrapper(app),
        map={},
        dispatcher=dispatcher,
        adj=adj,
        sockinfo=sockinfo,
        per_client=web.connections_per_client,
        header_timeout=web.header_timeout_seconds,
    )


class WebComponent:
    """Run waitress on ``web.host:web.port`` in a thread."""

    name = "web"

    def __init__(self, service: Any) -> None:
        from . import create_app

        self.service = service
        self.config = service.config
        self.app = create_app(service.hub, service.config)
        state = self.app.extensions["massagehub"]
        state.service = service
        state.ready = service.ready.is_set
        self.server: Any = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the port and serve in a daemon thread."""
        web = self.config.web
        self.server = create_server(self.app, web)
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)
        self.thread.start()
        host = "localhost" if web.host in ("0.0.0.0", "::") else web.host
        log.info("web UI on http://%s:%s/", host, web.port)
        auth = self.app.extensions["massagehub"].auth
        code = auth.setup_code()
        if code is not None:
            if web.host in ("0.0.0.0", "::"):
                host = socket.gethostname().split(".")[0] + ".local"
            log.warning(
                "no password is set yet: open http://%s:%s/ and enter the setup code %s "
                "(massage-hub setup-code prints it again)",
                host,
                web.port,
                code,
            )

    def _run(self) -> None:
        try:
            self.server.run()
        except Exception:  # pragma: no cover - logged; the service keeps driving the room
            log.exception("the web server stopped")

    def stop(self) -> None:
        """End every event stream, let the worker threads finish, then close the server."""
        self.app.extensions["massagehub"].broker.close()
        if self.server is not None:
            from waitress import wasyncore

            server = self.server
            # workers first: a worker finishing a stream still wakes the loop (the trigger);
            # then close every socket from inside the loop's own thread (closing them from
            # here while it waits in select() makes select fail), and the loop ends when
            # its map is empty
            server.task_dispatcher.shutdown(timeout=3)
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            if self.thread is not None:
                self.thread.join(timeout=5)
                if self.thread.is_alive():  # pragma: no cover - the loop did not answer
                    wasyncore.close_all(server._map)
        if self.thread is not None:
            self.thread.join(timeout=5)


def web_component(service: Any) -> WebComponent:
    """Return the web component for ``massage-hub serve``."""
    return WebComponent(service)
