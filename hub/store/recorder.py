"""Records that follow the deed: the hub acts first and writes down what it did after.

A session's end, a pad's off-time in the heat ledger, an extend's new length, who is on the
table: each is a write that must never hold up a safety command (All-off, heat off, a stop,
the watchdog) or the hub lock. :class:`Recorder` writes them in order, at once when the
disk answers, else on its own thread, retrying until the disk answers again (another
program's lock, a full or read-only data folder). Nothing it is given is dropped while the
hub runs; at a clean stop it has a few seconds to finish, and says what it could not write.

Writes that must come *before* the deed (a pad's on-record, before its relay closes) are
not for the recorder: they are made at once, and refused in words if the disk says no.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import StorageUnavailable

log = logging.getLogger(__name__)

MAX_WAITING = 10_000  # records queued at most; past that the oldest is logged and dropped
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # waits between tries while the disk says no


class Recorder:
    """Write records in order: now if the disk answers, else later on a thread of its own."""

    def __init__(self, name: str = "recorder") -> None:
        self._name = name
        self._waiting: deque[tuple[str, Callable[[], None]]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._busy = False  # the thread is writing the head of the queue
        self.failures = 0  # tries that the disk refused (for tests and the health page)

    @property
    def waiting(self) -> int:
        """How many records wait for the disk."""
        with self._lock:
            return len(self._waiting) + (1 if self._busy else 0)

    def record(self, what: str, write: Callable[[], None], *, later: bool = False) -> None:
        """Write ``write`` (a store call) now if nothing waits and the disk answers, else later.

        ``what`` names it for the log; ``later`` always leaves it to the thread (a note that
        must not hold up the request it rides on). Never raises for the disk.
        """
        with self._lock:
            now = not later and not self._waiting and not self._busy
        if now:
            try:
                write()
                return
            except StorageUnavailable as exc:
                self.failures += 1
                log.warning("%s: will be written when the disk answers (%s)", what, exc.message)
            except Exception:
                log.exception("%s: could not be written; dropped", what)
                return
        with self._lock:
            if len(self._waiting) >= MAX_WAITING:
                old, _ = self._waiting.popleft()
                log.error("%s: dropped, %d records waited for the disk already", old, MAX_WAITING)
            self._waiting.append((what, write))
            self._wake.notify()

    def start(self) -> None:
        """Start the thread that writes what waits."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every waiting record; True if none is left."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._waiting or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._wake.wait(min(left, 0.05))
            return True

    def stop(self, timeout: float = 3.0) -> None:
        """Give what waits ``timeout`` seconds to be written, then stop; log what was not."""
        self.flush(timeout)
        with self._lock:
            self._stopping = True
            lost = [what for what, _ in self._waiting]
            self._waiting.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for what in lost:
            log.error("%s: not written (the disk did not answer before the stop)", what)

    def _run(self) -> None:
        tries = 0
        while True:
            with self._lock:
                while not self._waiting and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                what, write = self._waiting[0]
                self._busy = True
            try:
                write()
            except StorageUnavailable as exc:
                self.failures += 1
                wait = RETRY_SECONDS[min(tries, len(RETRY_SECONDS) - 1)]
                tries += 1
                log.info("%s: the disk still says no (%s); again in %g s", what, exc.message, wait)
                with self._lock:
                    self._busy = False
                    self._wake.wait(wait)  # a stop wakes it early
                continue
            except Exception:
                log.exception("%s: could not be written; dropped", what)
            tries = 0
            with self._lock:
                self._busy = False
                if self._waiting and self._waiting[0][1] is write:
                    self._waiting.popleft()
                self._wake.notify_all()
