"""What the hub's controllers share: the lock, the clock, the room's parts and their engines.

The :class:`~hub.core.Hub` builds these once and hands the same :class:`Context` to each
controller (``hub.devices``, ``hub.sessions``, ``hub.scenes``, ``hub.people``, ``hub.guests``,
``hub.backup``), so no controller reaches into the Hub or into another controller. The
engines here (:class:`~hub.room.devices.DeviceController`,
:class:`~hub.sessions.engine.SessionController`, :class:`~hub.scenes.library.SceneLibrary`, …) do
the work without taking the lock; the controllers take it around them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from .errors import InvalidCommand
from .people.limits import People, merge

if TYPE_CHECKING:
    from hardware import Room

    from .engine.clock import Clock
    from .engine.event_types import Payload
    from .engine.events import HubLock
    from .people.journal import Journal
    from .people.limits import LimitKeeper
    from .people.profiles import ProfileLibrary
    from .people.records import PeopleRecords
    from .people.table import Table
    from .room.devices import DeviceController
    from .room.fader import Fader
    from .room.safety import HeatGuard
    from .scenes.library import SceneLibrary
    from .sessions.engine import SessionController
    from .store.database import Store
    from .store.recorder import Recorder


@dataclass(eq=False)
class Context:
    """The hub's lock, clock and engines, as every controller gets them."""

    lock: HubLock
    clock: Clock
    zone: tzinfo
    store: Store
    recorder: Recorder
    room: Room
    guard: HeatGuard
    devices: DeviceController
    fader: Fader
    scenes: SceneLibrary
    sessions: SessionController
    people_records: PeopleRecords
    profiles: ProfileLibrary
    journal: Journal
    table: Table
    limits: LimitKeeper
    #: post an event (delivered when the hub lock is let go)
    emit: Callable[[Payload], None]
    #: step the control loop soon: a command changed what is due
    kick: Callable[[], None]
    #: a wall time (default now) as local ISO time, to the second
    wall_iso: Callable[..., str]

    def link_people(self, profiles: list[str] | None) -> People | None:
        """The people a therapist's link is for (one deleted since: left out)."""
        found = []
        for pid in profiles or ():
            try:
                found.append(self.table.resolve([pid], "link"))
            except InvalidCommand:
                continue
        return merge(*found)

    def record_people(self, session_id: int, rows: list[tuple[str, str, str | None]]) -> None:
        """Record who session ``session_id`` is for (in its history), now or when the disk can."""
        records = self.people_records
        self.recorder.record(
            f"session {session_id}: who it is for", lambda: records.link_session(session_id, rows)
        )

    def with_people(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """History rows with who each session was for and their journal ratings."""
        ids = [r["id"] for r in rows]
        people = self.people_records.session_people(ids)
        marks: dict[tuple[int, str], dict[str, Any]] = {}
        for e in self.people_records.entries_for(ids):
            value = e["sleep"] if e["moment"] == "morning" else e["stress"]
            marks.setdefault((e["session_id"], e["profile_id"]), {})[e["moment"]] = value
        for r in rows:
            r["people"] = [
                {
                    **p,
                    "before": marks.get((r["id"], p["profile"]), {}).get("before"),
                    "after": marks.get((r["id"], p["profile"]), {}).get("after"),
                    "sleep": marks.get((r["id"], p["profile"]), {}).get("morning"),
                }
                for p in people[r["id"]]
            ]
        return rows
