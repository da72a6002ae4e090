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
- **JSON errors** for what waitress refuses itself (a body over 64 KiB, headers over
  32 KiB, bad HTTP), in the API's ``{"error": {"code", "message"}}`` shape.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

from .errors import MAX_BODY_BYTES

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 32 * 1024
BODY_EXTRA_SECONDS = 20.0  # the whole request: header timeout + this
CONNECTION_LIMIT = 512  # all clients together (poll(), so no FD_SETSIZE limit)


def json_error(status: int, reason: str, code: str, message: str, extra: str = "") -> bytes:
    """Return a whole HTTP/1.1 error response that closes the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


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
            self.clients: dict[str, int] = {}  # open connections per address (at most
            # connection_limit entries: an entry exists only while its connections do)
            self.refused = 0
            self.timed_out = 0
            self.evicted = 0
            self._last_warning = 0.0
            super().__init__(*args, **kw)

        def handle_accept(self) -> None:
            try:
                pair = self.accept()
                if pair is None:
                    return
                conn, addr = pair
                self.set_socket_options(conn)
            except OSError:
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
            now = time.monotonic()
            if now - self._last_warning > 60:  # at most one line a minute
                self._last_warning = now
                log.warning(
                    "refused a connection from %s: %s (%d since start)", host, message, self.refused
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
            return bool(self.accepting) and len(self._map) < self.adj.connection_limit + 16

        def _evict_one(self, now: float) -> bool:
            """Close the connection that has waited longest for its request; True if one.

            Connections being answered (event streams included) are never closed, nor one
            that connected less than a second ago.
            """
            oldest, since = None, now - 1.0
            for channel in self.active_channels.values():
                if channel.requests or channel.will_close or channel.total_outbufs_len:
                    continue
                start = channel.request.started if channel.request else channel.last_activity
                if start < since:
                    oldest, since = channel, start
            if oldest is None:
                return False
            oldest.will_close = True  # closed by the loop on its next round
            self.evicted += 1
            return True

        def maintenance(self, now: float) -> None:
            super().maintenance(now)
            for channel in list(self.active_channels.values()):
                if channel.stalled(now, self.header_timeout):
                    self.timed_out += 1

    return GuardedServer, GuardedChannel


def create_server(app: Any, web: Any) -> Any:
    """Return a waitress server for ``app`` with the limits of ``web`` (the web config)."""
    from waitress.adjustments import Adjustments
    from waitress.task import ThreadedTaskDispatcher

    server_class, _ = _classes()
    adj = Adjustments(
        host=web.host,
        port=web.port,
        threads=web.threads,
        channel_timeout=120,
        cleanup_interval=1,  # the stalled-connection check runs every second
        connection_limit=max(CONNECTION_LIMIT, web.connections_per_client * 4),
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
        app,
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
        service.web_app = self.app
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
