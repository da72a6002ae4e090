"""The heat limit survives restarts, crashes and reboots (issue 11, item 2).

Each hub here runs on the same data folder (SQLite on disk) and the same fake clock; a
"crash" abandons a hub without closing it, as ``kill -9`` would.
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
from hub.errors import Unavailable
from tests.rigs.support import write_config

MAX_ON = 60  # minutes
COOLDOWN = 30


class Room:
    """Start, crash and restart hubs on one config and one clock."""

    def __init__(self, folder: Path) -> None:
        pad = {"max_on_minutes": MAX_ON, "cooldown_minutes": COOLDOWN, "manual_timeout_minutes": 20}
        # no pre-warm: a session heats from its first second
        self.config = load_config(
            write_config(folder, {"heat_pads": {"pad": pad}, "session": {"prewarm_minutes": 0}})
        )
        self.clock = FakeClock()
        self.hubs: list[Hub] = []
        self.events: list[Any] = []

    def start(self) -> Hub:
        hub = Hub(
            self.config,
            clock=self.clock,
            pin_factory=SimFactory(),
            speaker=SilentSpeaker(),
            mirror=False,
        )
        hub.subscribe(self.events.append)
        hub.start()
        self.hubs.append(hub)
        return hub

    def crash(self, hub: Hub) -> None:
        """The process dies: nothing of ``hub`` runs again (ExecStopPost switches pins off)."""
        hub.store.close()
        self.hubs.remove(hub)

    def close(self) -> None:
        for hub in self.hubs:
            hub.close()


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    r = Room(tmp_path)
    yield r
    r.close()


def heats(hub: Hub) -> bool:
    return hub.state()["devices"]["pad"]["heat"] != "off"


def test_a_clean_restart_keeps_the_cooldown_lock(room: Room) -> None:
    hub = room.start()
    hub.sessions.start("swedish", 120)
    hub.advance(MAX_ON * 60 + 1)
    assert not heats(hub)
    assert hub.guard.locked("pad", room.clock.monotonic())
    hub.close()
    room.hubs.remove(hub)

    again = room.start()
    locked = again.state()["devices"]["pad"]["locked_for_seconds"]
    assert locked == pytest.approx(COOLDOWN * 60 - 1, abs=2)
    again.sessions.start("swedish", 30)
    again.advance(600)
    assert not heats(again), "the pad heated again at once after a restart"
    assert again.room.heat_pads["pad"].heat == "off"


def test_a_crash_counts_the_pad_as_on_until_the_restart(room: Room) -> None:
    hub = room.start()
    hub.sessions.start("swedish", 120)
    hub.advance(50 * 60)
    assert heats(hub)
    room.crash(hub)
    room.clock.advance(5 * 60)  # five minutes until systemd starts it again

    again = room.start()
    assert not heats(again)
    used = again.guard.states["pad"].used
    assert used == pytest.approx(55 * 60, abs=1)
    again.sessions.start("swedish", 60)
    again.advance(4 * 60)
    assert heats(again), "a pad with 5 minutes left may heat for those 5 minutes"
    again.advance(2 * 60)  # 55 + 6 > 60 minutes with no rest: forced off and locked
    assert not heats(again)
    assert again.guard.locked("pad", room.clock.monotonic())
    assert any(e.type == "safety" and e.data.get("reason") == "max_on" for e in room.events)


def test_a_crash_then_a_rest_of_the_cooldown_gives_a_full_stretch(room: Room) -> None:
    hub = room.start()
    hub.sessions.start("swedish", 120)
    hub.advance(50 * 60)
    room.crash(hub)
    room.clock.advance(60)
    again = room.start()
    again.advance(COOLDOWN * 60)
    assert not again.guard.locked("pad", room.clock.monotonic())
    again.devices.set("pad", {"heat": "low", "minutes": 20})
    again.advance(19 * 60)
    assert heats(again)


def test_after_a_reboot_with_the_clock_set_back_a_pad_that_was_on_cools_down(room: Room) -> None:
    hub = room.start()
    hub.devices.set("pad", {"heat": "high", "minutes": 10})
    hub.advance(60)
    room.crash(hub)
    room.clock.reboot()  # monotonic times of the old boot no longer compare
    room.clock.jump_wall(-3 * 3600)  # and a Pi with no clock battery starts in the past

    again = room.start()
    # how long it was on is unknown: the worst case, a whole stretch, then a full cooldown
    assert again.guard.locked("pad", room.clock.monotonic())
    with pytest.raises(Exception, match="cooling down"):
        again.devices.set("pad", {"heat": "low", "minutes": 5})


def test_a_reboot_credits_no_rest_however_far_the_wall_clock_moved(room: Room) -> None:
    hub = room.start()
    hub.sessions.start("swedish", 120)
    hub.advance(MAX_ON * 60 + 1)  # tripped: locked for the cooldown
    hub.close()
    room.hubs.remove(hub)
    room.clock.reboot()
    room.clock.jump_wall(2 * 3600)  # NTP, or two real hours: there is no telling which
    again = room.start()
    left = again.guard.lock_end("pad", room.clock.monotonic())
    assert left is not None
    assert left - room.clock.monotonic() == pytest.approx(COOLDOWN * 60 - 1, abs=2)


def test_an_unreadable_record_is_treated_as_the_worst_case(room: Room) -> None:
    hub = room.start()
    hub.close()
    room.hubs.remove(hub)
    with hub.store.__class__(room.config.data_path).transaction() as db:
        db.execute("INSERT INTO heat_ledger(pad, data, updated_at) VALUES ('pad', '{\"on\": 1', 0)")
    again = room.start()
    assert again.guard.locked("pad", room.clock.monotonic())


def test_heat_stays_off_when_the_ledger_cannot_be_written(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = room.start()

    def broken(pad_id: str, record: dict[str, Any]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hub.store, "save_heat_ledger", broken)
    before = hub.state()["devices"]["pad"]
    with pytest.raises(Unavailable, match="cannot record its on-time"):
        hub.devices.set("pad", {"heat": "high", "minutes": 5})
    assert hub.state()["devices"]["pad"] == before
    hub.sessions.start("swedish", 30)  # a session goes on without heat, and says why
    hub.advance(60)
    assert not heats(hub)
    assert hub.room.heat_pads["pad"].heat == "off"
    assert any(e.type == "safety" and e.data.get("reason") == "ledger" for e in room.events)
