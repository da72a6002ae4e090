"""``all-off --direct``: every output pin driven to its off level, held, never floated."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import pytest

import hub.direct as direct
from hub.config import Config
from hub.direct import DirectAllOffError, direct_all_off

from .support import sim_pins


def test_simulated_active_low_pins_go_to_their_physical_off_level(
    make_config: Callable[..., Config],
) -> None:
    config = make_config({"heat_pads": {"pad": {"active_high": False}}})
    direct_all_off(config)
    pins = sim_pins(config.source)  # type: ignore[arg-type]
    assert pins["GPIO24"] == 1.0  # an active-low relay input is off when high
    assert pins["GPIO18"] == 0.0


class FakeLgpio(types.ModuleType):
    """Records the calls lgpio would get (this machine has no GPIO chip)."""

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__("lgpio")
        self.calls: list[tuple[str, Any, ...]] = []
        self.fail_on = fail_on

    def gpio_claim_output(self, handle: int, gpio: int, level: int) -> None:
        if gpio == self.fail_on:
            raise OSError("GPIO busy")
        self.calls.append(("claim_output", gpio, level))

    def __getattr__(self, name: str) -> Any:  # any other call (free, claim_input) is a bug
        def record(*args: Any) -> None:
            self.calls.append((name, *args))

        return record


@pytest.fixture
def fake_lgpio(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeLgpio]:
    def make(fail_on: int | None = None) -> FakeLgpio:
        fake = FakeLgpio(fail_on)
        monkeypatch.setitem(sys.modules, "lgpio", fake)
        monkeypatch.setattr(direct, "_open_chip", lambda: 7)
        return fake

    return make


def test_real_gpio_claims_outputs_at_off_level_heat_first_and_never_releases(
    make_config: Callable[..., Config], fake_lgpio: Callable[..., FakeLgpio]
) -> None:
    lg = fake_lgpio()
    config = make_config({"hardware": {"backend": "gpio"}, "diffuser": {"active_high": False}})
    done = direct_all_off(config)
    assert lg.calls[0] == ("claim_output", 24, 0)  # the heat pad first
    assert set(lg.calls) == {
        ("claim_output", 24, 0),
        ("claim_output", 18, 0),
        ("claim_output", 13, 0),
        ("claim_output", 23, 1),  # active-low: off is high
    }
    assert len(done) == 4


def test_one_failing_pin_does_not_stop_the_others(
    make_config: Callable[..., Config], fake_lgpio: Callable[..., FakeLgpio]
) -> None:
    lg = fake_lgpio(fail_on=18)
    config = make_config({"hardware": {"backend": "gpio"}})
    with pytest.raises(DirectAllOffError) as err:
        direct_all_off(config)
    assert err.value.failed == ["main (GPIO18): GPIO busy"]
    assert {c[1] for c in lg.calls} == {24, 13, 23}
