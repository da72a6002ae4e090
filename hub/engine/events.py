"""The hub's one event stream, delivered outside the hub lock.

Commands and control steps *post* events while they hold the hub lock; nothing else
happens then. When the outermost holder lets the lock go (:class:`HubLock`), the events
go out: inline on that thread (tests, a manual clock), or on a dispatcher thread of their
own (the service), so that no listener can slow the control loop. Each batch of events
carries one state, taken under the hub lock together with the batch: the state includes
exactly the changes of the events delivered so far, never one whose event is still queued.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..facts import EventType
from .event_types import Payload

log = logging.getLogger(__name__)


@dataclass
class Event:
    """One change: its number, what changed (:mod:`hub.engine.event_types`), and the hub state
    when it was delivered."""

    seq: int
    payload: Payload
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> EventType:
        """The kind of event (the stream's ``type``)."""
        return self.payload.type

    @cached_property
    def data(self) -> dict[str, Any]:
        """What changed, as the stream sends it (the same dict to every listener)."""
        return self.payload.to_data()

    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-ready data."""
        return {"seq": self.seq, "type": self.type, "data": self.data, "state": self.state}


Listener = Callable[[Event], None]


class HubLock:
    """The hub's one lock (re-entrant); ``after_release`` runs when the outermost holder lets go."""

    def __init__(self, after_release: Callable[[], None]) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # only the holder touches it
        self._after_release = after_release

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (as ``threading.RLock.acquire``)."""
        if self._lock.acquire(blocking, timeout):
            self._depth += 1
            return True
        return False

    def release(self) -> None:
        """Let the lock go; the outermost release delivers what was posted meanwhile."""
        self._depth -= 1
        outermost = self._depth == 0
        self._lock.release()
        if outermost:
            self._after_release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class EventBus:
    """Queue events posted under the hub lock; deliver them, in order, outside it.

    ``state()`` builds the state snapshot events carry. Listeners must be quick; one that
    raises is logged and skipped.
    """

    def __init__(
        self, state: Callable[[], dict[str, Any]], lock: AbstractContextManager[Any]
    ) -> None:
        self._state = state
        self._hub_lock = lock  # state and batch are taken together under it
        # each listener with the number of the newest event when it subscribed: it gets
        # only later ones, even when earlier ones are still being delivered
        self._listeners: list[tuple[Listener, int]] = []
        self._lock = threading.Lock()  # guards listeners, pending and seq
        self._pending: deque[Event] = deque()
        self._delivering = threading.RLock()  # one delivery at a time keeps the order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._last_state: dict[str, Any] = {}
        self.seq = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; return a function that removes it."""
        with self._lock:
            entry = (listener, self.seq)
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return unsubscribe

    @property
    def listener_count(self) -> int:
        """How many listeners are subscribed."""
        return len(self._listeners)

    def post(self, payload: Payload) -> Event:
        """Queue an event (under the hub lock); it is delivered after the lock is let go."""
        with self._lock:
            self.seq += 1
            event = Event(self.seq, payload)
            self._pending.append(event)
        return event

    def flush(self) -> None:
        """Deliver what is queued: hand it to the dispatcher thread, or deliver it now."""
        if not self._pending:
            return
        if self._thread is not None:
            self._wake.set()
        else:
            self.deliver()

    def deliver(self) -> None:
        """Deliver every queued event, in order, each batch with one fresh state."""
        with self._delivering:
            while True:
                if not self._pending:
                    return
                with self._hub_lock:  # no change can slip between the state and the batch
                    try:
                        self._last_state = self._state()
                    except Exception:
                        log.exception("building the state for events failed; sending the last one")
                    with self._lock:
                        batch = list(self._pending)
                        self._pending.clear()
                        listeners = list(self._listeners)
                if not batch:
                    return
                for event in batch:
                    event.state = self._last_state
                    for listener, since in listeners:
                        if event.seq <= since:
                            continue
                        try:
                            listener(event)
                        except Exception:
                            log.exception("event listener %r failed", listener)

    # --- the dispatcher thread (the service) ----------------------------------------------

    def start_dispatcher(self) -> None:
        """Deliver on a thread of its own from now on."""
        if self._thread is not None:
            return
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="hub-events", daemon=True)
        self._thread.start()

    def stop_dispatcher(self) -> None:
        """Stop the thread after it has delivered what is queued."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop = True
        self._wake.set()
        thread.join(timeout=5)
        self.deliver()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            self._wake.clear()
            self.deliver()
