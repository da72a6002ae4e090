"""A scene's timeline on the injected clock: cues and light steps, with pause and extend."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.config.model import Config, load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.errors import InvalidCommand
from hub.scenes.timeline import offset_seconds, parse_at
from hub.store.database import Store
from tests.rigs.support import write_config

TOLERANCE = 1.0  # seconds: every cue fires within this of its time


class Cues:
    """Record every cue event with the fake clock's time."""

    def __init__(self, hub: Hub, clock: FakeClock) -> None:
        self.clock = clock
        self.seen: list[tuple[float, str]] = []
        hub.subscribe(self._on)

    def _on(self, event: Any) -> None:
        if event.type == "cue":
            self.seen.append((self.clock.monotonic(), event.data["text"]))

    def at(self, text: str) -> list[float]:
        return [t for t, x in self.seen if x == text]


@pytest.fixture
def quick(make_config: Callable[..., Config], make_hub: Callable[..., Hub]) -> Hub:
    """A hub whose sessions start at once (no pre-warm)."""
    return make_hub(make_config({"session": {"prewarm_minutes": 0}}))


def start(hub: Hub, clock: FakeClock, scene: str = "swedish", minutes: float = 60) -> float:
    hub.sessions.start(scene, minutes)
    hub.advance(0)
    assert hub.sessions.current is not None and hub.sessions.current.phase == "active"
    return clock.monotonic()


def test_swedish_turns_over_at_half_time(quick: Hub, clock: FakeClock) -> None:
    cues = Cues(quick, clock)
    t0 = start(quick, clock)
    quick.advance(29 * 60)
    assert cues.seen == []
    state = quick.state()["cues"]
    assert [c["text"] for c in state["upcoming"]] == ["Turn over", "Five minutes left"]
    quick.advance(62 * 60)
    assert cues.at("Turn over") == [pytest.approx(t0 + 30 * 60, abs=TOLERANCE)]
    assert cues.at("Five minutes left") == [pytest.approx(t0 + 55 * 60, abs=TOLERANCE)]
    assert quick.sessions.current is None  # ended; no more cues


def test_a_pause_shifts_the_cues(quick: Hub, clock: FakeClock) -> None:
    cues = Cues(quick, clock)
    t0 = start(quick, clock)
    quick.advance(10 * 60)
    quick.sessions.pause()
    quick.advance(7 * 60)
    assert cues.seen == []
    quick.sessions.resume()
    quick.advance(50 * 60)
    assert cues.at("Turn over") == [pytest.approx(t0 + 37 * 60, abs=TOLERANCE)]
    assert cues.at("Five minutes left") == [pytest.approx(t0 + 62 * 60, abs=TOLERANCE)]


def test_extend_moves_the_fractions_and_the_end(quick: Hub, clock: FakeClock) -> None:
    cues = Cues(quick, clock)
    t0 = start(quick, clock)
    quick.advance(20 * 60)
    quick.sessions.extend(20)  # 80 minutes: half time is 40, five left is 75
    quick.advance(90 * 60)
    assert cues.at("Turn over") == [pytest.approx(t0 + 40 * 60, abs=TOLERANCE)]
    assert cues.at("Five minutes left") == [pytest.approx(t0 + 75 * 60, abs=TOLERANCE)]


def test_extend_after_five_minutes_left_brings_it_again(quick: Hub, clock: FakeClock) -> None:
    cues = Cues(quick, clock)
    t0 = start(quick, clock)
    quick.advance(56 * 60)
    quick.sessions.extend(10)  # ends at 70: five left again at 65; half time stays fired
    quick.advance(20 * 60)
    assert cues.at("Five minutes left") == [
        pytest.approx(t0 + 55 * 60, abs=TOLERANCE),
        pytest.approx(t0 + 65 * 60, abs=TOLERANCE),
    ]
    assert len(cues.at("Turn over")) == 1


