"""The systemd unit (checked by systemd-analyze) and setup.sh --install/--uninstall.

``systemd-analyze verify`` insists that ExecStart= points at an executable file. The unit
names the installed console script (/opt/massage-hub/venv/bin/massage-hub), which does not
exist on a development machine, so the check runs on a temp copy of the unit in which
that path is replaced by this venv's ``massage-hub`` script. Nothing else is changed.

The install tests run setup.sh against a scratch root (MASSAGE_HUB_ROOT): every file goes
below it, and commands that would change the machine (useradd, systemctl, chown) are only
recorded in ``setup-actions.log``. MASSAGE_HUB_SKIP_PIP=1 makes the venv without
installing into it (pip would need the network).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hub.config.model import load_config
from tests.rigs.unitfile import (
    INSTALLED_CONFIG,
    INSTALLED_SCRIPT,
    ROOT,
    UNIT,
    exec_argv,
    parse_unit,
    service_section,
)

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.usefixtures("analyze_present")


@pytest.fixture
def analyze_present() -> None:
    """Fail, naming the fix, without systemd-analyze: these tests never skip."""
    if ANALYZE is None:
        pytest.fail("systemd-analyze missing: apt install systemd (setup.sh --test does)")


DEV_SCRIPT = Path(sys.executable).parent / "massage-hub"


def verifiable_copy(folder: Path, text: str | None = None) -> Path:
    """Write the unit (or ``text``) with ExecStart pointing at this venv's script."""
    text = UNIT.read_text() if text is None else text
    path = folder / "massage-hub.service"
    path.write_text(text.replace(INSTALLED_SCRIPT, str(DEV_SCRIPT)))
    return path


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run systemd-analyze offline."""
    assert ANALYZE is not None
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C"}
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


# --- the unit --------------------------------------------------------------------------------


@needs_analyze
def test_systemd_analyze_verify_has_no_warnings_about_the_unit(tmp_path: Path) -> None:
    assert DEV_SCRIPT.exists(), f"{DEV_SCRIPT} missing: pip install -e ."
    path = verifiable_copy(tmp_path)
    result = analyze("verify", str(path), cwd=tmp_path)
    out = result.stdout + result.stderr
    about_unit = [line for line in out.splitlines() if "massage-hub" in line]
    assert result.returncode == 0, out
    assert about_unit == [], out


@needs_analyze
def test_verify_does_catch_a_bad_unit(tmp_path: Path) -> None:
    """The check above can fail: a typo in the unit is reported."""
    text = UNIT.read_text().replace("WatchdogSec=30", "WatchdogSec=thirty\nNoNewPrivilege=yes")
    path = verifiable_copy(tmp_path, text)
    result = analyze("verify", str(path), cwd=tmp_path)
    out = result.stdout + result.stderr
    assert "thirty" in out and "NoNewPrivilege" in out, out


@needs_analyze
def test_security_exposure_is_low(tmp_path: Path) -> None:
    path = verifiable_copy(tmp_path)
    result = analyze("security", "--offline=true", "--no-pager", str(path), cwd=tmp_path)
    out = result.stdout + result.stderr
    match = re.search(r"Overall exposure level for massage-hub\.service: ([0-9.]+)", out)
    assert match, out
    assert float(match.group(1)) <= 2.5, out


def test_unit_is_a_notify_service_with_watchdog_and_restart() -> None:
    s = service_section()
    assert s["Type"] == ["notify"]
    assert s["WatchdogSec"] == ["30"]
    assert s["Restart"] == ["on-failure"]
    assert s["NotifyAccess"] == ["main"]
    assert s["StandardOutput"] == ["journal"] and s["StandardError"] == ["journal"]


def test_exec_lines_use_the_installed_script_and_config() -> None:
    s = service_section()
    [start] = s["ExecStart"]
    [stop_post] = s["ExecStopPost"]
    assert exec_argv(start) == [INSTALLED_SCRIPT, "serve", "--config", INSTALLED_CONFIG]
    argv = exec_argv(stop_post)
    assert argv[0] == INSTALLED_SCRIPT and Path(argv[0]).is_absolute()
    assert argv[1:] == ["all-off", "--direct", "--config", INSTALLED_CONFIG]
    assert not stop_post.startswith("-"), "a failing all-off must show in systemctl status"


def test_unit_runs_as_a_hardened_user_that_can_reach_gpio_and_sound() -> None:
    s = service_section()
    assert s["User"] == ["massage-hub"]
    assert set(" ".join(s["SupplementaryGroups"]).split()) == {"gpio", "audio"}
    assert s["StateDirectory"] == ["massage-hub"]
    assert s["ConfigurationDirectory"] == ["massage-hub"]
    for key in (
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
        "RestrictRealtime",
    ):
        assert s.get(key) == ["yes"], key
    assert s["ProtectSystem"] == ["strict"]
    assert s["DevicePolicy"] == ["closed"]
    assert "char-gpiochip rw" in s["DeviceAllow"]
    assert "char-alsa rw" in s["DeviceAllow"]
    # these would cut the service off from its hardware
    assert s.get("PrivateDevices", ["no"]) == ["no"]
    assert "ProcSubset" not in s, "ProcSubset=pid hides /proc/device-tree: no Pi detection"
    assert "PrivateUsers" not in s, "a user namespace would lose the gpio group"
    # lgpio writes into the working directory, which must be writable
    assert s["WorkingDirectory"] == ["/var/lib/massage-hub"]


def test_parse_unit_handles_resets_and_continuations() -> None:
    text = "[Service]\nA=1\nA=2\nB=x \\\n  y\nA=\nA=3\n# A=4\n"
    assert parse_unit(text)["Service"] == {"A": ["3"], "B": ["x y"]}
    assert exec_argv("-/bin/x 'a b' c") == ["/bin/x", "a b", "c"]


# --- setup.sh --install / --uninstall ---------------------------------------------------------


def run_setup(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run setup.sh with a scratch root; fail with its output if it fails."""
    env = {
        **os.environ,
        "MASSAGE_HUB_ROOT": str(root),
        "MASSAGE_HUB_SKIP_PIP": "1",
        "PYTHON": sys.executable,
    }
    result = subprocess.run(
        ["bash", str(ROOT / "setup.sh"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=str(ROOT),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def actions(root: Path) -> list[str]:
    """The system commands setup.sh would have run."""
    log = root / "setup-actions.log"
    return log.read_text().splitlines() if log.exists() else []


def installed_config_for_test(root: Path) -> Path:
    """Copy the installed config with its absolute paths moved below the scratch root."""
    data = yaml.safe_load((root / "etc/massage-hub/hub.yaml").read_text())
    for key in ("data_dir", "scenes_file"):
        data[key] = str(root) + data[key]
    data["speaker"]["music_dir"] = str(root) + data["speaker"]["music_dir"]
    path = root / "check.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_install_places_every_file_and_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = run_setup(root, "--install")
    app = root / "opt/massage-hub/app"
    unit = root / "etc/systemd/system/massage-hub.service"
    conf = root / "etc/massage-hub/hub.yaml"

    # the unit, as shipped; its script is where the venv lives
    assert unit.read_text() == UNIT.read_text()
    assert (root / "opt/massage-hub/venv/bin/python").exists()
    script = exec_argv(service_section(unit)["ExecStart"][0])[0]
    assert Path(script).parent == Path("/opt/massage-hub/venv/bin")
    # the app, without development leftovers
    for part in ("hub/core.py", "hub/engine/watchdog.py", "hardware/pins.py", "config/scenes.yaml"):
        assert (app / part).exists(), part
    for junk in (".venv", ".git", "tests", "data"):
        assert not (app / junk).exists(), junk
    assert not list(app.rglob("__pycache__"))
    # the config: data in /var/lib, built-in scenes from the app, readable by the service
    data = yaml.safe_load(conf.read_text())
    assert data["data_dir"] == "/var/lib/massage-hub"
    assert data["scenes_file"] == "/opt/massage-hub/app/config/scenes.yaml"
    assert data["speaker"]["music_dir"] == "/var/lib/massage-hub/music"
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    assert "# Pins are BCM numbers" in conf.read_text(), "the shipped comments are kept"
    config = load_config(installed_config_for_test(root))
    assert set(config.lights) == {"main", "accent"} and set(config.heat_pads) == {"pad"}
    assert (root / "var/lib/massage-hub/music").is_dir()
    # the system user and the service, recorded
    done = actions(root)
    assert any(a.startswith("useradd --system") and a.endswith(" massage-hub") for a in done)
    assert "usermod --append --groups gpio,audio massage-hub" in done
    assert "chown root:massage-hub /etc/massage-hub/hub.yaml" in done
    assert "systemctl enable massage-hub.service" in done
    assert "systemctl restart massage-hub.service" in done
    assert "http://" in first.stdout and ":8080/" in first.stdout

    # the owner edits the config; a stale file sits in the app folder
    edited = conf.read_text().replace("port: 8080", "port: 8099") + "# mine\n"
    conf.write_text(edited)
    (app / "stale.py").write_text("x = 1\n")
    venv_python = root / "opt/massage-hub/venv/bin/python"
    venv_mtime = venv_python.lstat().st_mtime_ns

    second = run_setup(root, "--install")
    assert conf.read_text() == edited, "an existing config is never overwritten"
    assert "keeping your config" in second.stdout
    assert ":8099/" in second.stdout
    assert not (app / "stale.py").exists(), "the app is a fresh copy"
    assert (app / "hub/core.py").exists()
    assert venv_python.lstat().st_mtime_ns == venv_mtime, "the venv is reused"
    assert unit.read_text() == UNIT.read_text()
    assert not (root / "opt/massage-hub/app.new").exists()


def test_uninstall_keeps_config_and_data(tmp_path: Path) -> None:
    root = tmp_path / "root"
    run_setup(root, "--install")
    db = root / "var/lib/massage-hub/hub.db"
    db.write_text("pretend data")
    before = (root / "etc/massage-hub/hub.yaml").read_text()

    out = run_setup(root, "--uninstall")
    assert not (root / "etc/systemd/system/massage-hub.service").exists()
    assert not (root / "opt/massage-hub").exists()
    assert (root / "etc/massage-hub/hub.yaml").read_text() == before
    assert db.read_text() == "pretend data"
    done = actions(root)
    assert "systemctl disable --now massage-hub.service" in done
    # stopped (and so switched off by ExecStopPost) before the app was removed
    assert done.index("systemctl disable --now massage-hub.service") > done.index(
        "systemctl restart massage-hub.service"
    )
    assert "kept" in out.stdout
    run_setup(root, "--uninstall")  # again: harmless


def test_setup_rejects_unknown_options() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "setup.sh"), "--instal"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "--install" in result.stderr
