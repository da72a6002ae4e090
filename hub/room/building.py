"""Build the room's parts from the config: lights, diffuser, heat pads, speaker, button."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware import (
    Diffuser,
    DimmableLight,
    HeatPad,
    PinMirror,
    Reading,
    Room,
    SilentSpeaker,
    WallButton,
    normalize_pin,
)
from hardware.kernel_pwm import SYSFS_PWM, KernelPWM, KernelPWMError, hardware_pwm_channel
from hardware.pins import SIM_STATE_FILE, SimFactory
from hardware.speaker import find_playlists

from ..config.model import Config, LightConfig
from ..engine.clock import Clock
from .safety import HeatGuard, Ledger, PadLimits
from .thermostat import Thermostat

log = logging.getLogger(__name__)


def build_speaker(config: Config) -> Any:
    """Make the speaker: libvlc when available, else a silent one (with a warning)."""
    if not config.speaker.enabled:
        return None
    music_dir = config.path(config.speaker.music_dir)
    if config.speaker.output != "none":
        from hardware.libvlc import vlc_available  # libvlc loads lazily
        from hardware.vlc_speaker import VlcSpeaker

        ok, why = vlc_available()
        if ok:
            try:
                return VlcSpeaker(
                    music_dir,
                    max_volume=config.speaker.max_volume,
                    output=config.speaker.output,
                    device=config.speaker.device,
                    afile_path=(
                        config.path(config.speaker.afile_path)
                        if config.speaker.afile_path
                        else None
                    ),
                )
            except Exception as exc:
                why = f"libvlc could not open output {config.speaker.output!r} ({exc})"
        log.warning("no audio: %s; the speaker is silent, everything else works", why)
    return SilentSpeaker(playlists=find_playlists(music_dir), max_volume=config.speaker.max_volume)


#: gpiozero 2.0.1 hands lgpio whole percent (gpiozero#1209): its smallest duty above 0 is 1 %
LGPIO_DUTY_STEP = 0.01


def build_lights(
    config: Config,
    pin_factory: Any,
    warnings: list[str],
    *,
    backend: str,
    pwm_root: Path = SYSFS_PWM,
    pwm_chip: int = 0,
) -> dict[str, DimmableLight]:
    """Make the lights: kernel hardware PWM where the pin has it, lgpio (with a warning) elsewhere.

    On simulated pins every light is a gpiozero ``PWMLED`` on the mock factory, as before.
    """
    lights: dict[str, DimmableLight] = {}
    used: dict[int, str] = {}
    try:
        for lid, lc in config.lights.items():
            if backend == "mock":
                lights[lid] = DimmableLight(
                    lc.pin,
                    gamma=lc.gamma,
                    min_duty=lc.min_duty,
                    frequency=lc.frequency,
                    active_high=lc.active_high,
                    pin_factory=pin_factory,
                )
            else:
                lights[lid] = _build_light(lid, lc, pin_factory, warnings, used, pwm_root, pwm_chip)
    except BaseException:
        for light in lights.values():
            light.close()
        raise
    return lights


def _build_light(
    lid: str,
    lc: LightConfig,
    f: Any,
    warnings: list[str],
    used: dict[int, str],
    pwm_root: Path,
    pwm_chip: int,
) -> DimmableLight:
    common: dict[str, Any] = {"gamma": lc.gamma, "min_duty": lc.min_duty}
    gpio = int(normalize_pin(lc.pin)[4:])
    channel = hardware_pwm_channel(gpio)
    why = f"GPIO{gpio} has no hardware PWM (use GPIO12, 13, 18 or 19)"
    if channel is not None and channel in used:
        why = f"GPIO{gpio} shares hardware PWM channel {channel} with light {used[channel]!r}"
    elif channel is not None:
        try:
            output = KernelPWM(
                pwm_chip,
                channel,
                frequency=lc.frequency,
                active_high=lc.active_high,
                root=pwm_root,
            )
        except KernelPWMError as exc:
            why = str(exc)
        else:
            used[channel] = lid
            log.info("light %s: GPIO%d on hardware PWM %s", lid, gpio, output.dir)
            return DimmableLight(lc.pin, output=output, **common)
    message = (
        f"light {lid!r} dims in software on lgpio: {why}. It may flicker, and its "
        f"dimmest level is {LGPIO_DUTY_STEP:.0%} duty (not {lc.min_duty:.1%})"
    )
    log.warning("%s", message)
    warnings.append(message)
    return DimmableLight(
        lc.pin,
        frequency=lc.frequency,
        active_high=lc.active_high,
        pin_factory=f,
        duty_step=LGPIO_DUTY_STEP,
        **common,
    )


class MissingSensor:
    """A configured sensor that is not there: its pad stays off, and the page says why."""

    def __init__(self, sensor_id: str, why: str, clock: Callable[[], float]) -> None:
        self.sensor_id = sensor_id
        self._why = why
        self._clock = clock

    def latest(self) -> Reading:
        """Return the set-up problem as a failed reading, now: why, never a temperature."""
        return Reading(None, self._clock(), self._why)

    def close(self) -> None:
        """Nothing to stop."""


#: with a sensor, every level runs the relay fully until the level's temperature
SENSOR_DUTY = {"low": 1.0, "medium": 1.0, "high": 1.0}


def build_thermometers(
    config: Config,
    pads: dict[str, HeatPad],
    clock: Callable[[], float],
    warnings: list[str],
    *,
    backend: str,
) -> dict[str, Any]:
    """Make a sensor for each pad that has one: simulated (a thermal model) off a Pi."""
    out: dict[str, Any] = {}
    sensed = {pid: pc for pid, pc in config.heat_pads.items() if pc.sensor is not None}
    if not sensed:
        return out
    # w1thermsensor loads only when a pad has a sensor
    from hardware.thermometer import (
        SimThermometer,
        ThermalModel,
        ThermometerError,
        W1Thermometer,
    )

    kind = config.hardware.sensors
    if kind == "auto":
        kind = "simulated" if backend == "mock" else "w1"
    for pid, pc in sensed.items():
        assert pc.sensor is not None
        if kind == "simulated":
            model = ThermalModel()
            pads[pid].relay_listeners.append(model.relay)
            out[pid] = SimThermometer(model, clock)
            continue
        try:
            thermometer = W1Thermometer(
                pc.sensor, root=config.path(config.hardware.w1_devices), clock=clock
            )
        except ThermometerError as exc:
            # the page gets the words; the log gets the detail (ids, folders) as well
            name = config.device_name(pid)
            log.warning("%s stays off: its temperature sensor is missing (%s)", name, exc)
            warnings.append(
                f"{name} stays off: its temperature sensor was not found when the hub "
                "started (the log says more)"
            )
            out[pid] = MissingSensor(pc.sensor, "it was not found when the hub started", clock)
            continue
        thermometer.start()
        out[pid] = thermometer
    return out


def build_room(
    config: Config,
    pin_factory: Any,
    speaker: Any,
    *,
    on_press: Callable[[], None],
    on_hold: Callable[[], None],
    backend: str | None = None,
    warnings: list[str] | None = None,
    pwm_root: Path = SYSFS_PWM,
    clock: Callable[[], float] = time.monotonic,
) -> Room:
    """Make every part on ``pin_factory``; ``speaker="auto"`` builds one from the config.

    What the room cannot do as well as it should (a light dimmed in software) is appended
    to ``warnings`` for the log and the UI.
    """
    c = config
    f = pin_factory
    warnings = warnings if warnings is not None else []
    if backend is None:
        backend = "mock" if isinstance(f, MockFactory) else "gpio"
    lights = build_lights(c, f, warnings, backend=backend, pwm_root=pwm_root)
    diffuser = None
    if c.diffuser is not None:
        diffuser = Diffuser(
            c.diffuser.pin,
            on_seconds=c.diffuser.on_seconds,
            off_seconds=c.diffuser.off_seconds,
            active_high=c.diffuser.active_high,
            pin_factory=f,
        )
    pads = {
        pid: HeatPad(
            pc.pin,
            cycle_seconds=pc.cycle_seconds,
            min_switch_seconds=pc.min_switch_seconds,
            duty=SENSOR_DUTY if pc.sensor is not None else None,
            active_high=pc.active_high,
            pin_factory=f,
        )
        for pid, pc in c.heat_pads.items()
    }
    thermometers = build_thermometers(c, pads, clock, warnings, backend=backend)
    button = None
    if c.button is not None:
        button = WallButton(
            c.button.pin,
            hold_seconds=c.button.hold_seconds,
            on_press=on_press,
            on_hold=on_hold,
            pin_factory=f,
        )
    if speaker == "auto":
        speaker = build_speaker(c)
    return Room(
        lights=lights,
        diffuser=diffuser,
        heat_pads=pads,
        speaker=speaker,
        button=button,
        thermometers=thermometers,
    )


def build_guard(config: Config, room: Room, ledger: Ledger, clock: Clock) -> HeatGuard:
    """Make the heat guard over the room's pads, with their limits and the ledger."""
    return HeatGuard(
        room.heat_pads,
        {
            pid: PadLimits(
                max_on=c.max_on_minutes * 60,
                cooldown=c.cooldown_minutes * 60,
                manual_timeout=c.manual_timeout_minutes * 60,
            )
            for pid, c in config.heat_pads.items()
        },
        ledger=ledger,
        stamp=lambda: (clock.boot_id(), clock.monotonic(), clock.now().timestamp()),
        thermostats={
            pid: Thermostat(
                config.device_name(pid),
                room.thermometers[pid],
                max_celsius=c.max_celsius,
                targets=c.targets.model_dump(),
                started=clock.monotonic(),
            )
            for pid, c in config.heat_pads.items()
            if pid in room.thermometers
        },
    )


def build_mirror(
    config: Config, pin_factory: Any, on_external_off: Callable[[], None]
) -> PinMirror | None:
    """Mirror simulated pins to ``data_dir/sim-pins.json`` (None on real pins)."""
    if not isinstance(pin_factory, SimFactory):
        return None
    mirror = PinMirror(
        config.data_path / SIM_STATE_FILE,
        [normalize_pin(p) for p in config.pins().values()],
        on_external_off=on_external_off,
    )
    mirror.attach(pin_factory)
    return mirror
