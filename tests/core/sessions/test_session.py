"""Whole sessions on the fake clock, checked against the recorded pin history."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core import Hub
from hub.errors import Conflict, InvalidCommand
from tests.conftest import PinRecorder

MAIN, ACCENT, DIFFUSER, PAD = "GPIO18", "GPIO13", "GPIO23", "GPIO24"
T0 = 1000.0  # the fake clock's start
PREWARM = 5 * 60


def runs(history: list[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """Return the (on_time, off_time) stretches of a switched pin inside [start, end]."""
    out = []
    on_at = None
    for t, v in history:
        if v > 0 and on_at is None:
            on_at = t
        elif v == 0 and on_at is not None:
            out.append((on_at, t))
            on_at = None
    if on_at is not None:
        out.append((on_at, float("inf")))
    return [(a, b) for a, b in out if a >= start and b <= end]


def level_at(history: list[tuple[float, float]], t: float) -> float:
    """The pin's level at time ``t`` (after any change at exactly ``t``)."""
    value = 0.0
    for when, v in history:
        if when > t:
            break
        value = v
    return value


def events(hub: Hub) -> list[Any]:
    seen: list[Any] = []
    hub.subscribe(seen.append)
    return seen


def test_a_whole_swedish_session(hub: Hub, pins: PinRecorder) -> None:
    main = hub.room.lights["main"]
    hub.devices.set("main", {"level": 1.0})  # the room is lit when the client arrives
    seen = events(hub)
    hub.sessions.start("swedish", 60)
    assert hub.state()["session"]["phase"] == "prepare"
    hub.advance(PREWARM + 3600 + 60 + 1)

    # the pad pre-warms from the start, while the light stays up
    pad = pins.history(PAD)
    assert pad[0] == (T0, 1.0)
    assert level_at(pins.history(MAIN), T0 + PREWARM - 0.01) == 1.0
    first_dim = next(t for t, v in pins.history(MAIN) if t > T0 and v < 1.0)
    assert first_dim == pytest.approx(T0 + PREWARM, abs=0.05)

    # the lights glide down over the scene's 20 s, monotonically, to the scene's levels
    glide = [(t, v) for t, v in pins.history(MAIN) if T0 + PREWARM <= t <= T0 + PREWARM + 20]
    values = [v for _, v in glide]
    assert values == sorted(values, reverse=True)
    assert len(glide) >= 20 * 50
    assert level_at(pins.history(MAIN), T0 + PREWARM + 20) == pytest.approx(main.duty_for(0.35))
    accent = hub.room.lights["accent"]
    assert level_at(pins.history(ACCENT), T0 + PREWARM + 20) == pytest.approx(accent.duty_for(0.2))

    # medium heat: 55 % of each 60 s cycle (33 s on, 27 s off) ...
    cycles = runs(pad, T0, T0 + 3600 - 60)
    assert len(cycles) >= 55
    for a, b in cycles:
        assert b - a == pytest.approx(33)
    starts = [a for a, _ in cycles]
    assert all(b - a == pytest.approx(60) for a, b in zip(starts, starts[1:], strict=False))
    # ... until the 60-minute stretch limit forces it off (5 min pre-warm + 60 min > 60 min)
    assert max(t for t, v in pad if v > 0) < T0 + 3600
    assert level_at(pad, T0 + 3600) == 0.0
    safety = [e for e in seen if e.type == "safety"]
    assert [e.data for e in safety] == [{"device": "pad", "reason": "max_on"}]

    # the diffuser mists 30 s, rests 60 s, from the start of the pre-warm to the fade-out
    mist = runs(pins.history(DIFFUSER), T0, T0 + PREWARM + 3600)
    assert mist[0][0] == T0
    assert len(mist) == (PREWARM + 3600) // 90 + 1
    for a, b in mist[:-1]:
        assert b - a == pytest.approx(30)
    ons = [a for a, _ in mist]
    assert all(b - a == pytest.approx(90) for a, b in zip(ons, ons[1:], strict=False))
    assert level_at(pins.history(DIFFUSER), T0 + PREWARM + 3600) == 0.0

    # the fade-out takes the scene's 60 s, then everything is off
    end = T0 + PREWARM + 3600
    assert level_at(pins.history(MAIN), end) == pytest.approx(main.duty_for(0.35))
    assert 0 < level_at(pins.history(MAIN), end + 30) < main.duty_for(0.35)
    for pin in (MAIN, ACCENT, DIFFUSER, PAD):
        assert pins.level(pin) == 0.0, pin
    assert hub.room.speaker.volume == 0
    assert hub.room.speaker.chimes == 1

    phases = [e.data.get("action") for e in seen if e.type == "session"]
    assert phases == ["started", "active", "fade_out", "ended"]
    state = hub.state()
    assert state["session"] is None
    assert state["last_session"]["end_reason"] == "completed"
    row = hub.sessions.history()[0]
    assert (row["scene"], row["scene_name"]) == ("swedish", "Swedish")
    assert row["planned_minutes"] == 60
    assert row["actual_minutes"] == pytest.approx(60)
    assert row["end_reason"] == "completed"
    assert row["ended_at"] > row["started_at"]


