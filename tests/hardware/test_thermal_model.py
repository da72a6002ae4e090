"""The simulated pad (a first-order thermal model) and its simulated sensor with their faults."""

from __future__ import annotations

import math

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given
from hypothesis import strategies as st

from hardware import HeatPad, Reading, SimThermometer, ThermalModel
from hardware.thermometer import CHECKSUM, NO_ANSWER, POWER_ON


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_heats_and_cools_with_its_time_constant() -> None:
    model = ThermalModel(room=20.0, rise=30.0, tau=100.0)
    assert model.celsius(0.0) == 20.0 and not model.heating
    model.relay(0.0, True)
    assert model.heating
    assert model.celsius(100.0) == pytest.approx(20.0 + 30.0 * (1 - math.exp(-1)), abs=1e-9)
    assert model.celsius(5000.0) == pytest.approx(50.0, abs=1e-9)  # room + rise
    model.relay(5000.0, False)
    assert model.celsius(5100.0) == pytest.approx(20.0 + 30.0 * math.exp(-1), abs=1e-9)
    assert model.celsius(9000.0) == pytest.approx(20.0, abs=1e-9)
    warm = ThermalModel(room=21.0, start=30.0, tau=600.0)
    assert warm.celsius(7.0) == 30.0  # the first call sets the model's time
    assert warm.celsius(607.0) == pytest.approx(21.0 + 9.0 * math.exp(-1), abs=1e-9)


@given(
    st.lists(st.tuples(st.floats(0.001, 900.0), st.booleans()), min_size=1, max_size=30),
    st.lists(st.floats(0.0, 1.0), max_size=30),
    st.floats(-1e6, 1e6),
)
def test_readings_in_between_and_clock_jumps_change_nothing(
    switches: list[tuple[float, bool]], peeks: list[float], origin: float
) -> None:
    # exact integration: a model read at any moments in between ends where one never read does
    plain, peeked = ThermalModel(), ThermalModel()
    now = origin
    plain.relay(now, False)
    peeked.relay(now, False)
    for i, (gap, closed) in enumerate(switches):
        if i < len(peeks):
            peeked.celsius(now + gap * peeks[i])
        now += gap
        plain.relay(now, closed)
        peeked.relay(now, closed)
    end = now + 1234.5
    assert peeked.celsius(end) == pytest.approx(plain.celsius(end), abs=1e-9)
    assert plain.room <= plain.celsius(end) <= plain.room + plain.rise


def test_an_older_time_never_moves_the_pad_back() -> None:
    model = ThermalModel(tau=100.0)
    model.relay(0.0, True)
    at_100 = model.celsius(100.0)
    assert model.celsius(40.0) == at_100
    fresh = ThermalModel(tau=100.0)
    fresh.relay(0.0, True)
    assert model.celsius(150.0) == pytest.approx(fresh.celsius(150.0), abs=1e-12)


def drive(pad: HeatPad, until: float, now: float = 0.0) -> float:
    """Step ``pad`` through its own deadlines up to ``until``; return the last time."""
    while True:
        nxt = pad.update(now)
        if nxt is None or nxt > until:
            return now
        now = nxt


@pytest.mark.parametrize(("level", "duty"), [("low", 0.3), ("medium", 0.55), ("high", 0.8)])
def test_a_real_pad_at_a_duty_settles_at_room_plus_rise_times_duty(level: str, duty: float) -> None:
    model = ThermalModel(room=21.0, rise=35.0, tau=600.0)
    pad = HeatPad(24, pin_factory=MockFactory())
    pad.relay_listeners.append(model.relay)
    model.celsius(0.0)
    pad.set_heat(level, 0.0)
    start = 40 * 600.0  # forty time constants: the periodic steady state
    drive(pad, start)
    # the mean over one whole cycle, sampled finely between the pad's own switches
    step, total, now = 0.01, 0.0, start
    samples = round(pad.cycle_seconds / step)
    for _ in range(samples):
        now += step
        drive(pad, now, now - step)
        total += model.celsius(now)
    assert total / samples == pytest.approx(21.0 + 35.0 * duty, abs=0.01)
    pad.close()


def test_the_pads_relay_drives_the_model() -> None:
    model = ThermalModel(room=21.0, rise=35.0, tau=600.0)
    pad = HeatPad(24, pin_factory=MockFactory(), cycle_seconds=60.0)
    pad.relay_listeners.append(model.relay)
    model.celsius(0.0)
    pad.set_heat("high", 0.0)  # 48 s of each 60 s
    assert model.heating
    assert pad.update(47.0) == 48.0 and model.heating
    assert pad.update(48.0) == 60.0 and not model.heating
    at_48 = model.celsius(48.0)
    assert at_48 == pytest.approx(21.0 + 35.0 * (1 - math.exp(-48 / 600)))
    pad.update(60.0)
    assert model.heating
    at_60 = model.celsius(60.0)
    assert at_60 < at_48  # it cooled while the relay was open
    pad.off(70.0)
    assert not model.heating
    assert model.celsius(70.0) > at_60  # and heated from 60 s to 70 s
    pad.close()


