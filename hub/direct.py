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
        for _, pin, _ in outputs:
            levels[normalize_pin(pin)] = 0.0
        write_levels(path, levels, writer=f"all-off:{os.getpid()}")
        return [f"{name} ({normalize_pin(pin)}, simulated)" for name, pin, _ in outputs]
    from gpiozero import DigitalOutputDevice
    from gpiozero.pins.lgpio import LGPIOFactory

    factory = LGPIOFactory()
    done = []
    for name, pin, active_high in outputs:
        dev = DigitalOutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=factory
        )
        dev.off()
        # leave the line driven low-inactive: closing would float it (pull-downs keep it off)
        done.append(f"{name} ({normalize_pin(pin)})")
    return done
