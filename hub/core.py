"""The Hub: one command surface, one lock, one event stream, one control loop.

Every entry point (web, MQTT, routines, the wall button, the CLI) calls these methods.
The control loop is a single daemon thread that sleeps until the next thing is due (a
fade tick, a diffuser or heat-pad switch, a safety limit, a session phase) or until a
command wakes it; with a fake clock, tests drive it through :meth:`Hub.advance`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware import (
    Diffuser,
    DimmableLight,
    HeatPad,
    PinMirror,
    Room,
    SilentSpeaker,
    WallButton,
    make_pin_factory,
    normalize_pin,
)
from hardware.pins import SIM_STATE_FILE, SimFactory
from hardware.speaker import find_playlists

from . import __version__
from .clock import Clock, RealClock
from .commands import (
    DEVICE_COMMANDS,
    DiffuserCommand,
    HeatPadCommand,
    LightCommand,
    SessionExtend,
    SessionStart,
    SpeakerCommand,
    parse,
)
from .config import Config
from .direct import write_record
from .errors import Conflict, InvalidCommand, NotFound, Unavailable
from .events import Event, EventBus
from .facts import DeviceKind, EventType
from .safety import OWNERS, HeatGuard, PadLimits
from .scenes import Scene, load_builtin_scenes, scene_errors, slug
from .sessions import PHASES, Session
from .store import Store

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.25  # seconds between progress events while something fades
MUSIC_RAMP = 2.0  # seconds: music started or resumed by hand ramps up from silence


@dataclass(frozen=True)
class DeviceInfo:
    """An output device as adapters see it."""

    id: str
    kind: DeviceKind
    name: str


@dataclass
class Fade:
    """A linear change of one device attribute in perceived units."""

    device: str
    attr: str
    start: float
    target: float
    t0: float
    duration: float

    @property
    def end(self) -> float:
        """When the fade reaches its target."""
        return self.t0 + self.duration

    def value_at(self, now: float) -> float:
        """The value at time ``now``."""
        if self.duration <= 0 or now >= self.end:
            return self.target
        x = max(0.0, (now - self.t0) / self.duration)
        return self.start + (self.target - self.start) * x


def _real(value: Any) -> bool:
    """True for a finite int or float (not a bool, string or NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def build_speaker(config: Config) -> Any:
    """Make the speaker: libvlc when available, else a silent one (with a warning)."""
    if not config.speaker.enabled:
        return None
    music_dir = config.path(config.speaker.music_dir)
    if config.speaker.output != "none":
        from hardware.vlc_speaker import VlcSpeaker, vlc_available  # libvlc loads lazily

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


class Hub:
    """Drive the room: sessions, scenes, devices and safety, behind one lock."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        pin_factory: Any = None,
        store: Store | None = None,
        speaker: Any = "auto",
        tick: float | None = None,
        mirror: bool = True,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or RealClock()
        self.zone = config.zone()
        self.lock = threading.RLock()
        self.events = EventBus()
        if pin_factory is None:
            pin_factory, self.backend = make_pin_factory(config.hardware.backend)
        else:
            self.backend = "mock" if isinstance(pin_factory, MockFactory) else "gpio"
        self.pin_factory = pin_factory
        # before any pin is claimed: all-off --direct must find them even if the config breaks
        write_record(config, self.backend)
        self.tick = tick if tick is not None else 1.0 / config.hardware.control_hz
        self.builtin_scenes = load_builtin_scenes(config.path(config.scenes_file))
        self.store = store or Store(config.data_path)
        self.room = self._build_room(speaker)
        if hasattr(self.room.speaker, "on_change"):
            self.room.speaker.on_change = self._speaker_changed  # next track, from its thread
        self.guard = HeatGuard(
            self.room.heat_pads,
            {
                pid: PadLimits(
                    max_on=c.max_on_minutes * 60,
                    cooldown=c.cooldown_minutes * 60,
                    manual_timeout=c.manual_timeout_minutes * 60,
                )
                for pid, c in config.heat_pads.items()
            },
            ledger=self.store,
            stamp=lambda: (
                self.clock.boot_id(),
                self.clock.monotonic(),
                self.clock.now().timestamp(),
            ),
        )
        self.session: Session | None = None
        self.last_session: dict[str, Any] | None = None
        self.interrupted: list[dict[str, Any]] = []
        self.state_providers: dict[str, Callable[[], Any]] = {}
        # name -> check for GET /healthz: a bool result decides readiness, others are shown
        self.health_checks: dict[str, Callable[[], Any]] = {}
        self._fades: dict[tuple[str, str], Fade] = {}
        self._last_on_level: dict[str, float] = {lid: 1.0 for lid in self.room.lights}
        self._listen_volume = 30.0  # where music ramps to when started without a volume
        self._last_progress = 0.0
        self._last_state: dict[str, Any] = {}
        self._safety_failed = False
        self._next_deadline: float | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._closed = False
        self.last_step = self.clock.monotonic()
        self.mirror: PinMirror | None = None
        if mirror and isinstance(pin_factory, SimFactory):
            self.mirror = PinMirror(
                config.data_path / SIM_STATE_FILE,
                [normalize_pin(p) for p in config.pins().values()],
                on_external_off=lambda: self.all_off(reason="external"),
            )
            self.mirror.attach(pin_factory)

    # --- construction -----------------------------------------------------------------------

    def _build_room(self, speaker: Any) -> Room:
        c = self.config
        f = self.pin_factory
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
                on_press=self._button_press,
                on_hold=lambda: self.all_off(reason="button"),
                pin_factory=f,
            )
        if speaker == "auto":
            speaker = build_speaker(c)
        return Room(
            lights=lights, diffuser=diffuser, heat_pads=pads, speaker=speaker, button=button
        )

    # --- life cycle -------------------------------------------------------------------------

    def start(self, *, run_loop: bool | None = None) -> None:
        """Switch everything off, note interrupted sessions, and start the control loop.

        The loop thread runs unless the clock is fake (tests then call :meth:`advance`).
        """
        with self.lock:
            self.room.all_off()
            for note in self.guard.restore(self.clock.monotonic()):
                log.warning("heat ledger: %s", note)
            self.guard.all_off(self.clock.monotonic())
            self.interrupted = self.store.mark_interrupted(self._wall_iso())
            for row in self.interrupted:
                log.warning(
                    "session %s (%s) was interrupted when the service stopped; outputs stay off",
                    row["id"],
                    row["scene"],
                )
            self._started = True
        if self.mirror is not None:
            self.mirror.start()
        if run_loop is None:
            run_loop = not getattr(self.clock, "fake", False)
        if run_loop:
            self._thread = threading.Thread(target=self._run, name="hub-control", daemon=True)
            self._thread.start()
        self._emit("hub", {"status": "started", "backend": self.backend})

    def close(self) -> None:
        """Switch everything off, stop the loop, and close the store (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True
        self.guard.emergency_off()  # heat first, before anything that might wait
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.room.button is not None:
            # outside the lock: closing joins the button's hold thread, which may want it
            self.room.button.close()
            self.room.button = None
        with self.lock:
            if self.session is not None:
                self._end_session("shutdown")
            self._fades.clear()
            self.guard.all_off(self.clock.monotonic())
            self.room.close()
        if self.mirror is not None:
            self.mirror.stop()
        self.store.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                deadline = self.step()
            except Exception:
                log.exception("control loop step failed; heat off")
                self.guard.emergency_off()
                self._heat_off_after_failure()
                deadline = self.clock.monotonic() + 1.0
            timeout = 1.0 if deadline is None else max(0.0, deadline - self.clock.monotonic())
            if timeout > 0:
                self._wake.wait(min(timeout, 1.0))
            self._wake.clear()

    def _heat_off_after_failure(self) -> None:
        """Bring the guard's record in line with the pads that emergency_off switched off."""
        try:
            with self.lock:
                self.guard.all_off(self.clock.monotonic())
                self._emit("safety", {"reason": "control_loop_error"})
        except Exception:
            log.exception("could not record the heat-off after a failed step")

    def advance(self, seconds: float) -> None:
        """Move a fake clock forward by ``seconds``, running everything due on the way."""
        clock = self.clock
        assert getattr(clock, "fake", False), "advance() needs a FakeClock"
        target = clock.monotonic() + seconds
        if self._next_deadline is None:
            self.step()
        stuck = 0
        while self._next_deadline is not None and self._next_deadline <= target:
            before = clock.monotonic()
            clock.set(max(self._next_deadline, before))  # type: ignore[attr-defined]
            self.step()
            # a step that keeps asking to run again "now" would hang the test: fail instead
            stuck = stuck + 1 if clock.monotonic() == before else 0
            if stuck > 10_000:
                raise RuntimeError(f"the control loop does not move past t={before}")
        clock.set(target)  # type: ignore[attr-defined]
        self.step()

    # --- the control loop ----------------------------------------------------------------------

    def step(self) -> float | None:
        """Run everything due now; return when the next step is due.

        Each part runs on its own: one that raises is logged and made safe (heat off, the
        session ended, the diffuser off) and the others still run, so no exception can
        leave the loop spinning or a pad on.
        """
        with self.lock:
            now = self.clock.monotonic()
            deadlines: list[float | None] = []
            self._safety_failed = False
            # safety first: nothing that fails below can keep a pad on past its limits
            deadlines.append(self._guarded_step("safety", self._safety_step, now))
            if self._fades:
                deadlines.append(self._guarded_step("fades", self._run_fades, now))
            if self.room.diffuser is not None:
                deadlines.append(self._guarded_step("diffuser", self.room.diffuser.update, now))
            deadlines.append(self._guarded_step("session", self._session_step, now))
            # a phase change may have just switched heat on: schedule its limits too
            deadlines.append(self._guarded_step("safety", self._safety_step, now))
            # after the session step: a phase change may have just started fades
            if self._fades:
                ends = min(f.end for f in self._fades.values())
                deadlines.append(min(now + self.tick, ends))
            due = [d for d in deadlines if d is not None]
            self._next_deadline = min(due) if due else None
            # a step whose safety check failed does not count as alive for the watchdog
            if not self._safety_failed:
                self.last_step = now
            return self._next_deadline

    def _guarded_step(
        self, part: str, run: Callable[[float], float | None], now: float
    ) -> float | None:
        try:
            return run(now)
        except Exception:
            log.exception("control step: %s failed; made safe, the loop goes on", part)
        self._safety_failed = self._safety_failed or part == "safety"
        self._try(f"making {part} safe", lambda: self._make_safe(part, now))
        return now + 1.0  # look again in a second, never at once (no spinning)

    def _make_safe(self, part: str, now: float) -> None:
        if part == "safety":
            self.guard.emergency_off()
            self.guard.all_off(now)
            self._emit("safety", {"reason": "control_loop_error"})
        elif part == "fades":
            self._fades.clear()
        elif part == "diffuser" and self.room.diffuser is not None:
            self.room.diffuser.set_mode("off", now)
        elif part == "session" and self.session is not None:
            self._end_session("error")

    def _try(self, what: str, run: Callable[[], Any]) -> bool:
        """Run ``run``; log and swallow its exception. Return True if it worked."""
        try:
            run()
        except Exception:
            log.exception("%s failed; going on without it", what)
            return False
        return True

    def _safety_step(self, now: float) -> float | None:
        tripped, deadline = self.guard.check(now)
        for pid in tripped:
            self._emit("safety", {"device": pid, "reason": "max_on"})
        return deadline

    def _run_fades(self, now: float) -> None:
        done = []
        for key, fade in self._fades.items():
            try:
                self._set_attr(fade.device, fade.attr, fade.value_at(now))
            except Exception:
                log.exception("fading %s.%s failed; the fade is dropped", *key)
                done.append(key)
                continue
            if now >= fade.end:
                done.append(key)
        for key in done:
            del self._fades[key]
        if done and not self._fades:
            self._emit("progress", {"fading": False})
        elif now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self._emit("progress", {"fading": True})

    def _set_attr(self, device: str, attr: str, value: float) -> None:
        part = self.room.devices()[device]
        if attr == "level":
            part.level = value
        elif attr == "volume":
            part.volume = value

    def _get_attr(self, device: str, attr: str) -> float:
        return float(getattr(self.room.devices()[device], attr))

    def _fade(self, device: str, attr: str, target: float, seconds: float, now: float) -> None:
        """Start fading ``device.attr`` to ``target``; a new fade replaces a running one."""
        self._fades.pop((device, attr), None)
        current = self._get_attr(device, attr)
        if seconds <= 0 or abs(current - target) < 1e-9:
            self._set_attr(device, attr, target)
            return
        self._fades[(device, attr)] = Fade(device, attr, current, target, now, seconds)
        self._last_progress = now

    def _kick(self) -> None:
        """Run a step now (in the loop thread, or inline with a fake clock)."""
        if self._thread is not None:
            self._wake.set()
        else:
            self.step()

    # --- read-only queries for adapters -----------------------------------------------------

    def device_info(self) -> list[DeviceInfo]:
        """Return every output device: id, kind and display name, in the room's order."""
        return [
            DeviceInfo(did, DeviceKind(part.kind), self._device_name(did))
            for did, part in self.room.devices().items()
        ]

    def playlists(self) -> list[str]:
        """Return the playlists in the music folder (none without a speaker)."""
        speaker = self.room.speaker
        return list(speaker.playlists()) if speaker is not None else []

    @property
    def speaker_id(self) -> str | None:
        """The speaker's device id, or None without a speaker."""
        return self.room.speaker_id if self.room.speaker is not None else None

    def publish(self, type_: EventType, data: dict[str, Any]) -> None:
        """Send an event about something a component changed (a routine, the watchdog)."""
        self._emit(type_, data)

    def wall_iso(self, at: datetime | None = None) -> str:
        """Return ``at`` (default now) as local ISO time, to the second."""
        return self._wall_iso(at)

    # --- events and state -------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Get every event; return a function that unsubscribes."""
        return self.events.subscribe(listener)

    def _emit(self, type_: str, data: dict[str, Any]) -> Event:
        with self.lock:
            try:
                self._last_state = self.state()
            except Exception:
                log.exception(
                    "building the state for a %s event failed; sending the last one", type_
                )
            return self.events.publish(type_, data, self._last_state)

    def _wall_iso(self, at: datetime | None = None) -> str:
        return (at or self.clock.now()).astimezone(self.zone).isoformat(timespec="seconds")

    def state(self) -> dict[str, Any]:
        """Return a snapshot of everything: devices, session, next routine, backend."""
        with self.lock:
            now = self.clock.monotonic()
            devices: dict[str, Any] = {}
            for did, part in self.room.devices().items():
                if did in self.room.heat_pads:
                    st = self.guard.pad_state(did, now)
                else:
                    st = part.state()
                st["name"] = self._device_name(did)
                if did == self.room.speaker_id and did not in self.room.lights:
                    st["playlists"] = part.playlists()
                for (fdev, attr), fade in self._fades.items():
                    if fdev == did:
                        st["fading_to"] = {attr: round(fade.target, 4)}
                devices[did] = st
            out: dict[str, Any] = {
                "devices": devices,
                "session": self.session.to_dict(now, self.zone) if self.session else None,
                "last_session": self.last_session,
                "next_routine": None,
                "backend": self.backend,
                "audio": getattr(self.room.speaker, "backend", None),
                "version": __version__,
                "time": self._wall_iso(),
                "interrupted_session": self.interrupted[-1] if self.interrupted else None,
            }
            for key, provider in self.state_providers.items():
                try:
                    out[key] = provider()
                except Exception:
                    log.exception("state provider %s failed", key)
            return out

    def _device_name(self, did: str) -> str:
        c = self.config
        if did in c.lights:
            return c.lights[did].name or did.replace("_", " ").capitalize()
        if did in c.heat_pads:
            return c.heat_pads[did].name or did.replace("_", " ").capitalize()
        if did == "diffuser" and c.diffuser is not None:
            return c.diffuser.name or "Diffuser"
        return did.capitalize()

    # --- devices ----------------------------------------------------------------------------

    def set_device(self, device_id: str, changes: Any, *, owner: str = "manual") -> dict[str, Any]:
        """Change one device (see the command models); return its new state."""
        with self.lock:
            devices = self.room.devices()
            if not isinstance(device_id, str) or device_id not in devices:
                raise NotFound(f"no device called {device_id!r} (devices: {', '.join(devices)})")
            part = devices[device_id]
            kind = part.kind
            cmd = parse(DEVICE_COMMANDS[kind], changes)
            if not cmd.model_dump(exclude_unset=True):
                raise InvalidCommand(
                    f"nothing to change; send one of {', '.join(type(cmd).model_fields)}"
                )
            now = self.clock.monotonic()
            if isinstance(cmd, LightCommand):
                self._set_light(device_id, cmd, now)
            elif isinstance(cmd, DiffuserCommand):
                self._set_diffuser(cmd, now)
            elif isinstance(cmd, HeatPadCommand):
                self._set_pad(device_id, cmd, now, owner)
                if self.session is not None:
                    self.session.heat_pads.discard(device_id)  # the user took it
            elif isinstance(cmd, SpeakerCommand):
                self._set_speaker(device_id, cmd, now)
            self._emit(
                "device", {"device": device_id, "changes": cmd.model_dump(exclude_unset=True)}
            )
            result = self.state()["devices"][device_id]
        self._kick()
        return result

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
        self._fade(lid, "level", target, cmd.fade_seconds, now)

    def _set_diffuser(self, cmd: DiffuserCommand, now: float) -> None:
        if cmd.mode is not None and cmd.on is not None:
            raise InvalidCommand("send either mode or on, not both")
        diffuser = self.room.diffuser
        assert diffuser is not None
        if cmd.mode is not None:
            mode = cmd.mode
        elif cmd.on:
            mode = diffuser.mode if diffuser.mode != "off" else "on"  # running: keep its mode
        else:
            mode = "off"
        diffuser.set_mode(mode, now)

    def _set_pad(self, pid: str, cmd: HeatPadCommand, now: float, owner: str) -> None:
        if cmd.heat is not None and cmd.on is not None:
            raise InvalidCommand("send either heat or on, not both")
        heat = cmd.heat if cmd.heat is not None else ("medium" if cmd.on else "off")
        if cmd.heat is None and cmd.on is None:
            raise InvalidCommand("send heat (off, low, medium or high)")
        limits = self.guard.limits[pid]
        seconds = cmd.minutes * 60 if cmd.minutes is not None else limits.manual_timeout
        self.guard.validate(pid, heat, now, owner=owner, seconds=seconds)
        if not self.guard.set(pid, heat, now, owner=owner, seconds=seconds):
            if self.guard.refusal.get(pid) == "ledger":
                raise Unavailable(
                    f"{pid} stays off: the hub cannot record its on-time on disk "
                    f"({self.store.path}); check the disk, then try again"
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
        if cmd.volume is not None and cmd.volume > 0:
            self._listen_volume = cmd.volume
        if speaker.playing and not was_playing:
            target = cmd.volume if cmd.volume is not None else self._listen_volume
            self._fade(sid, "volume", target, max(cmd.fade_seconds, MUSIC_RAMP), now)
        elif cmd.volume is not None:
            self._fade(sid, "volume", cmd.volume, cmd.fade_seconds, now)

    def _speaker_changed(self, state: dict[str, Any]) -> None:
        """Tell listeners that the speaker moved on by itself (next track, or gave up)."""
        # Runs on the speaker's thread; close() may hold the lock while it waits for that
        # thread, so never wait for the lock for long (the next state() shows the change).
        if not self.lock.acquire(timeout=2.0):
            return
        try:
            changes = {k: state.get(k) for k in ("playlist", "track", "playing")}
            self._emit("device", {"device": self.room.speaker_id, "changes": changes})
        finally:
            self.lock.release()

    def release_heat(self, owner: str) -> list[str]:
        """Switch off every pad that ``owner`` (a routine, say) holds; return their ids."""
        if owner not in OWNERS:
            raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(OWNERS)}")
        with self.lock:
            now = self.clock.monotonic()
            held = [pid for pid, st in self.guard.states.items() if st.owner == owner]
            self.guard.release(owner, now)
            for pid in held:
                self._emit("device", {"device": pid, "changes": {"heat": "off"}})
        self._kick()
        return held

    def all_off(self, *, reason: str = "all_off") -> None:
        """Switch everything off now; a running session ends."""
        with self.lock:
            now = self.clock.monotonic()
            self._fades.clear()
            if self.session is not None:
                self._end_session(reason, chime=False)
            self.guard.all_off(now)
            self.room.all_off()
            self._emit("all_off", {"reason": reason})
        self._kick()

    # --- scenes -----------------------------------------------------------------------------

    def list_scenes(self) -> list[dict[str, Any]]:
        """Return every scene, built-ins first."""
        with self.lock:
            out = [s.model_dump() for s in self.builtin_scenes.values()]
            out.extend(s.model_dump() for s in self._user_scenes().values())
            return out

    def _user_scenes(self) -> dict[str, Scene]:
        scenes = {}
        for doc in self.store.list_docs("scenes"):
            try:
                scenes[doc["id"]] = Scene.model_validate(doc)
            except Exception:
                log.exception("stored scene %r is unreadable; skipped", doc.get("id"))
        return scenes

    def get_scene(self, scene_id: str) -> Scene:
        """Return one scene or raise NotFound."""
        with self.lock:
            if not isinstance(scene_id, str):
                raise NotFound(f"no scene called {scene_id!r}")
            if scene_id in self.builtin_scenes:
                return self.builtin_scenes[scene_id]
            user = self._user_scenes()
            if scene_id in user:
                return user[scene_id]
            names = ", ".join([*self.builtin_scenes, *user])
            raise NotFound(f"no scene called {scene_id!r} (scenes: {names})")

    def _check_scene(self, data: Any, scene_id: str | None) -> Scene:
        from pydantic import ValidationError

        from .commands import describe

        if not isinstance(data, dict):
            raise InvalidCommand("expected a JSON object")
        data = dict(data)
        if data.get("builtin"):
            raise InvalidCommand("builtin: only shipped scenes are built in")
        data.pop("builtin", None)
        if scene_id is not None:
            if data.get("id", scene_id) != scene_id:
                raise InvalidCommand("id: a scene's id cannot be changed; create a copy instead")
            data["id"] = scene_id
        elif "id" not in data:
            # the id comes from the name; without a name, only "name" is reported missing
            name = data.get("name")
            data["id"] = self._free_id(slug(name if isinstance(name, str) else ""))
        try:
            scene = Scene.model_validate(data)
        except ValidationError as exc:
            raise InvalidCommand(describe(exc, Scene)) from None
        problems = scene_errors(scene, list(self.room.lights), self.guard.pad_ids)
        if problems:
            raise InvalidCommand("; ".join(problems))
        return scene

    def _free_id(self, base: str) -> str:
        taken = set(self.builtin_scenes) | set(self._user_scenes())
        if base not in taken:
            return base
        n = 2
        while f"{base[:36]}-{n}" in taken:
            n += 1
        return f"{base[:36]}-{n}"

    def create_scene(self, data: Any) -> dict[str, Any]:
        """Store a new user scene; return it."""
        with self.lock:
            scene = self._check_scene(data, None)
            if scene.id in self.builtin_scenes or scene.id in self._user_scenes():
                raise Conflict(f"a scene called {scene.id!r} exists already")
            self.store.put_doc("scenes", scene.id, scene.model_dump(), self._wall_iso())
            self._emit("scenes", {"action": "created", "scene": scene.id})
            return scene.model_dump()

    def update_scene(self, scene_id: str, data: Any) -> dict[str, Any]:
        """Replace a user scene; built-ins cannot be changed."""
        with self.lock:
            self.get_scene(scene_id)  # NotFound for anything that is not a scene's id
            if scene_id in self.builtin_scenes:
                raise Conflict(f"{scene_id!r} is built in and cannot be changed; duplicate it")
            if scene_id not in self._user_scenes():
                raise NotFound(f"no scene called {scene_id!r}")
            scene = self._check_scene(data, scene_id)
            self.store.put_doc("scenes", scene.id, scene.model_dump(), self._wall_iso())
            self._emit("scenes", {"action": "updated", "scene": scene.id})
            return scene.model_dump()

    def delete_scene(self, scene_id: str) -> None:
        """Delete a user scene; built-ins cannot be deleted."""
        with self.lock:
            self.get_scene(scene_id)  # NotFound for anything that is not a scene's id
            if scene_id in self.builtin_scenes:
                raise Conflict(f"{scene_id!r} is built in and cannot be deleted")
            if not self.store.delete_doc("scenes", scene_id):
                raise NotFound(f"no scene called {scene_id!r}")
            self._emit("scenes", {"action": "deleted", "scene": scene_id})

    def duplicate_scene(self, scene_id: str, name: str | None = None) -> dict[str, Any]:
        """Copy a scene (built-in or not) under a new name; return the copy."""
        with self.lock:
            source = self.get_scene(scene_id).model_dump()
            if name is not None and not isinstance(name, str):
                raise InvalidCommand("name: must be text")
            source["name"] = (name or f"{source['name']} copy")[:40]
            source.pop("id")
            source.pop("builtin")
            return self.create_scene(source)

    def apply_scene(
        self,
        scene_id: str,
        *,
        fade_seconds: float | None = None,
        owner: str = "manual",
        heat_seconds: float | None = None,
    ) -> None:
        """Set every device as the scene says, with its fade."""
        with self.lock:
            scene = self.get_scene(scene_id)
            if fade_seconds is not None and not (_real(fade_seconds) and 0 <= fade_seconds <= 3600):
                raise InvalidCommand("fade_seconds: must be a number from 0 to 3600")
            if heat_seconds is not None and not (_real(heat_seconds) and heat_seconds > 0):
                raise InvalidCommand("heat_seconds: must be a number of seconds, more than 0")
            if owner not in OWNERS:
                raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(OWNERS)}")
            now = self.clock.monotonic()
            # a session in its fade-out no longer owns heat: the scene is then a manual one
            if self.session is not None and self.session.phase in ("prepare", "active"):
                owner = "session"
                heat_seconds = self._session_heat_seconds(now)
            self._apply(
                scene,
                now,
                fade=scene.fade_seconds if fade_seconds is None else fade_seconds,
                owner=owner,
                heat_seconds=heat_seconds,
                music=True,
            )
            self._emit("scene", {"scene": scene.id})
        self._kick()

    def _apply(
        self,
        scene: Scene,
        now: float,
        *,
        fade: float,
        owner: str,
        heat_seconds: float | None,
        music: bool,
        lights: bool = True,
    ) -> None:
        if lights:
            for lid, level in scene.light_levels(list(self.room.lights)).items():
                if level > 0:
                    self._last_on_level[lid] = level
                self._fade(lid, "level", level, fade, now)
        if self.room.diffuser is not None:
            self.room.diffuser.set_mode(scene.diffuser, now)
        for pid, heat in scene.heat_levels(self.guard.pad_ids).items():
            seconds = (
                heat_seconds if heat_seconds is not None else self.guard.limits[pid].manual_timeout
            )
            seconds = min(seconds, self.guard.limits[pid].max_on)
            if owner == "session" and self.session is not None:
                # a scene applied in a session hands its pads to the session, heat or not
                if heat != "off":
                    self.session.heat_pads.add(pid)
                else:
                    self.session.heat_pads.discard(pid)
            if not self.guard.set(pid, heat, now, owner=owner, seconds=seconds):
                self._emit(
                    "safety", {"device": pid, "reason": self.guard.refusal.get(pid, "cooling_down")}
                )
        if music and self.room.speaker is not None:
            # music is never a reason for a scene or session not to go on
            self._try(f"music for scene {scene.id}", lambda: self._scene_music(scene, fade, now))

    def _scene_music(self, scene: Scene, fade: float, now: float) -> None:
        speaker = self.room.speaker
        if scene.playlist and scene.volume > 0 and scene.playlist in speaker.playlists():
            if not speaker.playing:
                speaker.volume = 0
            speaker.play(scene.playlist)
            self._listen_volume = scene.volume
            self._fade(self.room.speaker_id, "volume", scene.volume, fade, now)
        elif scene.volume == 0 or not scene.playlist:
            self._fade(self.room.speaker_id, "volume", 0, fade, now)
        else:
            log.warning(
                "scene %s: no playlist called %r in the music folder; music unchanged",
                scene.id,
                scene.playlist,
            )

    # --- sessions ---------------------------------------------------------------------------

    def start_session(
        self, scene: str | None = None, minutes: float | None = None, *, source: str = "api"
    ) -> dict[str, Any]:
        """Start a session (pre-warm, then the scene); 409 if one is running."""
        cmd = parse(
            SessionStart,
            {k: v for k, v in (("scene", scene), ("minutes", minutes)) if v is not None},
        )
        with self.lock:
            if self.session is not None:
                if self.session.phase == "fade_out":
                    raise Conflict(
                        "the last session is still fading out; stop it again to end it now"
                    )
                raise Conflict("a session is already running; stop it first")
            sc = self.get_scene(cmd.scene or self.config.session.default_scene)
            total = cmd.minutes if cmd.minutes is not None else self.config.session.default_minutes
            if total > self.config.session.max_minutes:
                raise InvalidCommand(
                    f"minutes: must be at most {self.config.session.max_minutes:g} (got {total:g})"
                )
            now = self.clock.monotonic()
            prewarm = 0.0
            if sc.has_heat(self.guard.pad_ids):
                pm = sc.prewarm_minutes
                prewarm = (self.config.session.prewarm_minutes if pm is None else pm) * 60
            session_id = self.store.session_started(sc.id, sc.name, total, self._wall_iso(), source)
            self.session = Session(
                id=session_id,
                scene=sc,
                minutes=total,
                source=source,
                started_wall=self.clock.now(),
                phase="prepare",
                phase_end=now + prewarm,
                prewarm_seconds=prewarm,
            )
            if prewarm > 0:
                self._prepare(now)
            else:
                self._activate(now)
            self.interrupted = []  # a new session answers the "interrupted" notice
            self._emit("session", {"action": "started", "phase": self.session.phase})
            result = self.session.to_dict(now, self.zone)
        self._kick()
        return result

    def _session_heat_seconds(self, now: float) -> float:
        s = self.session
        assert s is not None
        return max(1.0, s.remaining(now))

    def _prepare(self, now: float) -> None:
        s = self.session
        assert s is not None
        for pid, heat in s.scene.heat_levels(self.guard.pad_ids).items():
            if heat != "off":
                s.heat_pads.add(pid)
            if heat != "off" and not self.guard.set(
                pid, heat, now, owner="session", seconds=self._session_heat_seconds(now)
            ):
                self._emit(
                    "safety", {"device": pid, "reason": self.guard.refusal.get(pid, "cooling_down")}
                )
        if self.room.diffuser is not None:
            self.room.diffuser.set_mode(s.scene.diffuser, now)

    def _activate(self, now: float) -> None:
        s = self.session
        assert s is not None
        s.phase = "active"
        s.active_started = now
        s.phase_end = now + s.minutes * 60
        self._apply(
            s.scene,
            now,
            fade=s.scene.fade_seconds,
            owner="session",
            heat_seconds=self._session_heat_seconds(now),
            music=True,
        )

    def _fade_out(self, now: float, reason: str) -> None:
        s = self.session
        assert s is not None
        if s.phase == "active" and s.active_started is not None:
            s.active_seconds += now - s.active_started
        s.active_started = None
        s.phase = "fade_out"
        s.end_reason = reason
        s.phase_end = now + s.scene.fade_out_seconds
        self.guard.release("session", now)
        if self.room.diffuser is not None:
            self.room.diffuser.set_mode("off", now)
        for lid in self.room.lights:
            self._fade(lid, "level", 0.0, s.scene.fade_out_seconds, now)
        if self.room.speaker is not None:
            self._try(
                "fading the music out",
                lambda: self._fade(
                    self.room.speaker_id, "volume", 0.0, s.scene.fade_out_seconds, now
                ),
            )

    def _end_session(self, reason: str, *, chime: bool = False) -> None:
        """End the session now: everything off, history written, listeners told.

        Nothing that fails here (a chime, the disk) can keep the session running.
        """
        s = self.session
        assert s is not None
        now = self.clock.monotonic()
        if s.phase == "active" and s.active_started is not None:
            s.active_seconds += (s.paused_at or now) - s.active_started
            s.active_started = None
        s.phase = "ended"
        s.end_reason = reason
        self.session = None
        # everything goes off at the end, manual heat too: keep the guard in step with it
        self.guard.all_off(now)
        self._fades.clear()
        self._try("switching the room off", self.room.all_off)
        if chime and self.room.speaker is not None:
            self._try("the end chime", self.room.speaker.chime)
        actual = s.active_seconds / 60
        self._try(
            f"recording the end of session {s.id}",
            lambda: self.store.session_ended(s.id, actual, self._wall_iso(), reason),
        )
        self.last_session = {
            "id": s.id,
            "scene": s.scene.id,
            "scene_name": s.scene.name,
            "planned_minutes": s.minutes,
            "actual_minutes": round(actual, 2),
            "end_reason": reason,
            "ended_at": self._wall_iso(),
        }
        self._emit("session", {"action": "ended", "phase": "ended", "reason": reason})

    def _session_step(self, now: float) -> float | None:
        s = self.session
        if s is None:
            return None
        if s.paused_at is not None:
            limit = s.paused_at + self.config.session.max_pause_minutes * 60
            if now >= limit:
                log.info("session paused too long: stopping")
                self._resume_at(now)
                self._fade_out(now, "pause_timeout")
                self._emit("session", {"action": "fade_out", "phase": "fade_out"})
                return now
            return limit
        for _ in range(len(PHASES)):  # at most one pass per phase: never spins
            s = self.session
            if s is None or now < s.phase_end:
                break
            if s.phase == "prepare":
                self._activate(now)
                self._emit("session", {"action": "active", "phase": "active"})
            elif s.phase == "active":
                self._fade_out(now, "completed")
                self._emit("session", {"action": "fade_out", "phase": "fade_out"})
            else:
                self._end_session(s.end_reason or "completed", chime=True)
        return self.session.phase_end if self.session is not None else None

    def _require_session(self, *phases: str) -> Session:
        if self.session is None:
            raise Conflict("no session is running")
        if phases and self.session.phase not in phases:
            raise Conflict(f"the session is in its {self.session.phase.replace('_', '-')} phase")
        return self.session

    def pause_session(self) -> dict[str, Any]:
        """Pause the countdown and the music (heat stays within its limits)."""
        with self.lock:
            s = self._require_session("prepare", "active")
            if s.paused:
                raise Conflict("the session is already paused")
            now = self.clock.monotonic()
            s.paused_at = now
            if self.room.speaker is not None:
                self._try("pausing the music", self.room.speaker.pause)
            self._emit("session", {"action": "paused", "phase": s.phase})
            result = s.to_dict(now, self.zone)
        self._kick()
        return result

    def _resume_at(self, now: float) -> None:
        s = self.session
        assert s is not None and s.paused_at is not None
        gap = now - s.paused_at
        s.phase_end += gap
        if s.active_started is not None:
            s.active_started += gap
        s.paused_at = None
        if self.room.speaker is not None and s.phase == "active":
            self._try("resuming the music", lambda: self._resume_music(now))

    def _resume_music(self, now: float) -> None:
        speaker = self.room.speaker
        fade = self._fades.get((self.room.speaker_id, "volume"))
        target = fade.target if fade is not None else speaker.volume
        speaker.volume = 0  # come back softly, not at full volume at once
        speaker.resume()
        self._fade(self.room.speaker_id, "volume", target, MUSIC_RAMP, now)

    def resume_session(self) -> dict[str, Any]:
        """Resume a paused session; heat is renewed for the time left."""
        with self.lock:
            s = self._require_session("prepare", "active")
            if not s.paused:
                raise Conflict("the session is not paused")
            now = self.clock.monotonic()
            self._resume_at(now)
            self._renew_heat(now)
            self._emit("session", {"action": "resumed", "phase": s.phase})
            result = s.to_dict(now, self.zone)
        self._kick()
        return result

    def _renew_heat(self, now: float) -> None:
        s = self.session
        assert s is not None
        for pid, heat in s.scene.heat_levels(self.guard.pad_ids).items():
            state = self.guard.states[pid]
            # only pads it still owns (on, or timed out or tripped since), never one the user took
            if heat != "off" and pid in s.heat_pads and state.owner in ("session", None):
                current = state.heat if state.heat != "off" else heat
                self.guard.set(
                    pid, current, now, owner="session", seconds=self._session_heat_seconds(now)
                )

    def extend_session(self, minutes: float = 10) -> dict[str, Any]:
        """Add minutes to the session (before its fade-out)."""
        cmd = parse(SessionExtend, {"minutes": minutes})
        with self.lock:
            s = self._require_session("prepare", "active")
            total = s.minutes + cmd.minutes
            if total > self.config.session.max_minutes:
                raise InvalidCommand(
                    f"minutes: a session may last at most {self.config.session.max_minutes:g} "
                    f"minutes ({s.minutes:g} planned)"
                )
            self.store.session_planned(s.id, total)
            now = self.clock.monotonic()
            s.minutes = total
            if s.phase == "active":
                s.phase_end += cmd.minutes * 60
            if not s.paused:
                self._renew_heat(now)
            self._emit("session", {"action": "extended", "phase": s.phase, "minutes": total})
            result = s.to_dict(now, self.zone)
        self._kick()
        return result

    def stop_session(self) -> None:
        """Stop with the scene's fade-out; a second stop during the fade-out ends it now."""
        with self.lock:
            s = self._require_session()
            now = self.clock.monotonic()
            if s.paused:
                self._resume_at(now)
            if s.phase == "fade_out":
                self._end_session(s.end_reason or "stopped", chime=False)
            else:
                self._fade_out(now, "stopped")
                self._emit("session", {"action": "fade_out", "phase": "fade_out"})
        self._kick()

    def dismiss_interrupted(self) -> None:
        """Forget the notice about a session that a crash or power cut interrupted."""
        with self.lock:
            if not self.interrupted:
                raise NotFound("no interrupted session to dismiss")
            self.interrupted = []
            self._emit("session", {"action": "interrupted_dismissed"})

    def history(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Return past sessions, newest first."""
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (limit, offset))
        if not (ints and 1 <= limit <= 500 and offset >= 0):
            raise InvalidCommand("limit must be 1-500 and offset 0 or more")
        return self.store.history(limit, offset)

    def _button_press(self) -> None:
        try:
            with self.lock:
                s = self.session
                if s is None:
                    self.start_session(source="button")
                elif s.phase in ("prepare", "active"):
                    if s.paused:
                        self.resume_session()
                    else:
                        self.pause_session()
        except Exception:
            log.exception("wall button press failed")
