"""A pad with a sensor, as properties: a Hypothesis state machine over the simulated pad.

The heat guard drives a real HeatPad on gpiozero's mock pins; a first-order thermal model
(hardware.thermometer.ThermalModel) heats while the relay pin is high and cools toward the
room, and the simulated DS18B20 reads it. Random steps set and clear heat, advance time
with the control loop running, stall the loop (time passes with no step: a busy Pi), break
the sensor (silent, CRC errors, 85 °C, -127 °C, frozen on one value), stick the relay
(closed: it heats whatever the pin says; open: it never heats), mend them, and clear faults.

After every step, from the pin and the model (not from the guard's own bookkeeping):

1. the relay pin is high only on a good, fresh reading below the ceiling: a failed sensor
   never reads as "cold, keep heating", and with an honest sensor the pad's real temperature
   is below ``max_celsius`` whenever the hub has the relay closed;
2. a relay stuck closed is caught within ``STUCK_BOUND`` seconds of the hub opening it (the
   pad switched off and locked, a fault set), while the sensor is honest;
3. a relay stuck open, or a sensor frozen on one value, is caught within ``NO_RISE_BOUND``
   seconds of closed relay (it heats no further than that without rising);
4. a faulted pad's pin stays low until a person clears the fault.
"""

from __future__ import annotations

import os

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from hardware import HeatPad
from hardware.thermometer import SimThermometer, ThermalModel
from hub.errors import HubError
from hub.room.building import SENSOR_DUTY
from hub.room.safety import HeatGuard, PadLimits
from hub.room.thermostat import (
    NO_RISE_SECONDS,
    POLL_SECONDS,
    SETTLE_SECONDS,
    STALE_SECONDS,
    STUCK_RISE,
    Thermostat,
)

ROOM, RISE, TAU = 21.0, 35.0, 600.0  # the model: full power holds 56 °C, far above any ceiling
MAX_CELSIUS = 45.0
TARGETS = {"low": 34.0, "medium": 38.0, "high": 42.0}
#: the slowest a pad stuck closed warms below the ceiling (°C a second)
SLOWEST_RISE = (ROOM + RISE - MAX_CELSIUS) / TAU
#: a stuck-closed relay is caught this long after the hub opened it, at the latest
STUCK_BOUND = SETTLE_SECONDS + STUCK_RISE / SLOWEST_RISE + 2 * POLL_SECONDS
#: seconds of closed relay without a rise before the fault, at the latest
NO_RISE_BOUND = NO_RISE_SECONDS + POLL_SECONDS
SENSOR_FAULTS = ["silent", "crc", "reset", "nonsense"]


class PadMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0
        factory = MockFactory()
        self.pad = HeatPad(
            5, duty=SENSOR_DUTY, min_switch_seconds=10, cycle_seconds=60, pin_factory=factory
        )
        self.pin = factory.pin(5)
        self.model = ThermalModel(room=ROOM, rise=RISE, tau=TAU)
        self.pad.relay_listeners.append(self.model.relay)
        self.sensor = SimThermometer(self.model, lambda: self.t)
        self.thermostat = Thermostat(
            "Pad", self.sensor, max_celsius=MAX_CELSIUS, targets=TARGETS, started=0.0
        )
        self.guard = HeatGuard(
            {"pad": self.pad},
            {"pad": PadLimits(max_on=3600, cooldown=1800, manual_timeout=1200)},
            thermostats={"pad": self.thermostat},
        )
        self.state = self.guard.states["pad"]
        # what the machine knows of the faults it put in (the guard is not asked)
        self.stuck_closed_since: float | None = None
        self.opened_at: float | None = 0.0  # when the pin last went low (None: high)
        self.stalled_until = 0.0  # no bound counts across a stall (the loop did not run)
        self.honest_since: float | None = 0.0  # the sensor reads the model (None: it is broken)
        self.frozen_from: float | None = None  # relay seconds when the sensor froze
        self.stuck_open_from: float | None = None  # relay seconds when the relay stuck open
        self.cleared_at = 0.0  # a person cleared a fault: the watch starts afresh

    def teardown(self) -> None:
        self.pad.close()

    # --- the loop -------------------------------------------------------------------------

    def step(self) -> float | None:
        low = not self.pin.state
        _, deadline = self.guard.check(self.t)
        self.note_pin(low)
        return deadline

    def note_pin(self, was_low: bool) -> None:
        if self.pin.state and was_low:
            self.opened_at = None
        elif not self.pin.state and not was_low:
            self.opened_at = self.t

    def run_until(self, end: float) -> None:
        while True:
            deadline = self.step()
            nxt = min(end, deadline if deadline is not None else end)
            if nxt >= end:
                break
            self.t = max(nxt, self.t + 1e-3)
            self.check_bounds()
        self.t = end
        self.step()

    # --- rules ----------------------------------------------------------------------------

    @rule(
        heat=st.sampled_from(["off", "low", "medium", "high"]),
        minutes=st.floats(min_value=1, max_value=60),
    )
    def set_heat(self, heat: str, minutes: float) -> None:
        low = not self.pin.state
        try:
            self.guard.validate("pad", heat, self.t, owner="manual", seconds=minutes * 60)
        except HubError:
            assert not self.pin.state or self.state.fault is None
            return
        self.guard.set("pad", heat, self.t, owner="manual", seconds=minutes * 60)
        self.note_pin(low)

    @rule(seconds=st.floats(min_value=0.5, max_value=900))
    def advance(self, seconds: float) -> None:
        self.run_until(self.t + seconds)

    @rule(seconds=st.floats(min_value=1, max_value=120))
    def stall(self, seconds: float) -> None:
        """The loop does not run for a while (a busy Pi), then steps once."""
        self.t += seconds
        self.stalled_until = self.t
        self.step()
        heated = self.pad.relay_seconds(self.t)  # the no-rise bounds count from here
        if self.frozen_from is not None:
            self.frozen_from = heated
        if self.stuck_open_from is not None:
            self.stuck_open_from = heated

    @rule(fault=st.sampled_from(SENSOR_FAULTS))
    def break_sensor(self, fault: str) -> None:
        self.sensor.fault = fault
        self.honest_since = None
        self.frozen_from = None
        self.step()  # the loop looks at the sensor at its next step

    @rule()
    def freeze_sensor(self) -> None:
        self.sensor.fault = "frozen"
        self.honest_since = None
        self.frozen_from = self.pad.relay_seconds(self.t)
        self.step()

    @rule()
    def mend_sensor(self) -> None:
        self.sensor.fault = None
        self.honest_since = self.t
        self.frozen_from = None
        self.step()

    @rule(stuck=st.sampled_from(["closed", "open"]))
    def stick_relay(self, stuck: str) -> None:
        self.model.relay(self.t, bool(self.pin.state))  # the model's history up to now
        self.model.stuck = stuck
        self.stuck_closed_since = self.t if stuck == "closed" else None
        self.stuck_open_from = self.pad.relay_seconds(self.t) if stuck == "open" else None
        self.step()

    @rule()
    def mend_relay(self) -> None:
        self.model.relay(self.t, bool(self.pin.state))
        self.model.stuck = None
        self.stuck_closed_since = self.stuck_open_from = None
        self.step()

    @rule()
    def clear_fault(self) -> None:
        try:
            if self.guard.clear_fault("pad", self.t):
                self.cleared_at = self.t
                heated = self.pad.relay_seconds(self.t)  # the watch starts afresh
                if self.frozen_from is not None:
                    self.frozen_from = heated
                if self.stuck_open_from is not None:
                    self.stuck_open_from = heated
        except HubError:
            assert self.state.fault is not None  # refused: it stays

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def closed_only_on_a_good_reading_below_the_ceiling(self) -> None:
        if not self.pin.state:
            return
        reading = self.sensor.latest()
        assert reading is not None and reading.error is None, reading
        assert reading.at >= self.t - STALE_SECONDS
        assert reading.celsius is not None and reading.celsius < MAX_CELSIUS
        assert self.state.fault is None
        if self.honest_since is not None:
            assert self.model.celsius(self.t) < MAX_CELSIUS

    @invariant()
    def check_bounds(self) -> None:
        if self.state.fault is not None:
            assert not self.pin.state
            return
        honest = self.honest_since is not None
        if self.stuck_closed_since is not None and honest and self.opened_at is not None:
            since = max(
                self.opened_at,
                self.stuck_closed_since,
                self.stalled_until,
                self.honest_since or 0.0,
                self.cleared_at,
            )
            assert self.t - since <= STUCK_BOUND, (
                f"stuck closed for {self.t - since:.0f} s after the hub opened it, not caught"
            )
        heated = self.pad.relay_seconds(self.t)
        for start in (self.frozen_from, self.stuck_open_from if honest else None):
            if start is not None and self.stalled_until <= self.t - NO_RISE_BOUND:
                assert heated - start <= NO_RISE_BOUND + 1e-6, (
                    f"{heated - start:.0f} s of heat without a rise, not caught"
                )


PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
EXAMPLES = {"ci": 400, "reliability": 5000}.get(PROFILE, 200)


@pytest.mark.slow
def test_a_pad_with_a_sensor_is_never_on_above_its_ceiling_and_its_faults_are_caught() -> None:
    run_state_machine_as_test(
        PadMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
