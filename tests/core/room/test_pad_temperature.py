"""A pad with a temperature sensor, through the hub's public commands on a fake-clock hub.

The simulated pad (a thermal model on the pad's own relay pin) off a Pi, and the real
w1thermsensor library on a folder in the kernel's w1_slave format for the 1-wire path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config.model import Config
from hub.core import Hub
from hub.errors import InvalidCommand, SafetyLocked
from hub.room.thermostat import NO_RISE_SECONDS, SENSOR_GRACE
from tests.rigs.fake_w1 import FakeW1Bus

SENSED = {"heat_pads": {"pad": {"sensor": "auto"}}}
SENSOR = "28-0316a279a4ff"


@pytest.fixture
def sensed_hub(make_hub: Callable[..., Hub], make_config: Callable[..., Config]) -> Hub:
    return make_hub(make_config(SENSED))


def safety_events(hub: Hub) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    hub.subscribe(lambda ev: seen.append(ev.data) if ev.type == "safety" else None)
    return seen


def pad(hub: Hub) -> dict[str, Any]:
    return hub.state()["devices"]["pad"]


def test_a_level_holds_its_temperature(sensed_hub: Hub) -> None:
    hub = sensed_hub
    assert pad(hub)["temperature"] == pytest.approx(21.0, abs=0.1)
    hub.devices.set("pad", {"heat": "high", "minutes": 60})
    assert pad(hub)["target_celsius"] == 42 and pad(hub)["max_celsius"] == 45
    hub.advance(15 * 60)  # full power until the target
    seen = []
    for _ in range(20 * 6):  # then 20 minutes held around it
        hub.advance(10)
        seen.append(pad(hub)["temperature"])
    assert min(seen) >= 41.0 and max(seen) <= 42.6, (min(seen), max(seen))
    assert pad(hub)["fault"] is None
    # medium holds lower: the relay stays open until the pad cools to it
    hub.devices.set("pad", {"heat": "medium", "minutes": 30})
    hub.advance(10 * 60)
    assert 37.0 <= pad(hub)["temperature"] <= 38.6
    hub.devices.set("pad", {"heat": "off"})
    assert "target_celsius" in pad(hub) and pad(hub)["target_celsius"] is None


def test_without_a_sensor_the_pad_shows_no_temperature(hub: Hub) -> None:
    hub.devices.set("pad", {"heat": "high"})
    state = pad(hub)
    assert "temperature" not in state and state["fault"] is None
    assert hub.room.heat_pads["pad"].duty["high"] == 0.8  # time alone, as before


def test_a_persons_heat_limit_caps_the_temperature(sensed_hub: Hub) -> None:
    hub = sensed_hub
    hub.people.create({"name": "Dana", "heat_max": "low"})
    hub.people.set_table({"pad": "dana"})
    out = hub.devices.set("pad", {"heat": "high", "minutes": 60})
    assert out["heat"] == "low" and out["target_celsius"] == 34
    hub.advance(30 * 60)
    assert pad(hub)["temperature"] <= 34.6


def test_a_stuck_relay_switches_the_pad_off_locks_it_and_says_to_unplug_it(
    sensed_hub: Hub, make_hub: Callable[..., Hub]
) -> None:
    hub = sensed_hub
    seen = safety_events(hub)
    hub.devices.set("pad", {"heat": "high", "minutes": 60})
    hub.advance(12 * 60)
    model = hub.room.thermometers["pad"].model
    model.relay(hub.clock.monotonic(), hub.room.heat_pads["pad"].relay_on)
    model.stuck = "closed"  # the SSR fails closed: it heats whatever the pin says
    hub.advance(5 * 60)
    faults = [e for e in seen if e["reason"] == "stuck_relay"]
    assert len(faults) == 1, seen
    assert "Unplug the pad now" in faults[0]["message"]
    assert faults[0]["celsius"] < 45
    state = pad(hub)
    assert state["heat"] == "off" and state["fault"]["kind"] == "stuck_relay"
    assert not hub.room.heat_pads["pad"].relay_on  # the pin is low (the relay is not)
    with pytest.raises(SafetyLocked, match="Unplug the pad now"):
        hub.devices.set("pad", {"heat": "low"})
    # a restart does not forget it
    config = hub.config
    hub.close()
    again = make_hub(config)
    assert pad(again)["fault"]["kind"] == "stuck_relay"
    with pytest.raises(SafetyLocked):
        again.devices.set("pad", {"heat": "low"})
    # once the pad is mended and cool a person clears it, and heat is allowed again
    again.advance(30 * 60)
    again.devices.set("pad", {"clear_fault": True})
    assert pad(again)["fault"] is None
    assert again.devices.set("pad", {"heat": "low"})["heat"] == "low"


def test_over_the_ceiling_the_pad_goes_off(sensed_hub: Hub) -> None:
    hub = sensed_hub
    seen = safety_events(hub)
    model = hub.room.thermometers["pad"].model
    model.relay(hub.clock.monotonic(), False)
    model.stuck = "closed"
    hub.loop.driver.clock.advance(20 * 60)  # the loop stalls while the pad heats by itself
    hub.advance(1)
    assert [e["reason"] for e in seen] == ["over_ceiling"]
    assert "above its limit of 45 °C" in seen[0]["message"]
    assert pad(hub)["fault"]["kind"] == "over_ceiling"
    with pytest.raises(SafetyLocked, match="let it cool first"):
        hub.devices.set("pad", {"clear_fault": True})


def test_a_failed_sensor_never_reads_as_cold(sensed_hub: Hub) -> None:
    hub = sensed_hub
    seen = safety_events(hub)
    hub.devices.set("pad", {"heat": "high", "minutes": 60})
    hub.advance(30)
    assert hub.room.heat_pads["pad"].relay_on
    hub.room.thermometers["pad"].fault = "crc"
    hub.advance(2.5)  # the next look opens the relay, before it is a fault
    assert not hub.room.heat_pads["pad"].relay_on and pad(hub)["fault"] is None
    hub.advance(SENSOR_GRACE)
    assert [e["reason"] for e in seen] == ["sensor_failed"]
    assert "checksum" in seen[0]["message"] and pad(hub)["heat"] == "off"


def test_a_pad_that_does_not_warm_is_switched_off(sensed_hub: Hub) -> None:
    hub = sensed_hub
    seen = safety_events(hub)
    hub.room.thermometers["pad"].model.stuck = "open"  # unplugged at the wall
    hub.devices.set("pad", {"heat": "medium", "minutes": 30})
    hub.advance(NO_RISE_SECONDS + 5)
    assert [e["reason"] for e in seen] == ["no_rise"]
    assert "did not get warmer" in seen[0]["message"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"clear_fault": True}, "has no fault to clear"),
        ({"clear_fault": True, "heat": "low"}, "clear_fault on its own"),
        ({"clear_fault": False}, "clear_fault"),
    ],
)
def test_clearing_a_fault_that_is_not_there_is_refused(
    sensed_hub: Hub, body: dict[str, Any], says: str
) -> None:
    before = sensed_hub.state()
    with pytest.raises(InvalidCommand, match=says):
        sensed_hub.devices.set("pad", body)
    assert sensed_hub.state()["devices"] == before["devices"]


# --- the real library on the kernel's files -------------------------------------------------


def w1_config(make_config: Callable[..., Config], root: Path, sensor: str = "auto") -> Config:
    return make_config(
        {
            "hardware": {"sensors": "w1", "w1_devices": str(root)},
            "heat_pads": {"pad": {"sensor": sensor}},
        }
    )


def test_a_ds18b20_through_w1thermsensor_holds_the_pad_off_when_it_reads_hot(
    make_hub: Callable[..., Hub], make_config: Callable[..., Config], tmp_path: Path
) -> None:
    bus = FakeW1Bus(tmp_path / "w1")
    bus.set(SENSOR, 30.0)
    hub = make_hub(w1_config(make_config, tmp_path / "w1"))
    thermometer = hub.room.thermometers["pad"]
    assert thermometer.sensor_id == SENSOR
    thermometer.read_once()  # the thread reads on the real clock; the test reads at once
    hub.devices.set("pad", {"heat": "high", "minutes": 20})
    hub.advance(1)
    assert hub.room.heat_pads["pad"].relay_on and pad(hub)["temperature"] == 30.0
    bus.set(SENSOR, 42.5)  # at its target: the relay opens, the heat stays on
    thermometer.read_once()
    hub.advance(2.5)
    assert not hub.room.heat_pads["pad"].relay_on and pad(hub)["heat"] == "high"
    bus.set(SENSOR, 46.0)
    thermometer.read_once()
    hub.advance(2.5)
    assert pad(hub)["fault"]["kind"] == "over_ceiling" and pad(hub)["heat"] == "off"


def test_a_missing_sensor_keeps_its_pad_off_and_says_why(
    make_hub: Callable[..., Hub], make_config: Callable[..., Config], tmp_path: Path
) -> None:
    (tmp_path / "w1").mkdir()
    hub = make_hub(w1_config(make_config, tmp_path / "w1", sensor=SENSOR))
    assert any("sensor was not found when the hub started" in w for w in hub.warnings), hub.warnings
    with pytest.raises(SafetyLocked):
        hub.advance(SENSOR_GRACE + 1)
        hub.devices.set("pad", {"heat": "low"})
    assert pad(hub)["fault"]["kind"] == "sensor_failed"
    assert "not found when the hub started" in pad(hub)["fault"]["message"]


def test_a_fault_record_that_cannot_be_read_back_is_still_a_fault(
    sensed_hub: Hub, make_hub: Callable[..., Hub]
) -> None:
    hub = sensed_hub
    record = {"on": False, "used": 0.0, "fault": {"kind": "gremlins"}}
    hub.store.save_heat_ledger("pad", record)
    hub.close()
    again = make_hub(hub.config)
    assert pad(again)["fault"]["kind"] == "sensor_failed"
    assert "cannot read back" in pad(again)["fault"]["message"]
    with pytest.raises(SafetyLocked):
        again.devices.set("pad", {"heat": "low"})


def test_the_state_says_warming_holding_and_an_old_reading(sensed_hub: Hub) -> None:
    hub = sensed_hub
    hub.devices.set("pad", {"heat": "low", "minutes": 60})
    assert pad(hub)["warming"] is True and pad(hub)["temperature_fresh"] is True
    hub.advance(20 * 60)  # at 34 °C: holding
    held = [pad(hub) for _ in range(30) if not hub.advance(10)]
    assert any(p["warming"] is False for p in held) and any(p["warming"] for p in held)
    hub.room.thermometers["pad"].fault = "silent"
    hub.advance(11)  # the last reading is now too old to heat on
    state = pad(hub)
    assert state["temperature_fresh"] is False and state["warming"] is False
    assert state["temperature"] is not None  # the last good one, for the page to say so
