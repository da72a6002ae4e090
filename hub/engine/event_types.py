"""What each event on the hub's stream says: one small frozen dataclass per :class:`EventType`.

A component posts one with ``hub.emit(...)`` (or ``context.emit(...)`` inside the hub), and
a listener asks ``isinstance(event.payload, SessionChanged)``. On the wire (the SSE stream,
the logs) an event's ``data`` is :meth:`Payload.to_data`: the fields in order, an optional
one left out while it is None, so the JSON is what it has always been.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ..facts import ButtonAction, EventType, SessionMoment


@dataclass(frozen=True, kw_only=True)
class Payload:
    """What changed, as one event carries it."""

    type: ClassVar[EventType]
    #: fields left out of :meth:`to_data` while they are None (today's dicts lack the key)
    optional: ClassVar[frozenset[str]] = frozenset()

    def to_data(self) -> dict[str, Any]:
        """Return the event's ``data`` as the stream sends it."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in self.optional:
                continue
            out[f.name] = value
        return out


@dataclass(frozen=True, kw_only=True)
class HubStatus(Payload):
    """The hub started, on this backend (``mock`` or ``gpio``)."""

    type: ClassVar[EventType] = EventType.HUB
    status: str = "started"
    backend: str


@dataclass(frozen=True, kw_only=True)
class DeviceChanged(Payload):
    """A device changed: the fields of its command, or what it did by itself."""

    type: ClassVar[EventType] = EventType.DEVICE
    device: str
    changes: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class SessionChanged(Payload):
    """A session started, paused, resumed, was extended, changed phase or ended."""

    type: ClassVar[EventType] = EventType.SESSION
    optional: ClassVar[frozenset[str]] = frozenset(
        {"phase", "minutes", "reason", "scene", "scene_name"}
    )
    action: SessionMoment
    phase: str | None = None
    minutes: float | None = None  # extended: the session's minutes now
    reason: str | None = None  # ended: why
    scene: str | None = None
    scene_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class SceneApplied(Payload):
    """A scene was applied to the room."""

    type: ClassVar[EventType] = EventType.SCENE
    scene: str


@dataclass(frozen=True, kw_only=True)
class ScenesChanged(Payload):
    """The scenes changed: one created, updated or deleted, or all restored from a backup."""

    type: ClassVar[EventType] = EventType.SCENES
    optional: ClassVar[frozenset[str]] = frozenset({"scene"})
    action: str  # created, updated, deleted, restored
    scene: str | None = None


@dataclass(frozen=True, kw_only=True)
class SafetyTripped(Payload):
    """A safety rule switched a pad off or refused it heat (or all heat, without a device)."""

    type: ClassVar[EventType] = EventType.SAFETY
    optional: ClassVar[frozenset[str]] = frozenset({"device", "message", "celsius"})
    device: str | None = None
    reason: str  # max_on, cooling_down, watchdog, control_loop_error, a sensor's fault, ...
    #: what a person should know and do, in words (a pad's fault)
    message: str | None = None
    #: the pad's temperature then (a pad's fault)
    celsius: float | None = None


@dataclass(frozen=True, kw_only=True)
class AllOff(Payload):
    """Everything was switched off, and why."""

    type: ClassVar[EventType] = EventType.ALL_OFF
    reason: str


@dataclass(frozen=True, kw_only=True)
class FadeProgress(Payload):
    """Fades are running (a step of them), or the last one finished."""

    type: ClassVar[EventType] = EventType.PROGRESS
    fading: bool


@dataclass(frozen=True, kw_only=True)
class RoutinesChanged(Payload):
    """A routine was changed (``action``) or ran, was skipped or finished (``outcome``)."""

    type: ClassVar[EventType] = EventType.ROUTINES
    optional: ClassVar[frozenset[str]] = frozenset({"action", "outcome", "detail"})
    action: str | None = None  # created, updated, deleted, skip, unskip
    routine: str
    outcome: str | None = None  # ran, skipped, failed, finished, ...
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Payload):
    """The wall button was pressed or held."""

    type: ClassVar[EventType] = EventType.BUTTON
    action: ButtonAction


@dataclass(frozen=True, kw_only=True)
class CueReached(Payload):
    """A scene's timeline cue for the therapist came due."""

    type: ClassVar[EventType] = EventType.CUE
    text: str
    at: Any  # the cue's time as the scene gives it
    at_minutes: float  # minutes into the session
    session: int
    scene: str


@dataclass(frozen=True, kw_only=True)
class LimitApplied(Payload):
    """A person's limit capped or refused a request for ``device``."""

    type: ClassVar[EventType] = EventType.LIMIT
    device: str
    limit: str
    message: str


@dataclass(frozen=True, kw_only=True)
class PeopleChanged(Payload):
    """A profile was saved or deleted, or a journal entry added (``profile`` may be None)."""

    type: ClassVar[EventType] = EventType.PEOPLE
    action: str  # profile_saved, profile_deleted, journal
    profile: str | None


@dataclass(frozen=True, kw_only=True)
class TableChanged(Payload):
    """Who is on the table changed: the people now, by what, and a word if one is due."""

    type: ClassVar[EventType] = EventType.TABLE
    optional: ClassVar[frozenset[str]] = frozenset({"message"})
    by: str
    people: list[dict[str, Any]]
    source: str
    message: str | None = None

    def to_data(self) -> dict[str, Any]:
        """Return the event's ``data`` as the stream sends it."""
        return {"action": "table", **super().to_data()}


#: every kind of payload, one per event type
PAYLOADS: tuple[type[Payload], ...] = (
    HubStatus,
    DeviceChanged,
    SessionChanged,
    SceneApplied,
    ScenesChanged,
    SafetyTripped,
    AllOff,
    FadeProgress,
    RoutinesChanged,
    ButtonPressed,
    CueReached,
    LimitApplied,
    PeopleChanged,
    TableChanged,
)

#: how a component posts an event (``hub.emit``, ``context.emit``)
Emit = Callable[[Payload], None]
