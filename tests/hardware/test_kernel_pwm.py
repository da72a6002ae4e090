"""Lights on the kernel's hardware PWM, against a fake ``/sys/class/pwm`` tree in tmp."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from hardware import DimmableLight
from hardware.kernel_pwm import KernelPWM, KernelPWMError, hardware_pwm_channel
from hub.config.model import Config
from hub.room.building import LGPIO_DUTY_STEP, build_lights
from tests.rigs.fake_sysfs_pwm import FakePWMChip
from tests.rigs.support import wait_for


@pytest.fixture
def chip(tmp_path: Path) -> Iterator[FakePWMChip]:
    fake = FakePWMChip(tmp_path / "pwm")
    yield fake
    fake.close()


def test_open_exports_and_writes_the_full_period_in_nanoseconds(chip: FakePWMChip) -> None:
    pwm = KernelPWM(0, 1, frequency=800, root=chip.root)
    assert chip.exports == [1]
    assert chip.read(1, "period") == "1250000"
    assert chip.read(1, "duty_cycle") == "0"
    assert chip.read(1, "enable") == "1"
    pwm.value = 0.004  # 5 us of 1250 us: 50 ticks of the Pi's 10 MHz clock, not rounded away
    assert chip.read(1, "duty_cycle") == "5000"
    pwm.value = 1 / 12500
    assert chip.read(1, "duty_cycle") == "100"
    pwm.value = 2.0
    assert chip.read(1, "duty_cycle") == "1250000"
    pwm.close()
    wait_for(lambda: not chip.exported(1))
    assert chip.unexports == [1]
    assert chip.violations == []


def test_close_leaves_the_off_level_and_is_idempotent(chip: FakePWMChip) -> None:
    pwm = KernelPWM(0, 0, frequency=1000, root=chip.root)
    pwm.value = 0.5
    assert chip.read(0, "duty_cycle") == "500000"
    pwm.close()
    pwm.close()
    wait_for(lambda: not chip.exported(0))
    assert chip.duties[0][-1] == 0  # the state the fake kernel saw when it was unexported
    assert chip.unexports == [0]
    with pytest.raises(KernelPWMError, match="closed"):
        pwm.value = 0.2


def test_a_reopened_channel_with_a_long_duty_is_cleared_before_the_new_period(
    chip: FakePWMChip,
) -> None:
    first = KernelPWM(0, 0, frequency=100, root=chip.root)  # 10 ms period
    first.value = 0.9  # 9 ms duty, longer than 800 Hz's whole period
    # a crash leaves the channel exported with that duty; the next start must cope
    second = KernelPWM(0, 0, frequency=800, root=chip.root)
    assert chip.read(0, "period") == "1250000" and chip.read(0, "duty_cycle") == "0"
    assert chip.violations == []
    second.close()


def test_active_low_inverts_and_stays_driven_at_close(chip: FakePWMChip) -> None:
    pwm = KernelPWM(0, 0, frequency=800, active_high=False, root=chip.root)
    assert chip.read(0, "duty_cycle") == "1250000"  # off = always high
    pwm.value = 0.25
    assert chip.read(0, "duty_cycle") == "937500"
    pwm.close()
    # a released pin would fall low: "on" for an active-low driver
    assert chip.exported(0) and chip.read(0, "duty_cycle") == "1250000"
    assert chip.read(0, "enable") == "1"


def test_a_missing_chip_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KernelPWMError, match="pwm-2chan"):
        KernelPWM(0, 0, root=tmp_path)


def test_a_channel_the_kernel_never_makes_times_out(chip: FakePWMChip) -> None:
    with pytest.raises(KernelPWMError, match="did not become writable"):
        KernelPWM(0, 7, root=chip.root, ready_timeout=0.2)  # npwm is 2


def test_only_the_four_pwm_pins_have_a_channel() -> None:
    assert {g: hardware_pwm_channel(g) for g in (12, 13, 18, 19)} == {
        12: 0,
        13: 1,
        18: 0,
        19: 1,
    }
    assert all(hardware_pwm_channel(g) is None for g in range(28) if g not in (12, 13, 18, 19))


def test_a_light_on_kernel_pwm_gets_the_duty_of_its_gamma_curve(chip: FakePWMChip) -> None:
    light = DimmableLight(18, output=KernelPWM(0, 0, root=chip.root))
    for level in (0.01, 0.05, 0.1, 0.3, 0.5, 1.0):
        light.level = level
        assert int(chip.read(0, "duty_cycle")) == round(light.duty_for(level) * 1_250_000)
    light.level = 0.01
    assert chip.read(0, "duty_cycle") == str(round((0.004 + 0.996 * 0.01**2.2) * 1_250_000))
    light.close()
    wait_for(lambda: not chip.exported(0))


# --- the fallback: lgpio whole percent ---------------------------------------------------


class WholePercentPin(MockPWMPin):
    """A mock PWM pin that keeps whole percent, as gpiozero 2.0.1's lgpio pin does."""

    def _set_state(self, value: float) -> None:
        super()._set_state(int(value * 100) / 100)


