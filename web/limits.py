"""How often, and how many at once, passwords may be checked.

A password check (argon2) takes 19 MiB and a noticeable share of a Pi's CPU, and wrong
passwords are what an attacker on the network sends. :class:`RateLimiter` counts each
client's attempts before they run; :class:`PasswordChecks` runs the checks themselves on
a few threads of their own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import ApiError

MAX_CLIENTS = 4096  # rate-limit records kept (least recently seen dropped first)


class RateLimiter:
    """Allow at most ``limit`` attempts per client in any ``window`` seconds.

    An attempt is counted when it starts, before the password is checked, so parallel
    requests cannot all slip through; a success forgets the client's attempts. At most
    ``MAX_CLIENTS`` clients are remembered (the least recently seen go first).
    """

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.now: Callable[[], float] = time.monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _wait(self, q: deque[float] | None, now: float) -> float:
        if not q:
            return 0.0
        while q and q[0] <= now - self.window:
            q.popleft()
        return 0.0 if len(q) < self.limit else q[0] + self.window - now

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0 if now)."""
        with self._lock:
            return self._wait(self._failures.get(client), self.now())

    def attempt(self, client: str) -> float:
        """Count an attempt and return its stamp; raise a 429 ApiError if over the limit."""
        with self._lock:
            now = self.now()
            q = self._failures.get(client)
            wait = self._wait(q, now)
            if wait > 0:
                seconds = max(1, int(wait + 0.999))
                raise ApiError(
                    429,
                    "rate_limited",
                    f"too many wrong passwords; try again in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )
            if q is None:
                self._make_room()
                q = self._failures[client] = deque()
            self._failures.move_to_end(client)
            q.append(now)
            return now

    def _make_room(self) -> None:
        while len(self._failures) >= MAX_CLIENTS:  # least recently seen first
            self._failures.popitem(last=False)

    def forget(self, client: str, stamp: float) -> None:
        """Take back one attempt (it was refused before its password was checked)."""
        with self._lock:
            q = self._failures.get(client)
            if q is not None and stamp in q:
                q.remove(stamp)

    def reset(self, client: str) -> None:
        """Forget ``client``'s attempts (after a success)."""
        with self._lock:
            self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)


class PasswordChecks:
    """Run argon2 on at most ``n`` threads of its own; refuse with 429 when all are busy.

    Dedicated threads also bound memory: glibc keeps a freed 19 MiB argon2 block in the
    arena of the thread that used it, so checks spread over 32 server threads would keep
    32 x 19 MiB.
    """

    def __init__(self, n: int) -> None:
        self._slots = threading.BoundedSemaphore(n)
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="password-check")

    def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Return ``func(*args)`` run on a password thread."""
        if not self._slots.acquire(blocking=False):
            raise ApiError(
                429,
                "busy",
                "the hub is checking other passwords right now; try again in a second",
                headers={"Retry-After": "1"},
            )
        try:
            return self._pool.submit(func, *args).result()
        finally:
            self._slots.release()
