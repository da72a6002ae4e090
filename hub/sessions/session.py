"""One session's timeline: its scene, minutes, phase and when the phase ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..facts import Phase
from ..scenes.scene import Scene


@dataclass
class Session:
    """One running session; times are the clock's monotonic seconds."""

    id: int
    scene: Scene
    minutes: float
    source: str
    started_wall: datetime
    phase: Phase
    phase_end: float
    paused_at: float | None = None
    active_started: float | None = None
    active_seconds: float = 0.0
    end_reason: str | None = None
    #: pads this session heats; a pad leaves the set when the user changes it by hand
    heat_pads: set[str] = field(default_factory=set)
    #: who it is for (:class:`hub.people.limits.People`); their limits hold while it runs
    people: Any = None
    #: the people a therapist's link fixed (always among ``people``, whoever changes the table)
    fixed: Any = None

    @property
    def paused(self) -> bool:
        """True while paused."""
        return self.paused_at is not None

    def remaining(self, now: float) -> float:
        """Seconds of massage left (the pre-warm counts on top while preparing)."""
        at = self.paused_at if self.paused_at is not None else now
        left = max(0.0, self.phase_end - at)
        if self.phase == "prepare":
            return left + self.minutes * 60
        if self.phase == "active":
            return left
        return 0.0

    def massage_seconds(self, now: float) -> float:
        """Seconds spent in the active phase so far, pauses excluded."""
        total = self.active_seconds
        if self.phase == "active" and self.active_started is not None:
            at = self.paused_at if self.paused_at is not None else now
            total += max(0.0, at - self.active_started)
        return total

    def to_dict(self, now: float, zone: Any) -> dict[str, Any]:
        """Return the session's state for the API."""
        at = self.paused_at if self.paused_at is not None else now
        return {
            "id": self.id,
            "scene": self.scene.id,
            "scene_name": self.scene.name,
            "phase": self.phase,
            "paused": self.paused,
            "minutes": self.minutes,
            "remaining_seconds": round(self.remaining(now), 1),
            "phase_remaining_seconds": round(max(0.0, self.phase_end - at), 1),
            "elapsed_seconds": round(self.massage_seconds(now), 1),
            "started_at": self.started_wall.astimezone(zone).isoformat(timespec="seconds"),
            "source": self.source,
            "people": [p.to_dict() for p in self.people.people] if self.people else [],
        }
