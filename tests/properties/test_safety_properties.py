"""Heat-pad safety invariants as properties: a Hypothesis state machine over a fake-clock hub.

Random sequences of good commands, bad commands and clock jumps run against a hub on
gpiozero's mock pins. After every step the machine checks, from the recorded heat and
relay-pin history (not from the guard's own bookkeeping):

1. no pad is on (heat setting, or its relay pin high) for longer than ``max_on_minutes``
   in one stretch, nor in several stretches with rests shorter than ``cooldown_minutes``
   between them, and after a forced off it stays off for ``cooldown_minutes``;
2. no pad is on outside a running session (prepare/active), a routine's or a manual
   command's own time limit; the relay is never closed while the heat setting is off;
3. a refused command (any HubError) changed nothing: state, pin levels, guard, fades,
   store and event stream are exactly as before.

``HYPOTHESIS_PROFILE=ci`` runs 400 examples; the ``reliability`` variant runs 10 000.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
import tempfile
from dataclasses import asdict
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from hardware import SilentSpeaker, normalize_pin
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.errors import HubError
from tests.rigs.support import BUILTIN_SCENES, write_config

EPS = 1e-6
TICK = 0.5  # a coarse control tick: long fades need 2 steps per second, not 60

SCENES = [
    *BUILTIN_SCENES,
    "hot",  # a user scene: high heat, no pre-warm, a long fade-out
]
BAD_SCENES = ["nope", "", "SWEDISH", 7, None]
HEATS = ["off", "low", "medium", "high"]
BAD_VALUES: list[Any] = [
    -1,
    0,
    -0.5,
    1e9,
    float("nan"),
    float("inf"),
    "10",
    True,
    None,
    [],
    {"x": 1},
]

minutes_good = st.floats(min_value=1, max_value=240, allow_nan=False)
seconds_short = st.floats(min_value=0.01, max_value=180, allow_nan=False)
seconds_long = st.floats(min_value=180, max_value=5 * 3600, allow_nan=False)


def merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merge overlapping (or touching) closed intervals."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + EPS:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def overlap(a: float, b: float, intervals: list[tuple[float, float]]) -> float:
    """How much of [a, b] the (disjoint) ``intervals`` cover."""
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in intervals)


def covered(a: float, b: float, intervals: list[tuple[float, float]]) -> bool:
    """True if [a, b] lies inside the union of ``intervals``."""
    return any(x - EPS <= a and b <= y + EPS for x, y in merge(intervals))


class HeatRecorder:
    """Record every heat-setting change of every pad and every relay-pin change."""

    def __init__(self, hub: Hub, factory: SimFactory, clock: FakeClock) -> None:
        self.clock = clock
        self.pin_of = {pid: normalize_pin(c.pin) for pid, c in hub.config.heat_pads.items()}
        self.pad_of_pin = {pin: pid for pid, pin in self.pin_of.items()}
        self.stretches: dict[str, list[tuple[float, float]]] = {p: [] for p in self.pin_of}
        self.on_since: dict[str, float | None] = {p: None for p in self.pin_of}
        self.violations: list[str] = []
        self.attach(hub, factory)

    def attach(self, hub: Hub, factory: SimFactory) -> None:
        """Watch a (new) hub's pads and pins; the history so far is kept."""
        self.hub = hub
        self.factory = factory
        for pid, pad in hub.room.heat_pads.items():
            self._wrap(pid, pad)
        factory.listeners.append(self._on_pin)

    def pins_driven_off(self) -> None:
        """A dead hub's pins were driven off now (ExecStopPost): its open stretches end."""
        now = self.clock.monotonic()
        for pid, since in self.on_since.items():
            if since is not None:
                self.stretches[pid].append((since, now))
                self.on_since[pid] = None

    def _wrap(self, pid: str, pad: Any) -> None:
        set_heat, off = pad.set_heat, pad.off

        def set_heat_recorded(heat: str, now: float) -> None:
            set_heat(heat, now)
            self._heat_now(pid)

        def off_recorded(now: float | None = None) -> None:
            off(now)
            self._heat_now(pid)
            if self.factory.level(self.pin_of[pid]) != 0:
                self.violations.append(f"{pid}: relay still closed after off()")

        pad.set_heat = set_heat_recorded
        pad.off = off_recorded

    def _heat_now(self, pid: str) -> None:
        now = self.clock.monotonic()
        on = self.hub.room.heat_pads[pid].heat != "off"
        if on and self.on_since[pid] is None:
            self.on_since[pid] = now
        elif not on and self.on_since[pid] is not None:
            self.stretches[pid].append((self.on_since[pid], now))  # type: ignore[arg-type]
            self.on_since[pid] = None

    def _on_pin(self, pin: str, value: float) -> None:
        pid = self.pad_of_pin.get(pin)
        if pid is not None and value > 0 and self.hub.room.heat_pads[pid].heat == "off":
            self.violations.append(
                f"{pid}: relay closed at t={self.clock.monotonic():.3f} with heat off"
            )

    def all_stretches(self, pid: str, now: float) -> list[tuple[float, float]]:
        """Closed stretches plus the open one (ending now)."""
        out = list(self.stretches[pid])
        if self.on_since[pid] is not None:
            out.append((self.on_since[pid], now))  # type: ignore[arg-type]
        return out


