"""Fixtures: a hub on gpiozero's mock pins with a fake clock, and a pin recorder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import Config, load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from tests.rigs.support import write_config

settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "reliability",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


class PinRecorder:
    """Record every simulated pin change with the fake clock's time."""

    def __init__(self, factory: SimFactory, clock: FakeClock) -> None:
        self.clock = clock
        self.changes: list[tuple[float, str, float]] = []
        self.levels: dict[str, float] = {}
        factory.listeners.append(self._on_change)

    def _on_change(self, pin: str, value: float) -> None:
        self.changes.append((self.clock.monotonic(), pin, value))
        self.levels[pin] = value

    def level(self, pin: str) -> float:
        """The current level of ``pin`` ("GPIO18")."""
        return self.levels.get(pin, 0.0)

    def history(self, pin: str) -> list[tuple[float, float]]:
        """Every (time, level) change of ``pin``."""
        return [(t, v) for t, p, v in self.changes if p == pin]


def pytest_configure(config: pytest.Config) -> None:
    """Name the marker of the core's slower tests (the quick set leaves them out)."""
    config.addinivalue_line(
        "markers",
        "slow: a core test that takes seconds (a real service, long fades, many examples); "
        "the quick set is pytest tests/core -m 'not slow'",
    )


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Return a function that writes and loads a test config with overrides."""
    counter = iter(range(1000))

    def make(overrides: dict[str, Any] | None = None) -> Config:
        return load_config(write_config(tmp_path / f"cfg{next(counter)}", overrides))

    return make


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    """The shipped config on simulated pins in a temp folder."""
    return make_config()


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock."""
    return FakeClock()


@pytest.fixture
def factory() -> SimFactory:
    """gpiozero's mock pin factory (with PWM pins)."""
    return SimFactory()


@pytest.fixture
def pins(factory: SimFactory, clock: FakeClock) -> PinRecorder:
    """Records every pin change against the fake clock."""
    return PinRecorder(factory, clock)


@pytest.fixture
def make_hub(clock: FakeClock, factory: SimFactory) -> Iterator[Callable[..., Hub]]:
    """Return a function that builds and starts a fake-clock hub on a config."""
    made: list[Hub] = []

    def make(config: Config, **kwargs: Any) -> Hub:
        kwargs.setdefault("speaker", SilentSpeaker(playlists=["calm"], max_volume=80))
        hub = Hub(config, clock=clock, pin_factory=factory, **kwargs)
        hub.start()
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.close()


@pytest.fixture
def hub(make_hub: Callable[..., Hub], config: Config, pins: PinRecorder) -> Hub:
    """A started hub on the shipped config, simulated pins, a fake clock."""
    return make_hub(config)
