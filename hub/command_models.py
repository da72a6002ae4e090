"""Command models: the values a caller may send, validated before anything changes.

The web API builds its OpenAPI description from these same models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from .errors import InvalidCommand
from .facts import (
    MAX_HEAT_MINUTES,
    Areas,
    DiffuserModeField,
    FadeSeconds,
    HeatLevelField,
    Level,
    Volume,
)

ProfileId = Annotated[str, Field(min_length=1, max_length=40)]


class Command(BaseModel):
    """Base for commands: unknown fields and wrong types (bools, numeric strings) are refused."""

    # each command's validator is built when it is first used, not at start-up: a Pi's
    # first minute needs few of the web's and MQTT's dozens of command models
    model_config = ConfigDict(extra="forbid", strict=True, use_enum_values=True, defer_build=True)


class LightCommand(Command):
    """Set a light: ``level`` 0-1 (or ``on``), optionally fading over ``fade_seconds``."""

    level: Level | None = None
    on: StrictBool | None = None
    fade_seconds: FadeSeconds = 0


class DiffuserCommand(Command):
    """Switch the diffuser ``on``/off or choose its ``mode``."""

    on: StrictBool | None = None
    mode: DiffuserModeField | None = None


class HeatPadCommand(Command):
    """Set a heat pad's ``heat`` level for ``minutes`` (default: its manual timeout), or
    ``clear_fault`` after a person checked a pad its sensor found at fault."""

    heat: HeatLevelField | None = None
    on: StrictBool | None = None
    minutes: float | None = Field(None, gt=0, le=MAX_HEAT_MINUTES)
    clear_fault: Literal[True] | None = None


class SpeakerCommand(Command):
    """Set the speaker: ``volume`` 0-100 (with a fade), ``playing``, ``playlist``, ``next``, ``stop``."""

    volume: Volume | None = None
    fade_seconds: FadeSeconds = 0
    playing: StrictBool | None = None
    playlist: str | None = Field(None, min_length=1, max_length=80)
    next: StrictBool | None = None
    #: stop the music (``playing: false`` pauses it, keeping the place)
    stop: StrictBool | None = None


class BeforeRating(Command):
    """How stressed one person is as the session starts (0 = calm, 10 = very stressed)."""

    stress: int = Field(ge=0, le=10)
    areas: Areas = Field(default_factory=list)


class SessionStart(Command):
    """Start a session of ``scene`` for ``minutes`` (default: the scene's default length, then config)."""

    scene: str | None = Field(None, min_length=1, max_length=40)
    minutes: float | None = Field(None, ge=1, le=480)
    #: who it is for: profile ids (every pad), or {pad id: profile id} (couples)
    profiles: list[ProfileId] | dict[ProfileId, ProfileId] | None = Field(None, max_length=8)
    #: the journal's "before", asked on the start form: {profile id: rating}, each one of
    #: the session's people; written with the session, so nothing waits for a second request
    before: dict[ProfileId, BeforeRating] | None = Field(None, max_length=8)


class TableSet(Command):
    """Who is on the table: profile ids (every pad) or {pad id: profile id}; [] is nobody."""

    people: list[ProfileId] | dict[ProfileId, ProfileId] = Field(max_length=8)


class SessionExtend(Command):
    """Add ``minutes`` to the running session."""

    minutes: float = Field(10, ge=1, le=120)


DEVICE_COMMANDS: dict[str, type[Command]] = {
    "light": LightCommand,
    "diffuser": DiffuserCommand,
    "heat_pad": HeatPadCommand,
    "speaker": SpeakerCommand,
}


def describe(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Turn a ValidationError into one sentence that says what to change.

    With ``model``, an unknown top-level field gets a hint of the nearest valid one.
    """
    from .config.model import _message, suggest

    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p not in ("float", "int", "str", "bool"))
        if err["type"] == "extra_forbidden":
            fields = []
            owner = model if len(err["loc"]) == 1 else None
            owner = owner or err.get("ctx", {}).get("model")
            if owner is not None:
                fields = list(owner.model_fields)
            parts.append(f"{loc}: unknown field{suggest(str(err['loc'][-1]), fields)}")
        else:
            parts.append(f"{loc}: {_message(err)}" if loc else _message(err))
    return "; ".join(dict.fromkeys(parts))


C = TypeVar("C", bound=Command)


def parse(model: type[C], data: Any) -> C:
    """Validate ``data`` against ``model``; raise InvalidCommand with a clear message."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidCommand("expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = describe(exc)
        # a top-level unknown field gets the model's nearest field; a nested one keeps its path
        unknown = [
            str(e["loc"][0])
            for e in exc.errors()
            if e["type"] == "extra_forbidden" and len(e["loc"]) == 1
        ]
        if unknown:
            from .config.model import suggest

            fields = list(model.model_fields)
            message = "; ".join(
                [f"{u}: unknown field{suggest(u, fields)}" for u in unknown]
                + [p for p in message.split("; ") if p.split(":")[0] not in unknown]
            )
        raise InvalidCommand(message) from None
