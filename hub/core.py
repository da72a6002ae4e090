"""The Hub: the loop, the clock, the event bus, the lock, and the controllers every entry
point calls (web, MQTT, HomeKit, routines, the button, the CLI), Mopidy's ``Core`` shape:

- ``hub.devices`` (:class:`~hub.room.commands.DeviceCommands`) — set a device, heat off, all off;
- ``hub.sessions`` (:class:`~hub.sessions.commands.SessionCommands`) — start, pause, stop, history;
- ``hub.scenes`` (:class:`~hub.scenes.commands.SceneCommands`) — the scenes, applying one;
- ``hub.people`` (:class:`~hub.people.commands.PeopleCommands`) — profiles, the table, journal;
- ``hub.guests`` (:class:`~hub.guests.commands.GuestCommands`) — a visiting therapist's links;
- ``hub.backup`` (:class:`~hub.backup.commands.BackupCommands`) — backup and restore;
- ``hub.routines`` (:class:`~hub.routines.controller.RoutineController`) — set by :meth:`Hub.use_routines`.

Each command takes the hub lock, changes what it must, and posts events; they are delivered
when the lock is let go (:mod:`hub.engine.events`). The engines the controllers share (the devices,
the heat guard, sessions, scenes, people) are in one :class:`~hub.context.Context`.
docs/ARCHITECTURE.md draws the whole picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gpiozero.pins.mock import MockFactory

from hardware import make_pin_factory

from . import __version__
from .backup.commands import BackupCommands
from .config.model import Config
from .context import Context
from .engine.clock import Clock, RealClock
from .engine.event_types import (
    ButtonPressed,
    DeviceChanged,
    HubStatus,
    Payload,
    SafetyTripped,
)
from .engine.events import Event, EventBus, HubLock
from .engine.loop import ControlLoop, Part
from .errors import attempt
from .facts import ButtonAction
from .guests.commands import GuestCommands
from .people.commands import PeopleCommands
from .people.journal import Journal
from .people.limits import LimitKeeper
from .people.profiles import ProfileLibrary
from .people.records import PeopleRecords
from .people.table import Table
from .room.building import build_guard, build_mirror, build_room
from .room.commands import DeviceCommands
from .room.devices import DeviceController, DeviceInfo
from .room.direct import write_record
from .room.energy import EnergyMeter
from .scenes.commands import SceneCommands
from .scenes.library import SceneLibrary
from .scenes.scene import load_builtin_scenes
from .sessions.commands import SessionCommands
from .sessions.cues import CueController
from .sessions.engine import SessionController
from .store.database import Store
from .store.recorder import Recorder

if TYPE_CHECKING:
    from .routines.controller import RoutineController

log = logging.getLogger(__name__)

__all__ = ["DeviceInfo", "Hub"]


class Hub:
    """Drive the room: the loop, the clock, the bus and the lock, and the controllers on them."""

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
        self.lock = HubLock(lambda: self.events.flush())
        self.events = EventBus(self.state, self.lock)
        #: what the hardware does worse than it should (a light dimmed in software), for the UI
        self.warnings: list[str] = []
        self.room = build_room(
            config,
            pin_factory,
            speaker,
            on_press=self._button_press,
            on_hold=self._button_hold,
            backend=self.backend,
            warnings=self.warnings,
            clock=self.clock.monotonic,
        )
        # what follows a deed (a pad's off-time, a session's end) never holds up the next one
        self.recorder = Recorder()
        self.guard = build_guard(config, self.room, self.store, self.clock)
        self.guard.record_later = self.recorder.record
        tick = tick if tick is not None else 1.0 / config.hardware.control_hz
        devices = DeviceController(config, self.room, self.guard, self.emit, tick)
        #: the room's energy (hub/room/energy.py); its total outlives restarts in the store
        self.energy = EnergyMeter(
            config,
            self.room,
            clock=self.clock.monotonic,
            base_kwh=self._stored_energy(),
            save=self._save_energy,
        )
        devices.energy = self.energy
        scenes = SceneLibrary(
            load_builtin_scenes(config.path(config.scenes_file)),
            self.store,
            lights=list(self.room.lights),
            pads=self.guard.pad_ids,
            emit=self.emit,
            now_iso=self.wall_iso,
            playlists=lambda: devices.playlists() if devices.speaker_id else None,
        )
        sessions = SessionController(
            config,
            self.store,
            devices,
            scenes,
            wall=self.clock.now,
            wall_iso=self.wall_iso,
            zone=self.zone,
            emit=self.emit,
            record=self.recorder.record,
            energy=self.energy,
        )
        cues = CueController(
            sessions,
            self.room,
            devices.fader,
            self.emit,
            self.clock.monotonic,
            chime=devices.cue_chime,
        )
        # people: their profiles, and their limits held at each output (hub/people/limits.py)
        people_records = PeopleRecords(self.store)

        def in_session(profile_id: str) -> bool:
            s = sessions.current
            return s is not None and s.people is not None and s.people.has(profile_id)

        profiles = ProfileLibrary(
            people_records,
            lambda: [s["id"] for s in scenes.list()],
            self.wall_iso,
            in_use=in_session,
        )
        journal = Journal(people_records, profiles.get, self.wall_iso)
        # who is on the table: a fact of the room, whom every output is held to (hub/people/table.py)
        table = Table(self.store, profiles.get, self.guard.pad_ids, self.emit, self.recorder.record)

        def people_now() -> Any:
            """Whom outputs are held to: a session's people while it runs, else the table's."""
            s = sessions.current
            return s.people if s is not None else table.people()

        limits = LimitKeeper(people_now, self.emit, devices.name)
        devices.limits = limits
        self.guard.ceiling = limits.heat
        #: the engines the controllers share (none of them takes the lock itself)
        self.context = Context(
            lock=self.lock,
            clock=self.clock,
            zone=self.zone,
            store=self.store,
            recorder=self.recorder,
            room=self.room,
            guard=self.guard,
            devices=devices,
            fader=devices.fader,
            scenes=scenes,
            sessions=sessions,
            people_records=people_records,
            profiles=profiles,
            journal=journal,
            table=table,
            limits=limits,
            emit=self.emit,
            kick=self.kick,
            wall_iso=self.wall_iso,
        )
        fader = devices.fader
        safety = Part("safety", self._safety_step, self._heat_off, safety=True)
        self.loop = ControlLoop(
            self.lock,
            self.clock,
            [
                safety,
                Part("fades", lambda now: fader.step(now), lambda now: fader.clear()),
                Part("diffuser", devices.diffuser_step, self._diffuser_off),
                Part("session", lambda now: sessions.step(now), sessions.make_safe),
                Part("cues", cues.step, cues.make_safe),
                Part("energy", self.energy.step, lambda now: None),
                safety,  # a phase change may have just switched heat on: schedule its limits
                Part("fade ticks", fader.deadline, lambda now: fader.clear()),
            ],
        )
        # the controllers every entry point calls
        self.devices = DeviceCommands(self.context)
        self.scenes = SceneCommands(self.context)
        self.people = PeopleCommands(self.context)
        self.guests = GuestCommands(self.context)
        self.sessions = SessionCommands(self.context, self.guests)
        self.routines: RoutineController | None = None  # set by use_routines
        self.backup = BackupCommands(self.context, lambda: self.routines)
        if hasattr(self.room.speaker, "on_change"):
            self.room.speaker.on_change = self.devices.speaker_changed  # from its thread
        self.state_providers: dict[str, Callable[[], Any]] = {
            "cues": cues.state,
            "energy": self.energy.state,
        }
        # name -> check for GET /healthz: a bool result decides readiness, others are shown
        self.health_checks: dict[str, Callable[[], Any]] = {}
        self._started = False
        self._closed = False
        self.mirror = (
            build_mirror(config, pin_factory, lambda: self.devices.all_off(reason="external"))
            if mirror
            else None
        )

    def health(self) -> dict[str, Any]:
        """The hub's own health: started, and its loop stepping."""
        limit = self.config.hardware.watchdog_seconds
        fresh = self.clock.monotonic() - self.loop.last_step <= limit
        ok = self._started and not self._closed and self.loop.driver.alive()
        return {"ok": bool(ok and (fresh or not self.loop.runs_by_itself))}

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Switch everything off, read the heat ledger, note interrupted sessions, start the loop."""
        sessions = self.context.sessions
        with self.lock:
            self.room.all_off()
            now = self.clock.monotonic()
            for note in self.guard.restore(now):
                log.warning("heat ledger: %s", note)
            self.guard.all_off(now)
            sessions.mark_interrupted()
            # who they were for: "Start again" must start them under the same people's limits
            sessions.interrupted = self.context.with_people(sessions.interrupted)
            self._started = True
        self.recorder.start()
        if self.mirror is not None:
            self.mirror.start()
        if self.loop.runs_by_itself:
            self.events.start_dispatcher()  # no listener can slow the loop
        self.loop.driver.start()
        self.emit(HubStatus(backend=self.backend))

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
            if self.context.sessions.current is not None:
                self.context.sessions.end("shutdown", now)
            self.context.devices.all_off(now)
            self.energy.save(now)  # before the recorder's last few seconds
        self.events.stop_dispatcher()  # the last events go out while the parts still answer
        with self.lock:
            self.room.close()
        if self.mirror is not None:
            self.mirror.stop()
        self.recorder.stop()  # what waits for the disk gets a few seconds, then is logged
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

    def _stored_energy(self) -> float:
        """The lifetime kWh saved by the last run (0 if it cannot be read: never stops a start)."""
        try:
            return self.store.energy_total()
        except Exception:
            log.exception("could not read the room's energy total; counting from 0")
            return 0.0

    def _save_energy(self, kwh: float) -> None:
        # on the recorder's thread: the SD card is never written under the hub lock for this
        self.recorder.record(
            "the room's energy total", lambda: self.store.save_energy_total(kwh), later=True
        )

    def _safety_step(self, now: float) -> float | None:
        pads = self.room.heat_pads
        relays = {pid: pad.relay_on for pid, pad in pads.items()}
        tripped, deadline = self.guard.check(now)
        for pid, reason in tripped:
            fault = (self.guard.states[pid].fault if reason != "max_on" else None) or {}
            message, celsius = fault.get("message"), fault.get("celsius")
            self.emit(SafetyTripped(device=pid, reason=reason, message=message, celsius=celsius))
        for pid, celsius in self.guard.temperature_news(now).items():
            self.emit(DeviceChanged(device=pid, changes={"temperature": celsius}))
        for pid, was in relays.items():  # the duty cycle, as it happens
            if pads[pid].relay_on != was:
                self.emit(DeviceChanged(device=pid, changes={"relay": pads[pid].relay_on}))
        return deadline

    def _heat_off(self, now: float) -> None:
        self.guard.emergency_off()
        self.guard.all_off(now)
        self.emit(SafetyTripped(reason="control_loop_error"))

    def _diffuser_off(self, now: float) -> None:
        self.context.devices.set_diffuser("off", now)

    # --- events, state and the clock --------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Get every event (outside the hub lock); return a function that unsubscribes."""
        return self.events.subscribe(listener)

    def deliver_events(self) -> None:
        """Deliver the events queued so far on this thread, in order (an adapter answering
        its own command sooner than the event thread would); never call it holding the lock."""
        self.events.deliver()

    def emit(self, payload: Payload) -> None:
        """Send an event (a routine ran, the watchdog switched heat off); it is delivered
        when the hub lock is let go."""
        with self.lock:
            self.events.post(payload)

    @property
    def event_seq(self) -> int:
        """The number of the newest event posted (delivered or about to be)."""
        return self.events.seq

    def wall_iso(self, at: datetime | None = None) -> str:
        """Return ``at`` (default now) as local ISO time, to the second."""
        return (at or self.clock.now()).astimezone(self.zone).isoformat(timespec="seconds")

    def state(self) -> dict[str, Any]:
        """Return a snapshot of everything: devices, session, next routine, backend."""
        sessions = self.context.sessions
        with self.lock:
            now = self.clock.monotonic()
            out: dict[str, Any] = {
                "devices": self.context.devices.states(now),
                "session": sessions.state(now),
                "last_session": sessions.last,
                "next_routine": None,
                "backend": self.backend,
                "warnings": list(self.warnings),
                "audio": getattr(self.room.speaker, "backend", None),
                "version": __version__,
                "time": self.wall_iso(),
                "interrupted_session": sessions.interrupted[-1] if sessions.interrupted else None,
                "table": self.people.table(),
            }
            for key, provider in self.state_providers.items():
                try:
                    out[key] = provider()
                except Exception:
                    log.exception("state provider %s failed", key)
            return out

    def _button_hold(self) -> None:
        try:
            self.emit(ButtonPressed(action=ButtonAction.HOLD))
        finally:
            self.devices.all_off(reason="button")  # whatever happened to the event

    def _button_press(self) -> None:
        def press() -> None:
            with self.lock:
                self.emit(ButtonPressed(action=ButtonAction.PRESS))
                s = self.sessions.current
                if s is None:
                    self.sessions.start(source="button")
                elif self.context.sessions.running:
                    if s.paused:
                        self.sessions.resume()
                    else:
                        self.sessions.pause()

        attempt("wall button press", press)
