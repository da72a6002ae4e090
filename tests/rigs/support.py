"""Helpers shared by the tests: configs in temp folders, free ports, a child service."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import signal as signals
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "hub.yaml"

#: the built-in scenes of config/scenes.yaml, in file order
BUILTIN_SCENES = [
    "swedish",
    "deep-tissue",
    "aromatherapy",
    "hot-stone",
    "couples",
    "wind-down",
    "cleaning",
]

#: Debian's Chromium and the flags this offline machine needs (never download a browser)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``over`` merged in (nested dicts merge, None deletes)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None and key in out and key not in ("timezone",):
            del out[key]
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(folder: Path, overrides: dict[str, Any] | None = None) -> Path:
    """Write the shipped config, adjusted for a test, into ``folder``; return its path.

    Data and music go inside ``folder``; pins are simulated; the web port is free.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(SHIPPED.read_text())
    data = deep_merge(
        data,
        {
            "data_dir": str(folder / "data"),
            "scenes_file": str(ROOT / "config" / "scenes.yaml"),
            "hardware": {"backend": "mock"},
            "speaker": {"music_dir": str(folder / "music"), "output": "none"},
            "web": {"host": "127.0.0.1", "port": free_port()},
        },
    )
    data = deep_merge(data, overrides or {})
    path = folder / "hub.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - keep polling through start-up errors
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting; last result: {last!r}")


def sim_pins(config_path: Path) -> dict[str, float]:
    """Read the simulated pin levels that a service (or all-off) wrote."""
    data = yaml.safe_load(config_path.read_text())
    path = Path(data["data_dir"]) / "sim-pins.json"
    return json.loads(path.read_text())["pins"]


class ServeProcess:
    """Run ``massage-hub serve`` as a child process on a test config."""

    def __init__(self, config_path: Path, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.config = yaml.safe_load(config_path.read_text())
        self.log_path = config_path.parent / "serve.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.argv_prefix: list[str] = []  # run the service under this (a bench's cgroup)

    @property
    def base_url(self) -> str:
        """The web UI's address."""
        return f"http://127.0.0.1:{self.config['web']['port']}"

    def start(self, wait: bool = True) -> ServeProcess:
        """Start the service and wait until /healthz answers (or the pin file appears)."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *self.argv_prefix,
                sys.executable,
                "-m",
                "hub.cli",
                "serve",
                "--config",
                str(self.config_path),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=str(ROOT),
        )
        if wait:
            wait_for(self._ready, timeout=30)
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"massage-hub serve exited:\n{self.log()}")
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def log(self) -> str:
        """Return what the service printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def send(self, sig: int) -> None:
        """Send ``sig`` to the service."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signals.SIGTERM, timeout: float = 15) -> int:
        """Stop the service with ``sig``; return its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)


def run_cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``massage-hub ARGS --config CONFIG`` from the project's folder."""
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=60,
    )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (two runs never build the same cache entry)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