def test_a_cue_is_a_soft_chime_a_duck_and_a_dip(quick: Hub, clock: FakeClock) -> None:
    t0 = start(quick, clock)
    speaker = quick.room.speaker
    quick.advance(30 * 60 - 1)
    before = {d: s for d, s in quick.state()["devices"].items()}
    main, volume = before["main"]["level"], before["speaker"]["volume"]
    assert main > 0 and volume > 0 and speaker.cue_chimes == 0
    quick.advance(1.0)  # the cue
    assert speaker.cue_chimes == 1 and speaker.chimes == 0  # never the end chime
    quick.advance(1.0)
    now = quick.state()["devices"]
    assert now["main"]["level"] < main * 0.7  # dipped
    assert now["speaker"]["volume"] < volume * 0.5  # ducked
    quick.advance(5.0)
    back = quick.state()["devices"]
    assert back["main"]["level"] == pytest.approx(main, abs=1e-6)
    assert back["speaker"]["volume"] == pytest.approx(volume, abs=1e-6)
    assert quick.state()["cues"]["last"]["text"] == "Turn over"
    assert clock.monotonic() - t0 == pytest.approx(30 * 60 + 6, abs=1e-6)


def test_the_dip_does_not_undo_a_change_made_meanwhile(quick: Hub, clock: FakeClock) -> None:
    start(quick, clock)
    quick.advance(30 * 60 + 0.5)
    quick.devices.set("main", {"level": 0.9})
    quick.advance(5.0)
    assert quick.state()["devices"]["main"]["level"] == pytest.approx(0.9)


def test_light_steps(quick: Hub, clock: FakeClock) -> None:
    quick.scenes.create(
        {
            "name": "Stepped",
            "lights": {"main": 0.4, "*": 0.2},
            "timeline": {
                "lights": [{"at": "10 min", "lights": {"main": 0.2}, "fade_seconds": 0}],
                "cues": [],
            },
        }
    )
    start(quick, clock, "stepped", 30)
    quick.advance(9 * 60 + 59)
    assert quick.state()["devices"]["main"]["level"] == pytest.approx(0.4)
    quick.advance(1.0)
    assert quick.state()["devices"]["main"]["level"] == pytest.approx(0.2)
    assert quick.state()["devices"]["accent"]["level"] == pytest.approx(0.2)


def test_the_scene_editor_changes_cues(quick: Hub, clock: FakeClock) -> None:
    made = quick.scenes.duplicate("swedish", "My Swedish")
    assert made["timeline"]["cues"][0] == {"at": "1/2", "text": "Turn over"}
    body = {**made, "timeline": {"cues": [{"at": "25%", "text": "Legs now"}], "lights": []}}
    body.pop("builtin", None)
    body.pop("id", None)
    quick.scenes.update(made["id"], body)
    cues = Cues(quick, clock)
    t0 = start(quick, clock, made["id"], 40)
    quick.advance(41 * 60)
    assert cues.seen == [(pytest.approx(t0 + 10 * 60, abs=TOLERANCE), "Legs now")]


@pytest.mark.parametrize(
    ("timeline", "words"),
    [
        ({"cues": [{"at": "half", "text": "x"}]}, "fraction"),
        ({"cues": [{"at": "150%", "text": "x"}]}, "100%"),
        ({"cues": [{"at": "1/0", "text": "x"}]}, "below the line"),
        ({"cues": [{"at": 1000, "text": "x"}]}, "minutes"),
        ({"cues": [{"at": "1/2", "text": ""}]}, "text"),
        ({"cues": [{"at": "1/2"}]}, "text"),
        ({"lights": [{"at": "1/2", "lights": {"ceiling": 0.5}}]}, "ceiling"),
        ({"lights": [{"at": "1/2", "lights": {"main": 2}}]}, "level"),
        ({"cues": [{"at": "1/2", "text": "x"}] * 21}, "cues"),
        ({"cue": []}, "cue"),
    ],
)
def test_bad_timelines_are_refused(quick: Hub, timeline: Any, words: str) -> None:
    before = quick.scenes.list()
    with pytest.raises(InvalidCommand) as exc:
        quick.scenes.create({"name": "Bad", "timeline": timeline})
    assert words in exc.value.message
    assert quick.scenes.list() == before


def test_no_end_cue_in_a_session_shorter_than_it(quick: Hub, clock: FakeClock) -> None:
    cues = Cues(quick, clock)
    t0 = start(quick, clock, "swedish", 4)
    quick.advance(5 * 60)
    assert cues.seen == [(pytest.approx(t0 + 120, abs=TOLERANCE), "Turn over")]


