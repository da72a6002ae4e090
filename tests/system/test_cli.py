"""The ``massage-hub`` command: version, all-off --direct, and serve stopped by signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rigs.service_api import api, create_token
from tests.rigs.support import ROOT, ServeProcess, sim_pins, wait_for, write_config

SCRIPT = Path(sys.executable).parent / "massage-hub"
OUTPUTS = ["GPIO18", "GPIO13", "GPIO23", "GPIO24"]  # lights main, accent; diffuser; pad


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the installed console script."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hub.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def test_version() -> None:
    from hub import __version__

    result = cli("version")
    assert (result.returncode, result.stdout) == (0, f"massage-hub {__version__}\n")
    assert cli("--version").stdout == f"massage-hub {__version__}\n"


def test_an_unknown_subcommand_fails() -> None:
    result = cli("dance")
    assert result.returncode == 2
    assert "invalid choice: 'dance'" in result.stderr


def test_all_off_direct_writes_zeros_for_every_configured_pin(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"heat_pads": {"pad2": {"pin": "BOARD11"}}})
    data_dir = Path(yaml.safe_load(config.read_text())["data_dir"])
    data_dir.mkdir(parents=True)
    lit = {pin: 1.0 for pin in [*OUTPUTS, "GPIO17"]} | {"GPIO5": 0.5}
    (data_dir / "sim-pins.json").write_text(json.dumps({"writer": 1, "pins": lit}))
    result = cli("all-off", "--direct", "--config", str(config))
    assert result.returncode == 0, result.stderr
    # heat first
    assert result.stdout.startswith("all off: pad (GPIO24, simulated), pad2 (GPIO17, simulated)")
    for name in ("main (GPIO18", "accent (GPIO13", "diffuser (GPIO23"):
        assert name in result.stdout
    assert sim_pins(config) == {pin: 0.0 for pin in lit}


def test_all_off_direct_without_a_pin_file_creates_one(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert cli("all-off", "--direct", "--config", str(config)).returncode == 0
    assert sim_pins(config) == {pin: 0.0 for pin in OUTPUTS}


def test_all_off_with_a_broken_config_and_no_record_says_so(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("lights: {main: {pin: 18}\n")  # and no service ever ran on it
    result = cli("all-off", "--direct", "--config", str(config))
    assert result.returncode == 1
    assert "no pins were switched" in result.stderr
    assert "YAML syntax error at line 2" in result.stderr


def test_serve_with_a_broken_config_fails_at_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"heat_pads": {"pad": {"max_on_minutes": 500}}})
    result = cli("serve", "--config", str(config))
    assert result.returncode == 78  # EX_CONFIG: systemd does not restart-loop on it
    assert "heat_pads.pad.max_on_minutes: must be at most 120 (got 500)" in result.stderr


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _start_session(proc: ServeProcess) -> None:
    """Start a session over the API (the service must be ready)."""
    assert _healthy(proc.base_url), proc.log()
    token = create_token(proc.config_path)
    status, body = api(proc.base_url, "POST", "/api/v1/session", {"scene": "swedish"}, token)
    assert status == 201, body


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_on_a_signal_with_every_pin_off(tmp_path: Path, sig: int) -> None:
    config = write_config(tmp_path)
    proc = ServeProcess(config).start(wait=False)
    try:
        waited(proc, lambda: proc.proc.poll() is None and _healthy(proc.base_url))
        _start_session(proc)
        # the pad pre-warms and the diffuser mists at once; the mirror shows it
        waited(proc, lambda: sim_pins(config)["GPIO24"] == 1.0)
        assert sim_pins(config)["GPIO23"] == 1.0
        code = proc.stop(sig)
    finally:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.stop(signal.SIGKILL)
    assert code == 0, proc.log()
    assert sim_pins(config) == {pin: 0.0 for pin in OUTPUTS}
    log = proc.log()
    assert f"{signal.Signals(sig).name} received: switching everything off" in log
    assert "SIMULATED PINS" in log
    assert "Traceback" not in log


def waited(proc: ServeProcess, check: Any, timeout: float = 30) -> Any:
    """wait_for, with the service's log in the failure message."""
    try:
        return wait_for(check, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- service log ---\n{proc.log()}") from None


def test_all_off_direct_switches_a_running_service_off(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    proc = ServeProcess(config).start(wait=False)
    try:
        waited(proc, lambda: _healthy(proc.base_url))
        _start_session(proc)
        waited(proc, lambda: sim_pins(config)["GPIO24"] == 1.0)
        assert cli("all-off", "--direct", "--config", str(config)).returncode == 0
        # the service sees the file change and switches everything off itself
        waited(proc, lambda: "switched off by another process" in proc.log())
        waited(proc, lambda: "reason': 'external'" in proc.log())
        assert sim_pins(config) == {pin: 0.0 for pin in OUTPUTS}
    finally:
        code = proc.stop()
    assert code == 0


def test_all_off_direct_drives_an_active_low_pin_high(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"heat_pads": {"pad": {"active_high": False}}})
    assert cli("all-off", "--direct", "--config", str(config)).returncode == 0
    # an active-low relay input is off when the line is high
    assert sim_pins(config) == {"GPIO18": 0.0, "GPIO13": 0.0, "GPIO23": 0.0, "GPIO24": 1.0}
