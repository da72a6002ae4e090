"""Server-sent events: the hub's changes, coalesced per client, to every connected page.

The broker holds one hub subscription. Its listener runs on the hub's event thread: it
serialises each event once and hands the same string to every client's buffer, so a
command's thread never waits for a stream (nor a stream for another).

Each client's buffer is bounded and coalescing, because every event carries the whole
state and a page needs only the newest one:

- an event of the same type as the last one waiting replaces it (a fade's 60 updates a
  second, a burst of device commands): the page reacts to a type, never to a count, and
  the newer state includes the older change. A ``cue`` or ``limit`` is never merged away
  (its words are the point);
- when the buffer is full anyway (a stalled or very slow page) it is emptied and the
  client is marked *behind*: its next message is a fresh ``hello`` with the newest state
  and number, exactly what a page gets when it reconnects, and it resyncs on it;
- a stream writes at most every ``min_interval`` (1/30 s): what comes meanwhile is merged
  as above, so 20 open pages wake 20 times per interval at most, however many commands
  come, and the writes stay small (the reverted rest of December joined up to 64 whole
  states per write; those large, irregular strings, made on 20 threads, grew the service's
  RSS 29 MB in the load test);
- a stream whose connection has not sent what it already has (``backlog``: bytes waiting
  in the server) writes nothing more until it has, so a stalled page's memory is its
  buffer and one message, never a growing output.

So every page ends on the true state (the last event's state always goes out), in order
(numbers never go backwards on a client), and nothing a page does makes the hub wait or
grow. A client's first message is the state with the newest event number; events up to
that number are in it already and are not sent again. A heartbeat (a ``ping`` event the
page watches to tell a lost hub) goes out every ``heartbeat`` seconds of silence; a stream
unsubscribes when its client goes away or the app stops.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

HEARTBEAT_SECONDS = 1.0  # the page calls the hub lost after 2.5 s of silence
MIN_INTERVAL = 1 / 30  # seconds between a stream's writes (see the top)
QUEUE_SIZE = 32  # messages waiting per client (references to shared strings)
BACKLOG_BYTES = 64 * 1024  # output not yet taken by the client before the stream waits
BACKLOG_POLL = 0.1  # seconds between looks at a backlogged connection
STREAMS_PER_LINK = 4  # a therapist's phone and tablet, with a reload or two in flight
OWNER_STREAMS = 4  # streams guest links together can never take: the owner's own page
HEARTBEAT = "event: ping\ndata: {}\n\n"
KEEP_EACH = frozenset({"cue", "limit"})  # types whose every event a page shows


class StreamRefused(Exception):
    """No stream for this client now: ``status`` (429 or 503) and ``message`` in words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Client:
    """One connected SSE client: a bounded, coalescing buffer and a wake-up signal."""

    def __init__(self, size: int, guest_id: int | None = None) -> None:
        self.guest_id = guest_id  # the guest link it came through; None: the owner
        self.size = size
        self.queue: deque[tuple[int, str, str]] = deque()  # (seq, type, message)
        self.cond = threading.Condition(threading.Lock())
        self.closed = False
        self.merged = 0  # events replaced by a newer one of their type
        self.dropped = 0  # events dropped when the buffer was full (the client fell behind)
        self.after = 0  # events up to this number are in the client's first state
        self.behind: Any = None  # the newest event while the client is behind, else None
        self.resting = False  # between writes: buffer without waking the stream

    def put(self, message: str, seq: int = 0, kind: str = "", event: Any = None) -> None:
        """Buffer a message (merging or falling behind as the top says) and wake the client."""
        with self.cond:
            if seq and seq <= self.after:
                return
            if self.behind is not None:
                self.behind = event
                self.dropped += 1
            elif self.queue and kind not in KEEP_EACH and self.queue[-1][1] == kind:
                self.queue[-1] = (seq, kind, message)
                self.merged += 1
            elif len(self.queue) >= self.size and event is not None:
                self.dropped += len(self.queue)
                self.queue.clear()
                self.behind = event
            else:
                if len(self.queue) >= self.size:  # no event to resync on: drop the oldest
                    self.queue.popleft()
                    self.dropped += 1
                self.queue.append((seq, kind, message))
            if not self.resting:
                self.cond.notify()

    def close(self) -> None:
        """Make the client's stream end."""
        with self.cond:
            self.closed = True
            self.cond.notify()

    def rest(self, seconds: float) -> bool:
        """Wait ``seconds`` without waking for events; return False if the client closed."""
        deadline = time.monotonic() + seconds
        with self.cond:
            self.resting = True
            try:
                while not self.closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return True
                    self.cond.wait(left)
                return False
            finally:
                self.resting = False

    def take(self, timeout: float) -> list[str] | None:
        """Wait up to ``timeout`` for messages; return them ([] on timeout, None when closed)."""
        with self.cond:
            if not self.queue and self.behind is None and not self.closed:
                self.cond.wait(timeout)
            if self.closed:
                return None
            if self.behind is not None:
                event, self.behind = self.behind, None
                self.queue.clear()
                self.after = max(self.after, event.seq)
                return [format_hello(event.seq, event.state)]
            out = [m for seq, _, m in self.queue if not seq or seq > self.after]
            self.queue.clear()
            return out


