"""The control-loop watchdog and sd_notify, on a real-clock hub with simulated pins."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import Config
from hub.engine.watchdog import (
    STALL_FILE,
    TEST_HOOKS_ENV,
    Watchdog,
    sd_notify,
    session_status,
    stall_next_step,
    watchdog_component,
    watchdog_ping_interval,
)
from hub.service import Service
from tests.rigs.service_api import api, create_token
from tests.rigs.support import ServeProcess, sim_pins, wait_for, write_config

PAD = "GPIO24"


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET; collects messages."""

    def __init__(self, path: Path | None = None, abstract: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract is not None:
            self.sock.bind("\0" + abstract)
            self.address = "@" + abstract
        else:
            assert path is not None
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def lines(self) -> list[str]:
        """Every KEY=VALUE line received so far."""
        return [line for _, m in list(self.messages) for line in m.split("\n")]

    def count(self, line: str, since: float = 0.0) -> int:
        """How many messages since ``since`` contain ``line``."""
        return sum(1 for t, m in list(self.messages) if t >= since and line in m.split("\n"))

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    """A fake systemd notify socket, with $NOTIFY_SOCKET and a 0.4 s $WATCHDOG_USEC set."""
    ns = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", ns.address)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield ns
    ns.close()


class PinTimes:
    """Record (monotonic time, pin, level) for every simulated pin change."""

    def __init__(self, factory: SimFactory) -> None:
        self.changes: list[tuple[float, str, float]] = []
        factory.listeners.append(lambda pin, v: self.changes.append((time.monotonic(), pin, v)))

    def first_off_after(self, pin: str, t0: float) -> float | None:
        for t, p, v in list(self.changes):
            if p == pin and t >= t0 and v == 0.0:
                return t
        return None


@pytest.fixture
def running(
    make_config: Callable[..., Config], notify_socket: NotifySocket
) -> Iterator[Callable[..., tuple[Service, SimFactory, PinTimes]]]:
    """Return a function that starts a real-clock service with only the watchdog component."""
    services: list[Service] = []

    def start(watchdog_seconds: float = 1.0) -> tuple[Service, SimFactory, PinTimes]:
        config = make_config({"hardware": {"watchdog_seconds": watchdog_seconds}})
        factory = SimFactory()
        times = PinTimes(factory)
        service = Service(
            config, pin_factory=factory, speaker=SilentSpeaker(playlists=[], max_volume=80)
        )
        dog = watchdog_component(service)
        assert dog is not None
        service.watchdog = dog
        service.add(dog)
        service.start()
        services.append(service)
        return service, factory, times

    yield start
    for service in services:
        if not getattr(service, "stopped_by_test", False):
            service.stop()


def test_sd_notify_reaches_a_path_socket(tmp_path: Path) -> None:
    ns = NotifySocket(tmp_path / "n.sock")
    try:
        assert sd_notify("READY=1\nSTATUS=hello", {"NOTIFY_SOCKET": ns.address})
        wait_for(lambda: ns.lines(), timeout=5)
        assert ns.lines() == ["READY=1", "STATUS=hello"]
    finally:
        ns.close()


def test_sd_notify_reaches_an_abstract_socket() -> None:
    name = f"massage-hub-test-{time.monotonic_ns()}"
    ns = NotifySocket(abstract=name)
    try:
        assert sd_notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        wait_for(lambda: "WATCHDOG=1" in ns.lines(), timeout=5)
    finally:
        ns.close()


def test_sd_notify_without_systemd_is_a_no_op(tmp_path: Path) -> None:
    assert sd_notify("READY=1", {}) is False
    # a socket that is gone: logged, not raised
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "missing.sock")}) is False


def test_ping_interval_is_half_the_watchdog_time() -> None:
    assert watchdog_ping_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_ping_interval({}) is None
    assert watchdog_ping_interval({"WATCHDOG_USEC": "junk"}) is None
    assert watchdog_ping_interval({"WATCHDOG_USEC": "0"}) is None
    # meant for another process (a child that inherited the environment)
    assert watchdog_ping_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None


def test_no_watchdog_on_a_fake_clock(make_hub: Callable[..., Any], config: Config) -> None:
    hub = make_hub(config)
    service = Service(config, hub=hub)
    assert watchdog_component(service) is None


def test_status_line_describes_the_session() -> None:
    assert session_status({"backend": "mock", "session": None}) == (
        "Ready on simulated pins; no session"
    )
    text = session_status(
        {
            "backend": "gpio",
            "session": {
                "scene": "swedish",
                "scene_name": "Swedish",
                "phase": "active",
                "paused": True,
                "remaining_seconds": 1500,
            },
        }
    )
    assert text == "Session Swedish: active, paused, 25 min left (GPIO)"


