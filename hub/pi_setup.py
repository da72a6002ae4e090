"""What a Raspberry Pi needs for the configured room: the PWM overlay, pwmchip access, the unit's paths.

``setup.sh --install`` runs ``python -m hub.pi_setup --config FILE`` on a Pi. It:

- writes the ``pwm-2chan`` (or ``pwm``) overlay for the lights on GPIO12/13/18/19, the
  ``w1-gpio`` overlay when a heat pad has a temperature sensor, and
  ``dtparam=strict_gpiod`` into a marked block of ``/boot/firmware/config.txt`` (a backup
  first; running it again changes nothing) and says that a reboot is needed;
- writes a udev rule that gives the ``gpio`` group the pwmchip's ``export``/``unexport`` and
  each exported channel's files (the kernel makes them root-only);
- writes a systemd drop-in with ``ReadWritePaths=`` for the PWM chip only, as
  ``ProtectKernelTunables=yes`` makes ``/sys`` read-only for the service.

Every function takes paths, so tests run on temp files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hardware.kernel_pwm import HARDWARE_PWM_CHANNEL, PWM_FUNC
from hardware.pins import is_raspberry_pi, normalize_pin

from .config.errors import ConfigError
from .config.model import Config, load_config

BOOT_CONFIG = Path("/boot/firmware/config.txt")
UDEV_RULE = Path("/etc/udev/rules.d/60-massage-hub-pwm.rules")
UNIT_DROPIN = Path("/etc/systemd/system/massage-hub.service.d/pwm.conf")
BEGIN = "# --- massage-hub: begin (setup.sh --install writes this block; edit hub.yaml instead)"
END = "# --- massage-hub: end"
#: where dtoverlay=w1-gpio puts the 1-wire bus by default (header pin 7)
W1_GPIO = 4
#: the PWM block's sysfs node on a Pi 1-4 and Zero (bcm2835-pwm at 0x7e20c000)
PWM_SYSFS_CHIP = "/sys/class/pwm/pwmchip0"
#: GPIO18/13 is where a Zero's PWM (analogue) audio goes (dtoverlay=audremap), and GPIO18 is
#: I2S's bit clock: audio there and a light there cannot both work
AUDIO_PWM_PINS = {12: "PWM audio (audremap)", 13: "PWM audio (audremap)",
                  18: "PWM audio (audremap) and I2S's clock (PCM_CLK)",
                  19: "I2S's frame clock (PCM_FS)"}  # fmt: skip


@dataclass(frozen=True)
class PwmPlan:
    """Which light drives which hardware PWM channel, and which lights dim in software."""

    channels: dict[int, tuple[str, int]]  # channel -> (light id, BCM gpio)
    software: dict[str, str]  # light id -> why it is dimmed in software

    def overlay(self) -> str | None:
        """Return the ``dtoverlay=`` line for the channels in use, or None."""
        if not self.channels:
            return None
        if len(self.channels) == 1:
            (_, gpio), *_ = self.channels.values()
            return f"dtoverlay=pwm,pin={gpio},func={PWM_FUNC[gpio]}"
        a, b = self.channels[0][1], self.channels[1][1]
        return f"dtoverlay=pwm-2chan,pin={a},func={PWM_FUNC[a]},pin2={b},func2={PWM_FUNC[b]}"


def plan_pwm(config: Config) -> PwmPlan:
    """Assign the configured lights to hardware PWM channels, in config order."""
    channels: dict[int, tuple[str, int]] = {}
    software: dict[str, str] = {}
    for lid, light in config.lights.items():
        gpio = int(normalize_pin(light.pin)[4:])
        channel = HARDWARE_PWM_CHANNEL.get(gpio)
        if channel is None:
            software[lid] = (
                f"GPIO{gpio} has no hardware PWM: it dims on lgpio's software PWM, which may "
                "flicker and cannot go below 1 % duty; move it to GPIO12, 13, 18 or 19"
            )
        elif channel in channels:
            other, other_gpio = channels[channel]
            software[lid] = (
                f"GPIO{gpio} is on hardware PWM channel {channel}, already driven by light "
                f"{other!r} on GPIO{other_gpio}: it dims in software; use "
                f"{' or '.join(f'GPIO{g}' for g, c in HARDWARE_PWM_CHANNEL.items() if c != channel)}"
            )
        else:
            channels[channel] = (lid, gpio)
    return PwmPlan(channels, software)


def audio_clashes(config: Config, plan: PwmPlan) -> list[str]:
    """Return why the configured audio output and the light pins cannot share the Pi."""
    device = (config.speaker.device or "").lower()
    if not config.speaker.enabled or config.speaker.output == "none":
        return []
    out = []
    analogue = "headphones" in device or "bcm2835" in device
    i2s = any(word in device for word in ("i2s", "hifiberry", "dac", "iqaudio"))
    for _, (lid, gpio) in sorted(plan.channels.items()):
        if analogue and gpio in (12, 13, 18):
            out.append(
                f"speaker.device {config.speaker.device!r} is analogue (PWM) audio, which a Pi "
                f"Zero 2 W can only have on GPIO18/13 (audremap): it clashes with light {lid!r} "
                f"on GPIO{gpio}. Use HDMI, a USB sound card or Bluetooth (hardware/README.md)"
            )
        if i2s and gpio in (18, 19):
            out.append(
                f"speaker.device {config.speaker.device!r} looks like an I2S DAC, whose clocks "
                f"use GPIO18/19: it clashes with light {lid!r} on GPIO{gpio}; move the light "
                "to GPIO12 or 13"
            )
    if analogue and is_raspberry_pi() and not Path("/proc/asound/Headphones").exists():
        out.append(
            f"speaker.device {config.speaker.device!r}: this board has no Headphones card "
            "(a Pi Zero 2 W has no jack); use 'default', an HDMI or a USB device"
        )
    return out


def wants_one_wire(config: Config) -> bool:
    """Return True when a heat pad has a temperature sensor (the 1-wire bus must be on)."""
    return any(pad.sensor is not None for pad in config.heat_pads.values())


def one_wire_clashes(config: Config) -> list[str]:
    """Return why a configured pin cannot share GPIO4 with the pads' 1-wire sensors."""
    if not wants_one_wire(config):
        return []
    pins = {f"lights.{lid}": light.pin for lid, light in config.lights.items()}
    pins.update({f"heat_pads.{pid}": pad.pin for pid, pad in config.heat_pads.items()})
    if config.diffuser is not None:
        pins["diffuser"] = config.diffuser.pin
    if config.button is not None:
        pins["button"] = config.button.pin
    return [
        f"{where}.pin is GPIO{W1_GPIO}, the pads' 1-wire sensor pin (dtoverlay=w1-gpio): "
        "move it to another pin"
        for where, pin in pins.items()
        if normalize_pin(pin) == f"GPIO{W1_GPIO}"
    ]