def test_parse_at() -> None:
    assert parse_at("50%") == ("fraction", 0.5)
    assert parse_at("1/2") == ("fraction", 0.5)
    assert parse_at("-5 min") == ("minutes", -5.0)
    assert parse_at(10) == ("minutes", 10.0)
    assert offset_seconds("-5 min", 3600) == 3300
    assert offset_seconds("1/3", 3600) == pytest.approx(1200)


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One config for every example (each example makes its own hub and store)."""
    folder = tmp_path_factory.mktemp("cues")
    return write_config(folder, {"session": {"prewarm_minutes": 0, "max_pause_minutes": 240}})


@pytest.mark.slow
@given(
    minutes=st.integers(min_value=12, max_value=90),
    plan=st.lists(
        st.tuples(
            st.sampled_from(["wait", "pause", "extend"]),
            st.floats(min_value=0.5, max_value=15),
        ),
        max_size=6,
    ),
)
def test_every_cue_within_a_second(config_dir: Path, minutes: int, plan: list[Any]) -> None:
    """Random waits, pauses and extends: each cue fires within 1 s of its time in a model."""
    from hardware import SilentSpeaker
    from hardware.pins import SimFactory

    clock = FakeClock()
    data = tempfile.TemporaryDirectory()
    hub = Hub(
        load_config(config_dir),
        clock=clock,
        pin_factory=SimFactory(),
        speaker=SilentSpeaker(playlists=["calm"]),
        store=Store(Path(data.name)),
        mirror=False,
    )
    hub.start()
    try:
        cues = Cues(hub, clock)
        start(hub, clock, "swedish", minutes)
        total, run, wall = float(minutes * 60), 0.0, clock.monotonic()
        fired: dict[str, list[float]] = {"Turn over": [], "Five minutes left": []}
        half_done = False
        five_done = False

        def run_for(seconds: float) -> None:
            nonlocal run, wall, half_done, five_done
            # the model: massage time runs; note when each cue is due in real time
            end = run + seconds
            for text in ("Turn over", "Five minutes left"):
                due = total / 2 if text == "Turn over" else total - 300
                done = half_done if text == "Turn over" else five_done
                if not done and run <= due <= end and due <= total:
                    fired[text].append(wall + (due - run))
                    if text == "Turn over":
                        half_done = True
                    else:
                        five_done = True
            hub.advance(seconds)
            run, wall = end, wall + seconds

        for what, amount in plan:
            if hub.sessions.current is None or hub.sessions.current.phase != "active":
                break
            if what == "wait":
                run_for(max(0.0, min(amount * 60, total - run - 1)))
            elif what == "pause":
                hub.sessions.pause()
                hub.advance(amount * 60)
                wall += amount * 60
                hub.sessions.resume()
            else:
                hub.sessions.extend(max(1, round(amount)))
                total += max(1, round(amount)) * 60
                if five_done and total - 300 > run:
                    five_done = False  # moved past the time run: it comes again
        if hub.sessions.current is not None and hub.sessions.current.phase == "active":
            run_for(total - run)
        for text, times in fired.items():
            got = cues.at(text)
            assert len(got) == len(times), (text, got, times)
            for g, want in zip(got, times, strict=True):
                assert abs(g - want) <= TOLERANCE, (text, g, want)
    finally:
        hub.close()
        data.cleanup()


def test_a_bad_timeline_in_the_scenes_file_names_file_key_and_line(tmp_path: Path) -> None:
    from hub.config.model import ConfigError
    from hub.scenes.scene import load_builtin_scenes

    scenes = tmp_path / "scenes.yaml"
    scenes.write_text(
        "scenes:\n  calm:\n    name: Calm\n    timeline:\n      cues:\n"
        "        - {at: half, text: Turn over}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_builtin_scenes(scenes)
    lines = [str(i) for i in info.value.issues]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{scenes}:6: scenes.calm.timeline.cues.0.at: ")
    assert "1/2" in lines[0] and "-5 min" in lines[0]  # it says what to write instead