def test_ready_after_start_then_pings_and_stopping(
    running: Callable[..., tuple[Service, SimFactory, PinTimes]], notify_socket: NotifySocket
) -> None:
    service, _, _ = running()
    wait_for(lambda: "READY=1" in notify_socket.lines(), timeout=5)
    assert service.ready.is_set()
    ready_at = next(t for t, m in notify_socket.messages if "READY=1" in m.split("\n"))
    assert any(line.startswith("STATUS=Ready") for line in notify_socket.lines())
    # WATCHDOG_USEC=0.4 s: a ping every 0.2 s while the loop is healthy
    wait_for(lambda: notify_socket.count("WATCHDOG=1", since=ready_at) >= 3, timeout=5)
    service.hub.sessions.start("swedish", 30)
    wait_for(lambda: any("Session Swedish" in line for line in notify_socket.lines()), timeout=5)
    service.stop()
    service.stopped_by_test = True  # type: ignore[attr-defined]
    assert "STOPPING=1" in notify_socket.lines()


@pytest.mark.slow
def test_stalled_loop_switches_heat_off_within_the_limit(
    running: Callable[..., tuple[Service, SimFactory, PinTimes]], notify_socket: NotifySocket
) -> None:
    service, factory, times = running(watchdog_seconds=1.0)
    hub = service.hub
    dog: Watchdog = service.watchdog  # type: ignore[attr-defined]
    hub.sessions.start("swedish", 30)  # medium heat: the pad's relay closes at once
    wait_for(lambda: factory.level(PAD) == 1.0, timeout=5)
    assert hub.state()["devices"]["pad"]["heat"] == "medium"

    stall = 4.0
    t0 = time.monotonic()
    stall_next_step(hub, stall)
    # the hung step holds the hub lock; the watchdog must not need it
    wait_for(lambda: not _lock_free(hub), timeout=2)
    off_at = wait_for(lambda: times.first_off_after(PAD, t0), timeout=stall)
    assert not _lock_free(hub), "heat went off only after the stall ended"
    # the configured limit (1 s) plus at most one check interval and some scheduling slack
    assert off_at - t0 <= 1.0 + dog.check_interval + 0.75
    assert dog.stalled and dog.trips == 1
    # no systemd pings while stalled
    quiet_from = off_at + dog.check_interval
    time.sleep(1.0)
    assert notify_socket.count("WATCHDOG=1", since=quiet_from) == 0
    assert any("stalled" in line for line in notify_socket.lines())

    # the loop comes back: heat stays off, the guard forgot it, pings resume
    wait_for(lambda: not dog.stalled, timeout=stall + 3)
    resumed = time.monotonic()
    wait_for(lambda: notify_socket.count("WATCHDOG=1", since=resumed) >= 2, timeout=5)
    pad = hub.state()["devices"]["pad"]
    assert pad["heat"] == "off" and pad["relay"] is False
    assert factory.level(PAD) == 0.0
    assert hub.sessions.current is not None  # the session goes on, without heat
    time.sleep(0.5)
    assert factory.level(PAD) == 0.0


def test_watchdog_keeps_heat_off_while_the_loop_is_dead(
    running: Callable[..., tuple[Service, SimFactory, PinTimes]],
) -> None:
    """A stalled loop cannot enforce heat timeouts, so nothing may switch a pad on meanwhile."""
    service, factory, _ = running(watchdog_seconds=1.0)
    hub = service.hub
    dog: Watchdog = service.watchdog  # type: ignore[attr-defined]
    hub.loop.driver.stop()  # the loop thread ends: last_step stops moving, the lock is free
    wait_for(lambda: dog.stalled, timeout=5)
    hub.devices.set("pad", {"heat": "high", "minutes": 10})  # a command still gets through
    wait_for(lambda: factory.level(PAD) == 0.0, timeout=2)
    assert factory.level(PAD) == 0.0