def block(plan: PwmPlan, one_wire: bool = False) -> list[str]:
    """Return the lines of the config.txt block for ``plan`` (inside ``[all]``)."""
    lines = [BEGIN, "[all]"]
    overlay = plan.overlay()
    if overlay:
        lines.append(f"{overlay}   # lights on the kernel's hardware PWM")
    if one_wire:
        lines.append(f"dtoverlay=w1-gpio   # heat pads' DS18B20 sensors on GPIO{W1_GPIO}")
    # a released GPIO goes back to an input (its pull) instead of staying driven: if the
    # service dies, a heat pad's relay drops at once, before ExecStopPost's all-off runs
    lines.append("dtparam=strict_gpiod")
    lines.append(END)
    return lines


def edit_config_txt(text: str, plan: PwmPlan, one_wire: bool = False) -> str:
    """Return config.txt's text with the massage-hub block replaced or appended."""
    lines = text.splitlines()
    if BEGIN in lines and END in lines[lines.index(BEGIN) :]:
        start = lines.index(BEGIN)
        end = start + lines[start:].index(END)
        lines[start : end + 1] = block(plan, one_wire)
    else:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ([""] if lines else []) + block(plan, one_wire)
    return "\n".join(lines) + "\n"


def write_config_txt(path: Path, plan: PwmPlan, one_wire: bool = False) -> bool:
    """Write the block into ``path`` (backup first); return True if it changed."""
    old = path.read_text() if path.exists() else ""
    new = edit_config_txt(old, plan, one_wire)
    if new == old:
        return False
    if path.exists():
        backup = path.with_name(f"{path.name}.massage-hub-{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(path, backup)
    tmp = path.with_name(f".{path.name}.massage-hub.tmp")
    tmp.write_text(new)
    tmp.replace(path)
    return True


def udev_rule(group: str = "gpio") -> str:
    """Return the udev rule that lets ``group`` export and drive the PWM channels."""
    return (
        "# massage-hub (setup.sh --install): the lights' hardware PWM for the gpio group.\n"
        "# The kernel makes /sys/class/pwm root-only. Matches the chip (export, unexport)\n"
        "# and each channel the service exports (period, duty_cycle, enable).\n"
        f'SUBSYSTEM=="pwm*", ACTION=="add", PROGRAM="/bin/sh -c \'chgrp -R {group} /sys%p '
        "&& chmod -R g+w /sys%p'\"\n"
    )


def unit_dropin(plan: PwmPlan, chip: str = PWM_SYSFS_CHIP) -> str:
    """Return the service's drop-in: write access to the PWM chip it drives, nothing else."""
    lines = [
        "# massage-hub (setup.sh --install): the lights' hardware PWM.",
        "# ProtectKernelTunables=yes makes /sys read-only; the PWM chip stays writable: its",
        "# export and unexport, and the pwmN/ channels the service exports after it started",
        "# (a file-by-file list cannot name files that do not exist yet).",
        "[Service]",
    ]
    lines.append(f"ReadWritePaths=-{chip}" if plan.channels else "# no light on hardware PWM")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Apply what the configured room needs to this Pi's boot config, udev and unit."""
    p = argparse.ArgumentParser(prog="python -m hub.pi_setup", description=__doc__)
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--boot-config", type=Path, default=BOOT_CONFIG)
    p.add_argument("--udev-rule", type=Path, default=UDEV_RULE)
    p.add_argument("--unit-dropin", type=Path, default=UNIT_DROPIN)
    args = p.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{exc}", file=sys.stderr)
        return 1
    plan = plan_pwm(config)
    for lid, why in plan.software.items():
        print(f"warning: light {lid!r}: {why}")
    one_wire = wants_one_wire(config)
    for why in one_wire_clashes(config):
        print(f"warning: {why}")
    if not args.boot_config.parent.is_dir():
        print(f"{args.boot_config.parent} is missing: is this a Raspberry Pi? nothing changed")
        return 1
    if write_config_txt(args.boot_config, plan, one_wire):
        w1 = ", w1-gpio" if one_wire else ""
        print(
            f"changed {args.boot_config} ({plan.overlay() or 'no PWM overlay'}{w1}, strict_gpiod)"
        )
        print("REBOOT NEEDED: the overlays and strict_gpiod apply after 'sudo reboot'")
    else:
        print(f"{args.boot_config} already has what the lights and sensors need")
    for path, text in ((args.udev_rule, udev_rule()), (args.unit_dropin, unit_dropin(plan))):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
