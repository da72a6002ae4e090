"""The Hub: the one command surface every entry point calls (web, MQTT, routines, button, CLI).

A thin facade over small controllers (Mopidy's ``Core`` is the model):

- :class:`~hub.devices.DeviceController` — device commands and state, scene effects, music;
- :class:`~hub.fader.Fader` — fades of levels and volume;
- :class:`~hub.safety.HeatGuard` — the only code that switches a heat pad on;
- :class:`~hub.sessions.SessionController` — sessions and their phases;
- :class:`~hub.scene_library.SceneLibrary` — built-in and user scenes;
- :class:`~hub.loop.ControlLoop` — one lock, the clock, one timeline of deadlines.

Each command takes the hub lock, changes what it must, and posts events; they are delivered
when the lock is let go (:mod:`hub.events`). docs/ARCHITECTURE.md draws the whole picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gpiozero.pins.mock import MockFactory

from hardware import PinMirror, make_pin_factory, normalize_pin
from hardware.pins import SIM_STATE_FILE, SimFactory

from . import __version__
from .building import build_room
from .clock import Clock, RealClock
from .commands import SessionExtend, SessionStart, parse
from .config import Config
from .devices import DeviceController, DeviceInfo, attempt
from .direct import write_record
from .errors import InvalidCommand
from .events import Event, EventBus, HubLock
from .facts import MAX_FADE_SECONDS, EventType, Owner
from .loop import ControlLoop, Part
from .safety import HeatGuard, PadLimits
from .scene_library import SceneLibrary
from .scenes import Scene, load_builtin_scenes
from .sessions import Session, SessionController
from .store import Store

if TYPE_CHECKING:
    from .routines import RoutineController

log = logging.getLogger(__name__)

__all__ = ["DeviceInfo", "Hub"]


def _real(value: Any) -> bool:
    """True for a finite int or float (not a bool, string or NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


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
        if pin_factory is None:
            pin_factory, self.backend = make_pin_factory(config.hardware.backend)
        else:
            self.backend = "mock" if isinstance(pin_factory, MockFactory) else "gpio"
        # before any pin is claimed: all-off --direct must find them even if the config breaks
        write_record(config, self.backend)
        self.store = store or Store(config.data_path)
        self.events = EventBus(self.state)
        self.lock = HubLock(self.events.flush)
        self.room = build_room(
            config,
            pin_factory,
            speaker,
            on_press=self._button_press,
            on_hold=lambda: self.all_off(reason="button"),
        )
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
        tick = tick if tick is not None else 1.0 / config.hardware.control_hz
        self.devices = DeviceController(config, self.room, self.guard, self._emit, tick)
        self.fader = self.devices.fader
        self.scenes = SceneLibrary(
            load_builtin_scenes(config.path(config.scenes_file)),
            self.store,
            lights=list(self.room.lights),
            pads=self.guard.pad_ids,
            emit=self._emit,
            now_iso=self.wall_iso,
        )
        self.sessions = SessionController(
            config,
            self.store,
            self.devices,
            self.scenes,
            wall=self.clock.now,
            wall_iso=self.wall_iso,
            zone=self.zone,
            emit=self._emit,
        )
        safety = Part("safety", self._safety_step, self._heat_off, safety=True)
        self.loop = ControlLoop(
            self.lock,
            self.clock,
            [
                safety,
                Part("fades", lambda now: self.fader.step(now), lambda now: self.fader.clear()),
                Part("diffuser", self.devices.diffuser_step, self._diffuser_off),
                Part("session", lambda now: self.sessions.step(now), self.sessions.make_safe),
                safety,  # a phase change may have just switched heat on: schedule its limits
                Part("fade ticks", self.fader.deadline, lambda now: self.fader.clear()),
            ],
        )
        if hasattr(self.room.speaker, "on_change"):
            self.room.speaker.on_change = self._speaker_changed  # next track, from its thread
        self.routines: RoutineController | None = None  # set by use_routines
        self.state_providers: dict[str, Callable[[], Any]] = {}
        # name -> check for GET /healthz: a bool result decides readiness, others are shown
        self.health_checks: dict[str, Callable[[], Any]] = {}
        self._started = False
        self._closed = False
        self.mirror: PinMirror | None = None
        if mirror and isinstance(pin_factory, SimFactory):
            self.mirror = PinMirror(
                config.data_path / SIM_STATE_FILE,
                [normalize_pin(p) for p in config.pins().values()],
                on_external_off=lambda: self.all_off(reason="external"),
            )
            self.mirror.attach(pin_factory)

    # --- what tests and components read ---------------------------------------------------

    @property
    def session(self) -> Session | None:
        """The running session, if any."""
        return self.sessions.current

    @property
    def last_session(self) -> dict[str, Any] | None:
        """How the last session ended."""
        return self.sessions.last

    @property
    def interrupted(self) -> list[dict[str, Any]]:
        """Sessions a crash or power cut interrupted (until dismissed)."""
        return self.sessions.interrupted

    @interrupted.setter
    def interrupted(self, rows: list[dict[str, Any]]) -> None:
        self.sessions.interrupted = rows

    @property
    def last_step(self) -> float:
        """The monotonic time of the last control step that counted as alive."""
        return self.loop.last_step

    def health(self) -> dict[str, Any]:
        """The hub's own health: started, and its loop stepping."""
        limit = self.config.hardware.watchdog_seconds
        fresh = self.clock.monotonic() - self.loop.last_step <= limit
        ok = self._started and not self._closed and self.loop.driver.alive()
        return {"ok": bool(ok and (fresh or not self.loop.runs_by_itself))}

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Switch everything off, read the heat ledger, note interrupted sessions, start the loop."""
        with self.lock:
            self.room.all_off()
            now = self.clock.monotonic()
            for note in self.guard.restore(now):
                log.warning("heat ledger: %s", note)
            self.guard.all_off(now)
            self.sessions.mark_interrupted()
            self._started = True
        if self.mirror is not None:
            self.mirror.start()
        if self.loop.runs_by_itself:
            self.events.start_dispatcher()  # no listener can slow the loop
        self.loop.driver.start()
        self._emit(EventType.HUB, {"status": "started", "backend": self.backend})

    def close(self) -> None:
        """Switch everything off, stop the loop, close the store (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True
        self.guard.emergency_off()  # heat first, before anything that might wait
        self.loop.driver.stop()
        if self.room.button is not None:
            # outside the lock: closing joins the button's hold thread, which may want it
            self.room.button.close()
            self.room.button = None
        with self.lock:
            now = self.clock.monotonic()
            if self.sessions.current is not None:
                self.sessions.end("shutdown", now)
            self.devices.all_off(now)
        self.events.stop_dispatcher()  # the last events go out while the parts still answer
        with self.lock:
            self.room.close()
        if self.mirror is not None:
            self.mirror.stop()
        self.store.close()

    def step(self) -> float | None:
        """Run everything due now; return when the next step is due."""
        return self.loop.step()

    def use_routines(self, routines: RoutineController) -> None:
        """Take ``routines`` as the hub's routine controller (its next run shows in the state)."""
        self.routines = routines
        self.state_providers["next_routine"] = routines.next_routine

    def kick(self) -> None:
        """Step soon: a component changed what is due (a routine's next run)."""
        self.loop.kick()

    def add_part(self, part: Part) -> None:
        """Put a component's timed part on the loop (before the last heat check)."""
        self.loop.add(part, before_last=2)

    def has_part(self, part: Part) -> bool:
        """True while ``part`` is on the loop."""
        return part in self.loop.parts

    def remove_part(self, part: Part) -> None:
        """Take a component's timed part off the loop."""
        self.loop.remove(part)

    def advance(self, seconds: float) -> None:
        """Move a fake clock forward by ``seconds``, running everything due on the way."""
        self.loop.driver.advance(seconds)

    def _safety_step(self, now: float) -> float | None:
        tripped, deadline = self.guard.check(now)
        for pid in tripped:
            self._emit(EventType.SAFETY, {"device": pid, "reason": "max_on"})
        return deadline

    def _heat_off(self, now: float) -> None:
        self.guard.emergency_off()
        self.guard.all_off(now)
        self._emit(EventType.SAFETY, {"reason": "control_loop_error"})

    def _diffuser_off(self, now: float) -> None:
        self.devices.set_diffuser("off", now)

    # --- events, state and queries ----------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Get every event (outside the hub lock); return a function that unsubscribes."""
        return self.events.subscribe(listener)

    def _emit(self, type_: EventType | str, data: dict[str, Any]) -> None:
        with self.lock:
            self.events.post(type_, data)

    @property
    def event_seq(self) -> int:
        """The number of the newest event posted (delivered or about to be)."""
        return self.events.seq

    def publish(self, type_: EventType, data: dict[str, Any]) -> None:
        """Send an event about something a component changed (a routine, the watchdog)."""
        self._emit(type_, data)

    def wall_iso(self, at: datetime | None = None) -> str:
        """Return ``at`` (default now) as local ISO time, to the second."""
        return (at or self.clock.now()).astimezone(self.zone).isoformat(timespec="seconds")

    def state(self) -> dict[str, Any]:
        """Return a snapshot of everything: devices, session, next routine, backend."""
        with self.lock:
            now = self.clock.monotonic()
            out: dict[str, Any] = {
                "devices": self.devices.states(now),
                "session": self.sessions.state(now),
                "last_session": self.sessions.last,
                "next_routine": None,
                "backend": self.backend,
                "audio": getattr(self.room.speaker, "backend", None),
                "version": __version__,
                "time": self.wall_iso(),
                "interrupted_session": self.interrupted[-1] if self.interrupted else None,
            }
            for key, provider in self.state_providers.items():
                try:
                    out[key] = provider()
                except Exception:
                    log.exception("state provider %s failed", key)
            return out

    def device_info(self) -> list[DeviceInfo]:
        """Return every output device: id, kind and display name, in the room's order."""
        return self.devices.info()

    def playlists(self) -> list[str]:
        """Return the playlists in the music folder (none without a speaker)."""
        return self.devices.playlists()

    @property
    def speaker_id(self) -> str | None:
        """The speaker's device id, or None without a speaker."""
        return self.devices.speaker_id

    def history(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Return past sessions, newest first."""
        return self.sessions.history(limit, offset)

    # --- device commands ----------------------------------------------------------------------

    def set_device(self, device_id: str, changes: Any, *, owner: str = "manual") -> dict[str, Any]:
        """Change one device (a dict, or a parsed command model); return its new state."""
        with self.lock:
            now = self.clock.monotonic()
            self.devices.set(device_id, changes, owner, now)
            if device_id in self.room.heat_pads:
                self.sessions.pad_taken(device_id)  # the user took it: no longer renewed
            result = self.devices.states(now)[device_id]
        self.loop.kick()
        return result

    def release_heat(self, owner: str) -> list[str]:
        """Switch off every pad that ``owner`` (a routine, say) holds; return their ids."""
        if owner not in tuple(Owner):
            raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(Owner)}")
        with self.lock:
            held = self.devices.release_heat(owner, self.clock.monotonic())
        self.loop.kick()
        return held

    def all_off(self, *, reason: str = "all_off") -> None:
        """Switch everything off now; a running session ends."""
        with self.lock:
            now = self.clock.monotonic()
            self.fader.clear()
            if self.sessions.current is not None:
                self.sessions.end(reason, now)
            self.devices.all_off(now)
            self._emit(EventType.ALL_OFF, {"reason": reason})
        self.loop.kick()

    def _speaker_changed(self, state: dict[str, Any]) -> None:
        # Runs on the speaker's thread; close() may hold the lock while it waits for that
        # thread, so never wait for the lock for long (the next state() shows the change).
        if not self.lock.acquire(timeout=2.0):
            return
        try:
            self.devices.speaker_moved_on(state)
        finally:
            self.lock.release()

    # --- scenes -----------------------------------------------------------------------------

    def list_scenes(self) -> list[dict[str, Any]]:
        """Return every scene, built-ins first."""
        with self.lock:
            return self.scenes.list()

    def get_scene(self, scene_id: str) -> Scene:
        """Return one scene or raise NotFound."""
        with self.lock:
            return self.scenes.get(scene_id)

    def create_scene(self, data: Any) -> dict[str, Any]:
        """Store a new user scene; return it."""
        with self.lock:
            return self.scenes.create(data)

    def update_scene(self, scene_id: str, data: Any) -> dict[str, Any]:
        """Replace a user scene; built-ins cannot be changed."""
        with self.lock:
            return self.scenes.update(scene_id, data)

    def delete_scene(self, scene_id: str) -> None:
        """Delete a user scene; built-ins cannot be deleted."""
        with self.lock:
            self.scenes.delete(scene_id)

    def duplicate_scene(self, scene_id: str, name: str | None = None) -> dict[str, Any]:
        """Copy a scene (built-in or not) under a new name; return the copy."""
        with self.lock:
            return self.scenes.duplicate(scene_id, name)

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
            scene = self.scenes.get(scene_id)
            if fade_seconds is not None and not (
                _real(fade_seconds) and 0 <= fade_seconds <= MAX_FADE_SECONDS
            ):
                raise InvalidCommand(
                    f"fade_seconds: must be a number from 0 to {MAX_FADE_SECONDS:g}"
                )
            if heat_seconds is not None and not (_real(heat_seconds) and heat_seconds > 0):
                raise InvalidCommand("heat_seconds: must be a number of seconds, more than 0")
            if owner not in tuple(Owner):
                raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(Owner)}")
            now = self.clock.monotonic()
            # a session in its fade-out no longer owns heat: the scene is then a manual one
            if self.sessions.running:
                owner = Owner.SESSION
                heat_seconds = self.sessions.heat_seconds(now)
            asked = self.devices.apply_scene(
                scene,
                now,
                fade=scene.fade_seconds if fade_seconds is None else fade_seconds,
                owner=owner,
                heat_seconds=heat_seconds,
                music=True,
            )
            if owner == Owner.SESSION:
                self.sessions.scene_applied(asked)
            self._emit(EventType.SCENE, {"scene": scene.id})
        self.loop.kick()

    # --- sessions ---------------------------------------------------------------------------

    def start_session(
        self, scene: str | None = None, minutes: float | None = None, *, source: str = "api"
    ) -> dict[str, Any]:
        """Start a session (pre-warm, then the scene); 409 if one is running."""
        given = {k: v for k, v in (("scene", scene), ("minutes", minutes)) if v is not None}
        cmd = parse(SessionStart, given)
        return self._session(lambda now: self.sessions.start(cmd, source, now))

    def pause_session(self) -> dict[str, Any]:
        """Pause the countdown and the music (heat stays within its limits)."""
        return self._session(self.sessions.pause)

    def resume_session(self) -> dict[str, Any]:
        """Resume a paused session; heat is renewed for the time left."""
        return self._session(self.sessions.resume)

    def extend_session(self, minutes: float = 10) -> dict[str, Any]:
        """Add minutes to the session (before its fade-out)."""
        cmd = parse(SessionExtend, {"minutes": minutes})
        return self._session(lambda now: self.sessions.extend(cmd, now))

    def stop_session(self) -> None:
        """Stop with the scene's fade-out; a second stop during the fade-out ends it now."""
        self._session(self.sessions.stop)

    def dismiss_interrupted(self) -> None:
        """Forget the notice about a session that a crash or power cut interrupted."""
        with self.lock:
            self.sessions.dismiss_interrupted()

    def _session(self, command: Callable[[float], Any]) -> Any:
        with self.lock:
            result = command(self.clock.monotonic())
        self.loop.kick()
        return result

    def _button_press(self) -> None:
        def press() -> None:
            with self.lock:
                s = self.sessions.current
                if s is None:
                    self.start_session(source="button")
                elif self.sessions.running:
                    if s.paused:
                        self.resume_session()
                    else:
                        self.pause_session()

        attempt("wall button press", press)
