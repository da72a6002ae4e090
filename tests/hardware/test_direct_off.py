"""``all-off --direct``: every output pin driven to its off level, held, never floated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import hub.room.direct as direct
from hardware.pins import SimFactory
from hub.config.model import Config, load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.room.direct import (
    DirectAllOffError,
    Output,
    direct_all_off,
    plan,
    read_record,
    switch_off,
    write_record,
)
from tests.rigs.support import sim_pins, write_config


def test_simulated_active_low_pins_go_to_their_physical_off_level(
    make_config: Callable[..., Config],
) -> None:
    config = make_config({"heat_pads": {"pad": {"active_high": False}}})
    direct_all_off(config)
    pins = sim_pins(config.source)  # type: ignore[arg-type]
    assert pins["GPIO24"] == 1.0  # an active-low relay input is off when high
    assert pins["GPIO18"] == 0.0


class FakeLgpio(types.ModuleType):
    """Records the calls lgpio would get (this machine has no GPIO chip)."""

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__("lgpio")
        self.calls: list[tuple[str, Any, ...]] = []
        self.fail_on = fail_on

    def gpio_claim_output(self, handle: int, gpio: int, level: int) -> None:
        if gpio == self.fail_on:
            raise OSError("GPIO busy")
        self.calls.append(("claim_output", gpio, level))

    def __getattr__(self, name: str) -> Any:  # any other call (free, claim_input) is a bug
        def record(*args: Any) -> None:
            self.calls.append((name, *args))

        return record


@pytest.fixture
def fake_lgpio(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeLgpio]:
    def make(fail_on: int | None = None) -> FakeLgpio:
        fake = FakeLgpio(fail_on)
        monkeypatch.setitem(sys.modules, "lgpio", fake)
        monkeypatch.setattr(direct, "_open_chip", lambda: 7)
        return fake

    return make


def test_real_gpio_claims_outputs_at_off_level_heat_first_and_never_releases(
    make_config: Callable[..., Config], fake_lgpio: Callable[..., FakeLgpio]
) -> None:
    lg = fake_lgpio()
    config = make_config({"hardware": {"backend": "gpio"}, "diffuser": {"active_high": False}})
    done = direct_all_off(config)
    assert lg.calls[0] == ("claim_output", 24, 0)  # the heat pad first
    assert set(lg.calls) == {
        ("claim_output", 24, 0),
        ("claim_output", 18, 0),
        ("claim_output", 13, 0),
        ("claim_output", 23, 1),  # active-low: off is high
    }
    assert len(done) == 4


def test_one_failing_pin_does_not_stop_the_others(
    make_config: Callable[..., Config], fake_lgpio: Callable[..., FakeLgpio]
) -> None:
    lg = fake_lgpio(fail_on=18)
    config = make_config({"hardware": {"backend": "gpio"}})
    with pytest.raises(DirectAllOffError) as err:
        direct_all_off(config)
    assert err.value.failed == ["main (GPIO18): GPIO busy"]
    assert {c[1] for c in lg.calls} == {24, 13, 23}


# --- a config that broke after the service started (issue 11, item 1) -----------------------


def _start_and_heat(config_path: Path) -> None:
    """Start a hub on ``config_path``, switch the pad on, and abandon it (as a crash would)."""
    hub = Hub(load_config(config_path), clock=FakeClock(), pin_factory=SimFactory(), speaker=None)
    hub.start()
    hub.devices.set("pad", {"heat": "high", "minutes": 10})
    hub.advance(1)
    assert hub.mirror is not None
    hub.mirror.stop()  # the last picture the dead process left
    assert sim_pins(config_path)["GPIO24"] == 1.0
    hub.store.close()  # the process is gone: nothing of it runs again


def _all_off(config_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "all-off", "--direct", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    "breakage",
    [
        lambda text: text.replace("max_on_minutes", "max_on_minuts"),  # a typo in a key
        lambda text: text + "\nlights: {main: {pin: 18}\n",  # a YAML syntax error
        lambda text: "",  # an empty file
    ],
    ids=["typo", "yaml-syntax", "emptied"],
)
def test_a_config_broken_after_start_still_switches_the_heat_off(
    tmp_path: Path, breakage: Callable[[str], str]
) -> None:
    config_path = write_config(tmp_path / "cfg")
    _start_and_heat(config_path)
    data_dir = Path(yaml.safe_load(config_path.read_text())["data_dir"])
    config_path.write_text(breakage(config_path.read_text()))
    # systemd gives ExecStopPost the state folder; the emptied config no longer names it
    result = _all_off(config_path, STATE_DIRECTORY=str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("all off: pad (GPIO24, simulated)"), result.stdout
    pins = json.loads((data_dir / "sim-pins.json").read_text())["pins"]
    assert pins == {"GPIO24": 0.0, "GPIO18": 0.0, "GPIO13": 0.0, "GPIO23": 0.0}


def test_a_pin_moved_in_the_config_switches_off_the_old_and_the_new_pin(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "cfg")
    _start_and_heat(config_path)
    config_path.write_text(config_path.read_text().replace("pin: 24", "pin: 25"))
    result = _all_off(config_path)
    assert result.returncode == 0, result.stderr
    pins = sim_pins(config_path)
    assert pins["GPIO24"] == 0.0 and pins["GPIO25"] == 0.0


def test_the_record_says_which_pins_and_off_levels_the_service_drives(
    make_config: Callable[..., Config],
) -> None:
    config = make_config({"heat_pads": {"pad": {"active_high": False}}})
    path = write_record(config, "mock")
    outputs, backend, sim, notes = read_record(path.parent)
    assert backend == "mock" and not notes
    assert sim == config.data_path / "sim-pins.json"
    assert outputs[0] == Output("pad", "heat", "GPIO24", 1)  # active-low: off is high
    assert {o.pin for o in outputs} == {"GPIO24", "GPIO18", "GPIO13", "GPIO23"}
    assert not list(path.parent.glob(".*.tmp")), "the atomic write left its temp file"


def test_nothing_known_is_a_plain_failure(tmp_path: Path) -> None:
    config_path = tmp_path / "hub.yaml"
    config_path.write_text("lights: {main: {pin: 18}\n")  # broken, and no service ever ran
    result = _all_off(config_path)
    assert result.returncode == 1
    assert "no pins were switched" in result.stderr
    assert "cannot be read" in result.stderr


def test_an_unreadable_heat_pin_with_no_record_is_a_failure_not_a_success(
    make_config: Callable[..., Config], fake_lgpio: Callable[..., FakeLgpio]
) -> None:
    fake_lgpio(fail_on=24)
    config = make_config({"hardware": {"backend": "gpio"}})
    assert config.source is not None
    result = switch_off(plan(config.source))
    assert not result.heat_off
    assert result.failed == ["pad (GPIO24): GPIO busy"]
    assert len(result.done) == 3  # every other pin still went off
