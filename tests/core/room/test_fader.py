"""The single fader on the fake clock: rate, smoothness, exact ends, cancelling."""

from __future__ import annotations

import pytest

from hub.core import Hub
from tests.conftest import PinRecorder

MAIN, ACCENT = "GPIO18", "GPIO13"
MAX_STEP = 0.02  # the largest perceived step allowed between two updates (2 % of full)


def fade_updates(
    hub: Hub, pins: PinRecorder, pin: str, start: float, end: float
) -> list[tuple[float, float]]:
    """Return the (time, perceived level) updates of a light's pin inside [start, end]."""
    light = next(
        hub.room.lights[lid] for lid, c in hub.config.lights.items() if f"GPIO{c.pin}" == pin
    )
    return [(t, light.level_for(v)) for t, v in pins.history(pin) if start <= t <= end]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seconds", "start", "target"),
    [(1, 0.0, 1.0), (10, 1.0, 0.05), (60, 0.2, 0.9), (30 * 60, 1.0, 0.0), (60 * 60, 0.0, 1.0)],
)
def test_fades_are_smooth_fast_and_end_on_time(
    hub: Hub, pins: PinRecorder, seconds: float, start: float, target: float
) -> None:
    hub.devices.set("main", {"level": start})
    t0 = hub.clock.monotonic()
    hub.devices.set("main", {"level": target, "fade_seconds": seconds})
    assert hub.state()["devices"]["main"]["fading_to"] == {"level": target}
    hub.advance(seconds + 5)
    updates = fade_updates(hub, pins, MAIN, t0, t0 + seconds + 5)

    # at least 50 updates a second while fading
    assert len(updates) >= 50 * seconds
    gaps = [b[0] - a[0] for a, b in zip(updates, updates[1:], strict=False)]
    assert max(gaps) <= 1 / 50
    # monotonic, and no visible step
    levels = [v for _, v in updates]
    assert levels == sorted(levels, reverse=target < start)
    steps = [abs(b - a) for a, b in zip([start, *levels], levels, strict=False)]
    assert max(steps) <= MAX_STEP
    # on target exactly at the end time, and nothing moves after it
    end_time, end_level = updates[-1]
    assert end_time == pytest.approx(t0 + seconds, abs=1e-9)
    assert hub.room.lights["main"].level == target
    assert end_level == pytest.approx(target, abs=1e-12)
    assert "fading_to" not in hub.state()["devices"]["main"]


def test_levels_follow_the_line_in_perceived_units(hub: Hub, pins: PinRecorder) -> None:
    t0 = hub.clock.monotonic()
    hub.devices.set("main", {"level": 0.8, "fade_seconds": 8})
    for k in range(1, 8):
        hub.advance(1)
        assert hub.room.lights["main"].level == pytest.approx(0.1 * k, abs=1e-9)
    assert hub.clock.monotonic() == t0 + 7


def test_several_devices_fade_together(hub: Hub, pins: PinRecorder) -> None:
    speaker = hub.room.speaker
    t0 = hub.clock.monotonic()
    hub.devices.set("main", {"level": 1.0, "fade_seconds": 30})
    hub.devices.set("accent", {"level": 0.5, "fade_seconds": 10})
    hub.devices.set("speaker", {"volume": 60, "fade_seconds": 20})
    hub.advance(5)
    assert hub.room.lights["main"].level == pytest.approx(5 / 30)
    assert hub.room.lights["accent"].level == pytest.approx(0.25)
    assert speaker.volume == pytest.approx(15)
    hub.advance(30)
    for pin, seconds in ((MAIN, 30), (ACCENT, 10)):
        updates = fade_updates(hub, pins, pin, t0, t0 + 40)
        assert len(updates) >= 50 * seconds
        assert updates[-1][0] == pytest.approx(t0 + seconds)
    assert hub.room.lights["main"].level == 1.0
    assert hub.room.lights["accent"].level == 0.5
    assert speaker.volume == 60


def test_a_new_command_cancels_a_running_fade_at_once(hub: Hub, pins: PinRecorder) -> None:
    main = hub.room.lights["main"]
    hub.devices.set("main", {"level": 1.0, "fade_seconds": 60})
    hub.advance(15)
    assert main.level == pytest.approx(0.25)
    hub.devices.set("main", {"level": 0.1})
    t = hub.clock.monotonic()
    assert main.level == 0.1 and pins.level(MAIN) == main.duty_for(0.1)
    hub.advance(60)
    assert [v for when, v in pins.history(MAIN) if when > t] == []
    assert main.level == 0.1


def test_a_new_fade_starts_from_where_the_old_one_was(hub: Hub, pins: PinRecorder) -> None:
    main = hub.room.lights["main"]
    hub.devices.set("main", {"level": 1.0, "fade_seconds": 10})
    hub.advance(5)
    t = hub.clock.monotonic()
    hub.devices.set("main", {"level": 0.0, "fade_seconds": 5})
    hub.advance(2.5)
    assert main.level == pytest.approx(0.25)
    hub.advance(10)
    levels = [main.level_for(v) for when, v in pins.history(MAIN) if when >= t]
    assert levels == sorted(levels, reverse=True) and levels[-1] == 0
    assert max(abs(b - a) for a, b in zip(levels, levels[1:], strict=False)) <= MAX_STEP


def test_a_scene_cancels_manual_fades_and_all_off_cancels_everything(
    hub: Hub, pins: PinRecorder
) -> None:
    hub.devices.set("main", {"level": 1.0, "fade_seconds": 600})
    hub.devices.set("speaker", {"volume": 50, "fade_seconds": 600})
    hub.advance(60)
    hub.scenes.apply("cleaning", fade_seconds=0)
    assert hub.room.lights["main"].level == 1.0
    hub.devices.set("accent", {"level": 0.0, "fade_seconds": 600})
    hub.advance(1)
    hub.devices.all_off()
    t = hub.clock.monotonic()
    assert pins.level(MAIN) == 0 and pins.level(ACCENT) == 0
    assert hub.room.speaker.volume == 0
    hub.advance(700)
    assert [c for c in pins.changes if c[0] > t] == []
    assert all("fading_to" not in d for d in hub.state()["devices"].values())


def test_progress_events_come_four_times_a_second_while_fading(hub: Hub) -> None:
    seen = []
    hub.subscribe(seen.append)
    hub.devices.set("main", {"level": 1.0, "fade_seconds": 10})
    hub.advance(12)
    progress = [e for e in seen if e.type == "progress"]
    assert 38 <= len(progress) <= 42
    assert progress[-1].data == {"fading": False}
    assert progress[-1].state["devices"]["main"]["level"] == 1.0


def test_a_coarse_tick_still_ends_on_target(make_hub, config, pins: PinRecorder) -> None:
    hub = make_hub(config, tick=0.5)
    t0 = hub.clock.monotonic()
    hub.devices.set("main", {"level": 0.7, "fade_seconds": 3.2})
    hub.advance(10)
    updates = fade_updates(hub, pins, MAIN, t0, t0 + 10)
    assert [round(t - t0, 6) for t, _ in updates] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.2]
    assert updates[-1][1] == pytest.approx(0.7)
