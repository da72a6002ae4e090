"""Who is on the table, as a property: every entry point, every output, the strictest limit.

README.md, Safety 6: a person's limits hold whatever scene, routine, link or client
asks. A Hypothesis state machine drives one two-pad hub with a wall button from every
entry point the hub has, each through its own adapter:

- the owner's page and a REST token: the Flask app (``PUT /devices``, ``POST /session``,
  ``PUT /table``, ``PUT /table/default``), with the login cookie's CSRF or a bearer token;
- a visiting therapist's link (``Authorization: Bearer mhg_…``) for one or two people;
- MQTT: Home Assistant's entities (the heat and diffuser selects, the volume number, the
  scene, Start, the "On the table" select), each payload parsed by its entity as the
  bridge does;
- Apple Home: the diffuser and scene accessories, written as HAP-python writes them;
- a routine that names its people, run now; the wall button, pressed on its mock pin;
- cues and the end chime, by letting the clock run; restarts on the same data.

The machine keeps its own idea of who the outputs reach (the table, the household
default, a session's people, a link's people during its own commands) and checks every
write to a part *as it happens*: a pad's level, the diffuser's mode, the speaker's volume
and every chime's level. A violation is recorded, not raised (the hub treats a part that
raises as broken and switches it off), and fails the run at the next step.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from pyhap.loader import get_loader

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.errors import HubError
from hub.homekit.accessories import DiffuserSwitch, SceneSwitch
from hub.mqtt.device import build_entities
from hub.mqtt.entity import BadPayload, Choices
from hub.mqtt.scene import scene_entities
from hub.routines.controller import RoutineController
from tests.rigs.support import BUILTIN_SCENES, write_config
from web import create_app

HEATS = ["off", "low", "medium", "high"]
PADS = ["pad", "pad2"]
PEOPLE = ["ann", "bob", "cat"]
EPS = 1e-6

Spec = list[str] | dict[str, str]


class WatchedSpeaker(SilentSpeaker):
    """A silent speaker that has every volume and every chime it is given checked."""

    check: Any = None

    @SilentSpeaker.volume.setter  # type: ignore[attr-defined, untyped-decorator]
    def volume(self, value: float) -> None:
        SilentSpeaker.volume.fset(self, value)  # type: ignore[attr-defined]
        if self.check is not None:
            self.check(self._volume, "volume")

    def chime(self, loudest: float | None = None) -> None:
        super().chime(loudest)
        if self.check is not None:
            self.check(self.chime_levels[-1], "end chime")

    def cue_chime(self, loudest: float | None = None) -> None:
        super().cue_chime(loudest)
        if self.check is not None:
            self.check(self.chime_levels[-1], "cue chime")


profile = st.fixed_dictionaries(
    {"heat_max": st.sampled_from(HEATS), "volume_max": st.integers(0, 60), "aroma": st.booleans()}
)
spec_st = st.one_of(
    st.lists(st.sampled_from(PEOPLE), min_size=0, max_size=2, unique=True),
    st.dictionaries(st.sampled_from(PADS), st.sampled_from(PEOPLE), min_size=1, max_size=2).filter(
        lambda d: len(set(d.values())) == len(d)
    ),
)


def pairs(spec: Spec | None) -> list[tuple[str | None, str]]:
    """(pad or None, profile) of a spec."""
    if spec is None:
        return []
    if isinstance(spec, dict):
        return [(pad, pid) for pad, pid in spec.items()]
    return [(None, pid) for pid in spec]


class TableMachine(RuleBasedStateMachine):
    """Drive a hub from every entry point; check every output against who it reaches."""

    @initialize(limits=st.lists(profile, min_size=len(PEOPLE), max_size=len(PEOPLE)))
    def build(self, limits: list[dict[str, Any]]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hub-table-"))
        pad = {"pin": 24, "max_on_minutes": 60, "cooldown_minutes": 5, "manual_timeout_minutes": 20}
        self.config = load_config(
            write_config(self.folder, {"heat_pads": {"pad": pad, "pad2": {**pad, "pin": 17}}})
        )
        self.clock = FakeClock()
        self.checks = 0
        self.violations: list[str] = []
        self.table: list[tuple[str | None, str]] = []  # the machine's own idea of the room
        self.default: list[tuple[str | None, str]] = []
        self.session: list[tuple[str | None, str]] | None = None  # a running session's people
        self.fixed: list[tuple[str | None, str]] = []  # its link's people
        self.also: list[tuple[str | None, str]] = []  # a link's people, during its command
        self.hub: Hub | None = None
        self.limits = {pid: lim for pid, lim in zip(PEOPLE, limits, strict=True)}
        self._open()
        for pid, lim in self.limits.items():
            self.hub_().people.create({"name": pid.title(), **lim})
        owner = self.app.extensions["massagehub"].auth
        self.token = owner.create_token("tests")["token"]
        self.links = {
            who: self.hub_().guests.create({"name": "Therapist", "profiles": list(who)})["token"]
            for who in (("ann",), ("bob", "cat"))
        }

    def _open(self) -> None:
        """Start a hub (again) on the same data, with every adapter on it."""
        self.factory = SimFactory()
        self.speaker = WatchedSpeaker(playlists=["calm"], max_volume=80)
        hub = Hub(
            self.config,
            clock=self.clock,
            pin_factory=self.factory,
            speaker=self.speaker,
            tick=0.5,
            mirror=False,
        )
        self.hub = hub
        hub.room.button._button.hold_time = 3600  # type: ignore[union-attr]  # press only
        self.routines = RoutineController(hub)
        hub.use_routines(self.routines)
        hub.start()
        self.speaker.check = self._check_volume
        for pid, part in hub.room.heat_pads.items():
            self._watch_pad(pid, part)
        self._watch_diffuser(hub.room.diffuser)
        self.app = create_app(hub)
        self.app.config["TESTING"] = True
        self.web = self.app.test_client()
        self.entities = build_entities(hub, self.config, Choices("swedish", 30))
        self.entities.update({e.object_id: e for e in scene_entities(hub)})
        driver = SimpleNamespace(loader=get_loader())
        self.homekit_diffuser = DiffuserSwitch(driver, hub, "diffuser", "Diffuser", 2)
        self.homekit_scenes = {
            sc: SceneSwitch(driver, hub, hub.scenes.get(sc).model_dump(), 10 + i)
            for i, sc in enumerate(BUILTIN_SCENES)
        }

    def hub_(self) -> Hub:
        assert self.hub is not None
        return self.hub

    def teardown(self) -> None:
        if self.hub is not None:
            self.hub.close()
        shutil.rmtree(getattr(self, "folder", "/nonexistent"), ignore_errors=True)

    # --- the machine's own idea of the limits ------------------------------------------------

    def reached(self) -> list[tuple[str | None, str]]:
        """Who outputs reach now: the session's people (else the table, else the default),
        and a link's people while it acts."""
        base = self.session if self.session is not None else (self.table or self.default)
        return [*base, *self.also]

    def heat_cap(self, pad: str) -> int:
        people = self.reached()
        if not people:
            return len(HEATS) - 1
        on = [pid for p, pid in people if p == pad] + [pid for p, pid in people if p is None]
        on = on or [pid for _, pid in people]  # nobody on this pad: the strictest of everyone
        return min(HEATS.index(self.limits[p]["heat_max"]) for p in on)

    def _check_volume(self, volume: float, what: str) -> None:
        people = {pid for _, pid in self.reached()}
        if people:
            self.checks += 1
            cap = min(self.limits[p]["volume_max"] for p in people)
            if volume > cap + EPS:
                self.violations.append(f"{what} at {volume} past the cap {cap} of {people}")

    def _watch_pad(self, pid: str, part: Any) -> None:
        original = part.set_heat

        def set_heat(heat: str, now: float) -> None:
            self.checks += 1
            if HEATS.index(heat) > self.heat_cap(pid):
                cap = HEATS[self.heat_cap(pid)]
                self.violations.append(f"{pid} set to {heat} past {cap} ({self.reached()})")
            original(heat, now)

        part.set_heat = set_heat

    def _watch_diffuser(self, part: Any) -> None:
        original = part.set_mode

        def set_mode(mode: str, now: float) -> None:
            said_no = [p for _, p in self.reached() if not self.limits[p]["aroma"]]
            if said_no:
                self.checks += 1
                if mode != "off":
                    self.violations.append(f"diffuser set to {mode}: {said_no} say no aroma")
            original(mode, now)

        part.set_mode = set_mode

    def _start(self, call: Any, named: Spec | None, fixed: tuple[str, ...] = ()) -> None:
        """Run a start: the machine knows whom before it runs (it may write outputs at once)."""
        running = self.hub_().sessions.current is not None
        saved = self.session, self.fixed
        if not running:
            self.fixed = [(None, p) for p in fixed]
            self.session = [*self.fixed, *(pairs(named) if named else (self.table or self.default))]
        try:
            call()
        except HubError:
            pass
        if self.hub_().sessions.current is None:
            self.session, self.fixed = None, []
        elif running:
            self.session, self.fixed = saved
        elif named:
            self.table = pairs(named)

    def _after(self) -> None:
        """A session that has ended holds nobody any more."""
        if self.hub_().sessions.current is None:
            self.session, self.fixed = None, []

    def _set_table(self, spec: Spec) -> None:
        """The table changes before the hub holds the outputs to it."""
        self.table = pairs(spec)
        if self.session is not None:
            self.session = [*self.fixed, *(self.table or self.default)]

    def _ok(self, resp: Any) -> None:
        assert resp.status_code < 500, resp.get_data(as_text=True)

    # --- entry points -------------------------------------------------------------------------

    @rule(spec=spec_st)
    def put_on_table(self, spec: Spec) -> None:
        old = list(self.table), self.session
        self._set_table(spec)
        r = self.web.put("/api/v1/table", json={"people": spec}, headers=self._auth())
        if r.status_code != 200:
            self.table, self.session = old
        self._ok(r)

    @rule(pad=st.sampled_from(PADS), who=st.one_of(st.none(), st.sampled_from(PEOPLE)))
    def seat_from_home_assistant(self, pad: str, who: str | None) -> None:
        kept = [(p, x) for p, x in self.table if p != pad and (p is not None or x != who)]
        if who is not None:
            kept = [(p, x) for p, x in kept if x != who] + [(pad, who)]
        self.table = kept
        if self.session is not None:
            self.session = [*self.fixed, *(self.table or self.default)]
        select = self.entities[f"table_{pad}"]
        select.options()  # as announced
        select.command(who.title() if who else "Nobody")()

    @rule(spec=st.lists(st.sampled_from(PEOPLE), max_size=2, unique=True))
    def household_default(self, spec: list[str]) -> None:
        self.default = pairs(spec)
        if self.session is not None and not self.table:
            self.session = [*self.fixed, *self.default]
        self._ok(self.web.put("/api/v1/table/default", json={"people": spec}, headers=self._auth()))

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @rule(
        scene=st.sampled_from(BUILTIN_SCENES),
        named=st.one_of(st.none(), spec_st),
        minutes=st.sampled_from([2, 30]),
    )
    def owner_start(self, scene: str, named: Spec | None, minutes: int) -> None:
        body: dict[str, Any] = {"scene": scene, "minutes": minutes}
        if named:
            body["profiles"] = named
        used = named if named else None

        def call() -> None:
            self._ok(self.web.post("/api/v1/session", json=body, headers=self._auth()))

        self._start(call, used)

    @rule(scene=st.sampled_from(BUILTIN_SCENES), link=st.sampled_from([("ann",), ("bob", "cat")]))
    def therapist_start(self, scene: str, link: tuple[str, ...]) -> None:
        headers = {"Authorization": f"Bearer {self.links[link]}"}

        def call() -> None:
            self._ok(self.web.post("/api/v1/session", json={"scene": scene}, headers=headers))

        self._start(call, None, link)

    @rule(
        device=st.sampled_from(["diffuser", "speaker"]),
        value=st.sampled_from(["on", "interval", 0, 30, 90]),
        link=st.sampled_from([("ann",), ("bob", "cat")]),
    )
    def therapist_sets(self, device: str, value: Any, link: tuple[str, ...]) -> None:
        if device == "diffuser":
            body: dict[str, Any] = {"mode": value if isinstance(value, str) else "on"}
        else:
            body = {"volume": value if isinstance(value, int) else 50}
        headers = {"Authorization": f"Bearer {self.links[link]}"}
        self.also = [(None, p) for p in link]
        try:
            self._ok(self.web.put(f"/api/v1/devices/{device}", json=body, headers=headers))
        finally:
            self.also = []

    @rule(
        pad=st.sampled_from(PADS), heat=st.sampled_from(HEATS), by=st.sampled_from(["web", "mqtt"])
    )
    def set_pad(self, pad: str, heat: str, by: str) -> None:
        if by == "mqtt":
            self._mqtt(f"heat_{pad}", heat)
        else:
            body = {"heat": heat, "minutes": 10}
            self._ok(self.web.put(f"/api/v1/devices/{pad}", json=body, headers=self._auth()))

    @rule(volume=st.integers(0, 100), by=st.sampled_from(["web", "mqtt"]))
    def set_volume(self, volume: int, by: str) -> None:
        if by == "mqtt":
            self._mqtt("volume", str(volume))
        else:
            body = {"volume": volume, "fade_seconds": 2}
            self._ok(self.web.put("/api/v1/devices/speaker", json=body, headers=self._auth()))

    @rule(play=st.booleans())
    def music(self, play: bool) -> None:
        self._mqtt("playlist", "calm" if play else "no music")

    @rule(mode=st.sampled_from(["on", "interval", "off"]), by=st.sampled_from(["mqtt", "homekit"]))
    def diffuser(self, mode: str, by: str) -> None:
        if by == "mqtt":
            self._mqtt("diffuser_mode", mode)
        else:
            try:
                self.homekit_diffuser._written({"On": mode != "off"})
            except HubError:
                pass

    def _mqtt(self, object_id: str, payload: str) -> None:
        try:
            self.entities[object_id].command(payload)()
        except (BadPayload, HubError):
            pass

    @rule(scene=st.sampled_from(BUILTIN_SCENES), by=st.sampled_from(["mqtt", "homekit"]))
    def voice_start(self, scene: str, by: str) -> None:
        def call() -> None:
            if by == "mqtt":
                self.entities[f"scene_{scene}"].command("ON")()
            else:
                self.homekit_scenes[scene]._written({"On": True})

        self._start(call, None)

    @rule(scene=st.sampled_from(BUILTIN_SCENES), named=st.one_of(st.none(), spec_st))
    def routine(self, scene: str, named: Spec | None) -> None:
        rid = f"r{abs(hash((scene, str(named)))) % 10_000}"
        spec: dict[str, Any] = {
            "id": rid,
            "name": rid,
            "schedule": {"kind": "weekly", "time": "21:30", "days": ["mon"]},
            "action": {"kind": "scene", "scene": scene, "minutes": 20},
            "if_session": "run",
        }
        if named:
            spec["profiles"] = named
        if rid not in self.routines.routines:
            self.routines.create_routine(spec)
        if named:
            self._set_table(named)
        try:
            self.routines.run_now(rid)
        except HubError:
            pass

    @rule()
    def button(self) -> None:
        pin = self.factory.pin(25)

        def call() -> None:
            pin.drive_low()
            pin.drive_high()

        self._start(call, None)

    @rule(action=st.sampled_from(["pause", "resume", "extend", "stop", "all_off"]))
    def session_command(self, action: str) -> None:
        hub = self.hub_()
        try:
            if action == "pause":
                hub.sessions.pause()
            elif action == "resume":
                hub.sessions.resume()
            elif action == "extend":
                hub.sessions.extend(5)
            elif action == "stop":
                hub.sessions.stop()
            else:
                self._ok(self.web.post("/api/v1/all-off", headers=self._auth()))
        except HubError:
            pass
        self._after()

    @rule(pid=st.sampled_from(PEOPLE), lim=profile)
    def change_profile(self, pid: str, lim: dict[str, Any]) -> None:
        self.limits[pid] = lim  # learnt first: writes during the update must meet the new ones
        self.hub_().people.update(pid, {"name": pid.title(), **lim})

    @rule(seconds=st.sampled_from([0.5, 2, 15, 60, 600, 1800, 7200]))
    def advance(self, seconds: float) -> None:
        self.hub_().advance(seconds)
        self._after()

    @precondition(lambda self: self.hub is not None)
    @rule(down=st.sampled_from([1, 60, 3600]))
    def restart(self, down: float) -> None:
        self.hub_().close()
        self.session, self.fixed = None, []
        self.clock.advance(down)
        self._open()
        # the table and the household default come back as they were
        assert {(p["pad"], p["profile"]) for p in self.hub_().people.table()["people"]} == set(
            self.table or self.default
        )

    # --- the invariant, also on the state after each step -----------------------------------

    @invariant()
    def limits_hold(self) -> None:
        if self.hub is None:
            return
        assert not self.violations, self.violations[0]
        hub = self.hub
        for pid in PADS:
            heat = hub.room.heat_pads[pid].heat
            assert HEATS.index(heat) <= self.heat_cap(pid), f"{pid} at {heat}"
        self._check_volume(self.speaker.volume, "volume")
        assert not self.violations, self.violations[0]
        if any(not self.limits[p]["aroma"] for _, p in self.reached()):
            assert hub.room.diffuser.mode == "off"
            assert not hub.room.diffuser.is_on


TestTable = TableMachine.TestCase
TestTable.settings = settings(
    settings.default,
    max_examples=60,
    stateful_step_count=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    deadline=None,
)