class HeatSafetyMachine(RuleBasedStateMachine):
    """Drive a hub with random good and bad commands and clock jumps."""

    def __init__(self) -> None:
        super().__init__()
        self.hub: Hub | None = None
        self.folder: str | None = None
        self.restarts = self.crashes = self.reboots = 0

    # --- setting up -----------------------------------------------------------------------

    @initialize(
        couples=st.booleans(),
        max_on=st.sampled_from([1, 2, 5, 15, 60, 120]),
        cooldown=st.sampled_from([0, 1, 3, 30]),
        manual=st.sampled_from([0.5, 1, 5, 20, 120]),
        prewarm=st.sampled_from([0, 1, 5]),
    )
    def build(self, couples: bool, max_on: int, cooldown: int, manual: float, prewarm: int) -> None:
        self.folder = tempfile.mkdtemp(prefix="hub-prop-")
        pad = {
            "pin": 24,
            "max_on_minutes": max_on,
            "cooldown_minutes": cooldown,
            "manual_timeout_minutes": min(manual, max_on),
        }
        pads: dict[str, Any] = {"pad": pad}
        if couples:
            pads["pad2"] = {**pad, "pin": 17, "max_on_minutes": max(1, max_on // 2)}
            pads["pad2"]["manual_timeout_minutes"] = min(manual, pads["pad2"]["max_on_minutes"])
        path = write_config(
            Path(self.folder),
            {"heat_pads": pads, "session": {"prewarm_minutes": prewarm}, "button": None},
        )
        config = load_config(path)
        self.config = config
        self.clock = FakeClock()
        self.session_open: float | None = None  # read by _on_event from the first event on
        self.hub = hub = self._new_hub()
        hub.scenes.create(
            {
                "name": "Hot",
                "heat": {"*": "high"},
                "lights": {"*": 0.1},
                "diffuser": "interval",
                "prewarm_minutes": 0,
                "fade_out_seconds": 600,
            }
        )
        self.pads = list(config.heat_pads)
        self.limits = {
            pid: (c.max_on_minutes * 60, c.cooldown_minutes * 60, c.manual_timeout_minutes * 60)
            for pid, c in config.heat_pads.items()
        }
        self.heat = HeatRecorder(hub, self.factory, self.clock)
        # permission to heat: per pad, [from, until] intervals; sessions count for every pad
        self.allowed: dict[str, list[tuple[float, float]]] = {p: [] for p in self.pads}
        self.session_open = None
        self.session_spans: list[tuple[float, float]] = []
        self.locks: dict[str, list[tuple[float, float]]] = {p: [] for p in self.pads}
        self.refused = 0
        # time a dead hub's pins stayed on before ExecStopPost: not the hub's to prevent
        self.dead: list[tuple[float, float]] = []

    def _new_hub(self) -> Hub:
        self.factory = SimFactory()
        hub = Hub(
            self.config,
            clock=self.clock,
            pin_factory=self.factory,
            speaker=SilentSpeaker(playlists=["calm"], max_volume=80),
            tick=TICK,
            mirror=False,
        )
        hub.subscribe(self._on_event)
        hub.start()
        return hub

    def _restarted(self, down_at: float) -> None:
        """A new hub on the same data: no permission to heat outlives the old process."""
        for pid in self.pads:
            self.allowed[pid] = [(a, min(b, down_at)) for a, b in self.allowed[pid]]
        if self.session_open is not None:
            self.session_spans.append((self.session_open, down_at))
            self.session_open = None
        self.hub = self._new_hub()
        self.heat.attach(self.hub, self.factory)
        self.restarts += 1

    def teardown(self) -> None:
        if self.hub is not None:
            self.hub.close()
            # closing switches everything off: the recorder saw it
            self.check_heat_history()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _on_event(self, ev: Any) -> None:
        now = self.clock.monotonic()
        running = ev.state["session"] is not None and ev.state["session"]["phase"] in (
            "prepare",
            "active",
        )
        if running and self.session_open is None:
            self.session_open = now
        elif not running and self.session_open is not None:
            self.session_spans.append((self.session_open, now))
            self.session_open = None
        if ev.type == "safety" and ev.data.get("reason") == "max_on":
            pid = ev.data["device"]
            self.locks[pid].append((now, now + self.limits[pid][1]))
            event("a pad reached its stretch limit")

    # --- the command wrapper: a refused command must change nothing -------------------------

    def snapshot(self) -> Any:
        hub = self.hub
        assert hub is not None
        return (
            hub.state(),
            {info.name: float(pin.state) for info, pin in self.factory.pins.items()},
            {pid: asdict(s) for pid, s in hub.guard.states.items()},
            {k: asdict(f) for k, f in hub.context.fader.fades.items()},
            hub.events.seq,
            hub.store.history(500, 0),
            hub.store.list_docs("scenes"),
            copy.deepcopy(hub.sessions.last),
            hub.room.diffuser.mode if hub.room.diffuser else None,
        )

    def run(self, command: Any, *args: Any, **kwargs: Any) -> bool:
        """Run a hub command; on a HubError assert nothing changed. Return success."""
        before = self.snapshot()
        try:
            command(*args, **kwargs)
        except HubError as exc:
            assert exc.status in (404, 409, 422), exc
            assert exc.message
            after = self.snapshot()
            assert_same(before, after, f"{command.__name__}{args}{kwargs} -> {exc.message}")
            self.refused += 1
            event(f"refused: {type(exc).__name__}")
            return False
        return True

    def now(self) -> float:
        return self.clock.monotonic()

    # --- sessions -------------------------------------------------------------------------

    @rule(
        scene=st.one_of(st.sampled_from(SCENES), st.sampled_from(BAD_SCENES)),
        minutes=st.one_of(st.none(), minutes_good, st.sampled_from(BAD_VALUES)),
    )
    def start_session(self, scene: Any, minutes: Any) -> None:
        assert self.hub is not None
        self.run(self.hub.sessions.start, scene, minutes)

    @rule()
    def pause(self) -> None:
        assert self.hub is not None
        self.run(self.hub.sessions.pause)

    @rule()
    def resume(self) -> None:
        assert self.hub is not None
        self.run(self.hub.sessions.resume)

    @rule(minutes=st.one_of(st.floats(min_value=1, max_value=120), st.sampled_from(BAD_VALUES)))
    def extend(self, minutes: Any) -> None:
        assert self.hub is not None
        self.run(self.hub.sessions.extend, minutes)

    @rule()
    def stop(self) -> None:
        assert self.hub is not None
        self.run(self.hub.sessions.stop)

    @rule()
    def all_off(self) -> None:
        assert self.hub is not None
        self.run(self.hub.devices.all_off, reason="test")

    # --- scenes and devices ---------------------------------------------------------------

    @rule(
        scene=st.one_of(st.sampled_from(SCENES), st.sampled_from(BAD_SCENES)),
        fade=st.one_of(st.none(), st.sampled_from([0, 1, 30, 300]), st.sampled_from(BAD_VALUES)),
        owner=st.sampled_from(["manual", "routine", "manual", "bogus"]),
        heat_seconds=st.one_of(
            st.none(), st.floats(min_value=1, max_value=3 * 3600), st.sampled_from(BAD_VALUES)
        ),
    )
    def apply_scene(self, scene: Any, fade: Any, owner: str, heat_seconds: Any) -> None:
        hub = self.hub
        assert hub is not None
        now = self.now()
        ok = self.run(
            hub.scenes.apply, scene, fade_seconds=fade, owner=owner, heat_seconds=heat_seconds
        )
        if ok and self.session_open is None:
            for pid in self.pads:
                max_on, _, manual = self.limits[pid]
                seconds = manual if heat_seconds is None else heat_seconds
                self.allowed[pid].append((now, now + min(seconds, max_on)))

    @rule(
        pad=st.one_of(st.sampled_from(["pad", "pad2"]), st.sampled_from(["nope", "main"])),
        change=st.one_of(
            st.fixed_dictionaries(
                {"heat": st.sampled_from(HEATS)},
                optional={"minutes": st.one_of(st.floats(0.1, 150), st.sampled_from(BAD_VALUES))},
            ),
            st.fixed_dictionaries(
                {"on": st.booleans()},
                optional={"minutes": st.floats(0.1, 150)},
            ),
            st.sampled_from(
                [
                    {},
                    {"heat": "warm"},
                    {"heat": "high", "on": True},
                    {"heat": 3},
                    {"heat": "low", "minutes": 0},
                    {"heat": "low", "hours": 1},
                    {"on": "yes"},
                    {"minutes": 5},
                    [],
                    "high",
                    None,
                ]
            ),
        ),
    )
    def set_pad(self, pad: str, change: Any) -> None:
        hub = self.hub
        assert hub is not None
        now = self.now()
        # in a running session a pad set by hand stays the session's: its time, not minutes
        in_session = hub.state()["session"] is not None and hub.state()["session"]["phase"] in (
            "prepare",
            "active",
        )
        ok = self.run(hub.devices.set, pad, change)
        heats = isinstance(change, dict) and (
            change.get("heat") not in (None, "off") or change.get("on") is True
        )
        if ok and pad in self.limits and heats and not in_session:
            minutes = change.get("minutes")
            seconds = self.limits[pad][2] if minutes is None else minutes * 60
            assert seconds <= self.limits[pad][0] + EPS, "a too-long manual heat was accepted"
            self.allowed[pad].append((now, now + seconds))

    @rule(
        light=st.sampled_from(["main", "accent", "ghost"]),
        change=st.one_of(
            st.fixed_dictionaries(
                {"level": st.floats(0, 1)},
                optional={"fade_seconds": st.sampled_from([0, 0.5, 3, 60, 900])},
            ),
            st.fixed_dictionaries({"on": st.booleans()}),
            st.sampled_from(
                [
                    {"level": 1.5},
                    {"level": -0.1},
                    {"level": "0.5"},
                    {"level": 0.5, "on": True},
                    {"level": 0.5, "fade_seconds": -1},
                    {"level": 0.5, "fade_seconds": 4000},
                    {"brightness": 0.5},
                    {"level": float("nan")},
                ]
            ),
        ),
    )
    def set_light(self, light: str, change: Any) -> None:
        assert self.hub is not None
        self.run(self.hub.devices.set, light, change)

    @rule(
        change=st.sampled_from(
            [
                {"mode": "interval"},
                {"mode": "on"},
                {"mode": "off"},
                {"on": True},
                {"on": False},
                {"mode": "pulse"},
                {"mode": "on", "on": False},
                {"on": 1},
            ]
        )
    )
    def set_diffuser(self, change: dict[str, Any]) -> None:
        assert self.hub is not None
        self.run(self.hub.devices.set, "diffuser", change)

    @precondition(
        lambda self: (
            self.hub is not None and any(self.hub.guard.locked(p, self.now()) for p in self.pads)
        )
    )
    @rule(heat=st.sampled_from(["low", "medium", "high"]), minutes=st.floats(0.5, 30))
    def heat_while_locked(self, heat: str, minutes: float) -> None:
        """Ask a cooling-down pad for heat: refused with safety_locked, nothing changed."""
        hub = self.hub
        assert hub is not None
        pid = next(p for p in self.pads if hub.guard.locked(p, self.now()))
        before = self.refused
        self.run(
            hub.devices.set,
            pid,
            {"heat": heat, "minutes": min(minutes, 0.9 * self.limits[pid][0] / 60)},
        )
        assert self.refused == before + 1, "a locked pad accepted heat"

    # --- time -----------------------------------------------------------------------------

    @rule(seconds=st.one_of(seconds_short, seconds_short, seconds_long))
    def advance(self, seconds: float) -> None:
        assert self.hub is not None
        self.hub.advance(seconds)

    @precondition(lambda self: self.hub is not None and self.hub.sessions.current is not None)
    @rule(hair=st.sampled_from([-0.001, 0.0, 0.001]))
    def advance_to_phase_end(self, hair: float) -> None:
        """Jump to the end of the session's phase, or a hair before or after it."""
        hub = self.hub
        assert hub is not None and hub.sessions.current is not None
        left = hub.sessions.current.phase_end - self.now() + hair
        if left > 0:
            hub.advance(left)

    @precondition(lambda self: self.hub is not None)
    @rule()
    def advance_to_heat_limit(self) -> None:
        """Jump exactly to the next heat expiry or stretch limit."""
        hub = self.hub
        assert hub is not None
        times = []
        for pid, s in hub.guard.states.items():
            if s.on_since is not None:
                times.append(s.on_since + self.limits[pid][0])
            if s.until is not None:
                times.append(s.until)
        future = [t for t in times if t > self.now()]
        if future:
            hub.advance(min(future) - self.now())

    @rule(seconds=st.floats(min_value=-86400 * 3, max_value=86400 * 3))
    def jump_wall(self, seconds: float) -> None:
        """Step the wall clock (NTP, a user): timers run on monotonic time and ignore it."""
        assert self.hub is not None
        self.clock.jump_wall(seconds)
        self.hub.advance(0)

    # --- restarts and crashes -------------------------------------------------------------

    @rule(down=st.sampled_from([0.0, 5.0, 600.0]))
    def restart(self, down: float) -> None:
        """A clean stop (everything off, recorded), some time down, a fresh start."""
        assert self.hub is not None
        self.hub.close()
        at = self.now()
        self.clock.advance(down)
        self._restarted(at)
        event("clean restart")

    @rule(
        stuck=st.sampled_from([0.0, 0.0, 1.0, 20.0]),
        down=st.sampled_from([0.0, 5.0, 600.0, 3600.0]),
        reboot=st.booleans(),
        wall=st.sampled_from([0.0, -3 * 3600.0, 2 * 3600.0]),
    )
    def crash(self, stuck: float, down: float, reboot: bool, wall: float) -> None:
        """kill -9: nothing of the hub runs again; its pins stay as they were for ``stuck``
        seconds until ExecStopPost drives them off; the machine may reboot with its wall
        clock stepped; then a fresh start on the same data."""
        assert self.hub is not None
        dead = self.hub
        crashed = self.now()
        self.clock.advance(stuck)
        self.dead.append((crashed, self.now()))
        self.heat.pins_driven_off()
        dead.store.close()  # the process is gone
        self.clock.advance(down)
        if reboot:
            self.clock.reboot()
            self.clock.jump_wall(wall)
            self.reboots += 1
        self.crashes += 1
        self._restarted(crashed)
        event("crash" + (" and reboot" if reboot else ""))

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def heat_is_safe(self) -> None:
        if self.hub is not None:
            self.check_heat_history()

    def check_heat_history(self) -> None:
        now = self.now()
        assert not self.heat.violations, self.heat.violations
        spans = list(self.session_spans)
        if self.session_open is not None:
            spans.append((self.session_open, now))
        for pid in self.pads:
            max_on, cooldown, _ = self.limits[pid]
            # on-time adds up across offs shorter than the cooldown (re-sending "on" cannot
            # keep a pad on): every run of stretches with such short gaps stays within max_on
            used, last_end, slack = 0.0, None, 0.0
            for a, b in self.heat.all_stretches(pid, now):
                if last_end is not None and a - last_end >= cooldown - EPS:
                    used, slack = 0.0, 0.0
                used += b - a
                slack += overlap(a, b, self.dead)  # a dead hub's pins: it could not help it
                last_end = b
                assert used <= max_on + slack + EPS, (
                    f"{pid} was on for {used / 60:.3f} min with rests shorter than the "
                    f"{cooldown / 60:g} min cooldown (limit {max_on / 60:g} min), up to t={b}"
                )
            for a, b in self.heat.all_stretches(pid, now):
                assert b - a <= max_on + overlap(a, b, self.dead) + EPS, (
                    f"{pid} was on for {(b - a) / 60:.3f} min in one stretch "
                    f"(limit {max_on / 60:g} min) from t={a}"
                )
                assert covered(a, b, spans + self.allowed[pid] + self.dead), (
                    f"{pid} was on from t={a} to t={b} without a session, routine or "
                    f"timed manual-on (sessions {spans}, manual {self.allowed[pid]})"
                )
                for x, y in self.locks[pid]:
                    assert not (x + EPS < b and a < y - EPS), (
                        f"{pid} was on from t={a} to t={b} while cooling down ({x}..{y})"
                    )
            relay = self.factory.level(self.heat.pin_of[pid])
            if self.hub is not None and self.hub.room.heat_pads[pid].heat == "off":
                assert relay == 0, f"{pid}: relay closed with heat off"


def assert_same(before: Any, after: Any, what: str) -> None:
    """Assert two snapshots are equal (NaN-safe), naming the first difference."""
    names = ["state", "pins", "guard", "fades", "event seq", "history", "scenes", "last", "diff"]
    for name, b, a in zip(names, before, after, strict=True):
        assert equal(b, a), f"refused command changed {name}: {what}\nbefore={b}\nafter={a}"


def equal(a: Any, b: Any) -> bool:
    """Structural equality where NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


TestHeatSafety = HeatSafetyMachine.TestCase
TestHeatSafety.settings = settings(
    settings.default,
    stateful_step_count=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    deadline=None,
)


@pytest.mark.reliability
@pytest.mark.timeout(4 * 3600)  # 10 000 long sequences take about 20 minutes
def test_heat_safety_long_sequences() -> None:
    """Long command sequences: 10 000 with HYPOTHESIS_PROFILE=reliability, a few otherwise."""
    long_run = os.environ.get("HYPOTHESIS_PROFILE") == "reliability"
    run_state_machine_as_test(
        HeatSafetyMachine,
        settings=settings(
            settings.default,
            max_examples=10_000 if long_run else 15,
            stateful_step_count=100 if long_run else 150,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            deadline=None,
        ),
    )


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(),
        st.text(max_size=6),
        st.sampled_from(["main", "pad", "diffuser", "speaker", "swedish", "low", "interval"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["level", "on", "mode", "heat", "minutes", "volume", "fade_seconds", "name"]
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
COMMANDS = {  # name: how many positional arguments it takes
    "devices.set": 2,
    "sessions.start": 2,
    "sessions.extend": 1,
    "scenes.apply": 1,
    "scenes.create": 1,
    "scenes.update": 2,
    "scenes.duplicate": 2,
    "scenes.delete": 1,
    "scenes.get": 1,
    "sessions.history": 2,
    "people.set_table": 1,
    "people.set_default": 1,
    "people.seat": 2,
}


def test_any_json_to_any_command_works_or_is_refused_cleanly(tmp_path: Path) -> None:
    """Whatever a client sends, a command works or raises a HubError that changed nothing."""
    from hypothesis import given

    clock = FakeClock()
    factory = SimFactory()
    hub = Hub(
        load_config(write_config(tmp_path)),
        clock=clock,
        pin_factory=factory,
        speaker=SilentSpeaker(playlists=["calm"]),
        mirror=False,
    )
    hub.start()

    @settings(max_examples=300, deadline=None, database=None)
    @given(name=st.sampled_from(sorted(COMMANDS)), data=st.data())
    def check(name: str, data: Any) -> None:
        arity = COMMANDS[name]
        args = data.draw(st.lists(JSON, min_size=arity, max_size=arity))
        before = (hub.state(), {i.name: p.state for i, p in factory.pins.items()})
        try:
            attrgetter(name)(hub)(*args)
        except HubError:
            after = (hub.state(), {i.name: p.state for i, p in factory.pins.items()})
            assert equal(before, after), f"{name}{tuple(args)} was refused but changed things"
        finally:
            hub.devices.all_off()

    try:
        check()
    finally:
        hub.close()
