"""Server-sent events: one ``state`` event per hub event, to every connected client.

The broker holds one hub subscription. Its listener runs on the hub's event thread, so it
only serialises the event once and appends it to each client's bounded queue (a slow
client loses its oldest events, never blocks the hub). A client's first message is the
state with the newest event number; events up to that number are in it already and are
not sent again (they may reach the queue after it, since delivery is asynchronous). Each client's generator waits on its own
queue, sends a heartbeat (a ``ping`` event the page watches to tell a lost hub) every ``heartbeat`` seconds, and unsubscribes when the
client goes away (the write fails and the server closes the generator) or the app stops.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

HEARTBEAT_SECONDS = 1.0  # the page calls the hub lost after 2.5 s of silence
QUEUE_SIZE = 64
STREAMS_PER_LINK = 4  # a therapist's phone and tablet, with a reload or two in flight
OWNER_STREAMS = 4  # streams guest links together can never take: the owner's own page


class StreamRefused(Exception):
    """No stream for this client now: ``status`` (429 or 503) and ``message`` in words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


HEARTBEAT = "event: ping\ndata: {}\n\n"


class Client:
    """One connected SSE client: a bounded queue and a wake-up signal."""

    def __init__(self, size: int, guest_id: int | None = None) -> None:
        self.guest_id = guest_id  # the guest link it came through; None: the owner
        self.queue: deque[tuple[int, str]] = deque(maxlen=size)
        self.cond = threading.Condition(threading.Lock())
        self.closed = False
        self.dropped = 0
        self.after = 0  # events up to this number are in the client's first state

    def put(self, message: str, seq: int = 0) -> None:
        """Queue a message (dropping the oldest if full) and wake the client."""
        with self.cond:
            if seq and seq <= self.after:
                return
            if len(self.queue) == self.queue.maxlen:
                self.dropped += 1
            self.queue.append((seq, message))
            self.cond.notify()

    def close(self) -> None:
        """Make the client's stream end."""
        with self.cond:
            self.closed = True
            self.cond.notify()

    def take(self, timeout: float) -> list[str] | None:
        """Wait up to ``timeout`` for messages; return them ([] on timeout, None when closed)."""
        with self.cond:
            if not self.queue and not self.closed:
                self.cond.wait(timeout)
            if self.closed:
                return None
            out = [m for seq, m in self.queue if not seq or seq > self.after]
            self.queue.clear()
            return out


def format_event(event: Any) -> str:
    """Return one SSE message for a hub event."""
    data = json.dumps(event.to_dict(), separators=(",", ":"), default=str)
    return f"id: {event.seq}\nevent: state\ndata: {data}\n\n"


class EventBroker:
    """Fan hub events out to SSE clients."""

    def __init__(
        self, hub: Any, heartbeat: float = HEARTBEAT_SECONDS, queue_size: int = QUEUE_SIZE
    ) -> None:
        self.hub = hub
        self.heartbeat = heartbeat
        self.queue_size = queue_size
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
        for client in clients:
            client.put(message, event.seq)

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

    def stream(self, client: Client) -> Iterator[str]:
        """Yield the client's SSE messages: the state now, then one per event."""
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
                messages = client.take(self.heartbeat)
                if messages is None:
                    return
                if messages:
                    yield "".join(messages)
                else:  # an event, not a comment: a page can see it and tell a lost hub
                    yield HEARTBEAT
        finally:
            self.remove(client)