def test_a_relay_stuck_closed_heats_and_one_stuck_open_never_does() -> None:
    model = ThermalModel(room=20.0, rise=30.0, tau=100.0)
    model.celsius(0.0)
    model.stuck = "closed"
    assert model.heating  # the hub has the relay open, and still the pad heats
    assert model.celsius(100.0) == pytest.approx(20.0 + 30.0 * (1 - math.exp(-1)))
    at_100 = model.celsius(100.0)
    model.relay(100.0, False)
    assert model.celsius(200.0) == pytest.approx(20.0 + 30.0 * (1 - math.exp(-2)))
    assert model.celsius(200.0) > at_100
    model.stuck = "open"
    model.relay(200.0, True)
    assert not model.heating
    at_200 = model.celsius(200.0)
    assert model.celsius(300.0) == pytest.approx(20.0 + (at_200 - 20.0) * math.exp(-1))
    model.stuck = None
    assert model.heating  # mended: the relay is closed, so it heats
    with pytest.raises(ValueError, match="stuck must be None"):
        model.stuck = "welded"
    assert model.stuck is None
    with pytest.raises(ValueError, match="tau"):
        ThermalModel(tau=0)


def test_the_sim_sensor_reads_the_model_in_sixteenths() -> None:
    clock = Clock()
    model = ThermalModel(room=21.0, rise=35.0, tau=600.0)
    sensor = SimThermometer(model, clock)
    assert sensor.sensor_id == "28-00000000sim1"
    sensor.start()
    model.relay(0.0, True)
    for t in (0.0, 13.0, 120.0, 600.0):
        clock.now = t
        reading = sensor.latest()
        assert reading is not None and reading.ok and reading.at == t
        assert reading.celsius is not None and (reading.celsius * 16).is_integer()
        assert abs(reading.celsius - model.celsius(t)) <= 1 / 32
    sensor.close()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("crc", CHECKSUM),
        ("reset", POWER_ON),
        ("nonsense", "the sensor reads -127 °C, which cannot be right"),
    ],
)
def test_sim_sensor_faults_read_as_errors(fault: str, error: str) -> None:
    clock = Clock()
    sensor = SimThermometer(ThermalModel(), clock)
    assert sensor.latest() == Reading(21.0, 0.0, None)
    sensor.fault = fault
    clock.now = 5.0
    assert sensor.latest() == Reading(None, 5.0, error)
    assert sensor.read_once() == Reading(None, 5.0, error)
    sensor.fault = None
    assert sensor.latest() == Reading(21.0, 5.0, None)


def test_a_silent_sim_sensor_keeps_its_last_reading_as_it_ages() -> None:
    clock = Clock()
    model = ThermalModel(tau=100.0)
    model.relay(0.0, True)
    sensor = SimThermometer(model, clock)
    sensor.fault = "silent"
    assert sensor.latest() is None  # silent from the start: never a reading
    sensor.fault = None
    clock.now = 10.0
    last = sensor.latest()
    assert last is not None and last.ok
    sensor.fault = "silent"
    clock.now = 300.0
    assert sensor.latest() is last  # its `at` (10 s) ages while the pad heats on
    assert sensor.read_once() == Reading(None, 300.0, NO_ANSWER)
    assert sensor.latest() is last
    sensor.fault = None
    fresh = sensor.latest()
    assert fresh is not None and fresh.at == 300.0 and fresh.celsius > last.celsius  # type: ignore[operator]


def test_a_frozen_sim_sensor_says_the_same_forever_with_a_fresh_time() -> None:
    clock = Clock()
    model = ThermalModel(tau=100.0)
    model.relay(0.0, True)
    sensor = SimThermometer(model, clock)
    clock.now = 50.0
    before = sensor.latest()
    assert before is not None and before.celsius is not None
    sensor.fault = "frozen"
    for t in (60.0, 200.0, 1000.0):
        clock.now = t
        assert sensor.latest() == Reading(before.celsius, t, None)
    assert model.celsius(1000.0) > before.celsius + 20  # the pad went on heating
    with pytest.raises(ValueError, match="fault must be None"):
        sensor.fault = "melted"
    assert sensor.fault == "frozen"
    # frozen before any reading: stuck at the pad's temperature when first read
    cold = SimThermometer(ThermalModel(), clock)
    cold.fault = "frozen"
    assert cold.latest() == Reading(21.0, 1000.0, None)