def test_music_fades_in_with_the_scene(hub: Hub) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(PREWARM)
    speaker = hub.room.speaker
    assert speaker.playing and speaker.state()["playlist"] == "calm"
    hub.advance(10)
    assert 10 < speaker.volume < 25
    hub.advance(10)
    assert speaker.volume == 35


def test_pause_and_resume_move_the_end(hub: Hub, pins: PinRecorder) -> None:
    hub.sessions.start("deep-tissue", 30)
    hub.advance(PREWARM + 10 * 60)
    hub.sessions.pause()
    state = hub.state()["session"]
    assert state["paused"] and state["remaining_seconds"] == 20 * 60
    assert not hub.room.speaker.playing
    hub.advance(10 * 60)
    assert hub.state()["session"]["remaining_seconds"] == 20 * 60
    with pytest.raises(Conflict, match="already paused"):
        hub.sessions.pause()
    hub.sessions.resume()
    assert hub.room.speaker.playing
    with pytest.raises(Conflict, match="not paused"):
        hub.sessions.resume()
    # the pad ran out during the long pause? it is renewed for the time left
    assert hub.state()["devices"]["pad"]["heat"] == "low"
    hub.advance(20 * 60 - 1)
    assert hub.state()["session"]["phase"] == "active"
    hub.advance(2)
    assert hub.state()["session"]["phase"] == "fade_out"
    hub.advance(61)
    row = hub.sessions.history()[0]
    assert row["actual_minutes"] == pytest.approx(30)
    assert row["planned_minutes"] == 30
    assert row["end_reason"] == "completed"
    assert all(pins.level(p) == 0 for p in (MAIN, ACCENT, DIFFUSER, PAD))


def test_a_pause_too_long_ends_the_session(hub: Hub) -> None:
    hub.sessions.start("swedish", 60)
    hub.advance(PREWARM + 60)
    hub.sessions.pause()
    hub.advance(30 * 60 + 61)
    assert hub.state()["session"] is None
    row = hub.sessions.history()[0]
    assert row["end_reason"] == "pause_timeout"
    assert row["actual_minutes"] == pytest.approx(1)


def test_extend_adds_minutes_and_is_recorded(hub: Hub) -> None:
    hub.sessions.start("deep-tissue", 30)
    hub.advance(PREWARM + 25 * 60)
    out = hub.sessions.extend(15)
    assert out["minutes"] == 45 and out["remaining_seconds"] == 20 * 60
    assert hub.sessions.history()[0]["planned_minutes"] == 45
    hub.advance(20 * 60 - 1)
    assert hub.state()["session"]["phase"] == "active"
    hub.advance(62 + 60)
    row = hub.sessions.history()[0]
    assert row["planned_minutes"] == 45
    assert row["actual_minutes"] == pytest.approx(45)
    assert row["end_reason"] == "completed"


def test_extend_is_refused_past_the_maximum_and_changes_nothing(hub: Hub) -> None:
    hub.sessions.start("deep-tissue", 230)
    before = hub.state()
    with pytest.raises(InvalidCommand, match="at most 240"):
        hub.sessions.extend(20)
    assert hub.state() == before
    assert hub.sessions.history()[0]["planned_minutes"] == 230


def test_extend_during_prepare_adds_to_the_massage(hub: Hub) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(60)
    hub.sessions.extend(10)
    hub.advance(PREWARM - 60 + 40 * 60 - 1)
    assert hub.state()["session"]["phase"] == "active"
    hub.advance(2)
    assert hub.state()["session"]["phase"] == "fade_out"


def test_stop_fades_out_then_a_second_stop_ends_at_once(hub: Hub, pins: PinRecorder) -> None:
    hub.sessions.start("swedish", 60)
    hub.advance(PREWARM + 20 * 60)
    hub.sessions.stop()
    state = hub.state()
    assert state["session"]["phase"] == "fade_out"
    assert state["devices"]["pad"]["heat"] == "off" and pins.level(PAD) == 0
    assert pins.level(DIFFUSER) == 0
    with pytest.raises(Conflict, match="fade-out phase"):
        hub.sessions.pause()
    with pytest.raises(Conflict, match="fade-out phase"):
        hub.sessions.extend(5)
    hub.advance(10)
    assert pins.level(MAIN) > 0
    hub.sessions.stop()
    assert hub.state()["session"] is None
    assert pins.level(MAIN) == 0 and pins.level(ACCENT) == 0
    row = hub.sessions.history()[0]
    assert row["end_reason"] == "stopped"
    assert row["actual_minutes"] == pytest.approx(20)


def test_stop_during_prepare_counts_no_massage(hub: Hub) -> None:
    hub.sessions.start("swedish", 60)
    hub.advance(60)
    hub.sessions.stop()
    hub.advance(61)
    row = hub.sessions.history()[0]
    assert (row["end_reason"], row["actual_minutes"]) == ("stopped", 0)


