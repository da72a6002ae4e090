"""Config validation: every problem at once, each with its file, line, key path and hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.config.model import ConfigError, load_config
from hub.scenes.scene import load_builtin_scenes
from tests.rigs.support import BUILTIN_SCENES, ROOT, SHIPPED

GOOD = """\
data_dir: ./data
hardware:
  backend: mock
lights:
  main: {pin: 18}
  accent: {pin: 13}
diffuser: {pin: 23}
heat_pads:
  pad: {pin: 24, max_on_minutes: 60}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    """Load ``text`` as a config; return every problem as printed."""
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    prefix = f"{path}:"
    out = []
    for issue in info.value.issues:
        line = str(issue)
        assert line.startswith(prefix), line
        out.append(line[len(prefix) :])
    return out


def test_the_shipped_config_and_scenes_are_valid() -> None:
    config = load_config(SHIPPED)
    assert list(config.lights) == ["main", "accent"]
    assert list(config.heat_pads) == ["pad"]
    assert config.diffuser is not None and config.speaker.enabled
    assert config.device_ids() == ["main", "accent", "diffuser", "pad", "speaker"]
    scenes = load_builtin_scenes(config.path(config.scenes_file))
    assert set(scenes) == set(BUILTIN_SCENES)
    cleaning = scenes["cleaning"]
    assert cleaning.light_levels(["main", "accent"]) == {"main": 1.0, "accent": 1.0}
    assert (cleaning.diffuser, cleaning.volume, cleaning.has_heat(["pad"])) == ("off", 0, False)
    for scene in scenes.values():
        assert scene.builtin and scene.name and scene.fade_seconds >= 0


def test_a_good_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.data_path == tmp_path / "data"
    assert config.heat_pads["pad"].max_on_minutes == 60


def test_a_broken_yaml_line(tmp_path: Path) -> None:
    text = GOOD.replace("accent: {pin: 13}", "accent: {pin: 13")
    assert problems(tmp_path, text) == [
        "7: YAML syntax error: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping that starts on line 6)"
    ]


def test_a_bad_indent(tmp_path: Path) -> None:
    text = GOOD.replace("diffuser: {pin: 23}", "diffuser:\n  pin: 23\n   on_seconds: 5")
    assert problems(tmp_path, text) == ["9: YAML syntax error: mapping values are not allowed here"]


def test_an_unknown_key_with_a_near_miss(tmp_path: Path) -> None:
    text = GOOD + "sesion:\n  default_minutes: 45\n"
    assert problems(tmp_path, text) == ["10: sesion: unknown key (did you mean 'session'?)"]


def test_an_unknown_nested_key_with_a_near_miss(tmp_path: Path) -> None:
    text = GOOD.replace("max_on_minutes: 60", "max_on_minuts: 60")
    assert problems(tmp_path, text) == [
        "9: heat_pads.pad.max_on_minuts: unknown key (did you mean 'max_on_minutes'?)"
    ]


def test_an_unknown_key_without_a_near_miss_lists_the_valid_ones(tmp_path: Path) -> None:
    text = GOOD.replace("backend: mock", "backend: mock\n  colour: red")
    assert problems(tmp_path, text) == [
        "4: hardware.colour: unknown key (valid keys: backend, control_hz, watchdog_seconds, sensors, w1_devices)"
    ]


def test_a_pin_used_twice(tmp_path: Path) -> None:
    text = GOOD.replace("accent: {pin: 13}", "accent: {pin: GPIO18}")
    assert problems(tmp_path, text) == [
        "6: lights.accent.pin: GPIO18 is already used by lights.main.pin"
    ]


def test_a_pin_used_twice_by_header_number(tmp_path: Path) -> None:
    # BOARD12 is GPIO18
    text = GOOD.replace("pad: {pin: 24,", "pad: {pin: BOARD12,")
    assert problems(tmp_path, text) == [
        "9: heat_pads.pad.pin: GPIO18 is already used by lights.main.pin"
    ]


def test_a_too_long_heat_limit(tmp_path: Path) -> None:
    text = GOOD.replace("max_on_minutes: 60", "max_on_minutes: 180")
    assert problems(tmp_path, text) == [
        "9: heat_pads.pad.max_on_minutes: must be at most 120 (got 180)"
    ]


