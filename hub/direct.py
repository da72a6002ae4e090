"""Switch every configured output off without the service (``all-off --direct``)."""

from __future__ import annotations

import os

from hardware.pins import SIM_STATE_FILE, is_raspberry_pi, normalize_pin, read_levels, write_levels

from .config import Config


def _outputs(config: Config) -> list[tuple[str, int | str, bool]]:
    out: list[tuple[str, int | str, bool]] = []
    for key, light in config.lights.items():
        out.append((key, light.pin, light.active_high))
    if config.diffuser is not None:
        out.append(("diffuser", config.diffuser.pin, config.diffuser.active_high))
    for key, pad in config.heat_pads.items():
        out.append((key, pad.pin, pad.active_high))
    # heat first: the most important pins go off first
    pads = set(config.heat_pads)
    out.sort(key=lambda o: o[0] not in pads)
    return out


def direct_all_off(config: Config) -> list[str]:
    """Drive every output pin to its off level; return what was switched."""
    backend = config.hardware.backend
    if backend == "auto":
        backend = "gpio" if is_raspberry_pi() else "mock"
    outputs = _outputs(config)
    if backend == "mock":
        path = config.data_path / SIM_STATE_FILE
        levels = {str(k): 0.0 for k in read_levels(path).get("pins", {})}
        for _, pin, active_high in outputs:
            # the physical off level: an active-low relay input is off when high
            levels[normalize_pin(pin)] = 0.0 if active_high else 1.0
        write_levels(path, levels, writer=f"all-off:{os.getpid()}", all_off=True)
        return [f"{name} ({normalize_pin(pin)}, simulated)" for name, pin, _ in outputs]
    return _lgpio_all_off(outputs)


def _lgpio_all_off(outputs: list[tuple[str, int | str, bool]]) -> list[str]:
    """Claim every line as an output at its off level, and leave it claimed.

    No gpiozero devices on purpose: closing one turns its pin into a floating input. The
    lines stay driven off until this process exits, and the Pi keeps driving the last
    level after the kernel releases them. One pin that fails does not stop the others.
    """
    import lgpio

    handle = _open_chip()
    done, failed = [], []
    for name, pin, active_high in outputs:
        gpio = normalize_pin(pin)
        try:
            lgpio.gpio_claim_output(handle, int(gpio[4:]), 0 if active_high else 1)
        except Exception as exc:  # noqa: BLE001 - switch every other pin off regardless
            failed.append(f"{name} ({gpio}): {exc}")
        else:
            done.append(f"{name} ({gpio})")
    if failed:
        raise DirectAllOffError(done, failed)
    return done


def _open_chip() -> int:
    """Open the Pi's GPIO chip the way gpiozero does (gpiochip4 on a Pi 5 with older kernels)."""
    from gpiozero.pins.lgpio import LGPIOFactory

    return int(LGPIOFactory()._handle)


class DirectAllOffError(RuntimeError):
    """Some pins could not be switched off (the others were)."""

    def __init__(self, done: list[str], failed: list[str]) -> None:
        super().__init__("could not switch off: " + "; ".join(failed))
        self.done = done
        self.failed = failed
