"""Pin factories: real GPIO on a Pi, gpiozero's mock pins elsewhere, mirrored to a file.

The simulated room is gpiozero's own ``MockFactory`` with PWM-capable mock pins. Every
pin change is also written (debounced) to a small JSON file in the data directory so
that other processes (``massage-hub all-off --direct``, outside checks, a test) see the
same simulated room, and can switch it off.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gpiozero import pi_info
from gpiozero.exc import PinInvalidPin
from gpiozero.pins.mock import MockFactory, MockPWMPin, PinState

log = logging.getLogger(__name__)

#: The 40-pin header, as gpiozero knows it (a Pi 3B's): its BOARD -> GPIO map is the same on
#: every 40-pin Pi (Zero, Zero 2 W, 3, 4, 400, 5, CM4; tests/system/test_library_contracts.py checks it),
#: and pins are checked in the config without a board at hand, on a laptop too.
HEADER = pi_info("a02082")

SIM_STATE_FILE = "sim-pins.json"


def normalize_pin(pin: int | str) -> str:
    """Return the canonical ``GPIOn`` name of a pin given as 18, "GPIO18", "BCM18" or "BOARD12".

    Raises ValueError for anything that is not a usable GPIO pin.
    """
    if isinstance(pin, bool):
        raise ValueError("a pin is a number such as 18 or a name such as GPIO18")
    if isinstance(pin, int):
        number = pin
    else:
        text = str(pin).strip().upper()
        if text.startswith("BOARD"):
            board = _to_int(text[5:], pin)
            try:
                number = int(HEADER.to_gpio(f"BOARD{board}")[4:])  # "GPIO18"
            except PinInvalidPin:
                raise ValueError(
                    f"header pin {board} is not a GPIO pin (power, ground or ID)"
                ) from None
        else:
            for prefix in ("GPIO", "BCM"):
                if text.startswith(prefix):
                    text = text[len(prefix) :]
                    break
            number = _to_int(text, pin)
    if not 0 <= number <= 27:
        raise ValueError(f"GPIO{number} does not exist; use a BCM number from 0 to 27")
    return f"GPIO{number}"


def _to_int(text: str, original: object) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"{original!r} is not a pin; use a BCM number like 18 or GPIO18, or BOARD12"
        ) from None


def is_raspberry_pi() -> bool:
    """Return True when running on a Raspberry Pi (by its device-tree model string)."""
    try:
        model = Path("/proc/device-tree/model").read_bytes()
    except OSError:
        return False
    return model.startswith(b"Raspberry Pi")


class SimPin(MockPWMPin):
    """A gpiozero mock PWM pin that reports every change and keeps a bounded history."""

    HISTORY = 256

    def clear_states(self) -> None:
        self._last_change = time.monotonic()
        self.states = deque([PinState(0.0, self._state)], maxlen=self.HISTORY)

    def _change_state(self, value: Any) -> bool:
        changed = super()._change_state(value)
        if changed:
            factory = self._factory
            for listener in list(getattr(factory, "listeners", ())):
                listener(self.info.name, float(value))
        return changed


class SimFactory(MockFactory):
    """gpiozero's MockFactory with PWM pins whose changes go to listeners."""

    def __init__(self) -> None:
        super().__init__(pin_class=SimPin)
        self.listeners: list[Callable[[str, float], None]] = []

    def level(self, name: str) -> float:
        """Return the current level (0-1) of pin ``name`` ("GPIO18")."""
        for info, pin in self.pins.items():
            if info.name == name:
                return float(pin.state)
        return 0.0


class PinMirror:
    """Mirror simulated pin levels into ``sim-pins.json`` so other processes can see them.

    Writes happen on a daemon thread at most ``max_rate`` times a second, atomically
    (temp file + rename). If another process rewrites the file (``all-off --direct``),
    ``on_external_off`` is called so the running service switches everything off too.
    """

    def __init__(
        self,
        path: Path,
        pins: Iterable[str],
        *,
        max_rate: float = 10.0,
        on_external_off: Callable[[], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.levels: dict[str, float] = {name: 0.0 for name in pins}
        self.max_rate = max_rate
        self.on_external_off = on_external_off
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_raw: bytes | None = None
        self._thread: threading.Thread | None = None

    def attach(self, factory: SimFactory) -> None:
        """Listen to ``factory``'s pin changes."""
        factory.listeners.append(self._on_change)

    def _on_change(self, name: str, value: float) -> None:
        with self._lock:
            if name in self.levels:
                self.levels[name] = value
        self._dirty.set()

    def start(self) -> None:
        """Write the current levels and start the background writer."""
        self.flush()
        self._thread = threading.Thread(target=self._run, name="pin-mirror", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer and write the final levels."""
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.flush()

    def flush(self) -> None:
        """Write the current levels to the file now."""
        with self._lock:
            levels = dict(self.levels)
        with contextlib.suppress(OSError):
            self._last_raw = write_levels(self.path, levels, writer=os.getpid())

    def _run(self) -> None:
        period = 1.0 / self.max_rate
        while not self._stop.is_set():
            if self._dirty.wait(timeout=1.0):
                self._dirty.clear()
                if self._stop.is_set():
                    break
                # look before writing: an all-off written meanwhile must not be overwritten
                self._check_external()
                self.flush()
                self._stop.wait(period)
            else:
                self._check_external()

    def _check_external(self) -> None:
        # compare contents, not mtimes: two writes can share one timestamp tick
        try:
            raw = self.path.read_bytes()
        except OSError:
            return
        if raw == self._last_raw:
            return
        self._last_raw = raw
        try:
            data = json.loads(raw)
        except ValueError:
            return
        foreign = data.get("writer") != os.getpid()
        if foreign and (data.get("all_off") or not any(data.get("pins", {}).values())):
            log.warning("simulated pins were switched off by another process; all off")
            if self.on_external_off is not None:
                self.on_external_off()


def write_levels(
    path: Path, levels: dict[str, float], *, writer: int | str, all_off: bool = False
) -> bytes:
    """Atomically write pin levels (``{"GPIO18": 0.4}``) to the mirror file; return its bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # one temp file per process: the service and all-off --direct may write at once
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data: dict[str, Any] = {"writer": writer, "updated": time.time(), "pins": levels}
    if all_off:
        data["all_off"] = True  # an explicit request, whatever the levels look like
    raw = json.dumps(data, indent=1, sort_keys=True).encode()
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    return raw


def read_levels(path: Path) -> dict[str, Any]:
    """Read the mirror file; an empty picture if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"pins": {}}


def make_pin_factory(backend: str) -> tuple[Any, str]:
    """Return ``(pin_factory, backend_name)`` for ``auto``, ``gpio`` or ``mock``.

    ``auto`` picks lgpio on a Raspberry Pi and simulated pins anywhere else.
    """
    if backend == "auto":
        backend = "gpio" if is_raspberry_pi() else "mock"
    if backend == "mock":
        return SimFactory(), "mock"
    if backend == "gpio":
        try:
            from gpiozero.pins.lgpio import LGPIOFactory
        except ImportError as exc:  # pragma: no cover - only on a Pi without lgpio
            raise RuntimeError(
                "real GPIO needs lgpio: run 'sudo apt install python3-lgpio' and make the "
                "venv with --system-site-packages (setup.sh does both)"
            ) from exc
        try:
            return LGPIOFactory(), "gpio"
        except Exception as exc:  # pragma: no cover - hardware specific
            raise RuntimeError(f"cannot open the GPIO chip: {exc}") from exc
    raise ValueError(f"unknown hardware backend {backend!r}; use auto, gpio or mock")