def test_stop_while_paused(hub: Hub) -> None:
    hub.sessions.start("swedish", 60)
    hub.advance(PREWARM + 60)
    hub.sessions.pause()
    hub.advance(120)
    hub.sessions.stop()
    hub.advance(61)
    row = hub.sessions.history()[0]
    assert (row["end_reason"], row["actual_minutes"]) == ("stopped", pytest.approx(1))


def test_all_off_ends_the_session_at_once(hub: Hub, pins: PinRecorder) -> None:
    hub.sessions.start("hot-stone", 60)
    hub.advance(11 * 60)
    hub.devices.all_off(reason="test")
    assert hub.state()["session"] is None
    assert all(pins.level(p) == 0 for p in (MAIN, ACCENT, DIFFUSER, PAD))
    assert hub.sessions.history()[0]["end_reason"] == "test"
    assert hub.room.speaker.volume == 0 and not hub.room.speaker.playing


def test_one_session_at_a_time_and_bad_starts_change_nothing(hub: Hub) -> None:
    with pytest.raises(InvalidCommand, match="minutes"):
        hub.sessions.start("swedish", 0)
    with pytest.raises(InvalidCommand, match="minutes"):
        hub.sessions.start("swedish", 500)
    with pytest.raises(Conflict):
        hub.sessions.pause()
    assert hub.sessions.history() == []
    hub.sessions.start("swedish", 30)
    with pytest.raises(Conflict, match="already running"):
        hub.sessions.start("couples", 30)
    assert len(hub.sessions.history()) == 1


@pytest.mark.slow
def test_a_scene_without_heat_skips_the_prewarm(hub: Hub, pins: PinRecorder) -> None:
    hub.sessions.start("wind-down", 30)
    assert hub.state()["session"]["phase"] == "active"
    hub.advance(30 * 60 + 300 + 1)
    assert pins.history(PAD) == []
    assert hub.sessions.history()[0]["actual_minutes"] == pytest.approx(30)


def test_a_session_with_the_pad_cooling_down_runs_without_heat(hub: Hub, pins: PinRecorder) -> None:
    hub.devices.set("pad", {"heat": "high", "minutes": 60})
    hub.advance(3600)
    assert hub.state()["devices"]["pad"]["locked_for_seconds"] == 30 * 60
    seen = events(hub)
    hub.sessions.start("swedish", 20)
    assert pins.level(PAD) == 0
    assert {"device": "pad", "reason": "cooling_down"} in [
        e.data for e in seen if e.type == "safety"
    ]
    hub.advance(PREWARM + 60)
    assert hub.state()["session"]["phase"] == "active"


def test_couples_warm_both_pads(make_hub: Any, make_config: Any, pins: PinRecorder) -> None:
    config = make_config(
        {"heat_pads": {"pad2": {"pin": 17, "max_on_minutes": 90, "manual_timeout_minutes": 20}}}
    )
    hub = make_hub(config)
    hub.sessions.start("couples", 30)
    assert pins.level(PAD) == 1 and pins.level("GPIO17") == 1
    hub.advance(PREWARM + 30 * 60 + 61)
    assert pins.level(PAD) == 0 and pins.level("GPIO17") == 0
    assert hub.sessions.history()[0]["end_reason"] == "completed"


def test_heat_switched_on_by_a_phase_change_keeps_its_limit(
    make_hub: Any, make_config: Any, pins: PinRecorder
) -> None:
    """Found by the safety machine: heat set inside a control step must be scheduled too."""
    config = make_config(
        {
            "heat_pads": {
                "pad": {"max_on_minutes": 1, "cooldown_minutes": 0, "manual_timeout_minutes": 0.5}
            },
            "session": {"prewarm_minutes": 1},
        }
    )
    hub = make_hub(config)
    trips: list[float] = []
    hub.subscribe(lambda e: e.type == "safety" and trips.append(hub.clock.monotonic()))
    hub.sessions.start("deep-tissue", 30)
    # the scene at once, during the pre-warm: at "active" nothing fades, no ticks follow
    hub.scenes.apply("deep-tissue", fade_seconds=0)
    # at 60 s the pre-warm has used the whole minute: tripped, then on again for "active"
    hub.advance(120.5)
    # forced off exactly at its one-minute limit each time, not at the next unrelated step
    assert trips == [T0 + 60, T0 + 120]
    assert hub.state()["devices"]["pad"]["heat"] == "off"


def test_a_bare_start_takes_the_scenes_own_length(hub: Hub) -> None:
    hub.sessions.start("wind-down")  # the built-in wind-down is 30 minutes
    assert hub.sessions.history()[0]["planned_minutes"] == 30
    hub.devices.all_off()
    hub.scenes.create({"id": "short", "name": "Short", "default_minutes": 20})
    hub.sessions.start("short")
    assert hub.sessions.history()[0]["planned_minutes"] == 20
    hub.devices.all_off()
    hub.sessions.start("short", 45)  # an asked-for length wins
    assert hub.sessions.history()[0]["planned_minutes"] == 45
    with pytest.raises(InvalidCommand, match="default_minutes"):
        hub.scenes.create({"id": "bad", "name": "Bad", "default_minutes": 0})
