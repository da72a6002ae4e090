"""How often, and how many at once, passwords may be checked.

A password check (argon2) takes 19 MiB and a noticeable share of a Pi's CPU, and wrong
passwords are what an attacker on the network sends. :class:`RateLimiter` counts each
client's attempts before they run (per address and, for IPv6, per /64 network:
:func:`client_keys`); :class:`PasswordChecks` runs the checks themselves on a few threads
of their own, and a check that finds them busy waits up to 2 s in a short queue where
clients with the fewest recent wrong passwords (:class:`FailureHistory`) go first, so an
attacker rotating source addresses cannot keep the owner out.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import ApiError

MAX_CLIENTS = 4096  # rate-limit records kept (least recently seen dropped first)
CHECK_WAIT_SECONDS = 2.0  # how long a check waits for a free password thread
CHECK_QUEUE = 8  # checks that may wait at once (each holds a server thread meanwhile)
PREFIX_FACTOR = 6  # an IPv6 /64 network may try this many times one address's limit
HISTORY_HALF_LIFE = 600.0  # wrong passwords count for the queue's order with this half-life


def client_keys(addr: str | None) -> tuple[str, str | None]:
    """Return the rate-limit keys of a client address: the address and its IPv6 /64.

    An IPv4 address mapped into IPv6 (``::ffff:192.0.2.1``, from a dual-stack socket) is
    the IPv4 address; a zone (``%eth0``) is dropped. One device can use any number of
    addresses of its /64, so that network is limited too.
    """
    try:
        ip = ipaddress.ip_address((addr or "").split("%", 1)[0])
    except ValueError:
        return addr or "unknown", None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address) or ip.is_loopback:
        return str(ip), None
    return str(ip), str(ipaddress.IPv6Network((ip, 64), strict=False))


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


class FailureHistory:
    """Wrong passwords per client key, fading with a half-life; at most MAX_CLIENTS keys.

    Longer than the rate limit's minute, so that an attacker cycling through many
    addresses still has a record at each one when it comes round again.
    """

    def __init__(self, half_life: float = HISTORY_HALF_LIFE) -> None:
        self.half_life = half_life
        self.now: Callable[[], float] = time.monotonic
        self._scores: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _score(self, key: str, now: float) -> float:
        entry = self._scores.get(key)
        if entry is None:
            return 0.0
        return entry[0] * 0.5 ** ((now - entry[1]) / self.half_life)

    def score(self, key: str) -> float:
        """Return ``key``'s wrong passwords, the older ones counting less."""
        with self._lock:
            return self._score(key, self.now())

    def add(self, key: str) -> None:
        """Count one wrong password for ``key``."""
        with self._lock:
            now = self.now()
            self._scores[key] = (self._score(key, now) + 1.0, now)
            self._scores.move_to_end(key)
            while len(self._scores) > MAX_CLIENTS:  # least recently failed first
                self._scores.popitem(last=False)

    def forget(self, key: str) -> None:
        """Forget ``key`` (after a success)."""
        with self._lock:
            self._scores.pop(key, None)


class _Waiter:
    """A check waiting for a password thread (lower ``rank`` first)."""

    __slots__ = ("rank", "bumped")

    def __init__(self, rank: tuple[float, int]) -> None:
        self.rank = rank  # (the client's recent wrong passwords, arrival order)
        self.bumped = False


class PasswordChecks:
    """Run argon2 on at most ``n`` threads of its own; a check waits briefly for one.

    A check that finds every thread busy waits up to ``wait`` seconds in a queue of at
    most ``queue`` checks, the client with the fewest recent wrong passwords first (then
    the earliest). When the queue is full a newcomer with fewer than the last in it takes
    its place (that one is refused); otherwise the newcomer is refused: ``429 busy``. So
    the owner from an address with no wrong passwords goes ahead of an attacker's
    addresses once they have failed, and waiting checks hold at most ``queue`` server
    threads.

    Dedicated threads also bound memory: glibc keeps a freed 19 MiB argon2 block in the
    arena of the thread that used it, so checks spread over 32 server threads would keep
    32 x 19 MiB.
    """

    def __init__(self, n: int, wait: float = CHECK_WAIT_SECONDS, queue: int = CHECK_QUEUE) -> None:
        self.wait = wait
        self.queue = queue
        self._free = n
        self._cond = threading.Condition(threading.Lock())
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="password-check")

    @staticmethod
    def _busy() -> ApiError:
        return ApiError(
            429,
            "busy",
            "the hub is checking other passwords right now; try again in a second",
            headers={"Retry-After": "1"},
        )

    def _acquire(self, failures: float) -> None:
        with self._cond:
            if self._free and not self._waiting:
                self._free -= 1
                return
            me = _Waiter((failures, next(self._order)))
            if len(self._waiting) >= self.queue:
                last = max(self._waiting, key=lambda w: w.rank)
                if last.rank[0] <= failures:
                    raise self._busy()
                last.bumped = True
                self._waiting.remove(last)
                self._cond.notify_all()
            self._waiting.append(me)
            deadline = time.monotonic() + self.wait
            while True:
                if me.bumped:
                    raise self._busy()
                if self._free and min(self._waiting, key=lambda w: w.rank) is me:
                    self._waiting.remove(me)
                    self._free -= 1
                    if self._free and self._waiting:
                        self._cond.notify_all()
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    self._waiting.remove(me)
                    self._cond.notify_all()
                    raise self._busy()
                self._cond.wait(left)

    def run(self, func: Callable[..., Any], *args: Any, failures: float = 0.0) -> Any:
        """Return ``func(*args)`` run on a password thread (``failures``: the client's)."""
        self._acquire(failures)
        try:
            return self._pool.submit(func, *args).result()
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()
