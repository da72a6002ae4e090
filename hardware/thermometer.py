"""A heat pad's temperature: a DS18B20 on the 1-wire bus, or a simulated one.

The kernel's ``w1-gpio`` and ``w1_therm`` drivers list each sensor under
``/sys/bus/w1/devices/<family>-<serial>/w1_slave``; reading that file makes the sensor
convert (750 ms at 12 bits) and returns its scratchpad with the kernel's CRC verdict. The
maintained ``w1thermsensor`` library parses it. Every failure comes back as a
:class:`Reading` with plain words, never as an exception: the hub's safety code decides
what a missing or nonsense reading means (the pad goes off), not this module.

Wiring: the sensor's data to GPIO4 (header pin 7) with a 4.7 kΩ pull-up to 3.3 V (pin 1),
its GND to a GND pin, ``dtoverlay=w1-gpio`` in ``/boot/firmware/config.txt``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .thermal_model import ThermalModel

#: where the kernel lists 1-wire devices
W1_DEVICES = Path("/sys/bus/w1/devices")
#: readings outside this range (°C) are a failed read, not a temperature. A pad in a lived-in
#: room is above freezing, and nothing on a person is near boiling. It catches -127 (what
#: many libraries report for a lost sensor), -0.0625 (all ones, a floating data line, should
#: one pass the kernel's CRC check) and garbage; 85 °C (the power-on value) is caught apart.
PLAUSIBLE_CELSIUS = (0.0, 100.0)
#: the DS18B20's step at 12 bits
RESOLUTION = 1 / 16
SENSOR_ID = re.compile(r"[0-9a-f]{2}-[0-9a-f]{12}")

NO_ANSWER = "the sensor does not answer"
CHECKSUM = "the reading failed its checksum (a loose wire, or the sensor stopped answering)"
POWER_ON = "the sensor reads its power-on value (85 °C): it reset, check its 3.3 V wire"
GARBLED = "the sensor's answer could not be understood"
NONSENSE_CELSIUS = -127.0


@dataclass(frozen=True)
class Reading:
    """One read of a pad's sensor: a temperature, or why there is none."""

    celsius: float | None  # None when the read failed
    at: float  # the clock's time (monotonic seconds) when the read finished
    error: str | None = None  # None when good; else what went wrong, in plain words

    @property
    def ok(self) -> bool:
        """True when the reading holds a temperature."""
        return self.error is None


class ThermometerError(Exception):
    """The sensor cannot be set up; the message says what to do."""


def judge(celsius: float, at: float) -> Reading:
    """Return a reading of ``celsius``, or an error if no pad can be at that temperature."""
    low, high = PLAUSIBLE_CELSIUS
    if not low <= celsius <= high:
        shown = f"{celsius:.4f}".rstrip("0").rstrip(".")  # -127, -0.0625, 100.0625
        return Reading(None, at, f"the sensor reads {shown} °C, which cannot be right")
    return Reading(celsius, at)


def _library() -> ModuleType:
    """Import w1thermsensor without letting it modprobe (it would, at import, unless told)."""
    # the library runs `modprobe w1-gpio` at import and waits a second for the bus when it is
    # not there; on a Pi the overlay loads the modules, and the unit forbids modprobe anyway
    # (ProtectKernelModules=yes)
    os.environ.setdefault("W1THERMSENSOR_NO_KERNEL_MODULE", "1")
    try:
        import w1thermsensor
    except Exception as exc:  # KernelModuleLoadError if someone set the variable to 0
        raise ThermometerError(f"the 1-wire library could not start: {exc}") from exc
    return w1thermsensor


def _no_bus(root: Path) -> ThermometerError:
    return ThermometerError(
        f"{root} is missing: the 1-wire bus is not on. Add the line dtoverlay=w1-gpio to "
        "/boot/firmware/config.txt (sudo ./setup.sh --install does it) and reboot"
    )


def _sensor_class(lib: ModuleType, root: Path) -> type:
    # the library's public knob for where the kernel lists sensors, on a class of our own so
    # that two roots (a test's, the Pi's) never meet in the library's global
    return type("RootedW1ThermSensor", (lib.W1ThermSensor,), {"BASE_DIRECTORY": root})


def find_sensors(root: Path = W1_DEVICES) -> list[str]:
    """Return the ids (``28-0316a279a4ff``) of the temperature sensors on the 1-wire bus."""
    root = Path(root)
    if not root.is_dir():
        raise _no_bus(root)
    # the families the library reads (DS18B20 is 28); the bus master's own entry
    # (w1_bus_master1) and other 1-wire parts (switches, EEPROMs) are not sensors
    families = {f"{kind.value:02x}" for kind in _library().Sensor}
    try:
        names = [entry.name for entry in root.iterdir()]
    except OSError as exc:
        raise ThermometerError(f"the 1-wire bus at {root} could not be listed: {exc}") from exc
    return sorted(n for n in names if SENSOR_ID.fullmatch(n) and n[:2] in families)


