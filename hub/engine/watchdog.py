"""systemd integration and the control-loop watchdog.

The service tells systemd how it is doing through ``sd_notify`` messages on the
``$NOTIFY_SOCKET`` datagram socket (no libsystemd needed):

- ``READY=1`` once the hub and every component have started (``Type=notify``);
- ``STATUS=...`` a one-line summary that ``systemctl status`` shows;
- ``WATCHDOG=1`` every half of ``$WATCHDOG_USEC`` while the hub's control loop is healthy;
- ``STOPPING=1`` when the service begins to stop.

A watchdog thread compares the hub's ``last_step`` (the monotonic time of its last control
step; the loop steps at least once a second when idle) with the clock. If the loop has
not stepped for more than ``hardware.watchdog_seconds`` it drives every heat pad off with
:meth:`HeatGuard.emergency_off`, *without* taking the hub lock (the lock may be what is
stuck), logs it, and stops the systemd pings, so that systemd kills a hung process after
``WatchdogSec`` and its ``ExecStopPost`` switches every output off. If the loop recovers,
the pads stay off (the guard forgets their heat) and the pings resume.

Test hook: with ``MASSAGE_HUB_TEST_HOOKS=1`` in the environment, writing a number of
seconds into ``<data_dir>/test-stall`` makes the next control step hang for that long
while holding the hub lock (:meth:`hub.engine.loop.ControlLoop.stall_once`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .event_types import AllOff, HubStatus, SafetyTripped, SessionChanged

if TYPE_CHECKING:
    from ..config.model import Config
    from ..core import Hub
    from .events import Event

log = logging.getLogger(__name__)

TEST_HOOKS_ENV = "MASSAGE_HUB_TEST_HOOKS"
STALL_FILE = "test-stall"


def sd_notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` ("READY=1", ...) to systemd; return False when not under systemd."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    elif not address.startswith("/"):
        log.debug("unsupported NOTIFY_SOCKET %r", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8", "replace"))
    except OSError as exc:
        log.warning("sd_notify %r failed: %s", message.split("=", 1)[0], exc)
        return False
    return True


def watchdog_ping_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Return seconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), or None if off."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    try:
        if pid and int(pid) != os.getpid():
            return None
        value = int(usec)
    except ValueError:
        return None
    if value <= 0:
        return None
    return value / 1_000_000 / 2


def hooks_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when test-only hooks are switched on ($MASSAGE_HUB_TEST_HOOKS=1)."""
    env = os.environ if env is None else env
    return env.get(TEST_HOOKS_ENV, "") == "1"


def stall_next_step(hub: Hub, seconds: float) -> None:
    """Make the hub's next control step hang for ``seconds`` while holding its lock (tests)."""
    hub.loop.stall_once(seconds)


def session_status(state: Mapping[str, Any]) -> str:
    """Return a one-line STATUS= text for a hub state snapshot."""
    backend = state.get("backend", "?")
    pins = "simulated pins" if backend == "mock" else "GPIO"
    session = state.get("session")
    if not session:
        return f"Ready on {pins}; no session"
    left = max(0, round(float(session.get("remaining_seconds") or 0) / 60))
    paused = ", paused" if session.get("paused") else ""
    return (
        f"Session {session.get('scene_name') or session.get('scene')}: "
        f"{session.get('phase')}{paused}, {left} min left ({pins})"
    )


