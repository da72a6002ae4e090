"""The parts on gpiozero's mock pins: light, diffuser, heat pad, wall button, pins, mirror."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware import Diffuser, DimmableLight, HeatPad, PinMirror, WallButton, normalize_pin
from hardware.pins import SimFactory, make_pin_factory, read_levels, write_levels
from hub.core import Hub
from tests.conftest import PinRecorder
from tests.rigs.support import wait_for


@pytest.fixture
def f() -> SimFactory:
    return SimFactory()


def pin_state(factory: SimFactory, name: str) -> float:
    return factory.level(name)


# --- DimmableLight ----------------------------------------------------------------------


def test_light_uses_a_gamma_curve_with_a_visible_minimum(f: SimFactory) -> None:
    light = DimmableLight(18, gamma=2.2, min_duty=0.004, pin_factory=f)
    assert light.duty_for(0) == 0
    assert light.duty_for(1) == 1
    assert light.duty_for(0.01) >= 0.004  # "1 %" is a faint glow, not dark
    assert light.duty_for(0.5) == pytest.approx(0.004 + 0.996 * 0.5**2.2)
    light.level = 0.5
    assert pin_state(f, "GPIO18") == pytest.approx(light.duty_for(0.5))
    for level in (0.0, 0.01, 0.3, 0.77, 1.0):
        assert light.level_for(light.duty_for(level)) == pytest.approx(level)
    light.level = 1.7
    assert light.level == 1.0 and pin_state(f, "GPIO18") == 1.0
    light.level = -1
    assert light.level == 0.0 and pin_state(f, "GPIO18") == 0.0


def test_light_duty_rises_monotonically(f: SimFactory) -> None:
    light = DimmableLight(18, pin_factory=f)
    duties = [light.duty_for(i / 1000) for i in range(1001)]
    assert all(b > a for a, b in zip(duties, duties[1:], strict=False))


def test_light_frequency_and_active_low(f: SimFactory) -> None:
    light = DimmableLight(12, frequency=2000, active_high=False, pin_factory=f)
    assert light._led.frequency == 2000
    light.level = 1.0
    assert pin_state(f, "GPIO12") == 0.0  # active low: full light pulls the pin low
    light.off()
    assert pin_state(f, "GPIO12") == 1.0
    assert light.state() == {"kind": "light", "level": 0.0}


# --- Diffuser -----------------------------------------------------------------------------


def test_diffuser_modes_and_interval(f: SimFactory) -> None:
    d = Diffuser(23, on_seconds=30, off_seconds=60, pin_factory=f)
    assert not d.is_on and d.mode == "off"
    d.set_mode("on", 0)
    assert d.is_on and d.update(1000) is None
    d.set_mode("interval", 100)
    assert d.is_on
    assert d.update(129.9) == pytest.approx(130) and d.is_on
    assert d.update(130) == pytest.approx(190) and not d.is_on
    assert d.update(189.99) == pytest.approx(190) and not d.is_on
    assert d.update(190) == pytest.approx(220) and d.is_on
    # choosing interval again keeps the rhythm
    d.set_mode("interval", 200)
    assert d.update(220) == pytest.approx(280) and not d.is_on
    d.set_mode("off", 230)
    assert not d.is_on and d.update(250) is None
    with pytest.raises(ValueError, match="off, on, interval"):
        d.set_mode("pulse", 0)
    assert d.state() == {"kind": "diffuser", "mode": "off", "on": False}


@given(
    since=st.floats(0, 1e6),
    on=st.floats(0.5, 600),
    off=st.floats(0.5, 600),
    steps=st.integers(1, 200),
)
def test_diffuser_deadlines_always_move_forward(
    since: float, on: float, off: float, steps: int
) -> None:
    d = Diffuser(23, on_seconds=on, off_seconds=off, pin_factory=SimFactory())
    d.set_mode("interval", since)
    now = since
    for _ in range(steps):
        was_on = d.is_on
        nxt = d.update(now)
        assert nxt is not None and nxt > now
        assert nxt - now == pytest.approx(on if d.is_on else off, rel=1e-6, abs=1e-5)
        if now > since:
            assert d.is_on != was_on  # every deadline is a switch
        now = nxt


# --- HeatPad --------------------------------------------------------------------------------


def test_heat_levels_are_time_proportioned(f: SimFactory) -> None:
    pad = HeatPad(24, cycle_seconds=60, min_switch_seconds=10, pin_factory=f)
    expect = {"low": 18, "medium": 33, "high": 48}
    for heat, on in expect.items():
        pad.set_heat("off", 0)
        pad.set_heat(heat, 1000)
        assert pad.on_seconds() == pytest.approx(on)
        assert pad.relay_on
        assert pad.update(1000 + on - 0.01) == pytest.approx(1000 + on)
        assert pad.update(1000 + on) == pytest.approx(1060)
        assert not pad.relay_on
        assert pad.update(1060) == pytest.approx(1060 + on) and pad.relay_on


def test_min_switch_interval_spares_the_relay(f: SimFactory) -> None:
    pad = HeatPad(24, cycle_seconds=60, min_switch_seconds=20, pin_factory=f)
    pad.set_heat("low", 0)  # 18 s would be shorter than 20: 20
    assert pad.on_seconds() == 20
    pad.set_heat("high", 0)  # 48 s on leaves 12 s off, shorter than 20: stays on
    assert pad.on_seconds() == 60
    assert pad.update(59) is None and pad.relay_on
    # switching off is never delayed
    pad.off()
    assert not pad.relay_on and pad.heat == "off"


def test_heat_pad_refuses_unknown_levels(f: SimFactory) -> None:
    pad = HeatPad(24, pin_factory=f)
    with pytest.raises(ValueError, match="off, low, medium, high"):
        pad.set_heat("toasty", 0)
    assert pad.heat == "off" and not pad.relay_on


@given(since=st.floats(0, 1e6), heat=st.sampled_from(["low", "medium"]), steps=st.integers(1, 200))
def test_heat_pad_deadlines_always_move_forward(since: float, heat: str, steps: int) -> None:
    pad = HeatPad(24, pin_factory=SimFactory())
    pad.set_heat(heat, since)
    now = since
    for _ in range(steps):
        nxt = pad.update(now)
        assert nxt is not None and nxt - now >= 10 - 1e-5  # never shorter than the min switch
        now = nxt


# --- WallButton ---------------------------------------------------------------------------


def test_button_press_and_hold(f: SimFactory) -> None:
    pressed: list[str] = []
    held = threading.Event()
    button = WallButton(
        25,
        hold_seconds=0.05,
        on_press=lambda: pressed.append("press"),
        on_hold=held.set,
        pin_factory=f,
    )
    pin = f.pin(25)
    pin.drive_low()  # pressed (pull-up: the button pulls to ground)
    pin.drive_high()
    assert pressed == ["press"]
    pin.drive_low()
    wait_for(held.is_set, timeout=5, interval=0.01)
    pin.drive_high()
    assert pressed == ["press"]  # a hold is not also a press
    pin.drive_low()
    pin.drive_high()
    assert pressed == ["press", "press"]
    button.close()


def test_the_hubs_button_starts_pauses_and_holds_all_off(
    make_hub: Any, make_config: Any, factory: SimFactory, pins: PinRecorder
) -> None:
    hub: Hub = make_hub(make_config({"button": {"pin": 25, "hold_seconds": 0.5}}))
    hub.room.button._button.hold_time = 0.05  # a quick hold for the test
    pin = factory.pin(25)
    pin.drive_low()
    pin.drive_high()
    session = hub.state()["session"]
    assert session["scene"] == "swedish" and session["source"] == "button"
    pin.drive_low()
    pin.drive_high()
    assert hub.state()["session"]["paused"]
    pin.drive_low()
    pin.drive_high()
    assert not hub.state()["session"]["paused"]
    pin.drive_low()
    wait_for(lambda: hub.state()["session"] is None, timeout=5, interval=0.01)
    pin.drive_high()
    assert hub.sessions.history()[0]["end_reason"] == "button"
    assert pins.level("GPIO24") == 0


# --- pins -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_pin", "name"),
    [(18, "GPIO18"), ("18", "GPIO18"), ("GPIO18", "GPIO18"), ("gpio18", "GPIO18"),
     ("BCM18", "GPIO18"), ("BOARD12", "GPIO18"), ("board40", "GPIO21"), (0, "GPIO0"),
     (" GPIO27 ", "GPIO27")],
)  # fmt: skip
def test_pin_names_normalise(given_pin: Any, name: str) -> None:
    assert normalize_pin(given_pin) == name


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (28, "GPIO28 does not exist; use a BCM number from 0 to 27"),
        (-1, "GPIO-1 does not exist; use a BCM number from 0 to 27"),
        ("BOARD1", "header pin 1 is not a GPIO pin (power, ground or ID)"),
        ("BOARD41", "header pin 41 is not a GPIO pin (power, ground or ID)"),
        ("pin18", "'pin18' is not a pin; use a BCM number like 18 or GPIO18, or BOARD12"),
        (True, "a pin is a number such as 18 or a name such as GPIO18"),
    ],
)
def test_bad_pins_are_refused_clearly(bad: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_pin(bad)
    assert str(info.value) == message


def test_pin_factories() -> None:
    factory, name = make_pin_factory("mock")
    assert isinstance(factory, SimFactory) and name == "mock"
    factory, name = make_pin_factory("auto")  # this machine is not a Pi
    assert name == "mock"
    with pytest.raises(ValueError, match="unknown hardware backend 'lgpio'"):
        make_pin_factory("lgpio")


def test_pin_mirror_writes_levels_and_notices_an_external_all_off(
    tmp_path: Path, f: SimFactory
) -> None:
    path = tmp_path / "sim-pins.json"
    off = threading.Event()
    mirror = PinMirror(path, ["GPIO18", "GPIO24"], max_rate=50, on_external_off=off.set)
    mirror.attach(f)
    light = DimmableLight(18, pin_factory=f)
    pad = HeatPad(24, pin_factory=f)
    mirror.start()
    try:
        data = json.loads(path.read_text())
        assert data["pins"] == {"GPIO18": 0.0, "GPIO24": 0.0}
        assert data["writer"] == os.getpid()
        light.level = 1.0
        pad.set_heat("high", 0)
        wait_for(lambda: read_levels(path)["pins"] == {"GPIO18": 1.0, "GPIO24": 1.0}, timeout=5)
        assert not off.is_set()
        write_levels(path, {"GPIO18": 0.0, "GPIO24": 0.0}, writer="all-off:1")
        wait_for(off.is_set, timeout=5)
    finally:
        mirror.stop()
    # the final write is the current truth again
    assert read_levels(path)["pins"] == {"GPIO18": 1.0, "GPIO24": 1.0}


def test_pin_mirror_ignores_its_own_writes_and_a_file_with_something_on(tmp_path: Path) -> None:
    path = tmp_path / "sim-pins.json"
    off = threading.Event()
    mirror = PinMirror(path, ["GPIO18"], on_external_off=off.set)
    mirror.flush()
    write_levels(path, {"GPIO18": 0.0}, writer=os.getpid())  # as if from this process
    mirror._check_external()
    write_levels(path, {"GPIO18": 1.0}, writer="someone")
    mirror._check_external()
    assert not off.is_set()
    write_levels(path, {"GPIO18": 0.0}, writer="someone")
    mirror._check_external()
    assert off.is_set()


def test_pin_mirror_notices_an_external_all_off_while_pins_keep_changing(
    tmp_path: Path, f: SimFactory
) -> None:
    path = tmp_path / "sim-pins.json"
    off = threading.Event()
    mirror = PinMirror(path, ["GPIO18"], max_rate=20, on_external_off=off.set)
    mirror.attach(f)
    light = DimmableLight(18, pin_factory=f)
    stop = threading.Event()

    def fade() -> None:  # a fade: the pin changes 100 times a second
        k = 0
        while not stop.is_set():
            k += 1
            light.level = 0.2 + (k % 50) / 100
            stop.wait(0.01)

    mirror.start()
    worker = threading.Thread(target=fade, daemon=True)
    worker.start()
    try:
        wait_for(lambda: read_levels(path)["pins"]["GPIO18"] > 0, timeout=5)
        write_levels(path, {"GPIO18": 0.0}, writer="all-off:1")
        wait_for(off.is_set, timeout=5)
    finally:
        stop.set()
        worker.join()
        mirror.stop()
