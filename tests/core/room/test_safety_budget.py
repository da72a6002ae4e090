"""Re-sending "on" cannot keep a pad on: on-time adds up until the pad has rested."""

from __future__ import annotations

import pytest

from hub.core import Hub
from hub.errors import SafetyLocked
from tests.conftest import PinRecorder


def test_off_and_on_again_does_not_start_a_new_stretch(hub: Hub, pins: PinRecorder) -> None:
    # 3 x 20 min manual heat with a short pause between: the third one is cut at 60 min
    for _ in range(2):
        hub.devices.set("pad", {"heat": "high", "minutes": 20})
        hub.advance(20 * 60)
        hub.advance(60)  # one minute off: far shorter than the 30 min cooldown
    hub.devices.set("pad", {"heat": "high", "minutes": 20})
    hub.advance(20 * 60)
    pad = hub.state()["devices"]["pad"]
    assert pad["heat"] == "off"
    assert pad["locked_for_seconds"] == pytest.approx(30 * 60, abs=1)
    with pytest.raises(SafetyLocked, match="cooling down"):
        hub.devices.set("pad", {"heat": "low"})


def test_a_used_up_budget_refuses_without_switching_the_relay(hub: Hub, pins: PinRecorder) -> None:
    hub.devices.set("pad", {"heat": "high", "minutes": 60})
    hub.advance(59 * 60 + 59.5)
    hub.devices.set("pad", {"heat": "off"})
    before = len(pins.history("GPIO24"))
    with pytest.raises(SafetyLocked):
        hub.devices.set("pad", {"heat": "high", "minutes": 10})
    assert len(pins.history("GPIO24")) == before  # the relay never clicked


def test_a_full_cooldown_off_restores_the_whole_stretch(hub: Hub) -> None:
    hub.devices.set("pad", {"heat": "medium", "minutes": 40})
    hub.advance(40 * 60)
    hub.advance(30 * 60)  # rested for the whole cooldown
    hub.devices.set("pad", {"heat": "medium", "minutes": 60})
    assert hub.state()["devices"]["pad"]["off_in_seconds"] == pytest.approx(3600, abs=1)


def test_toggling_the_level_cannot_click_the_relay_faster_than_min_switch(
    hub: Hub, pins: PinRecorder
) -> None:
    for _ in range(30):  # a client flipping the pad every second for half a minute
        hub.devices.set("pad", {"heat": "high", "minutes": 5})
        hub.advance(0.5)
        hub.devices.set("pad", {"heat": "off"})
        hub.advance(0.5)
    closes = [t for t, v in pins.history("GPIO24") if v == 1]
    gaps = [b - a for a, b in zip(closes, closes[1:], strict=False)]
    assert closes and min(gaps) >= 10 - 1e-6  # the shipped min_switch_seconds
