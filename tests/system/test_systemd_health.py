"""Readiness (/healthz body): hub, store, scheduler; MQTT apart; never blocked by a stall."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import Config
from hub.engine.watchdog import stall_next_step
from hub.service import Service, build_service
from tests.rigs.support import free_port, wait_for


@pytest.fixture
def make_service(
    make_config: Callable[..., Config],
) -> Iterator[Callable[..., Service]]:
    """Return a function that builds and starts the whole service on simulated pins."""
    made: list[Service] = []

    def make(overrides: dict | None = None) -> Service:
        config = make_config({"hardware": {"watchdog_seconds": 1}, **(overrides or {})})
        service = build_service(config, pin_factory=SimFactory(), speaker=SilentSpeaker())
        service.start()
        made.append(service)
        return service

    yield make
    for service in made:
        service.stop()


def test_ready_when_hub_store_and_scheduler_are_up(make_service: Callable[..., Service]) -> None:
    service = make_service()
    body = service.health()
    assert body["hub"] and body["store"] and body["scheduler"], body
    assert body["ready"] is True and body["status"] == "ok"
    assert body["mqtt"] is None  # not enabled: not part of readiness
    assert body["watchdog"]["loop_ok"] is True


def test_mqtt_is_a_separate_field(make_service: Callable[..., Service]) -> None:
    # a real paho client towards a port where no broker listens: never connects
    service = make_service({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": free_port()}})
    body = service.health()
    assert body["mqtt"] is False
    assert body["ready"] is True, "a missing broker does not make the hub unready"
    assert service.health()["mqtt"] is False


def test_a_stalled_loop_makes_it_unready_without_blocking(
    make_service: Callable[..., Service],
) -> None:
    service = make_service()
    stall_next_step(service.hub, 3.0)
    wait_for(lambda: not service.health()["hub"], timeout=3)
    t0 = time.monotonic()
    body = service.health()  # the hub lock is held by the hung step
    took = time.monotonic() - t0
    assert body["ready"] is False and body["hub"] is False
    assert body["store"] is True
    assert took < 1.0, f"health() waited {took:.2f}s on a lock"
    wait_for(lambda: service.health()["ready"], timeout=6)


def test_store_busy_is_not_ready(make_service: Callable[..., Service]) -> None:
    service = make_service()
    store = service.hub.store
    held = threading.Event()
    release = threading.Event()

    def hog() -> None:
        with store._lock:  # type: ignore[attr-defined]
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hog, daemon=True)
    thread.start()
    held.wait(2)
    try:
        body = service.health()
        assert body["store"] is False and body["ready"] is False
    finally:
        release.set()
        thread.join()
    assert service.health()["ready"] is True


def test_scheduler_down_is_not_ready(make_service: Callable[..., Service]) -> None:
    service = make_service()
    routines = service.routines
    assert routines is not None
    service.hub.remove_part(routines._part)  # its part of the loop is gone: nothing runs it
    assert service.health()["scheduler"] is False
    assert service.health()["ready"] is False


def test_a_service_that_has_not_started_is_not_ready(make_config: Callable[..., Config]) -> None:
    config = make_config()
    service = Service(config, pin_factory=SimFactory(), speaker=SilentSpeaker())
    try:
        assert service.health()["hub"] is False
        assert service.health()["ready"] is False
    finally:
        service.hub.close()
