"""Facts shared by config, commands, scenes, routines, web and MQTT, each in one place.

Enums are ``StrEnum``s: they compare equal to their plain string values, so JSON, YAML and
MQTT payloads need no conversion. Bounds are annotated types: a field declared with one
gets the same limits, and the same error message, wherever it is parsed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, Strict

from hardware import DiffuserMode, HeatLevel

__all__ = [
    "Area",
    "AreaField",
    "Areas",
    "MAX_FADE_SECONDS",
    "HEAT_TARGET_MARGIN",
    "MAX_HEAT_MINUTES",
    "DeviceKind",
    "DiffuserMode",
    "DiffuserModeField",
    "EventType",
    "FadeSeconds",
    "HeatLevel",
    "HeatLevelField",
    "Level",
    "Owner",
    "Phase",
    "SessionMoment",
    "Volume",
]

#: the longest single fade of a light or the volume, in seconds
MAX_FADE_SECONDS = 3600.0
#: the longest a heat pad may be on in one stretch, in minutes (README.md, Safety 1)
MAX_HEAT_MINUTES = 120
#: °C: a heat level's target stays at least this far under its pad's ceiling (max_celsius)
HEAT_TARGET_MARGIN = 1.0


class Phase(StrEnum):
    """A session's phase: pre-warm, the massage, the fade-out, over."""

    PREPARE = "prepare"
    ACTIVE = "active"
    FADE_OUT = "fade_out"
    ENDED = "ended"


class Owner(StrEnum):
    """Who switched a heat pad on, and so when it must go off."""

    SESSION = "session"
    ROUTINE = "routine"
    MANUAL = "manual"


class DeviceKind(StrEnum):
    """The kinds of output device (``hardware`` parts' ``kind``)."""

    LIGHT = "light"
    DIFFUSER = "diffuser"
    HEAT_PAD = "heat_pad"
    SPEAKER = "speaker"


class SessionMoment(StrEnum):
    """What happened to a session (the ``action`` of a session event)."""

    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENDED = "extended"
    ACTIVE = "active"
    FADE_OUT = "fade_out"
    ENDED = "ended"
    INTERRUPTED_DISMISSED = "interrupted_dismissed"


class EventType(StrEnum):
    """What an event on the hub's stream is about."""

    HUB = "hub"
    DEVICE = "device"
    SESSION = "session"
    SCENE = "scene"
    SCENES = "scenes"
    SAFETY = "safety"
    ALL_OFF = "all_off"
    PROGRESS = "progress"
    ROUTINES = "routines"
    BUTTON = "button"
    CUE = "cue"  # a scene's timeline cue for the therapist (hub/sessions/cues.py)
    LIMIT = "limit"  # a person's limit capped or refused a request (hub/people/limits.py)
    PEOPLE = "people"  # a profile saved or deleted, or a journal entry added
    TABLE = "table"  # who is on the table changed (hub/people/table.py)


class ButtonAction(StrEnum):
    """What the wall button did (the ``action`` of a button event)."""

    PRESS = "press"
    HOLD = "hold"


# enum fields accept the plain strings that JSON carries, even in strict models
HeatLevelField = Annotated[HeatLevel, Strict(False)]
DiffuserModeField = Annotated[DiffuserMode, Strict(False)]
FadeSeconds = Annotated[float, Field(ge=0, le=MAX_FADE_SECONDS)]
Level = Annotated[float, Field(ge=0, le=1)]
Volume = Annotated[float, Field(ge=0, le=100)]


def check_light_levels(levels: dict[str, float]) -> dict[str, float]:
    """Return ``levels`` (light id -> level) if each is from 0 to 1; raise ValueError, in
    words naming the light, if one is not (a scene's lights, a timeline step's)."""
    for key, level in levels.items():
        if not 0 <= level <= 1:
            raise ValueError(f"light {key!r}: level must be from 0 to 1 (got {level})")
    return levels


class Area(StrEnum):
    """An area of the body a person wants the therapist to know about."""

    NECK = "neck"
    SHOULDERS = "shoulders"
    UPPER_BACK = "upper_back"
    LOWER_BACK = "lower_back"
    HIPS = "hips"
    LEGS = "legs"
    FEET = "feet"
    ARMS = "arms"
    HANDS = "hands"
    HEAD = "head"


AreaField = Annotated[Area, Strict(False)]
Areas = Annotated[list[AreaField], Field(max_length=len(Area))]
