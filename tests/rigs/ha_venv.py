"""Home Assistant's venv for the Home Assistant test tier: built once, cached.

- **Venv**: ``homeassistant==HA_VERSION`` for pyenv's Python 3.13.0 (HA 2025.4 needs 3.13.0
  or later), installed with HA's own ``package_constraints.txt`` (read from its wheel), plus
  the requirements of every integration the tests load (read from the wheel's manifests,
  following their dependencies), so HA never pip-installs at run time (it would fail
  offline). Cached in ``$MASSAGE_HUB_TEST_CACHE`` (default ``/var/cache/massage-hub-tests``)
  as ``ha-<key>``, keyed on the version, the Python and the integration list, built under a
  lock file when missing (``setup.sh --test`` builds it first, else the first test that needs it;
  ``python -m tests.rigs.ha_venv`` alone).
A run of it: tests/rigs/ha_rig.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.rigs.support import locked

CACHE = Path(os.environ.get("MASSAGE_HUB_TEST_CACHE", "/var/cache/massage-hub-tests"))
HA_VERSION = "2025.4.4"
PYTHON = Path(os.environ.get("MASSAGE_HUB_HA_PYTHON", "/root/.pyenv/versions/3.13.0/bin/python3"))
#: the integrations a run loads (their dependencies are followed when installing)
INTEGRATIONS = [
    "api",
    "automation",
    "button",
    "conversation",
    "device_automation",
    "event",
    "frontend",
    "homeassistant",
    "http",
    "isal",
    "light",
    "logger",
    "mqtt",
    "network",
    "number",
    "onboarding",
    "persistent_notification",
    "scene",
    "select",
    "sensor",
    "switch",
    "system_log",
    "websocket_api",
    "zeroconf",
]
BUILD_VERSION = 1  # bump when the build steps change


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be installed, started or reached."""


def log(message: str) -> None:
    """Print a progress line (pytest shows it with -s, and for a failing test)."""
    print(f"[ha] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], timeout: float) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise HomeAssistantError(f"{' '.join(argv[:4])}… exited {result.returncode}:\n{tail}")


def venv_key() -> str:
    """The cache key of the venv: what goes into it."""
    parts = [HA_VERSION, str(PYTHON), sorted(INTEGRATIONS), BUILD_VERSION]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def requirements_of(wheel: Path, domains: list[str]) -> list[str]:
    """Return the pip requirements of ``domains`` and their dependencies, from HA's wheel."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(domains)
    with zipfile.ZipFile(wheel) as zf:
        while todo:
            domain = todo.pop()
            if domain in seen:
                continue
            seen.add(domain)
            try:
                manifest = json.loads(zf.read(f"homeassistant/components/{domain}/manifest.json"))
            except KeyError:
                raise HomeAssistantError(f"Home Assistant has no integration {domain!r}") from None
            todo += manifest.get("dependencies", [])
            found.update(manifest.get("requirements", []))
    return sorted(found)


def venv() -> Path:
    """Return the cached Home Assistant venv, building it first when it is missing."""
    target = CACHE / f"ha-{venv_key()}"
    with locked(CACHE / f"ha-{venv_key()}.lock"):
        if (target / ".complete").exists():
            return target
        if not PYTHON.exists():
            raise HomeAssistantError(
                f"{PYTHON} is missing: Home Assistant {HA_VERSION} needs Python 3.13 "
                "(set MASSAGE_HUB_HA_PYTHON to another 3.13 interpreter)"
            )
        started = time.monotonic()
        log(f"building {target} (Home Assistant {HA_VERSION}; cached afterwards)")
        build = target.with_name(target.name + ".build")
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        _run([str(PYTHON), "-m", "venv", str(build)], timeout=300)
        pip = [str(build / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        wheels = build / "ha-wheel"
        _run(
            [*pip, "download", "--no-deps", "-d", str(wheels), f"homeassistant=={HA_VERSION}"], 600
        )
        wheel = next(wheels.glob("homeassistant-*.whl"))
        constraints = build / "package_constraints.txt"
        with zipfile.ZipFile(wheel) as zf:
            constraints.write_bytes(zf.read("homeassistant/package_constraints.txt"))
        extra = requirements_of(wheel, INTEGRATIONS)
        _run([*pip, "install", "-c", str(constraints), str(wheel), *extra], timeout=1800)
        shutil.rmtree(wheels)
        (build / ".complete").write_text(json.dumps({"key": venv_key(), "extra": extra}))
        build.rename(target)
        # a venv's scripts name their interpreter by path: the build folder is gone
        for script in (target / "bin").iterdir():
            if script.is_file() and not script.is_symlink():
                data = script.read_bytes()
                if str(build).encode() in data:
                    script.write_bytes(data.replace(str(build).encode(), str(target).encode()))
        log(f"Home Assistant venv built in {time.monotonic() - started:.0f} s")
        return target


if __name__ == "__main__":
    print(venv())