class W1Thermometer:
    """A DS18B20 read through w1thermsensor, in its own thread.

    ``sensor`` is the sensor's id as the kernel lists it, or ``auto`` for the only one on the
    bus. A read blocks for the sensor's conversion (about 0.75 s), so a thread reads every
    ``interval`` seconds and :meth:`latest` hands out the newest result without waiting.
    """

    def __init__(
        self,
        sensor: str = "auto",
        *,
        root: Path = W1_DEVICES,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not interval > 0:
            raise ValueError("interval must be above 0 seconds")
        root = Path(root)
        found = find_sensors(root)
        if sensor == "auto":
            if len(found) != 1:
                what = ", ".join(found) if found else "none"
                raise ThermometerError(
                    f"sensor: auto needs exactly one temperature sensor on the 1-wire bus, and "
                    f"{root} lists {len(found)} ({what}). "
                    + (
                        "Check the sensor's three wires and its 4.7 kΩ pull-up"
                        if not found
                        else "Set each pad's sensor: to its own id"
                    )
                )
            sensor = found[0]
        elif not SENSOR_ID.fullmatch(sensor):
            raise ThermometerError(
                f"{sensor!r} is not a sensor id: use auto or the id `ls {root}` shows, "
                "like 28-0316a279a4ff"
            )
        elif sensor not in found:
            raise ThermometerError(
                f"no sensor {sensor} on the 1-wire bus ({root} lists "
                f"{', '.join(found) or 'none'}): check the sensor's three wires and its "
                "4.7 kΩ pull-up, or set sensor: to the id listed"
            )
        self._lib = _library()
        family, serial = sensor.split("-", 1)
        try:
            kind = self._lib.Sensor.from_id_string(family)
            self._sensor = _sensor_class(self._lib, root)(kind, serial)
        except (self._lib.W1ThermSensorError, ValueError) as exc:
            raise ThermometerError(f"sensor {sensor} cannot be read: {exc}") from exc
        self.sensor_id: str = sensor
        self.interval = float(interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: Reading | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read_once(self) -> Reading:
        """Read the sensor now (blocking); never raise."""
        lib = self._lib
        celsius: float | None = None
        error: str | None = None
        try:
            celsius = float(self._sensor.get_temperature())
        except lib.ResetValueError:
            error = POWER_ON
        except lib.SensorNotReadyError:  # a CRC "NO", all-zero bytes, or an empty file
            error = CHECKSUM
        except (lib.NoSensorFoundError, OSError):  # its w1_slave vanished or cannot be read
            error = NO_ANSWER
        except Exception:  # a cut-short file or a library surprise: the thread must go on
            error = GARBLED
        at = self._clock()
        reading = Reading(None, at, error) if celsius is None else judge(celsius, at)
        with self._lock:
            self._latest = reading
        return reading

    def _run(self) -> None:
        while not self._stop.is_set():
            self.read_once()
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        """Start reading every ``interval`` seconds in a daemon thread."""
        with self._lock:
            if self._stop.is_set():
                raise RuntimeError("this thermometer is closed")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"thermometer {self.sensor_id}", daemon=True
            )
            self._thread.start()

    def latest(self) -> Reading | None:
        """Return the newest reading, or None before the first one."""
        with self._lock:
            return self._latest

    def close(self, timeout: float = 3.0) -> None:
        """Stop the reading thread (a read under way may take a second to finish)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


#: the simulated sensor's faults
SIM_FAULTS = ("silent", "crc", "reset", "nonsense", "frozen")


class SimThermometer:
    """A simulated DS18B20 on a :class:`ThermalModel`, with the faults real ones have.

    It has :class:`W1Thermometer`'s interface but no thread: :meth:`latest` reads the model
    at ``clock()``, so a test with a hand-driven clock sees the same readings every run.
    Readings come in the sensor's 1/16 °C steps.

    ``fault`` is None or one of:

    - ``silent``: no new readings; :meth:`latest` keeps the last one, whose ``at`` ages;
    - ``crc``: each read fails its checksum;
    - ``reset``: the sensor reads its power-on 85 °C;
    - ``nonsense``: it reads -127 °C;
    - ``frozen``: the same temperature forever, with a fresh ``at``.
    """

    def __init__(
        self, model: ThermalModel, clock: Callable[[], float], sensor_id: str = "28-00000000sim1"
    ) -> None:
        self.model = model
        self.sensor_id = sensor_id
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: Reading | None = None
        self._fault: str | None = None
        self._frozen: float | None = None

    @property
    def fault(self) -> str | None:
        """The sensor's simulated fault, or None."""
        return self._fault

    @fault.setter
    def fault(self, fault: str | None) -> None:
        if fault is not None and fault not in SIM_FAULTS:
            raise ValueError(f"fault must be None or one of {', '.join(SIM_FAULTS)}")
        with self._lock:
            self._fault = fault
            self._frozen = None

    def read_once(self) -> Reading:
        """Read the model now, through the fault if one is set."""
        now = self._clock()
        with self._lock:
            fault = self._fault
            if fault == "silent":  # a read that never came back: nothing new to keep
                return Reading(None, now, NO_ANSWER)
            if fault == "crc":
                reading = Reading(None, now, CHECKSUM)
            elif fault == "reset":
                reading = Reading(None, now, POWER_ON)
            elif fault == "nonsense":
                reading = judge(NONSENSE_CELSIUS, now)
            else:
                if fault == "frozen":
                    if self._frozen is None:  # stuck at what it last said
                        last = self._latest.celsius if self._latest is not None else None
                        self._frozen = last if last is not None else self._sample(now)
                    celsius = self._frozen
                else:
                    celsius = self._sample(now)
                reading = judge(celsius, now)
            self._latest = reading
            return reading

    def _sample(self, now: float) -> float:
        return round(self.model.celsius(now) / RESOLUTION) * RESOLUTION

    def start(self) -> None:
        """Do nothing: the simulated sensor reads when asked."""

    def latest(self) -> Reading | None:
        """Return a reading at ``clock()`` (a silent sensor: its last one, or None)."""
        with self._lock:
            if self._fault == "silent":
                return self._latest
        return self.read_once()

    def close(self) -> None:
        """Do nothing: there is no thread."""
