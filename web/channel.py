"""Guard one waitress connection: one request at a time, and time limits for the client.

A waitress connection (its "channel") reads and parses everything its client sends and
keeps it until answered. The one here adds:

- **time limits for reading a request**: the headers within ``web.header_timeout_seconds``
  of the request's first byte, the whole request within 20 s more, and an idle keep-alive
  connection is closed after ``web.header_timeout_seconds`` (waitress's own
  ``channel_timeout`` is reset by every byte, so a header line every 50 s kept a
  connection forever);
- **a time limit for taking a response**: a connection whose response has waited
  ``web.gate.SEND_TIMEOUT_FACTOR`` x ``web.header_timeout_seconds`` (30 s) without the
  client taking a byte is reset and closed from the gate's maintenance pass (waitress acts
  on its own ``will_close`` only when the socket is writable, which a client advertising a
  zero window never lets happen), and at the connection limit the gate closes such a
  connection first;
- **one request at a time per connection**: pipelined requests are parsed only once the
  answer to the one before has been sent (waitress parsed them all at once and queued
  every answer; each static file answer held its file open), and static files are sent
  from memory, not as open files, so a connection holds at most its socket and one
  response buffer.

The gate (``web.gate``) counts the connections and runs their time limits every second.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from typing import Any

BODY_EXTRA_SECONDS = 20.0  # the whole request: header timeout + this
BACKLOG_KEY = "massagehub.backlog"  # environ: () -> bytes of the answer not yet sent


def json_error(status: int, reason: str, code: str, message: str, extra: str = "") -> bytes:
    """Return a whole HTTP/1.1 error response that closes the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


def without_file_wrapper(app: Any) -> Any:
    """Wrap a WSGI app so that files are sent from memory, not kept open until sent.

    With ``wsgi.file_wrapper`` every static file answer held its open file in the
    connection's output until the client took it; the files here are small (tens of KiB).
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("wsgi.file_wrapper", None)
        return app(environ, start_response)

    return wrapped


def guarded_channel_class(error_task: type) -> type:
    """Make the connection class, answering waitress's own errors with ``error_task``."""
    from waitress.channel import HTTPChannel  # waitress is imported only when serving
    from waitress.parser import HTTPRequestParser
    from waitress.task import WSGITask

    class BacklogTask(WSGITask):  # type: ignore[misc]
        """A request whose environ tells how much of its answer the client has not taken."""

        def get_environment(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().get_environment()
            channel = self.channel
            # an event stream waits on it, so a stalled page never grows the output
            environ[BACKLOG_KEY] = lambda: channel.total_outbufs_len
            return environ

    class TimedParser(HTTPRequestParser):  # type: ignore[misc]
        """A request parser that knows when its request's first byte came."""

        def __init__(self, adj: Any) -> None:
            super().__init__(adj)
            self.started = time.time()

    class GuardedChannel(HTTPChannel):  # type: ignore[misc]
        """A connection that is closed when it sends its request too slowly."""

        error_task_class = error_task
        task_class = BacklogTask
        parser_class = TimedParser
        counted = False
        shut = False  # reset by the server: the loop closes it on its next round
        pending = b""  # bytes received but not parsed yet: the next pipelined request(s)

        # --- one request at a time -----------------------------------------------------

        def readable(self) -> bool:
            return not self.pending and bool(super().readable())

        def wants_to_write(self) -> bool:
            """True if it has an answer to send, or the next request to parse after it."""
            return bool(super().writable()) or self._resumable()

        def writable(self) -> bool:
            if not self.wants_to_write():
                return False
            # a task thread is writing the answer (it holds the buffer's lock): asking for
            # POLLOUT now would wake the loop again at once, round after round, for nothing;
            # the task pulls the server's trigger when it is done, and the loop looks again
            if self.outbuf_lock.acquire(False):
                self.outbuf_lock.release()
                return True
            return False

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
            if not self.wants_to_write():
                return False
            try:
                poller = select.poll()
                poller.register(self.socket.fileno(), select.POLLOUT)
                return not poller.poll(0)
            except (OSError, TypeError, ValueError, AttributeError):  # closed meanwhile
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

    return GuardedChannel
