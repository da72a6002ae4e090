"""Guest-side helpers for the pi_rig tests: the gpio-sim chip, the edge trace, a hub config.

Runs inside the guest (``/opt/hub/tests/pi_rig_guest``), with the guest's venv; stdlib only
apart from the project itself.
"""

from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path
from typing import Any

SIM = Path(os.environ.get("SIMDIR", "/nonexistent"))
TRACE = Path("/sys/kernel/tracing")
PWM = Path("/sys/class/pwm/pwmchip0")
#: the shipped config's outputs (lights on 18/13, diffuser 23, pad 24, button 25)
OUTPUTS = (13, 18, 23, 24)


def value(line: int) -> int:
    """Return what gpio-sim's line ``line`` is driven to (0 or 1)."""
    return int((SIM / f"sim_gpio{line}" / "value").read_text().strip())


def values(lines: tuple[int, ...] = OUTPUTS) -> dict[int, int]:
    """Return the level of every line in ``lines``."""
    return {n: value(n) for n in lines}


def pull(line: int, up: bool) -> None:
    """Pull an input line up (released button) or down (pressed to ground)."""
    (SIM / f"sim_gpio{line}" / "pull").write_text("pull-up" if up else "pull-down")


def chip_base(label_part: str = "gpio-sim") -> int:
    """Return the global GPIO number of line 0 of the chip whose label has ``label_part``."""
    for d in glob.glob("/sys/class/gpio/gpiochip*"):
        if label_part in Path(d, "label").read_text():
            return int(Path(d, "base").read_text())
    raise RuntimeError(f"no GPIO chip labelled {label_part!r}")


def trace_start() -> None:
    """Empty the trace buffer and record gpio_value events (the event stays enabled)."""
    (TRACE / "tracing_on").write_text("0")
    (TRACE / "trace").write_text("")
    (TRACE / "tracing_on").write_text("1")


def trace_stop(line: int, label_part: str = "gpio-sim") -> list[tuple[float, int]]:
    """Stop tracing; return the transitions ``(seconds, level)`` of ``line``."""
    (TRACE / "tracing_on").write_text("0")
    gpio = chip_base(label_part) + line
    rx = re.compile(r"\s(\d+\.\d+): gpio_value: (\d+) set (\d)")
    out: list[tuple[float, int]] = []
    for m in rx.finditer((TRACE / "trace").read_text()):
        if int(m.group(2)) == gpio:
            t, v = float(m.group(1)), int(m.group(3))
            if not out or out[-1][1] != v:  # repeated writes of one level are not edges
                out.append((t, v))
    return out


def write_config(path: Path, **overrides: Any) -> Path:
    """Write the shipped config with ``backend: gpio`` and the guest's folders; return it."""
    import yaml

    data = yaml.safe_load(Path("/opt/hub/config/hub.yaml").read_text())
    data["hardware"]["backend"] = "gpio"
    data["data_dir"] = str(path.parent / "data")
    data["scenes_file"] = "/opt/hub/config/scenes.yaml"
    data["speaker"]["music_dir"] = str(path.parent / "music")
    data["speaker"]["output"] = "none"
    data.setdefault("web", {})["host"] = "127.0.0.1"
    data = _merge(data, overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "music").mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


def pwm_state() -> dict[str, Any]:
    """Return the sysfs PWM channel 0's period, duty and enable (None when not exported)."""
    ch = PWM / "pwm0"
    if not ch.is_dir():
        return {"exported": False}
    return {
        "exported": True,
        **{name: int((ch / name).read_text()) for name in ("period", "duty_cycle", "enable")},
    }


def emit(obj: Any) -> None:
    """Print the result for the host, on a line of its own."""
    print("RESULT " + json.dumps(obj), flush=True)
