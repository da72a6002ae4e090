"""After any crash every output goes off, history says interrupted, and heat never resumes.

The unit's ExecStopPost= line is read from systemd/massage-hub.service and run as written,
with two substitutions: the installed console script becomes this venv's ``massage-hub``
and the installed config path becomes the test's config.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from tests.rigs.service_api import api, create_token
from tests.rigs.support import ServeProcess, sim_pins, wait_for, write_config
from tests.rigs.unitfile import INSTALLED_CONFIG, INSTALLED_SCRIPT, exec_argv, service_section

PAD = "GPIO24"
DEV_SCRIPT = Path(sys.executable).parent / "massage-hub"


def stop_post_argv(config_path: Path) -> list[str]:
    """The unit's ExecStopPost= command line, pointed at this venv and ``config_path``."""
    [line] = service_section()["ExecStopPost"]
    argv = exec_argv(line)
    assert argv[0] == INSTALLED_SCRIPT
    assert INSTALLED_CONFIG in argv
    return [str(DEV_SCRIPT), *[str(config_path) if a == INSTALLED_CONFIG else a for a in argv[1:]]]


def run_stop_post(config_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ExecStopPost as systemd would after the service died."""
    result = subprocess.run(stop_post_argv(config_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_stop_post_line_is_all_off_direct(tmp_path: Path) -> None:
    argv = stop_post_argv(tmp_path / "hub.yaml")
    assert argv == [str(DEV_SCRIPT), "all-off", "--direct", "--config", str(tmp_path / "hub.yaml")]


def test_crash_mid_session_in_process(tmp_path: Path) -> None:
    """A hub abandoned mid-session (as by kill -9), ExecStopPost, then a fresh start."""
    config_path = write_config(tmp_path / "cfg")
    config = load_config(config_path)
    clock = FakeClock()
    first = Hub(config, clock=clock, pin_factory=SimFactory(), speaker=SilentSpeaker())
    first.start()
    first.sessions.start("swedish", 30)  # medium heat, pre-warm: the pad is on now
    first.devices.set("diffuser", {"on": True})
    first.advance(2)
    assert first.mirror is not None
    first.mirror.stop()  # the last picture the dead process left: pad and diffuser on
    before = sim_pins(config_path)
    assert before[PAD] == 1.0 and before["GPIO23"] == 1.0
    # the process "dies" here: nothing of `first` runs again

    out = run_stop_post(config_path)
    assert "all off" in out.stdout
    assert all(v == 0.0 for v in sim_pins(config_path).values()), sim_pins(config_path)

    factory = SimFactory()
    second = Hub(config, clock=clock, pin_factory=factory, speaker=SilentSpeaker())
    try:
        second.start()
        [row] = second.sessions.history(5)
        assert row["end_reason"] == "interrupted" and row["scene"] == "swedish"
        state = second.state()
        assert state["session"] is None
        assert state["interrupted_session"]["scene"] == "swedish"
        assert state["devices"]["pad"]["heat"] == "off"
        second.advance(30 * 60)  # half an hour later: still nothing came back on
        assert factory.level(PAD) == 0.0
        assert all(factory.level(p) == 0.0 for p in ("GPIO18", "GPIO13", "GPIO23", PAD))
        assert second.state()["session"] is None
        second.sessions.dismiss_interrupted()
        assert second.state()["interrupted_session"] is None
    finally:
        second.close()
        first.store.close()


# --- the real service, killed with SIGKILL -------------------------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., ServeProcess]:
    """Return a function that starts `massage-hub serve` on a config; stops them all after."""
    started: list[ServeProcess] = []

    def start(config_path: Path, env: dict[str, str] | None = None) -> ServeProcess:
        proc = ServeProcess(config_path, env=env).start()
        started.append(proc)
        return proc

    yield start  # type: ignore[misc]
    for proc in started:
        proc.stop()


def test_kill_9_mid_session_then_stop_post_then_restart(
    tmp_path: Path, serve: Callable[..., ServeProcess]
) -> None:
    config_path = write_config(tmp_path / "cfg")
    token = create_token(config_path, "crash-test")
    proc = serve(config_path)
    status, body = api(proc.base_url, "POST", "/api/v1/session", {"scene": "swedish"}, token)
    assert status in (200, 201), body
    wait_for(lambda: sim_pins(config_path).get(PAD) == 1.0, timeout=10)

    proc.stop(signal.SIGKILL)
    assert sim_pins(config_path)[PAD] == 1.0, "a killed service leaves its pins as they were"
    run_stop_post(config_path)
    assert all(v == 0.0 for v in sim_pins(config_path).values()), sim_pins(config_path)

    again = serve(config_path)
    status, history = api(again.base_url, "GET", "/api/v1/history", token=token)
    assert status == 200, history
    rows = history["sessions"]
    assert rows[0]["end_reason"] == "interrupted"
    status, state = api(again.base_url, "GET", "/api/v1/state", token=token)
    assert state["interrupted_session"]["scene"] == "swedish"
    assert state["session"] is None
    time.sleep(2)  # several control steps later: heat stays off
    assert sim_pins(config_path)[PAD] == 0.0
    status, state = api(again.base_url, "GET", "/api/v1/state", token=token)
    assert state["devices"]["pad"]["heat"] == "off"


def test_kill_9_after_a_config_typo_still_leaves_heat_off(
    tmp_path: Path, serve: Callable[..., ServeProcess]
) -> None:
    """Issue 11, item 1: pad on, a typo saved into hub.yaml, kill -9, then ExecStopPost."""
    config_path = write_config(tmp_path / "cfg")
    token = create_token(config_path, "typo-test")
    proc = serve(config_path)
    status, body = api(proc.base_url, "PUT", "/api/v1/devices/pad", {"heat": "high"}, token)
    assert status == 200, body
    wait_for(lambda: sim_pins(config_path).get(PAD) == 1.0, timeout=10)
    config_path.write_text(config_path.read_text().replace("max_on_minutes", "max_on_minuts"))

    proc.stop(signal.SIGKILL)
    assert sim_pins(config_path)[PAD] == 1.0
    out = run_stop_post(config_path)  # exit 0 is asserted there
    assert out.stdout.startswith("all off: pad (GPIO24, simulated)"), out.stdout
    assert all(v == 0.0 for v in sim_pins(config_path).values()), sim_pins(config_path)

    again = ServeProcess(config_path).start(wait=False)
    assert again.proc is not None
    assert again.proc.wait(timeout=60) == 78, again.log()  # the typo stops a restart loop
    again.stop()
    assert "max_on_minuts" in again.log()
    assert sim_pins(config_path)[PAD] == 0.0
