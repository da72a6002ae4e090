"""The control loop keeps enforcing heat limits even when another part of a step fails."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core import Hub
from tests.conftest import PinRecorder


class BrokenLight:
    """A light whose PWM write fails (a driver error)."""

    kind = "light"

    def __init__(self, real: Any) -> None:
        self.real = real

    @property
    def level(self) -> float:
        return self.real.level

    @level.setter
    def level(self, value: float) -> None:
        raise OSError("PWM write failed")

    def state(self) -> dict[str, Any]:
        return self.real.state()

    def off(self) -> None:
        self.real.off()

    def close(self) -> None:
        self.real.close()


def test_a_failing_fade_is_dropped_and_heat_limits_still_apply(hub: Hub, pins: PinRecorder) -> None:
    hub.devices.set("pad", {"heat": "high", "minutes": 5})
    hub.devices.set("main", {"level": 0.8, "fade_seconds": 60})
    hub.room.lights["main"] = BrokenLight(hub.room.lights["main"])  # type: ignore[assignment]
    hub.advance(10 * 60)
    assert hub.state()["devices"]["pad"]["heat"] == "off"
    assert pins.level("GPIO24") == 0
    assert not hub.context.fader.fades  # the broken fade was dropped, not retried forever


def test_a_step_whose_safety_check_raises_does_not_count_as_alive(
    hub: Hub, pins: PinRecorder, monkeypatch: Any
) -> None:
    hub.devices.set("pad", {"heat": "high", "minutes": 5})
    before = hub.loop.last_step
    hub.clock.advance(30)  # type: ignore[attr-defined]

    def boom(now: float) -> None:
        raise RuntimeError("heat bookkeeping failed")

    monkeypatch.setattr(hub.guard, "check", boom)
    deadline = hub.step()  # the loop goes on...
    assert deadline == pytest.approx(hub.clock.monotonic() + 1.0)  # ...a second later, no spin
    assert hub.loop.last_step == before  # the watchdog will see the loop as stalled
    assert pins.level("GPIO24") == 0  # and heat is off already
    assert hub.state()["devices"]["pad"]["heat"] == "off"


def test_a_session_step_that_raises_ends_the_session_and_the_loop_goes_on(
    hub: Hub, pins: PinRecorder, monkeypatch: Any
) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(1)
    assert pins.level("GPIO24") == 1

    def boom(now: float) -> None:
        raise RuntimeError("session bookkeeping failed")

    monkeypatch.setattr(hub.context.sessions, "step", boom)
    hub.clock.advance(1)  # type: ignore[attr-defined]
    hub.step()
    assert hub.sessions.current is None
    assert hub.state()["last_session"]["end_reason"] == "error"
    assert pins.level("GPIO24") == 0
    assert hub.loop.last_step == hub.clock.monotonic()  # safety ran: alive
