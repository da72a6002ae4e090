"""Read a systemd unit file the way systemd does (sections, repeated keys, prefixes)."""

from __future__ import annotations

import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "massage-hub.service"
INSTALL_SH = ROOT / "systemd" / "install.sh"
INSTALLED_SCRIPT = "/opt/massage-hub/venv/bin/massage-hub"
INSTALLED_CONFIG = "/etc/massage-hub/hub.yaml"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Return ``{section: {key: [values in order]}}``; an empty value resets the list."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"key outside a section: {line!r}"
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if value == "":
            current[key] = []
        else:
            current.setdefault(key, []).append(value)
    return sections


def service_section(path: Path = UNIT) -> dict[str, list[str]]:
    """Return the [Service] section of the unit file."""
    return parse_unit(path.read_text())["Service"]


def exec_argv(value: str) -> list[str]:
    """Split an Exec*= value into argv, dropping systemd's prefixes (-, @, :, +, !)."""
    value = value.lstrip("-@:+!")
    return shlex.split(value)
