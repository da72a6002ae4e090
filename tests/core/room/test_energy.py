"""Energy and cost per session (issue 31): pads by their relay's real on-time, lights by their duty.

Hubs here run on simulated pins, a fake clock and real SQLite on disk. The expected figures
are worked out by hand from the scene, the duty cycle and the lights' gamma curve, not by
the meter's own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware import SilentSpeaker
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.room.energy import SAVE_EVERY
from tests.rigs.support import wait_for, write_config

PAD_W = 60.0
MAIN_W = 24.0
ACCENT_W = 12.0
PRICE = 0.30
MINUTES = 30


class Room:
    """Start, stop, crash and restart hubs on one config, one data folder and one clock."""

    def __init__(self, folder: Path, overrides: dict[str, Any]) -> None:
        base = {
            "session": {"prewarm_minutes": 0},
            "heat_pads": {"pad": {"max_on_minutes": 120, "cooldown_minutes": 30}},
        }
        self.config = load_config(write_config(folder, {**base, **overrides}))
        self.clock = FakeClock()
        self.hubs: list[Hub] = []

    def start(self) -> Hub:
        hub = Hub(
            self.config,
            clock=self.clock,
            pin_factory=SimFactory(),
            speaker=SilentSpeaker(),
            mirror=False,
        )
        hub.start()
        self.hubs.append(hub)
        return hub

    def stop(self, hub: Hub) -> None:
        hub.close()
        self.hubs.remove(hub)

    def crash(self, hub: Hub) -> None:
        """The process dies: whatever the recorder has not written yet is lost."""
        # what the meter handed to the recorder is written (on a healthy disk within moments);
        # what it has not handed over yet (at most the last minute) is lost
        hub.recorder.stop()
        hub.store.close()
        self.hubs.remove(hub)

    def close(self) -> None:
        for hub in list(self.hubs):
            hub.close()


def counted(price: float | None = PRICE) -> dict[str, Any]:
    return {
        "lights": {"main": {"watts": MAIN_W}, "accent": {"watts": ACCENT_W}},
        "heat_pads": {
            "pad": {"max_on_minutes": 120, "cooldown_minutes": 30, "watts": PAD_W},
        },
        "energy": {"price_per_kwh": price, "currency": "€"},
    }


@pytest.fixture
def make_room(tmp_path: Path) -> Iterator[Any]:
    rooms: list[Room] = []

    def make(overrides: dict[str, Any]) -> Room:
        r = Room(tmp_path / f"room{len(rooms)}", overrides)
        rooms.append(r)
        return r

    yield make
    for r in rooms:
        r.close()


def fade_joules(watts: float, level: float, seconds: float, gamma: float, m: float) -> float:
    """A linear fade of perceived level between 0 and ``level``: watts × ∫ duty dt.

    duty = m + (1 - m)·x^gamma for x = level·t/seconds, so ∫ = m·T + (1 - m)·level^gamma·T/(gamma+1).
    """
    return watts * (m * seconds + (1 - m) * level**gamma * seconds / (gamma + 1))


def held_duty(level: float, gamma: float, m: float) -> float:
    return m + (1 - m) * level**gamma


def expected_swedish_kwh(config: Any, minutes: float) -> float:
    """The Swedish scene for ``minutes`` (no pre-warm), its fade-in and fade-out included."""
    active = minutes * 60
    fade_in, fade_out = 20.0, 60.0  # config/scenes.yaml: swedish
    joules = 0.0
    for lid, level, watts in (("main", 0.35, MAIN_W), ("accent", 0.2, ACCENT_W)):
        lc = config.lights[lid]
        g, m = lc.gamma, lc.min_duty
        joules += fade_joules(watts, level, fade_in, g, m)
        joules += watts * held_duty(level, g, m) * (active - fade_in)
        joules += fade_joules(watts, level, fade_out, g, m)
    # medium = 55 % of each 60 s cycle from the session's first second; the pad goes off
    # when the fade-out begins
    pad = config.heat_pads["pad"]
    on_per_cycle = 0.55 * pad.cycle_seconds
    cycles = active / pad.cycle_seconds
    joules += PAD_W * on_per_cycle * cycles
    return joules / 3.6e6


def run_session(hub: Hub, minutes: float) -> dict[str, Any]:
    hub.sessions.start("swedish", minutes)
    hub.advance(minutes * 60 + 60 + 1)  # the session, its 60 s fade-out, and a second
    state = hub.state()
    assert state["session"] is None
    # records follow the deed (hub/store/recorder.py): the history row is on disk once none wait
    wait_for(lambda: hub.recorder.waiting == 0)
    return state["last_session"]


def test_a_session_of_known_length_and_levels_gives_the_expected_kwh(make_room: Any) -> None:
    room = make_room(counted())
    hub = room.start()
    last = run_session(hub, MINUTES)
    expected = expected_swedish_kwh(room.config, MINUTES)
    assert expected > 0.01  # the figure is not a rounding error away from 0
    assert last["energy_kwh"] == pytest.approx(expected, rel=0.01)
    # and the history on disk says the same
    row = hub.sessions.history()[0]
    assert row["id"] == last["id"]
    assert row["energy_kwh"] == pytest.approx(expected, rel=0.01)


def test_lights_count_by_duty_not_by_perceived_level(make_room: Any) -> None:
    """Half brightness as a person sees it is about a fifth of the power at gamma 2.2."""
    room = make_room(counted())
    hub = room.start()
    t0 = room.clock.monotonic()
    hub.devices.set("main", {"level": 0.5})
    hub.advance(3600)
    lc = room.config.lights["main"]
    kwh = hub.state()["energy"]["total_kwh"]
    assert kwh == pytest.approx(MAIN_W * held_duty(0.5, lc.gamma, lc.min_duty) / 1000, rel=0.01)
    assert kwh < 0.5 * MAIN_W / 1000 * 0.6  # clearly not level × watts
    assert room.clock.monotonic() - t0 == pytest.approx(3600)


def test_cost_is_kwh_times_price(make_room: Any) -> None:
    room = make_room(counted(price=PRICE))
    hub = room.start()
    last = run_session(hub, 10)
    assert last["energy_kwh"] > 0
    assert last["energy_cost"] == pytest.approx(last["energy_kwh"] * PRICE, rel=1e-3)
    assert last["energy_currency"] == "€"
    row = hub.sessions.history()[0]
    assert row["energy_cost"] == pytest.approx(row["energy_kwh"] * PRICE, rel=1e-3)
    assert row["energy_currency"] == "€"


def test_without_a_price_there_is_energy_but_no_cost(make_room: Any) -> None:
    room = make_room(counted(price=None))
    hub = room.start()
    last = run_session(hub, 10)
    assert last["energy_kwh"] > 0
    assert last["energy_cost"] is None and last["energy_currency"] is None
    assert hub.state()["energy"]["session_cost"] is None


def test_without_watts_nothing_is_counted_or_shown(make_room: Any) -> None:
    room = make_room({})
    hub = room.start()
    last = run_session(hub, 10)
    assert last["energy_kwh"] is None and last["energy_cost"] is None
    assert hub.state()["energy"] is None
    assert hub.sessions.history()[0]["energy_kwh"] is None
    assert hub.store.query("SELECT COUNT(*) FROM energy_meter")[0][0] == 0


def test_the_lifetime_total_survives_a_restart(make_room: Any) -> None:
    room = make_room(counted())
    hub = room.start()
    first = run_session(hub, 10)["energy_kwh"]
    total = hub.state()["energy"]["total_kwh"]
    assert total == pytest.approx(first, rel=1e-3)
    room.stop(hub)
    hub = room.start()
    assert hub.state()["energy"]["total_kwh"] == pytest.approx(total, rel=1e-6)
    second = run_session(hub, 10)["energy_kwh"]
    assert hub.state()["energy"]["total_kwh"] == pytest.approx(total + second, rel=1e-3)


def test_a_crash_loses_at_most_the_last_minute(make_room: Any) -> None:
    room = make_room(counted())
    hub = room.start()
    hub.devices.set("main", {"level": 1.0})  # 24 W, steady
    hub.advance(30 * 60 + 30)  # half a minute past a save
    before = hub.state()["energy"]["total_kwh"]
    room.crash(hub)
    hub = room.start()
    after = hub.state()["energy"]["total_kwh"]
    minute = MAIN_W * SAVE_EVERY / 3.6e6
    assert after <= before
    assert before - after <= minute + 1e-9
    assert after > before - minute - 1e-9 and after > 0


def test_the_total_is_written_about_once_a_minute_not_at_every_fade_tick(make_room: Any) -> None:
    room = make_room(counted())
    hub = room.start()
    writes: list[float] = []
    save = hub.store.save_energy_total

    def counting(kwh: float) -> None:
        writes.append(kwh)
        save(kwh)

    hub.store.save_energy_total = counting  # type: ignore[method-assign]
    hub.devices.set("main", {"level": 1.0, "fade_seconds": 600})  # 36,000 writes of the light
    hub.advance(600)
    hub.recorder.stop()  # wait for the recorder's thread
    assert 9 <= len(writes) <= 11
    assert writes == sorted(writes)


def test_an_old_record_never_takes_the_stored_total_back(make_room: Any) -> None:
    room = make_room(counted())
    hub = room.start()
    hub.store.save_energy_total(2.0)
    hub.store.save_energy_total(1.5)
    assert hub.store.energy_total() == 2.0


def test_a_backup_keeps_each_sessions_energy_but_not_the_meter(make_room: Any) -> None:
    """A session's energy is history (in a backup); the lifetime total is this hub's meter."""
    room = make_room(counted())
    hub = room.start()
    first = run_session(hub, 10)
    backup = hub.backup.make()
    assert [r["kwh"] for r in backup["tables"]["session_energy"]] == [first["energy_kwh"]]
    assert "energy_meter" not in backup["tables"]
    run_session(hub, 10)
    total = hub.state()["energy"]["total_kwh"]
    hub.backup.restore(backup)
    rows = hub.sessions.history()
    assert [r["id"] for r in rows] == [first["id"]]
    assert rows[0]["energy_kwh"] == pytest.approx(first["energy_kwh"])
    assert hub.state()["energy"]["total_kwh"] == pytest.approx(total)  # the meter runs on


def test_an_older_backup_without_energy_restores(make_room: Any) -> None:
    room = make_room(counted())
    hub = room.start()
    run_session(hub, 5)
    backup = hub.backup.make()
    backup["schema"] = 5  # made before energy was counted: no session_energy table
    del backup["tables"]["session_energy"]
    hub.backup.restore(backup)
    assert hub.sessions.history()[0]["energy_kwh"] is None
