"""A scene's timeline: cues and light steps at minutes or fractions of the session.

``at`` says when, counted in massage time (the pre-warm and pauses do not count):

- ``"50%"`` or ``"1/2"``: a fraction of the session (an extend moves it);
- ``"10 min"`` (or the number ``10``): minutes from the start;
- ``"-5 min"`` (or ``-5``): minutes before the end (an extend moves it too).

A cue (``text``) is a soft chime, a brief dip of the lights and a line on the therapist's
screen; a light step sets lights (like a scene's ``lights``) with its own fade.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..facts import FadeSeconds, check_light_levels

MAX_CUES = 20
MAX_STEPS = 20
_FRACTION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_RATIO = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_MINUTES = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes?)?\s*$")
AT_HELP = (
    'use a fraction ("50%", "1/2"), minutes from the start ("10 min") or before the end ("-5 min")'
)


def parse_at(value: Any) -> tuple[str, float]:
    """Return ``("fraction", 0-1)`` or ``("minutes", m)`` (negative: before the end)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(AT_HELP)
    if isinstance(value, int | float):
        minutes = float(value)
        if minutes != minutes or abs(minutes) > 480:
            raise ValueError("at: minutes must be from -480 to 480")
        return "minutes", minutes
    if not isinstance(value, str) or len(value) > 20:
        raise ValueError(AT_HELP)
    if m := _FRACTION.match(value):
        fraction = float(m.group(1)) / 100
    elif m := _RATIO.match(value):
        top, bottom = int(m.group(1)), int(m.group(2))
        if bottom == 0:
            raise ValueError("at: a fraction cannot have 0 below the line")
        fraction = top / bottom
    elif m := _MINUTES.match(value):
        return parse_at(float(m.group(1)))
    else:
        raise ValueError(AT_HELP)
    if not 0 <= fraction <= 1:
        raise ValueError("at: a fraction must be from 0% to 100%")
    return "fraction", fraction


def offset_seconds(at: Any, total_seconds: float) -> float:
    """Return when ``at`` falls, in seconds of massage time, in a session this long."""
    kind, value = parse_at(at)
    if kind == "fraction":
        return value * total_seconds
    seconds = value * 60 if value >= 0 else total_seconds + value * 60
    return min(max(0.0, seconds), total_seconds)


def moves_with_end(at: Any) -> bool:
    """True for a time counted back from the end ("-5 min"): an extend may bring it back."""
    kind, value = parse_at(at)
    return kind == "minutes" and value < 0


At = Annotated[str | float, Field(description=AT_HELP)]


class Cue(BaseModel):
    """A cue for the therapist: a soft chime, a dip of the lights and a line of ``text``."""

    model_config = ConfigDict(extra="forbid")

    at: At
    text: str = Field(min_length=1, max_length=60)

    @field_validator("at")
    @classmethod
    def _at(cls, v: Any) -> Any:
        parse_at(v)
        return v


class LightStep(BaseModel):
    """Set lights at a time of the session (``"*"`` = every other light)."""

    model_config = ConfigDict(extra="forbid")

    at: At
    lights: dict[str, float] = Field(min_length=1)
    fade_seconds: FadeSeconds = 20

    @field_validator("at")
    @classmethod
    def _at(cls, v: Any) -> Any:
        parse_at(v)
        return v

    @field_validator("lights")
    @classmethod
    def _levels(cls, v: dict[str, float]) -> dict[str, float]:
        return check_light_levels(v)


class Timeline(BaseModel):
    """A scene's cues and light steps."""

    model_config = ConfigDict(extra="forbid")

    cues: list[Cue] = Field(default_factory=list, max_length=MAX_CUES)
    lights: list[LightStep] = Field(default_factory=list, max_length=MAX_STEPS)


def timeline_errors(timeline: Timeline, light_ids: list[str]) -> list[str]:
    """Return what in ``timeline`` does not fit this room (unknown lights)."""
    problems = []
    for i, step in enumerate(timeline.lights):
        for key in step.lights:
            if key != "*" and key not in light_ids:
                problems.append(
                    f"timeline.lights.{i}.lights.{key}: no light called {key!r} "
                    f"(lights: {', '.join(light_ids)})"
                )
    return problems
