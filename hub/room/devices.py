"""Device commands and device state: lights, the diffuser, heat pads (through the guard), music.

Every change to a part goes through here; heat goes further, through the safety guard.
The hub lock is held by the caller (``hub.devices`` and the other controllers, or the control loop).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hardware import Room

from ..command_models import (
    DEVICE_COMMANDS,
    Command,
    DiffuserCommand,
    HeatPadCommand,
    LightCommand,
    SpeakerCommand,
    parse,
)
from ..config.model import Config
from ..engine.event_types import DeviceChanged, Emit, FadeProgress, SafetyTripped
from ..errors import InvalidCommand, NotFound, Unavailable, attempt
from ..facts import DeviceKind, DiffuserMode, HeatLevel
from ..people.limits import LimitKeeper, heat_rank
from ..scenes.scene import Scene
from .energy import EnergyMeter
from .fader import Fader
from .safety import HeatGuard

log = logging.getLogger(__name__)

MUSIC_RAMP = 2.0  # seconds: music started or resumed by hand ramps up from silence


@dataclass(frozen=True)
class DeviceInfo:
    """An output device as adapters see it."""

    id: str
    kind: DeviceKind
    name: str


class DeviceController:
    """Change and describe the room's devices."""

    def __init__(
        self, config: Config, room: Room, guard: HeatGuard, emit: Emit, tick: float
    ) -> None:
        self.config = config
        self.room = room
        self.guard = guard
        self._emit = emit
        self.fader = Fader(self._read, self._write, self._progress, tick)
        self._last_on_level: dict[str, float] = {lid: 1.0 for lid in room.lights}
        self._listen_volume = 30.0  # where music ramps to when started without a volume
        #: the session's people's limits (set by the hub); volume and aroma are held here
        self.limits: LimitKeeper | None = None
        #: the room's energy meter (set by the hub): told of every light's write
        self.energy: EnergyMeter | None = None

    # --- the parts, for the fader -------------------------------------------------------------

    def _read(self, device: str, attr: str) -> float:
        return float(getattr(self.room.devices()[device], attr))

    def _write(self, device: str, attr: str, value: float) -> None:
        part = self.room.devices()[device]
        if attr == "level":
            part.level = value
            if self.energy is not None:  # every write, so its integral is exact
                self.energy.light_written(device)
        elif attr == "volume":
            if self.limits is not None:  # every volume the fader writes, whatever set it going
                value = self.limits.volume(device, value, quiet=True)
            part.volume = value

    def _volume_to(self, sid: str, target: float, fade: float, now: float) -> None:
        """Fade the speaker's volume to ``target``, or to the people's cap if lower."""
        if self.limits is not None:
            target = self.limits.volume(sid, target)
        self.fader.start(sid, "volume", target, fade, now)

    def _aroma(self, mode: str, *, refuse: bool) -> str:
        return self.limits.diffuser(mode, refuse=refuse) if self.limits is not None else mode

    def _progress(self, fading: bool) -> None:
        self._emit(FadeProgress(fading=fading))

    # --- queries ------------------------------------------------------------------------------

    def name(self, did: str) -> str:
        """A device's display name (from the config, else from its id)."""
        return self.config.device_name(did)

    def info(self) -> list[DeviceInfo]:
        """Every output device, in the room's order."""
        return [
            DeviceInfo(did, DeviceKind(part.kind), self.name(did))
            for did, part in self.room.devices().items()
        ]

    def playlists(self) -> list[str]:
        """The playlists in the music folder (none without a speaker)."""
        speaker = self.room.speaker
        return list(speaker.playlists()) if speaker is not None else []

    @property
    def speaker_id(self) -> str | None:
        """The speaker's device id, or None without a speaker."""
        return self.room.speaker_id if self.room.speaker is not None else None

    def states(self, now: float) -> dict[str, Any]:
        """Every device's state for the API, with its name and where it fades to."""
        return {did: self._state(did, part, now) for did, part in self.room.devices().items()}

    def state(self, did: str, now: float) -> dict[str, Any]:
        """One device's state, as in :meth:`states` (raise KeyError for no such device)."""
        return self._state(did, self.room.devices()[did], now)

    def _state(self, did: str, part: Any, now: float) -> dict[str, Any]:
        st = self.guard.pad_state(did, now) if did in self.room.heat_pads else part.state()
        st["name"] = self.name(did)
        note = self.limits.note(did) if self.limits is not None else None
        if note is not None:
            st["limit"] = note
        if did == self.room.speaker_id and did not in self.room.lights:
            st["playlists"] = part.playlists()
        for attr, target in self.fader.targets(did).items():
            st["fading_to"] = {attr: round(target, 4)}
        return st

    # --- commands -----------------------------------------------------------------------------

    def set(
        self, device_id: Any, changes: Any, owner: str, now: float, *, seconds: float | None = None
    ) -> dict[str, Any]:
        """Change one device by a dict or a parsed command model; return the changes made.

        ``seconds`` is how long a pad's heat may last (default: its own minutes, else the
        pad's manual timeout). Raises HubError, changing nothing."""
        devices = self.room.devices()
        if not isinstance(device_id, str) or device_id not in devices:
            raise NotFound(f"no device called {device_id!r} (devices: {', '.join(devices)})")
        model = DEVICE_COMMANDS[devices[device_id].kind]
        if isinstance(changes, Command):
            if not isinstance(changes, model):
                raise InvalidCommand(
                    f"{device_id} takes a {model.__name__}, not a {type(changes).__name__}"
                )
            cmd: Command = changes
        else:
            cmd = parse(model, changes)
        if not cmd.model_dump(exclude_unset=True):
            raise InvalidCommand(
                f"nothing to change; send one of {', '.join(type(cmd).model_fields)}"
            )
        if isinstance(cmd, LightCommand):
            self._set_light(device_id, cmd, now)
        elif isinstance(cmd, DiffuserCommand):
            self._set_diffuser(cmd, now)
        elif isinstance(cmd, HeatPadCommand):
            self._set_pad(device_id, cmd, now, owner, seconds)
        elif isinstance(cmd, SpeakerCommand):
            self._set_speaker(device_id, cmd, now)
        changed = cmd.model_dump(exclude_unset=True)
        self._emit(DeviceChanged(device=device_id, changes=changed))
        return changed

    def _set_light(self, lid: str, cmd: LightCommand, now: float) -> None:
        if cmd.level is not None and cmd.on is not None:
            raise InvalidCommand("send either level or on, not both")
        if cmd.level is not None:
            target = cmd.level
        elif cmd.on is not None:
            target = self._last_on_level[lid] if cmd.on else 0.0
        else:
            raise InvalidCommand("send level (0 to 1) or on (true/false)")
        if target > 0:
            self._last_on_level[lid] = target
        self.fader.start(lid, "level", target, cmd.fade_seconds, now)

    def _set_diffuser(self, cmd: DiffuserCommand, now: float) -> None:
        if cmd.mode is not None and cmd.on is not None:
            raise InvalidCommand("send either mode or on, not both")
        diffuser = self.room.diffuser
        assert diffuser is not None
        if cmd.mode is not None:
            mode = cmd.mode
        elif cmd.on:
            # running: keep its mode
            mode = diffuser.mode if diffuser.mode != DiffuserMode.OFF else DiffuserMode.ON
        else:
            mode = DiffuserMode.OFF
        diffuser.set_mode(self._aroma(mode, refuse=True), now)

    def _set_pad(
        self, pid: str, cmd: HeatPadCommand, now: float, owner: str, seconds: float | None
    ) -> None:
        if cmd.clear_fault:
            if cmd.heat is not None or cmd.on is not None or cmd.minutes is not None:
                raise InvalidCommand("send clear_fault on its own, then the heat you want")
            if not self.guard.clear_fault(pid, now):
                raise InvalidCommand(f"{self.name(pid)} has no fault to clear")
            return
        if cmd.heat is not None and cmd.on is not None:
            raise InvalidCommand("send either heat or on, not both")
        if cmd.heat is None and cmd.on is None:
            raise InvalidCommand("send heat (off, low, medium or high)")
        heat = cmd.heat if cmd.heat is not None else (HeatLevel.MEDIUM if cmd.on else HeatLevel.OFF)
        limits = self.guard.limits[pid]
        if seconds is None:
            seconds = cmd.minutes * 60 if cmd.minutes is not None else limits.manual_timeout
        self.guard.validate(pid, heat, now, owner=owner, seconds=seconds)
        if not self.guard.set(pid, heat, now, owner=owner, seconds=seconds):
            if self.guard.refusal.get(pid) == "ledger":
                raise Unavailable(
                    f"{pid} stays off: the hub cannot record its on-time on disk; "
                    "check the disk, then try again"
                )
            raise Unavailable(f"{pid} stays off: its relay output failed (see the log)")

    def _set_speaker(self, sid: str, cmd: SpeakerCommand, now: float) -> None:
        speaker = self.room.speaker
        if cmd.playlist is not None and cmd.playlist not in speaker.playlists():
            have = ", ".join(speaker.playlists()) or "none"
            raise InvalidCommand(f"no playlist called {cmd.playlist!r} (playlists: {have})")
        was_playing = speaker.playing
        if not was_playing and (cmd.playlist is not None or cmd.playing is True):
            speaker.volume = 0  # start muted and ramp up below: never blast
        if cmd.playlist is not None:
            speaker.play(cmd.playlist)
        if cmd.playing is True and cmd.playlist is None:
            if speaker.state().get("paused"):
                speaker.resume()
            else:
                speaker.play(None)
        elif cmd.playing is False:
            speaker.pause()
        if cmd.next:
            speaker.next_track()
        if cmd.stop:
            speaker.stop()
        if cmd.volume is not None and cmd.volume > 0:
            self._listen_volume = cmd.volume
        if speaker.playing and not was_playing:
            target = cmd.volume if cmd.volume is not None else self._listen_volume
            self._volume_to(sid, target, max(cmd.fade_seconds, MUSIC_RAMP), now)
        elif cmd.volume is not None:
            self._volume_to(sid, cmd.volume, cmd.fade_seconds, now)

    def speaker_moved_on(self, state: dict[str, Any]) -> None:
        """Tell listeners that the speaker moved on by itself (next track, or gave up)."""
        changes = {k: state.get(k) for k in ("playlist", "track", "playing")}
        self._emit(DeviceChanged(device=self.room.speaker_id, changes=changes))

    def release_heat(self, owner: str, now: float) -> list[str]:
        """Switch off every pad that ``owner`` holds; return their ids."""
        held = [pid for pid, st in self.guard.states.items() if st.owner == owner]
        self.guard.release(owner, now)
        for pid in held:
            self._emit(DeviceChanged(device=pid, changes={"heat": HeatLevel.OFF}))
        return held

    def hold_to_limits(self, now: float) -> None:
        """Bring outputs already past the people's limits down to them (a session starts)."""
        people = self.limits.people if self.limits is not None else None
        if people is None:
            return
        for pid, st in self.guard.states.items():
            if heat_rank(st.heat) > heat_rank(people.heat_cap(pid)[0]):
                left = (st.until - now) if st.until is not None else 1.0
                self.heat(pid, st.heat, now, owner=st.owner or "manual", seconds=max(1.0, left))
        if self.room.diffuser is not None:
            self.set_diffuser(self.room.diffuser.mode, now)
        if self.room.speaker is not None:
            sid = self.room.speaker_id
            target = self.fader.target(sid, "volume")
            loudest = max(self.room.speaker.volume, target if target is not None else 0.0)
            if people.volume_cap()[0] < loudest:
                self._volume_to(sid, loudest, 0, now)

    def all_off(self, now: float) -> None:
        """Everything off now: fades dropped, heat first."""
        self.fader.clear()
        self.guard.all_off(now)
        attempt("switching the room off", self.room.all_off)
        if self.energy is not None:
            self.energy.lights_written()

    # --- what scenes and sessions do ------------------------------------------------------

    def heat(self, pid: str, heat: str, now: float, *, owner: str, seconds: float) -> bool:
        """Set a pad's heat through the guard; a refusal is an event, not an error."""
        if self.guard.set(pid, heat, now, owner=owner, seconds=seconds):
            return True
        reason = self.guard.refusal.get(pid, "cooling_down")
        self._emit(SafetyTripped(device=pid, reason=reason))
        return False

    def apply_scene(
        self,
        scene: Scene,
        now: float,
        *,
        fade: float,
        owner: str,
        heat_seconds: float | None,
        music: bool,
        lights: bool = True,
    ) -> dict[str, str]:
        """Set the room as ``scene`` says; return the heat level it asked of each pad."""
        if lights:
            for lid, level in scene.light_levels(list(self.room.lights)).items():
                if level > 0:
                    self._last_on_level[lid] = level
                self.fader.start(lid, "level", level, fade, now)
        self.set_diffuser(scene.diffuser, now)
        asked = scene.heat_levels(self.guard.pad_ids)
        for pid, heat in asked.items():
            limits = self.guard.limits[pid]
            seconds = heat_seconds if heat_seconds is not None else limits.manual_timeout
            self.heat(pid, heat, now, owner=owner, seconds=min(seconds, limits.max_on))
        if music and self.room.speaker is not None:
            # music is never a reason for a scene or session not to go on
            attempt(f"music for scene {scene.id}", lambda: self._scene_music(scene, fade, now))
        return asked

    def _scene_music(self, scene: Scene, fade: float, now: float) -> None:
        speaker = self.room.speaker
        sid = self.room.speaker_id
        if scene.playlist and scene.volume > 0 and scene.playlist in speaker.playlists():
            if not speaker.playing:
                speaker.volume = 0
            speaker.play(scene.playlist)
            self._listen_volume = scene.volume
            self._volume_to(sid, scene.volume, fade, now)
        elif scene.volume == 0 or not scene.playlist:
            self.fader.start(sid, "volume", 0, fade, now)
        else:
            log.warning(
                "scene %s: no playlist called %r in the music folder; music unchanged",
                scene.id,
                scene.playlist,
            )

    def set_diffuser(self, mode: str, now: float) -> None:
        """Set the diffuser's mode (nothing without a diffuser)."""
        if self.room.diffuser is not None:
            self.room.diffuser.set_mode(self._aroma(mode, refuse=False), now)

    def fade_out(self, seconds: float, now: float) -> None:
        """Lights and music down to nothing over ``seconds``; the diffuser off now."""
        self.set_diffuser(DiffuserMode.OFF, now)
        for lid in self.room.lights:
            self.fader.start(lid, "level", 0.0, seconds, now)
        if self.room.speaker is not None:
            sid = self.room.speaker_id
            attempt(
                "fading the music out", lambda: self.fader.start(sid, "volume", 0.0, seconds, now)
            )

    def pause_music(self) -> None:
        """Pause the music, if any (a failing speaker is logged)."""
        if self.room.speaker is not None:
            attempt("pausing the music", self.room.speaker.pause)

    def resume_music(self, now: float) -> None:
        """Resume paused music softly, back to where it was heading."""
        if self.room.speaker is not None:
            attempt("resuming the music", lambda: self._resume_music(now))

    def _resume_music(self, now: float) -> None:
        speaker = self.room.speaker
        sid = self.room.speaker_id
        target = self.fader.target(sid, "volume")
        target = speaker.volume if target is None else target
        speaker.volume = 0  # come back softly, not at full volume at once
        speaker.resume()
        self._volume_to(sid, target, MUSIC_RAMP, now)

    def sound_cap(self) -> float | None:
        """The loudest a chime may be for the people present now (None: no one's cap)."""
        return self.limits.sound() if self.limits is not None else None

    def chime(self, loudest: float | None = None) -> None:
        """Sound the end chime, never louder than ``loudest`` (a failing speaker is logged)."""
        if self.room.speaker is not None:
            speaker = self.room.speaker
            attempt("the end chime", lambda: speaker.chime(loudest))

    def cue_chime(self) -> None:
        """Sound the soft cue chime, never louder than the people present allow."""
        if self.room.speaker is not None:
            speaker, loudest = self.room.speaker, self.sound_cap()
            attempt("the cue chime", lambda: speaker.cue_chime(loudest))

    def diffuser_step(self, now: float) -> float | None:
        """Run the diffuser's interval (telling listeners when it switches); return the next switch."""
        diffuser = self.room.diffuser
        if diffuser is None:
            return None
        was = diffuser.is_on
        deadline = diffuser.update(now)
        if diffuser.is_on != was:
            self._emit(DeviceChanged(device="diffuser", changes={"on": diffuser.is_on}))
        return deadline
