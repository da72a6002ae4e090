"""What the installer writes on a Pi (config.txt, udev, the unit's drop-in), on temp files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hub.config.model import Config
from hub.pi_setup import (
    BEGIN,
    END,
    audio_clashes,
    edit_config_txt,
    main,
    one_wire_clashes,
    plan_pwm,
    udev_rule,
    unit_dropin,
    wants_one_wire,
    write_config_txt,
)
from tests.rigs.support import run_cli, write_config

STOCK = """# For more options and information see
# http://rptl.io/configtxt
dtparam=audio=on
camera_auto_detect=1

[cm4]
otg_mode=1

[all]
"""


def test_the_shipped_lights_get_the_two_channel_overlay(
    make_config: Callable[..., Config],
) -> None:
    plan = plan_pwm(make_config())  # main on GPIO18, accent on GPIO13
    assert plan.overlay() == "dtoverlay=pwm-2chan,pin=18,func=2,pin2=13,func2=4"
    assert plan.software == {}
    one = plan_pwm(make_config({"lights": {"main": {"pin": 12}, "accent": None}}))
    assert one.overlay() == "dtoverlay=pwm,pin=12,func=4"


def test_lights_without_hardware_pwm_are_explained(make_config: Callable[..., Config]) -> None:
    plan = plan_pwm(make_config({"lights": {"main": {"pin": 18}, "accent": {"pin": 12}}}))
    assert "channel 0, already driven by light 'main' on GPIO18" in plan.software["accent"]
    assert "GPIO13 or GPIO19" in plan.software["accent"]
    plan = plan_pwm(make_config({"lights": {"main": {"pin": 22}, "accent": {"pin": 19}}}))
    assert "GPIO22 has no hardware PWM" in plan.software["main"]
    assert plan.overlay() == "dtoverlay=pwm,pin=19,func=2"


def test_config_txt_gets_one_block_and_a_second_run_changes_nothing(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    path = tmp_path / "config.txt"
    path.write_text(STOCK)
    plan = plan_pwm(make_config())
    assert write_config_txt(path, plan) is True
    text = path.read_text()
    assert text.startswith(STOCK.rstrip("\n"))  # the user's lines are kept as they were
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "dtoverlay=pwm-2chan,pin=18,func=2,pin2=13,func2=4" in text
    assert "\ndtparam=strict_gpiod\n" in text
    # the block sits in [all] whatever section came last
    assert text.index("[all]", text.index(BEGIN)) < text.index("dtoverlay=pwm-2chan")
    backups = list(tmp_path.glob("config.txt.massage-hub-*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == STOCK
    assert write_config_txt(path, plan) is False
    assert path.read_text() == text and len(list(tmp_path.glob("*.bak"))) == 1
    # a changed pin replaces the block, never adds a second one
    other = plan_pwm(make_config({"lights": {"main": {"pin": 19}, "accent": {"pin": 12}}}))
    assert write_config_txt(path, other) is True
    new = path.read_text()
    assert new.count(BEGIN) == 1 and "pwm-2chan,pin=12,func=4,pin2=19,func2=2" in new
    assert "pin=18" not in new


def test_edit_config_txt_on_an_empty_file(make_config: Callable[..., Config]) -> None:
    text = edit_config_txt(
        "", plan_pwm(make_config({"lights": {"main": {"pin": 22}, "accent": None}}))
    )
    lines = text.splitlines()
    assert lines[0] == BEGIN and lines[-1] == END
    assert not any(line.startswith("dtoverlay") for line in lines)
    assert "dtparam=strict_gpiod" in lines


def test_a_pad_with_a_sensor_turns_the_one_wire_bus_on(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    plain = make_config()
    assert not wants_one_wire(plain)
    assert "w1-gpio" not in edit_config_txt(STOCK, plan_pwm(plain), wants_one_wire(plain))
    sensed = make_config({"heat_pads": {"pad": {"sensor": "auto"}}})
    assert wants_one_wire(sensed) and one_wire_clashes(sensed) == []
    path = tmp_path / "config.txt"
    path.write_text(STOCK)
    assert write_config_txt(path, plan_pwm(sensed), one_wire=True) is True
    lines = path.read_text().splitlines()
    block = lines[lines.index(BEGIN) : lines.index(END) + 1]
    assert sum(line.startswith("dtoverlay=w1-gpio") for line in block) == 1
    assert write_config_txt(path, plan_pwm(sensed), one_wire=True) is False  # idempotent
    # the sensor gone from the config: the overlay goes with it, the rest stays
    assert write_config_txt(path, plan_pwm(plain), one_wire=False) is True
    text = path.read_text()
    assert "w1-gpio" not in text and "dtoverlay=pwm-2chan" in text and text.count(BEGIN) == 1
    # GPIO4 is the bus: a device there is a clash, said by name
    clash = make_config({"heat_pads": {"pad": {"sensor": "auto"}}, "diffuser": {"pin": 4}})
    assert one_wire_clashes(clash) == [
        "diffuser.pin is GPIO4, the pads' 1-wire sensor pin (dtoverlay=w1-gpio): "
        "move it to another pin"
    ]
    no_sensor = make_config({"diffuser": {"pin": 4}})
    assert one_wire_clashes(no_sensor) == []


def test_udev_rule_and_unit_dropin(make_config: Callable[..., Config]) -> None:
    rule = udev_rule()
    assert 'SUBSYSTEM=="pwm*"' in rule and "chgrp -R gpio /sys%p" in rule
    assert rule.count("\n") == 4 and rule.splitlines()[-1].endswith('"')
    dropin = unit_dropin(plan_pwm(make_config()))
    assert dropin.splitlines()[4:] == ["[Service]", "ReadWritePaths=-/sys/class/pwm/pwmchip0"]
    none = unit_dropin(plan_pwm(make_config({"lights": {"main": {"pin": 22}, "accent": None}})))
    assert "ReadWritePaths" not in none.split("[Service]")[1]
    unit = (Path(__file__).resolve().parents[2] / "systemd" / "massage-hub.service").read_text()
    assert "ProtectKernelTunables=yes" in unit  # why the drop-in is needed at all


def test_main_writes_all_three_and_says_reboot(
    tmp_path: Path, capsys: object, make_config: Callable[..., Config]
) -> None:
    cfg = write_config(tmp_path / "c")
    boot = tmp_path / "boot" / "firmware" / "config.txt"
    boot.parent.mkdir(parents=True)
    boot.write_text(STOCK)
    argv = ["--config", str(cfg), "--boot-config", str(boot)]
    argv += ["--udev-rule", str(tmp_path / "udev" / "60.rules")]
    argv += ["--unit-dropin", str(tmp_path / "unit.d" / "pwm.conf")]
    assert main(argv) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "REBOOT NEEDED" in out
    assert (tmp_path / "udev" / "60.rules").read_text() == udev_rule()
    assert main(argv) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "REBOOT" not in out and "already has" in out and "wrote" not in out
    assert "w1-gpio" not in boot.read_text()  # the shipped pad has no sensor


def test_main_turns_on_the_one_wire_bus_for_a_pad_sensor(tmp_path: Path, capsys: object) -> None:
    cfg = write_config(tmp_path / "c", {"heat_pads": {"pad": {"sensor": "28-0316a279a4ff"}}})
    boot = tmp_path / "config.txt"
    boot.write_text(STOCK)
    argv = ["--config", str(cfg), "--boot-config", str(boot)]
    argv += ["--udev-rule", str(tmp_path / "60.rules"), "--unit-dropin", str(tmp_path / "pwm.conf")]
    assert main(argv) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "w1-gpio" in out and "REBOOT NEEDED" in out
    assert "\ndtoverlay=w1-gpio " in boot.read_text()


def test_main_on_a_machine_without_boot_firmware_changes_nothing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c")
    assert main(["--config", str(cfg), "--boot-config", str(tmp_path / "no" / "config.txt"),
                 "--udev-rule", str(tmp_path / "r"), "--unit-dropin", str(tmp_path / "d")]) == 1  # fmt: skip
    assert not (tmp_path / "r").exists() and not (tmp_path / "d").exists()


def test_analogue_audio_on_the_light_pins_is_a_clash(make_config: Callable[..., Config]) -> None:
    config = make_config({"speaker": {"output": "alsa", "device": "hw:CARD=Headphones"}})
    clashes = audio_clashes(config, plan_pwm(config))
    assert any("GPIO18/13" in c and "'main'" in c for c in clashes)
    assert any("'accent'" in c for c in clashes)
    hdmi = make_config({"speaker": {"output": "alsa", "device": "hw:CARD=vc4hdmi"}})
    assert audio_clashes(hdmi, plan_pwm(hdmi)) == []
    dac = make_config({"speaker": {"output": "alsa", "device": "hw:CARD=sndrpihifiberry"}})
    assert any("I2S" in c and "'main'" in c for c in audio_clashes(dac, plan_pwm(dac)))


def test_check_config_explains_software_dimming_and_audio(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c",
        {
            "lights": {"main": {"pin": 22}},
            "speaker": {"output": "alsa", "device": "hw:CARD=Headphones"},
        },
    )
    done = run_cli(cfg, "check-config")
    assert done.returncode == 0, done.stderr
    assert "lights.main.pin: GPIO22 has no hardware PWM" in done.stderr
    assert "speaker: speaker.device 'hw:CARD=Headphones'" in done.stderr
    assert "'accent' on GPIO13" in done.stderr


def test_check_config_says_when_a_pin_sits_on_the_sensors_1_wire_pin(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c",
        {"button": {"pin": 4}, "heat_pads": {"pad": {"sensor": "auto"}}},
    )
    done = run_cli(cfg, "check-config")
    assert done.returncode == 0, done.stderr
    assert "button.pin is GPIO4, the pads' 1-wire sensor pin" in done.stderr
    no_sensor = write_config(tmp_path / "d", {"button": {"pin": 4}})
    assert "1-wire" not in run_cli(no_sensor, "check-config").stderr
