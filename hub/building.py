"""Build the room's parts from the config: lights, diffuser, heat pads, speaker, button."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hardware import (
    Diffuser,
    DimmableLight,
    HeatPad,
    PinMirror,
    Room,
    SilentSpeaker,
    WallButton,
    normalize_pin,
)
from hardware.pins import SIM_STATE_FILE, SimFactory
from hardware.speaker import find_playlists

from .clock import Clock
from .config import Config
from .safety import HeatGuard, Ledger, PadLimits

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


def build_room(
    config: Config,
    pin_factory: Any,
    speaker: Any,
    *,
    on_press: Callable[[], None],
    on_hold: Callable[[], None],
) -> Room:
    """Make every part on ``pin_factory``; ``speaker="auto"`` builds one from the config."""
    c = config
    f = pin_factory
    lights = {
        lid: DimmableLight(
            lc.pin,
            gamma=lc.gamma,
            min_duty=lc.min_duty,
            frequency=lc.frequency,
            active_high=lc.active_high,
            pin_factory=f,
        )
        for lid, lc in c.lights.items()
    }
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
            active_high=pc.active_high,
            pin_factory=f,
        )
        for pid, pc in c.heat_pads.items()
    }
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
    return Room(lights=lights, diffuser=diffuser, heat_pads=pads, speaker=speaker, button=button)


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
