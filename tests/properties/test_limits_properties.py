"""A person's limits as a property: a Hypothesis state machine over a fake-clock couples hub.

README.md, Safety 6: a session started for profiles never goes past any of their
limits, whatever scene, routine or client asks. Random sequences of profile changes,
session starts (a list of people, or people by pad), manual device commands, scenes,
pauses, extends, stops and clock jumps run against a hub with two pads. Every write to a
part is checked *as it happens*, against limits the machine works out for itself:

- a pad is never set above the ceiling of the person on it (a pad nobody is on: the
  strictest person present; a plain list: every person on every pad);
- the speaker's volume is never written above the lowest cap of the people present;
- the diffuser is never switched on while anyone present says no aroma.

Routines and MQTT call the same public commands (``hub.devices.set``, ``hub.scenes.apply``) with
their own owner, so those are driven here with every owner.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.errors import HubError
from tests.rigs.support import BUILTIN_SCENES, write_config

HEATS = ["off", "low", "medium", "high"]
PADS = ["pad", "pad2"]
PEOPLE = ["ann", "bob", "cat", "dan"]
OWNERS = ["manual", "routine", "session"]
EPS = 1e-6


class WatchedSpeaker(SilentSpeaker):
    """A silent speaker that has every volume it is given checked."""

    check: Any = None

    @SilentSpeaker.volume.setter  # type: ignore[attr-defined, untyped-decorator]
    def volume(self, value: float) -> None:
        SilentSpeaker.volume.fset(self, value)  # type: ignore[attr-defined]
        if self.check is not None:
            self.check(self._volume)


profile = st.fixed_dictionaries(
    {
        "heat_max": st.sampled_from(HEATS),
        "volume_max": st.integers(0, 100),
        "aroma": st.booleans(),
    }
)
people_spec = st.one_of(
    st.none(),
    st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True),
    st.dictionaries(st.sampled_from(PADS), st.sampled_from(PEOPLE), min_size=1, max_size=2).filter(
        lambda d: len(set(d.values())) == len(d)
    ),
)


class LimitsMachine(RuleBasedStateMachine):
    """Drive a two-pad hub and check every output write against the people's limits."""

    @initialize(limits=st.lists(profile, min_size=len(PEOPLE), max_size=len(PEOPLE)))
    def build(self, limits: list[dict[str, Any]]) -> None:
        self.folder = tempfile.mkdtemp(prefix="hub-limits-")
        pad = {"pin": 24, "max_on_minutes": 60, "cooldown_minutes": 5, "manual_timeout_minutes": 20}
        config = load_config(
            write_config(
                Path(self.folder),
                {"heat_pads": {"pad": pad, "pad2": {**pad, "pin": 17}}, "button": None},
            )
        )
        self.clock = FakeClock()
        self.speaker = WatchedSpeaker(playlists=["calm"], max_volume=80)
        self.hub = hub = Hub(
            config,
            clock=self.clock,
            pin_factory=SimFactory(),
            speaker=self.speaker,
            tick=0.5,
            mirror=False,
        )
        hub.start()
        self.profiles: dict[str, dict[str, Any]] = {}
        for pid, lim in zip(PEOPLE, limits, strict=True):
            self.profiles[pid] = hub.people.create({"name": pid.title(), **lim})
        # session id -> who it is for ({pad: [profile ids]}); None: nobody's limits
        self.specs: dict[int, dict[str, list[str]] | None] = {}
        self.pending: dict[str, list[str]] | None = None
        self.checks = 0
        # recorded, not raised: the hub treats a part that raises as broken and switches it off
        self.violations: list[str] = []
        self.speaker.check = self._check_volume
        for pid, part in hub.room.heat_pads.items():
            self._watch_pad(pid, part)
        self._watch_diffuser(hub.room.diffuser)

    def teardown(self) -> None:
        if hasattr(self, "hub"):
            self.hub.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    # --- the machine's own idea of the limits ------------------------------------------------

    def _on_table(self) -> dict[str, list[str]] | None:
        s = self.hub.sessions.current
        if s is None:
            return None
        if s.id not in self.specs:  # written while the start is under way
            self.specs[s.id] = self.pending
        return self.specs[s.id]

    def _heat_cap(self, pad: str) -> int:
        table = self._on_table()
        if table is None:
            return len(HEATS) - 1
        everyone = sorted({p for ps in table.values() for p in ps})
        on = table.get(pad) or everyone
        return min(HEATS.index(self.profiles[p]["heat_max"]) for p in on)

    def _everyone(self) -> list[str]:
        table = self._on_table() or {}
        return sorted({p for ps in table.values() for p in ps})

    def _check_volume(self, volume: float) -> None:
        people = self._everyone()
        if people:
            self.checks += 1
            cap = min(self.profiles[p]["volume_max"] for p in people)
            if volume > cap + EPS:
                self.violations.append(f"volume {volume} written past the cap {cap} of {people}")

    def _watch_pad(self, pid: str, part: Any) -> None:
        original = part.set_heat

        def set_heat(heat: str, now: float) -> None:
            if self._on_table() is not None:
                self.checks += 1
                if HEATS.index(heat) > self._heat_cap(pid):
                    self.violations.append(f"{pid} set to {heat} past {HEATS[self._heat_cap(pid)]}")
            original(heat, now)

        part.set_heat = set_heat

    def _watch_diffuser(self, part: Any) -> None:
        original = part.set_mode

        def set_mode(mode: str, now: float) -> None:
            said_no = [p for p in self._everyone() if not self.profiles[p]["aroma"]]
            if said_no:
                self.checks += 1
                if mode != "off":
                    self.violations.append(f"diffuser set to {mode}: {said_no} say no aroma")
            original(mode, now)

        part.set_mode = set_mode

    def run(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HubError:
            return None

    # --- rules ----------------------------------------------------------------------------------

    @rule(pid=st.sampled_from(PEOPLE), lim=profile)
    def change_profile(self, pid: str, lim: dict[str, Any]) -> None:
        # the machine learns the new limits first: writes during the update must meet them
        self.profiles[pid] = {**self.profiles[pid], **lim}
        self.hub.people.update(pid, {"name": pid.title(), **lim})

    @rule(
        scene=st.sampled_from(BUILTIN_SCENES),
        minutes=st.integers(1, 90),
        spec=people_spec,
    )
    def start(self, scene: str, minutes: int, spec: Any) -> None:
        if spec is None:
            self.pending = None
        elif isinstance(spec, list):
            self.pending = {pad: list(spec) for pad in PADS}
        else:
            self.pending = {pad: [who] for pad, who in spec.items()}
        self.run(self.hub.sessions.start, scene, minutes, profiles=spec)

    @rule(pad=st.sampled_from(PADS), heat=st.sampled_from(HEATS), owner=st.sampled_from(OWNERS))
    def set_pad(self, pad: str, heat: str, owner: str) -> None:
        self.run(self.hub.devices.set, pad, {"heat": heat, "minutes": 10}, owner=owner)

    @rule(volume=st.integers(0, 100), fade=st.sampled_from([0, 3, 30]))
    def set_volume(self, volume: int, fade: int) -> None:
        self.run(self.hub.devices.set, "speaker", {"volume": volume, "fade_seconds": fade})

    @rule(play=st.booleans())
    def music(self, play: bool) -> None:
        change = {"playlist": "calm"} if play else {"playing": False}
        self.run(self.hub.devices.set, "speaker", change, owner="routine")

    @rule(
        change=st.sampled_from([{"on": True}, {"mode": "interval"}, {"mode": "on"}, {"on": False}])
    )
    def diffuser(self, change: dict[str, Any]) -> None:
        self.run(self.hub.devices.set, "diffuser", change)

    @rule(scene=st.sampled_from(BUILTIN_SCENES), owner=st.sampled_from(OWNERS))
    def apply_scene(self, scene: str, owner: str) -> None:
        self.run(self.hub.scenes.apply, scene, owner=owner, heat_seconds=600)

    @rule()
    def pause(self) -> None:
        self.run(self.hub.sessions.pause)

    @rule()
    def resume(self) -> None:
        self.run(self.hub.sessions.resume)

    @rule(minutes=st.integers(1, 30))
    def extend(self, minutes: int) -> None:
        self.run(self.hub.sessions.extend, minutes)

    @rule()
    def stop(self) -> None:
        self.run(self.hub.sessions.stop)

    @rule()
    def all_off(self) -> None:
        self.hub.devices.all_off()

    @rule(seconds=st.sampled_from([0.5, 2, 15, 60, 600, 3600]))
    def advance(self, seconds: float) -> None:
        self.hub.advance(seconds)

    # --- the invariant, also on the state after each step -----------------------------------

    @invariant()
    def limits_hold(self) -> None:
        if not hasattr(self, "hub"):
            return
        assert not self.violations, self.violations[0]
        if self._on_table() is None:
            return
        for pid in PADS:
            heat = self.hub.room.heat_pads[pid].heat
            assert HEATS.index(heat) <= self._heat_cap(pid), f"{pid} at {heat}"
        self._check_volume(self.speaker.volume)
        if any(not self.profiles[p]["aroma"] for p in self._everyone()):
            assert self.hub.room.diffuser.mode == "off"
            assert not self.hub.room.diffuser.is_on


TestLimits = LimitsMachine.TestCase
TestLimits.settings = settings(
    settings.default,
    stateful_step_count=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    deadline=None,
)