def test_stall_hook_file_is_only_read_with_test_hooks(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config()
    service = Service(config, pin_factory=SimFactory(), speaker=SilentSpeaker())
    try:
        monkeypatch.delenv(TEST_HOOKS_ENV, raising=False)
        dog = watchdog_component(service)
        assert dog is not None and dog.stall_file is None
        monkeypatch.setenv(TEST_HOOKS_ENV, "1")
        dog = watchdog_component(service)
        assert dog is not None and dog.stall_file == config.data_path / STALL_FILE
    finally:
        service.hub.close()


def _lock_free(hub: Any) -> bool:
    if hub.lock.acquire(blocking=False):
        hub.lock.release()
        return True
    return False


# --- the real service (`massage-hub serve` in a child process) ------------------------------------


@pytest.mark.slow
def test_serve_tells_systemd_ready_pings_stalls_and_stopping(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    """READY=1 after start-up, pings, no pings while the loop hangs, STOPPING=1 on SIGTERM."""
    config_path = write_config(
        tmp_path / "cfg", {"hardware": {"watchdog_seconds": 1}, "log_level": "INFO"}
    )
    env = {
        "NOTIFY_SOCKET": notify_socket.address,
        "WATCHDOG_USEC": "400000",
        TEST_HOOKS_ENV: "1",
    }
    proc = ServeProcess(config_path, env=env).start(wait=False)
    try:
        wait_for(lambda: "READY=1" in notify_socket.lines(), timeout=30)
        wait_for(lambda: notify_socket.count("WATCHDOG=1") >= 3, timeout=5)
        data_dir = Path(proc.config["data_dir"])
        (data_dir / STALL_FILE).write_text("4")
        wait_for(lambda: "control loop stalled" in proc.log(), timeout=5)
        quiet_from = time.monotonic() + 0.3
        time.sleep(1.5)
        assert notify_socket.count("WATCHDOG=1", since=quiet_from) == 0, "pinged while hung"
        wait_for(lambda: "control loop running again" in proc.log(), timeout=8)
        back = time.monotonic()
        wait_for(lambda: notify_socket.count("WATCHDOG=1", since=back) >= 2, timeout=5)
    finally:
        code = proc.stop()
    assert code == 0, proc.log()
    assert "STOPPING=1" in notify_socket.lines()
    assert "TEST HOOKS ARE ON" in proc.log()


@pytest.mark.slow
def test_serve_without_test_hooks_ignores_the_stall_file(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    config_path = write_config(tmp_path / "cfg", {"hardware": {"watchdog_seconds": 1}})
    env = {"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "400000"}
    proc = ServeProcess(config_path, env=env)
    proc.env.pop(TEST_HOOKS_ENV, None)
    proc.start(wait=False)
    try:
        wait_for(lambda: "READY=1" in notify_socket.lines(), timeout=30)
        stall = Path(proc.config["data_dir"]) / STALL_FILE
        stall.write_text("3")
        time.sleep(1.5)
        assert stall.exists(), "the hook file was read without MASSAGE_HUB_TEST_HOOKS=1"
        assert "stalled" not in proc.log()
    finally:
        proc.stop()


@pytest.mark.slow
def test_serve_stalled_loop_switches_heat_off_and_healthz_says_so(tmp_path: Path) -> None:
    """The real service: heat on through the API, the loop hangs, the pad's pin goes off."""
    config_path = write_config(tmp_path / "cfg", {"hardware": {"watchdog_seconds": 1}})
    token = create_token(config_path, "stall-test")
    proc = ServeProcess(config_path, env={TEST_HOOKS_ENV: "1"}).start()
    try:
        status, body = api(
            proc.base_url, "PUT", "/api/v1/devices/pad", {"heat": "high", "minutes": 10}, token
        )
        assert status == 200, body
        wait_for(lambda: sim_pins(config_path).get(PAD) == 1.0, timeout=5)

        t0 = time.monotonic()
        (Path(proc.config["data_dir"]) / STALL_FILE).write_text("6")
        wait_for(lambda: sim_pins(config_path).get(PAD) == 0.0, timeout=5)
        off_after = time.monotonic() - t0
        # 1 s limit + the hook file poll and check interval (0.1 s each) + the pin file's
        # write interval (0.1 s) + slack; far below the 6 s the loop hangs
        assert off_after < 3.0, f"heat went off only after {off_after:.1f}s"
        status, health = api(proc.base_url, "GET", "/healthz", timeout=5)
        assert status == 503 and health["hub"] is False and health["ready"] is False, health
        assert "control loop stalled" in proc.log()

        wait_for(lambda: api(proc.base_url, "GET", "/healthz", timeout=5)[0] == 200, timeout=10)
        status, state = api(proc.base_url, "GET", "/api/v1/state", token=token)
        assert state["devices"]["pad"]["heat"] == "off"
        assert sim_pins(config_path)[PAD] == 0.0
    finally:
        proc.stop()
