"""The pad's DS18B20 through the real w1thermsensor, on a tree in the kernel's sysfs format."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hardware import Reading, ThermometerError, W1Thermometer, find_sensors
from hardware.thermometer import CHECKSUM, GARBLED, NO_ANSWER, POWER_ON
from tests.rigs.fake_w1 import FakeW1Bus, crc8, scratchpad, w1_slave_text
from tests.rigs.support import ROOT, wait_for

PAD = "28-0316a279a4ff"
OTHER = "28-000005e2fdc3"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bus(tmp_path: Path) -> FakeW1Bus:
    return FakeW1Bus(tmp_path / "devices")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_test_tree_is_what_the_kernel_writes() -> None:
    # the example of a DS18B20 at 23.125 °C, as the kernel's w1_therm prints it
    assert crc8(bytes.fromhex("72014b467fff0e10")) == 0x57
    assert w1_slave_text(scratchpad(23.125)) == (
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    )
    # negative: two's complement, the low byte first; t= truncates like C
    assert w1_slave_text(scratchpad(-10.0625)).splitlines()[1].startswith("5f ff ")
    assert w1_slave_text(scratchpad(-10.0625)).endswith("t=-10062\n")


def test_a_sensor_heating_up_reads_in_sixteenths(bus: FakeW1Bus, clock: Clock) -> None:
    bus.set(PAD, 21.0)
    thermo = W1Thermometer(PAD, root=bus.root, clock=clock)
    assert thermo.sensor_id == PAD
    assert thermo.latest() is None  # nothing read yet
    for celsius in (21.0, 23.125, 30.0625, 38.5, 44.9375):
        bus.set(PAD, celsius)
        clock.now += 2
        reading = thermo.read_once()
        assert reading == Reading(celsius, clock.now, None) and reading.ok
        assert thermo.latest() == reading


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        (lambda bus: bus.corrupt(PAD, 30.0), CHECKSUM),
        (lambda bus: bus.set_bytes(PAD, bytes(9)), CHECKSUM),  # data line held low: all zero
        (lambda bus: bus.set_bytes(PAD, b"\xff" * 9), CHECKSUM),  # floating high: all ones
        (lambda bus: bus.set_text(PAD, ""), CHECKSUM),  # the kernel's failed conversion
        (lambda bus: bus.set(PAD, 85.0), POWER_ON),
        (lambda bus: bus.set(PAD, -127.0), "the sensor reads -127 °C, which cannot be right"),
        (lambda bus: bus.set(PAD, -0.0625), "the sensor reads -0.0625 °C, which cannot be right"),
        (lambda bus: bus.set(PAD, 100.0625), "the sensor reads 100.0625 °C, which cannot be right"),
        (lambda bus: bus.unplug(PAD), NO_ANSWER),
        (lambda bus: bus.set_text(PAD, "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"), GARBLED),
        (lambda bus: bus.set_text(PAD, "zz : crc=57 YES\nzz t=1\n"), GARBLED),
    ],
)
def test_every_failure_is_a_reading_in_words(
    bus: FakeW1Bus, clock: Clock, breakage: object, error: str
) -> None:
    bus.set(PAD, 30.0)
    thermo = W1Thermometer(PAD, root=bus.root, clock=clock)
    assert thermo.read_once().celsius == 30.0
    breakage(bus)  # type: ignore[operator]
    clock.now += 2
    reading = thermo.read_once()
    assert reading == Reading(None, clock.now, error) and not reading.ok
    assert thermo.latest() == reading
    # and it reads again once the fault is gone (plugged back in, a clean read)
    bus.set(PAD, 31.5)
    assert thermo.read_once().celsius == 31.5


def test_the_plausible_range_keeps_its_edges(bus: FakeW1Bus, clock: Clock) -> None:
    bus.set(PAD, 0.0)
    thermo = W1Thermometer(PAD, root=bus.root, clock=clock)
    assert thermo.read_once().celsius == 0.0
    bus.set(PAD, 100.0)
    assert thermo.read_once().celsius == 100.0
    bus.set(PAD, 84.9375)  # a step below the power-on value is a (hot) temperature
    assert thermo.read_once().celsius == 84.9375


def test_find_sensors_lists_temperature_sensors_only(bus: FakeW1Bus) -> None:
    assert find_sensors(bus.root) == []  # w1_bus_master1 alone is no sensor
    bus.set(PAD, 21.0)
    bus.set(OTHER, 22.0)
    (bus.root / "3a-0000001f2e4d").mkdir()  # a DS2413 switch on the same bus
    (bus.root / "28-notasensor").mkdir()  # not a kernel id
    assert find_sensors(bus.root) == sorted([PAD, OTHER])


def test_auto_takes_the_only_sensor(bus: FakeW1Bus, clock: Clock) -> None:
    with pytest.raises(ThermometerError) as none:
        W1Thermometer("auto", root=bus.root, clock=clock)
    assert "lists 0 (none)" in str(none.value) and "4.7 kΩ pull-up" in str(none.value)
    bus.set(PAD, 24.0)
    thermo = W1Thermometer(root=bus.root, clock=clock)
    assert thermo.sensor_id == PAD and thermo.read_once().celsius == 24.0
    bus.set(OTHER, 22.0)
    with pytest.raises(ThermometerError) as two:
        W1Thermometer("auto", root=bus.root, clock=clock)
    message = str(two.value)
    assert f"lists 2 ({OTHER}, {PAD})" in message and "sensor: to its own id" in message
    # two sensors, each named: each pad reads its own
    assert W1Thermometer(OTHER, root=bus.root, clock=clock).read_once().celsius == 22.0


def test_set_up_problems_say_what_to_do(tmp_path: Path, bus: FakeW1Bus) -> None:
    with pytest.raises(ThermometerError) as no_bus:
        W1Thermometer(PAD, root=tmp_path / "no-such-bus")
    assert "dtoverlay=w1-gpio" in str(no_bus.value)
    assert "/boot/firmware/config.txt" in str(no_bus.value) and "reboot" in str(no_bus.value)
    with pytest.raises(ThermometerError, match="dtoverlay=w1-gpio"):
        find_sensors(tmp_path / "no-such-bus")
    bus.set(OTHER, 22.0)
    with pytest.raises(ThermometerError) as missing:
        W1Thermometer(PAD, root=bus.root)
    assert f"no sensor {PAD}" in str(missing.value) and f"lists {OTHER}" in str(missing.value)
    with pytest.raises(ThermometerError, match="is not a sensor id"):
        W1Thermometer("28-XYZ", root=bus.root)
    with pytest.raises(ValueError, match="interval"):
        W1Thermometer(OTHER, root=bus.root, interval=0)


def test_the_library_keeps_its_own_default_folder(bus: FakeW1Bus) -> None:
    import w1thermsensor

    bus.set(PAD, 21.0)
    W1Thermometer(PAD, root=bus.root).read_once()
    assert Path("/sys/bus/w1/devices") == w1thermsensor.W1ThermSensor.BASE_DIRECTORY


def test_the_thread_follows_the_sensor_and_stops_on_close(bus: FakeW1Bus) -> None:
    bus.set(PAD, 21.0)
    thermo = W1Thermometer(PAD, root=bus.root, interval=0.02)
    thermo.start()
    thermo.start()  # a second start is a no-op, not a second thread
    try:
        names = [t.name for t in threading.enumerate()]
        assert names.count(f"thermometer {PAD}") == 1
        first = wait_for(lambda: thermo.latest())
        assert first.celsius == 21.0
        bus.set(PAD, 27.25)
        wait_for(lambda: (r := thermo.latest()) is not None and r.celsius == 27.25)
        bus.unplug(PAD)
        gone = wait_for(lambda: (r := thermo.latest()) is not None and r.error == NO_ANSWER and r)
        assert gone.at > first.at
        bus.set(PAD, 28.0)
        wait_for(lambda: (r := thermo.latest()) is not None and r.celsius == 28.0)
    finally:
        thermo.close()
    assert not any(t.name == f"thermometer {PAD}" for t in threading.enumerate())
    last = thermo.latest()
    bus.set(PAD, 35.0)
    # no thread reads any more: the newest reading stays what it was
    assert thermo.read_once().celsius == 35.0 and last is not None and last.celsius == 28.0
    with pytest.raises(RuntimeError, match="closed"):
        thermo.start()


def test_importing_hardware_leaves_the_library_alone_and_it_never_modprobes(
    bus: FakeW1Bus,
) -> None:
    bus.set(PAD, 23.125)
    env = {k: v for k, v in os.environ.items() if k != "W1THERMSENSOR_NO_KERNEL_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    script = (
        "import sys, hardware\n"
        "assert 'w1thermsensor' not in sys.modules, 'imported at start-up'\n"
        "from pathlib import Path\n"
        f"t = hardware.W1Thermometer({PAD!r}, root=Path({str(bus.root)!r}))\n"
        "import os; print(os.environ['W1THERMSENSOR_NO_KERNEL_MODULE'], t.read_once().celsius)\n"
    )
    # without the variable the library would run modprobe and, with no /sys/bus/w1 here,
    # raise KernelModuleLoadError at import
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "23.125"]


def test_the_thread_waits_between_reads_and_close_does_not_wait_it_out(bus: FakeW1Bus) -> None:
    bus.set(PAD, 21.0)
    reads: list[float] = []

    def clock() -> float:  # called once per read
        reads.append(0.0)
        return float(len(reads))

    thermo = W1Thermometer(PAD, root=bus.root, interval=3600.0, clock=clock)
    thermo.start()
    wait_for(lambda: thermo.latest())
    bus.set(PAD, 22.0)  # give a busy loop something new to read
    thermo.close()  # an hour's wait is cut short: the thread is gone now
    assert not any(t.name == f"thermometer {PAD}" for t in threading.enumerate())
    assert len(reads) == 1 and thermo.latest() == Reading(21.0, 1.0, None)