def test_a_manual_timeout_longer_than_the_heat_limit(tmp_path: Path) -> None:
    text = GOOD.replace("max_on_minutes: 60", "max_on_minutes: 30, manual_timeout_minutes: 45")
    assert problems(tmp_path, text) == [
        "9: heat_pads.pad.manual_timeout_minutes: must not be longer than max_on_minutes (30)"
    ]


def test_three_pads_are_refused(tmp_path: Path) -> None:
    text = GOOD + "  pad2: {pin: 5}\n  pad3: {pin: 6}\n"
    assert problems(tmp_path, text) == ["8: heat_pads: at most 2 entries allowed (got 3)"]


def test_several_errors_at_once_in_line_order(tmp_path: Path) -> None:
    text = """\
data_dir: ./data
hardware:
  backnd: mock
lights:
  main: {pin: 18, gamma: 9}
  accent: {pin: 18}
  Spot: {pin: 40}
heat_pads:
  pad: {pin: 24, max_on_minutes: 121}
web:
  port: http
mqtt: {enabled: maybe}
"""
    assert problems(tmp_path, text) == [
        "3: hardware.backnd: unknown key (did you mean 'backend'?)",
        "4: lights: device id 'Spot' must start with a letter and use a-z, 0-9 and _",
        "5: lights.main.gamma: must be at most 4 (got 9)",
        "6: lights.accent.pin: GPIO18 is already used by lights.main.pin",
        "7: lights.Spot.pin: GPIO40 does not exist; use a BCM number from 0 to 27",
        "9: heat_pads.pad.max_on_minutes: must be at most 120 (got 121)",
        "11: web.port: input should be a valid integer, unable to parse string as an "
        "integer (got 'http')",
        "12: mqtt.enabled: input should be a valid boolean, unable to interpret input "
        "(got 'maybe')",
    ]


def test_missing_lights_and_a_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path, "data_dir: ./data\n") == ["1: lights: is required"]
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: file not found"


def test_a_bad_time_zone(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD + "timezone: Mars/Olympus\n") == [
        "10: timezone: unknown time zone 'Mars/Olympus'; use a name like Europe/London"
    ]


def test_a_broken_scenes_file_names_file_key_and_line(tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.yaml"
    scenes.write_text(
        "scenes:\n  calm:\n    name: Calm\n    lights: {main: 2}\n    heat: {pad: toasty}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_builtin_scenes(scenes)
    lines = [str(i) for i in info.value.issues]
    assert lines == [
        f"{scenes}:4: scenes.calm.lights: light 'main': level must be from 0 to 1 (got 2.0)",
        f"{scenes}:5: scenes.calm.heat.pad: must be one of 'off', 'low', 'medium' or 'high' "
        "(got 'toasty')",
    ]


def test_a_scene_that_is_not_a_mapping(tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.yaml"
    scenes.write_text("scenes:\n  calm: [1, 2]\n  loud: hello\n  ok: {name: OK}\n")
    with pytest.raises(ConfigError) as info:
        load_builtin_scenes(scenes)
    assert [str(i) for i in info.value.issues] == [
        f"{scenes}:2: scenes.calm: must be a mapping of keys",
        f"{scenes}:3: scenes.loud: must be a mapping of keys",
    ]


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_check_config_prints_every_problem_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(
        GOOD.replace("max_on_minutes: 60", "max_on_minutes: 180").replace(
            "accent: {pin: 13}", "accent: {pin: 18}"
        )
        + "sesion: {}\n"
    )
    result = check_config(path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "3 problem(s) in the configuration:",
        f"  {path}:6: lights.accent.pin: GPIO18 is already used by lights.main.pin",
        f"  {path}:9: heat_pads.pad.max_on_minutes: must be at most 120 (got 180)",
        f"  {path}:10: sesion: unknown key (did you mean 'session'?)",
    ]


def test_check_config_on_the_shipped_config() -> None:
    result = check_config(SHIPPED)
    assert result.returncode == 0, result.stderr
    assert "OK: 2 light(s), a diffuser, 1 heat pad(s), 7 built-in scenes" in result.stdout
