"""The hub's one event stream: listeners get an event after every change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One change: its kind, details, and the hub state right after it."""

    seq: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-ready data."""
        return {"seq": self.seq, "type": self.type, "data": self.data, "state": self.state}


Listener = Callable[[Event], None]


class EventBus:
    """Deliver events in order to listeners; listeners must be quick and never block."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self.seq = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; return a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def listener_count(self) -> int:
        """How many listeners are subscribed."""
        return len(self._listeners)

    def publish(self, type_: str, data: dict[str, Any], state: dict[str, Any]) -> Event:
        """Send an event to every listener (a failing listener is logged and skipped)."""
        with self._lock:
            self.seq += 1
            event = Event(self.seq, type_, data, state)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed", listener)
        return event
