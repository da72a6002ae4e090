"""Heat-pad safety invariants over many random command sequences (>= 10 000 on a full run).

Reuses the Hypothesis state machine of tests/properties/test_safety_properties.py; this runner only
sets the number of examples and counts them for the figure.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.properties import test_safety_properties as machines
from tests.reliability.conftest import figure, scale

pytestmark = pytest.mark.reliability


@pytest.mark.timeout(scale(120, 3600))
def test_heat_safety_many_examples() -> None:
    examples = scale(40, 10_000)
    counted = {"examples": 0, "restarts": 0, "crashes": 0, "reboots": 0}

    class Counted(machines.HeatSafetyMachine):
        def teardown(self) -> None:
            counted["examples"] += 1
            counted["restarts"] += self.restarts
            counted["crashes"] += self.crashes
            counted["reboots"] += self.reboots
            super().teardown()

    t0 = time.monotonic()
    run_state_machine_as_test(
        Counted,
        settings=settings(
            max_examples=examples,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert counted["examples"] >= examples
    figure(
        f"heat safety properties: {counted['examples']} random command sequences with "
        f"{counted['restarts']} restarts ({counted['crashes']} of them kill -9, "
        f"{counted['reboots']} with a reboot), 0 invariant violations "
        f"({time.monotonic() - t0:.0f} s)"
    )