def format_event(event: Any) -> str:
    """Return one SSE message for a hub event."""
    data = json.dumps(event.to_dict(), separators=(",", ":"), default=str)
    return f"id: {event.seq}\nevent: state\ndata: {data}\n\n"


def format_hello(seq: int, state: dict[str, Any]) -> str:
    """Return the message that (re)starts a page: the whole state and the newest number."""
    data = json.dumps(
        {"seq": seq, "type": "hello", "data": {}, "state": state},
        separators=(",", ":"),
        default=str,
    )
    return f"id: {seq}\nevent: state\ndata: {data}\n\n"


class EventBroker:
    """Fan hub events out to SSE clients."""

    def __init__(
        self,
        hub: Any,
        heartbeat: float = HEARTBEAT_SECONDS,
        queue_size: int = QUEUE_SIZE,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self.hub = hub
        self.heartbeat = heartbeat
        self.queue_size = queue_size
        self.min_interval = min_interval
        self._clients: set[Client] = set()
        self._lock = threading.Lock()
        self._unsubscribe: Any = None
        self.closed = False

    @property
    def client_count(self) -> int:
        """How many clients are connected."""
        return len(self._clients)

    def _on_event(self, event: Any) -> None:
        with self._lock:
            clients = list(self._clients)
        if not clients:
            return
        message = format_event(event)
        kind = str(event.type)
        for client in clients:
            client.put(message, event.seq, kind, event)

    def add(self, guest_id: int | None = None, limit: int | None = None) -> Client:
        """Connect a client (subscribing to the hub with the first one).

        With ``limit`` (streams in all), StreamRefused when there is no room: a guest link
        has at most STREAMS_PER_LINK, and guest links together leave OWNER_STREAMS free.
        """
        client = Client(self.queue_size, guest_id)
        with self._lock:
            if self.closed:
                client.closed = True
                return client
            if limit is not None:
                self._admit(guest_id, limit)
            self._clients.add(client)
            if self._unsubscribe is None:
                self._unsubscribe = self.hub.subscribe(self._on_event)
        return client

    def _admit(self, guest_id: int | None, limit: int) -> None:
        """Refuse a stream beyond the bounds (the broker's lock is held)."""
        if len(self._clients) >= limit:
            raise StreamRefused(
                503, f"{limit} live connections are open already; close a tab or raise web.threads"
            )
        if guest_id is None:
            return
        guests = [c for c in self._clients if c.guest_id is not None]
        if sum(c.guest_id == guest_id for c in guests) >= STREAMS_PER_LINK:
            raise StreamRefused(
                429,
                f"this link has {STREAMS_PER_LINK} live connections open already; "
                "close another tab on it",
            )
        if len(guests) >= max(1, limit - OWNER_STREAMS):
            raise StreamRefused(
                503, "guest links have all the live connections they may have; close a tab"
            )

    def remove(self, client: Client) -> None:
        """Disconnect a client (unsubscribing from the hub with the last one)."""
        unsubscribe = None
        with self._lock:
            self._clients.discard(client)
            if not self._clients and self._unsubscribe is not None:
                unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def close(self) -> None:
        """End every stream (the service is stopping)."""
        with self._lock:
            self.closed = True
            clients = list(self._clients)
        for client in clients:
            client.close()

    def stream(self, client: Client, backlog: Callable[[], int] | None = None) -> Iterator[str]:
        """Yield the client's SSE messages: the state now, then coalesced changes.

        ``backlog`` returns the bytes the server holds for this client still unsent; while
        it is over ``BACKLOG_BYTES`` the stream waits (and the client's buffer coalesces).
        """
        try:
            seq = self.hub.event_seq  # read first: the state below includes these events
            state = self.hub.state()
            with client.cond:
                client.after = seq  # events up to here are in the state: not sent again
            first = json.dumps(
                {"seq": seq, "type": "hello", "data": {}, "state": state},
                separators=(",", ":"),
                default=str,
            )
            yield f"retry: 2000\nevent: state\ndata: {first}\n\n"
            while True:
                if backlog is not None:
                    while backlog() > BACKLOG_BYTES:
                        if not client.rest(BACKLOG_POLL):
                            return
                messages = client.take(self.heartbeat)
                if messages is None:
                    return
                if messages:
                    yield "".join(messages)
                    if self.min_interval > 0 and not client.rest(self.min_interval):
                        return
                else:  # an event, not a comment: a page can see it and tell a lost hub
                    yield HEARTBEAT
        finally:
            self.remove(client)
