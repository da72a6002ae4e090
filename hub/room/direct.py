"""Switch every output off without the service (``all-off --direct``).

This runs after every stop of the service, crashes included (the unit's ``ExecStopPost``),
so it must work when the config no longer does. Two sources name the pins:

- the record the service writes at start (:data:`PINS_RECORD` in its data folder), which
  says exactly which pins it drove, at which off level, on which backend;
- whatever pin keys can still be read from the config file now; every other problem in
  it is ignored.

The union of both is switched off, heat pads first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from hardware.kernel_pwm import force_off, hardware_pwm_channel
from hardware.pins import SIM_STATE_FILE, is_raspberry_pi, normalize_pin, read_levels, write_levels

from ..config.model import Config

PINS_RECORD = "driven-pins.json"
KINDS = ("heat", "light", "diffuser")  # the order they go off in: heat first


@dataclass(frozen=True)
class Output:
    """One output pin and the level that switches it off (an active-low input is off high)."""

    name: str
    kind: str
    pin: str
    off_level: int


@dataclass
class Plan:
    """What all-off will switch: outputs (heat first), the backend, and what it noticed."""

    outputs: list[Output]
    backend: str | None
    sim_file: Path | None
    notes: list[str]


@dataclass
class Result:
    """What was switched off and what failed; ``heat_off`` when every known heat pin is off."""

    done: list[str]
    failed: list[str]
    notes: list[str]
    heat_off: bool


def outputs_from_config(config: Config) -> list[Output]:
    """Return the output pins of a valid config, heat first."""
    out = [
        Output(k, "heat", normalize_pin(p.pin), _off(p.active_high))
        for k, p in config.heat_pads.items()
    ]
    out += [
        Output(k, "light", normalize_pin(c.pin), _off(c.active_high))
        for k, c in config.lights.items()
    ]
    if config.diffuser is not None:
        d = config.diffuser
        out.append(Output("diffuser", "diffuser", normalize_pin(d.pin), _off(d.active_high)))
    return out


def _off(active_high: Any) -> int:
    return 0 if active_high is not False else 1


def write_record(config: Config, backend: str) -> Path:
    """Record the pins the service is about to drive (atomic, synced), and return the path."""
    path = config.data_path / PINS_RECORD
    data = {
        "version": 1,
        "backend": backend,
        "config": str(config.source) if config.source else None,
        "sim_file": str(config.data_path / SIM_STATE_FILE),
        "outputs": [asdict(o) for o in outputs_from_config(config)],
    }
    _atomic_write(path, json.dumps(data, indent=1, sort_keys=True).encode())
    return path


def _atomic_write(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)


def read_record(folder: Path) -> tuple[list[Output], str | None, Path | None, list[str]]:
    """Read the record in ``folder``: outputs, backend, simulated-pin file, notes."""
    path = Path(folder) / PINS_RECORD
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return [], None, None, []
    except (OSError, ValueError) as exc:
        return [], None, None, [f"{path}: unreadable ({exc})"]
    outputs: list[Output] = []
    for item in data.get("outputs", []) if isinstance(data, dict) else []:
        try:
            o = Output(
                str(item["name"]),
                str(item["kind"]),
                normalize_pin(item["pin"]),
                int(item["off_level"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if o.kind in KINDS and o.off_level in (0, 1):
            outputs.append(o)
    backend = data.get("backend") if data.get("backend") in ("gpio", "mock") else None
    sim = data.get("sim_file")
    return outputs, backend, Path(sim) if isinstance(sim, str) else None, []


def read_config_leniently(path: Path) -> tuple[list[Output], Path | None, str | None, list[str]]:
    """Read only the pin, level, data_dir and backend keys of a config; ignore every other error.

    Returns the outputs, the data folder, the backend and notes on what could not be read.
    """
    notes: list[str] = []
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        return [], None, None, [f"{path}: cannot be read: YAML syntax error{at}"]
    except (OSError, ValueError) as exc:
        return [], None, None, [f"{path}: cannot be read ({exc})"]
    if not isinstance(raw, dict):
        return [], None, None, [f"{path}: not a YAML mapping"]
    outputs: list[Output] = []

    def add(name: str, kind: str, section: Any, where: str) -> None:
        if not isinstance(section, dict) or "pin" not in section:
            return
        try:
            outputs.append(
                Output(
                    name,
                    kind,
                    normalize_pin(section["pin"]),
                    _off(section.get("active_high", True)),
                )
            )
        except ValueError as exc:
            notes.append(f"{path}: {where}.pin: {exc}")

    for group, kind in (("heat_pads", "heat"), ("lights", "light")):
        entries = raw.get(group)
        if isinstance(entries, dict):
            for key, section in entries.items():
                add(str(key), kind, section, f"{group}.{key}")
    add("diffuser", "diffuser", raw.get("diffuser"), "diffuser")
    data_dir: Path | None = None
    if isinstance(raw.get("data_dir", "../data"), str):
        d = Path(os.path.expanduser(raw.get("data_dir", "../data")))
        data_dir = d if d.is_absolute() else (Path(path).resolve().parent / d).resolve()
    hw = raw.get("hardware")
    backend = hw.get("backend") if isinstance(hw, dict) else None
    return outputs, data_dir, backend if backend in ("auto", "gpio", "mock") else None, notes


def plan(config_path: Path, env: Mapping[str, str] | None = None) -> Plan:
    """Work out what to switch off from the record(s) and the config, whatever state it is in."""
    env = os.environ if env is None else env
    from_config, data_dir, config_backend, notes = read_config_leniently(config_path)
    folders: list[Path] = []
    for folder in [data_dir, *(Path(p) for p in env.get("STATE_DIRECTORY", "").split(":") if p)]:
        if folder is not None and folder not in folders:
            folders.append(folder)
    recorded: list[Output] = []
    backend: str | None = None
    sim_file: Path | None = None
    for folder in folders:
        outs, b, sim, more = read_record(folder)
        notes += more
        recorded += outs
        backend = backend or b
        sim_file = sim_file or sim
    if backend is None:
        backend = config_backend or ("auto" if from_config else None)
        if backend == "auto":
            backend = "gpio" if is_raspberry_pi() else "mock"
    if sim_file is None and data_dir is not None:
        sim_file = data_dir / SIM_STATE_FILE
    return Plan(merge(recorded, from_config, notes), backend, sim_file, notes)


def merge(
    recorded: Iterable[Output], configured: Iterable[Output], notes: list[str]
) -> list[Output]:
    """The union by pin, heat first; the record wins where the two disagree (it was driven)."""
    by_pin: dict[str, Output] = {}
    for o in recorded:
        by_pin.setdefault(o.pin, o)
    for o in configured:
        have = by_pin.get(o.pin)
        if have is None:
            by_pin[o.pin] = o
        elif have.off_level != o.off_level:
            notes.append(
                f"{o.pin}: the config now says off is {o.off_level}, the service drove {have.off_level}; using {have.off_level}"
            )
        elif have.kind != "heat" and o.kind == "heat":
            by_pin[o.pin] = o
    return sorted(by_pin.values(), key=lambda o: KINDS.index(o.kind))


def switch_off(p: Plan, *, writer: str | None = None) -> Result:
    """Drive every output in ``p`` to its off level and hold it there."""
    if not p.outputs:
        return Result([], [], p.notes, heat_off=False)
    if p.backend == "mock":
        assert p.sim_file is not None
        levels = {str(k): 0.0 for k in read_levels(p.sim_file).get("pins", {})}
        for o in p.outputs:
            levels[o.pin] = float(o.off_level)
        write_levels(p.sim_file, levels, writer=writer or f"all-off:{os.getpid()}", all_off=True)
        return Result([f"{o.name} ({o.pin}, simulated)" for o in p.outputs], [], p.notes, True)
    return _lgpio_all_off(p.outputs, p.notes)


def direct_all_off(config: Config) -> list[str]:
    """Switch off the outputs of a valid config (and of its data folder's record)."""
    recorded, backend, sim, notes = read_record(config.data_path)
    if backend is None:
        backend = config.hardware.backend
        if backend == "auto":
            backend = "gpio" if is_raspberry_pi() else "mock"
    result = switch_off(
        Plan(
            merge(recorded, outputs_from_config(config), notes),
            backend,
            sim or config.data_path / SIM_STATE_FILE,
            notes,
        )
    )
    if result.failed:
        raise DirectAllOffError(result.done, result.failed)
    return result.done


def _lgpio_all_off(outputs: list[Output], notes: list[str]) -> Result:
    """Claim every line as an output at its off level, and leave it claimed.

    No gpiozero devices on purpose: closing one turns its pin into a floating input. The
    lines stay driven off until this process exits; after that, with ``dtparam=strict_gpiod``
    (the installer sets it) a released line is an input and its pull keeps the output off,
    without it the Pi keeps driving the last level. One pin that fails does not stop the
    others. A light's kernel PWM channel is stopped too: it outlives its process.
    """
    try:
        import lgpio

        handle = _open_chip()
    except Exception as exc:  # noqa: BLE001 - say why, in words, and fail
        failed = [f"{o.name} ({o.pin}): cannot open the GPIO chip: {exc}" for o in outputs]
        return Result([], failed, notes, heat_off=False)
    done, failed, heat_off = [], [], True
    for o in outputs:
        try:
            lgpio.gpio_claim_output(handle, int(o.pin[4:]), o.off_level)
        except Exception as exc:  # noqa: BLE001 - switch every other pin off regardless
            failed.append(f"{o.name} ({o.pin}): {exc}")
            heat_off = heat_off and o.kind != "heat"
        else:
            done.append(f"{o.name} ({o.pin})")
        if o.kind == "light":
            _kernel_pwm_off(o, done, failed)
    return Result(done, failed, notes, heat_off)


def _kernel_pwm_off(o: Output, done: list[str], failed: list[str]) -> None:
    """Stop the light's kernel PWM channel: it keeps running after its process dies."""
    channel = hardware_pwm_channel(int(o.pin[4:]))
    if channel is None:
        return
    try:
        if force_off(0, channel, active_high=o.off_level == 0):
            done.append(f"{o.name} (hardware PWM channel {channel})")
    except OSError as exc:
        failed.append(f"{o.name} (hardware PWM channel {channel}): {exc}")


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