def test_on_lgpio_no_level_emits_zero_and_steps_are_whole_percent() -> None:
    factory = MockFactory(pin_class=WholePercentPin)
    light = DimmableLight(23, pin_factory=factory, duty_step=LGPIO_DUTY_STEP)
    pin = factory.pin(23)
    assert light.min_duty == 0.01
    emitted = []
    for i in range(1, 1001):
        light.level = i / 1000
        emitted.append(pin.state)
        assert pin.state >= 0.01, f"level {i / 1000} emits {pin.state}"
        assert pin.state == pytest.approx(light.duty_for(i / 1000))
    assert all(b >= a for a, b in zip(emitted, emitted[1:], strict=False))
    light.level = light.level_for(0.29)  # 0.29 * 100 is 28.999…: must not become 28 %
    assert pin.state == 0.29
    light.level = 0
    assert pin.state == 0
    light.close()


def test_build_lights_puts_pwm_pins_on_the_kernel_and_warns_about_the_rest(
    chip: FakePWMChip, make_config: Callable[..., Config]
) -> None:
    config = make_config(
        {
            "lights": {
                "main": {"pin": 18},
                "accent": {"pin": "GPIO13"},
                "side": {"pin": 12},  # channel 0 again: already main's
                "desk": {"pin": 22},
            }
        }
    )
    warnings: list[str] = []
    factory = MockFactory(pin_class=MockPWMPin)
    lights = build_lights(config, factory, warnings, backend="gpio", pwm_root=chip.root)
    assert isinstance(lights["main"]._led, KernelPWM) and lights["main"]._led.channel == 0
    assert isinstance(lights["accent"]._led, KernelPWM) and lights["accent"]._led.channel == 1
    assert not isinstance(lights["side"]._led, KernelPWM)
    assert not isinstance(lights["desk"]._led, KernelPWM)
    assert len(warnings) == 2
    assert "'side'" in warnings[0] and "shares hardware PWM channel 0" in warnings[0]
    assert "'desk'" in warnings[1] and "GPIO22 has no hardware PWM" in warnings[1]
    assert "1% duty" in warnings[1]
    lights["accent"].level = 0.01
    assert chip.read(1, "duty_cycle") == str(round(lights["accent"].duty_for(0.01) * 1_250_000))
    for light in lights.values():
        light.close()
    wait_for(lambda: not chip.exported(0) and not chip.exported(1))


def test_build_lights_falls_back_with_a_warning_when_the_overlay_is_missing(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    config = make_config({"lights": {"main": {"pin": 18}}})
    warnings: list[str] = []
    lights = build_lights(
        config, MockFactory(pin_class=MockPWMPin), warnings, backend="gpio", pwm_root=tmp_path
    )
    assert not isinstance(lights["main"]._led, KernelPWM)
    assert "pwm-2chan" in warnings[0]
    lights["main"].close()


def test_on_mock_nothing_changes(tmp_path: Path, make_config: Callable[..., Config]) -> None:
    chip = FakePWMChip(tmp_path / "pwm")
    try:
        config = make_config({"lights": {"main": {"pin": 18}}})
        warnings: list[str] = []
        factory = MockFactory(pin_class=MockPWMPin)
        lights = build_lights(config, factory, warnings, backend="mock", pwm_root=chip.root)
        assert not isinstance(lights["main"]._led, KernelPWM) and warnings == []
        assert chip.exports == [] and lights["main"].duty_step is None
        lights["main"].close()
    finally:
        chip.close()


def test_the_hub_shows_its_hardware_warnings(hub: Any) -> None:
    assert hub.state()["warnings"] == []


def test_force_off_stops_a_channel_its_dead_owner_left_running(chip: FakePWMChip) -> None:
    from hardware.kernel_pwm import force_off

    pwm = KernelPWM(0, 0, root=chip.root)
    pwm.value = 0.6  # then the process is killed: nothing closes it
    assert force_off(0, 0, root=chip.root) is True
    wait_for(lambda: not chip.exported(0))
    assert chip.duties[0][-1] == 0 and chip.violations == []
    assert force_off(0, 0, root=chip.root) is False  # nothing exported: nothing to do