class Watchdog:
    """Watch the hub's control loop and keep systemd informed."""

    name = "watchdog"

    def __init__(
        self,
        hub: Hub,
        *,
        stall_seconds: float,
        ready: threading.Event | None = None,
        notify: Callable[[str], Any] = sd_notify,
        ping_interval: float | None = None,
        check_interval: float | None = None,
        stall_file: Path | None = None,
    ) -> None:
        self.hub = hub
        self.stall_seconds = float(stall_seconds)
        self.ready = ready
        self.notify = notify
        self.ping_interval = ping_interval
        self.check_interval = check_interval or min(0.25, self.stall_seconds / 10)
        self.stall_file = stall_file
        self.stalled = False
        self.trips = 0
        self.pings = 0
        self.last_trip: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: str | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the watchdog thread."""
        self._unsubscribe = self.hub.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="hub-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Tell systemd the service is stopping and end the thread."""
        self.notify("STOPPING=1\nSTATUS=Stopping: switching every output off")
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the thread --------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        # called under the hub lock: only remember the text, the thread sends it
        if isinstance(event.payload, (HubStatus, SessionChanged, AllOff, SafetyTripped)):
            self._status = session_status(event.state)

    def loop_age(self) -> float:
        """Seconds since the control loop last stepped."""
        return self.hub.clock.monotonic() - self.hub.loop.last_step

    def _run(self) -> None:
        told_ready = False
        next_ping = 0.0
        while not self._stop.is_set():
            self.check()
            if not told_ready and (self.ready is None or self.ready.is_set()):
                told_ready = True
                status = self._status or session_status({"backend": self.hub.backend})
                self.notify(f"READY=1\nSTATUS={status}")
                self._status = None
                log.info("ready: told systemd")
            elif told_ready and self._status is not None and not self.stalled:
                status, self._status = self._status, None
                self.notify(f"STATUS={status}")
            if self.ping_interval and not self.stalled:
                now = time.monotonic()
                if now >= next_ping:
                    self.notify("WATCHDOG=1")
                    self.pings += 1
                    next_ping = now + self.ping_interval
            if self.stall_file is not None:
                self._check_stall_file()
            self._stop.wait(self.check_interval)

    def check(self) -> bool:
        """Check the control loop once; switch heat off if it stalled. Return True if healthy."""
        age = self.loop_age()
        if age > self.stall_seconds:
            # never take the hub lock here: it may be what is stuck
            try:
                self.hub.guard.emergency_off()
            except Exception:
                log.exception("watchdog could not switch the heat pads off")
            if not self.stalled:
                self.stalled = True
                self.trips += 1
                self.last_trip = {"at": time.time(), "age": round(age, 2)}
                log.error(
                    "control loop stalled for %.1f s (limit %g s): heat pads switched off; "
                    "systemd watchdog pings stopped",
                    age,
                    self.stall_seconds,
                )
                self.notify(f"STATUS=Control loop stalled for {age:.0f} s: heat pads off")
            return False
        if self.stalled:
            self._recovered(age)
        return True

    def _recovered(self, age: float) -> None:
        hub = self.hub
        if not hub.lock.acquire(timeout=1.0):
            return  # stepped, but the lock is busy again: try on the next check
        try:
            now = hub.clock.monotonic()
            was_on = [pid for pid, s in hub.guard.states.items() if s.heat != "off"]
            hub.guard.all_off(now)  # the pads stay off: heat never comes back by itself
            for pid in was_on:
                hub.emit(SafetyTripped(device=pid, reason="watchdog"))
        finally:
            hub.lock.release()
        self.stalled = False
        log.warning("control loop running again; heat pads stay off; pings resume")
        self._status = "Control loop recovered after a stall; heat pads were switched off"

    def _check_stall_file(self) -> None:
        path = self.stall_file
        assert path is not None
        try:
            text = path.read_text().strip()
            path.unlink()
        except OSError:
            return
        try:
            seconds = float(text or "10")
        except ValueError:
            log.warning("test hook: %s should hold a number of seconds", path)
            return
        stall_next_step(self.hub, seconds)

    def health(self) -> dict[str, Any]:
        """Return the watchdog's view for /healthz."""
        return {
            "loop_ok": not self.stalled and self.loop_age() <= self.stall_seconds,
            "loop_age_seconds": round(self.loop_age(), 2),
            "trips": self.trips,
            "systemd_pings": self.pings,
        }


class Running(Protocol):
    """What the watchdog needs of the running service (hub/service.py wires it)."""

    hub: Hub
    config: Config
    ready: threading.Event


def watchdog_component(service: Running) -> Watchdog | None:
    """Make the watchdog for the running service (none on a fake clock)."""
    hub = service.hub
    if not hub.loop.runs_by_itself:
        return None  # a test's manual clock: nothing steps the loop between its calls
    config = service.config
    stall_file = config.data_path / STALL_FILE if hooks_enabled() else None
    if stall_file is not None:
        log.warning("TEST HOOKS ARE ON (%s=1): never use this in a real room", TEST_HOOKS_ENV)
    dog = Watchdog(
        hub,
        stall_seconds=config.hardware.watchdog_seconds,
        ready=service.ready,
        ping_interval=watchdog_ping_interval(),
        stall_file=stall_file,
    )
    return dog
