"""Request and response models of the web API (besides the hub's command models).

They validate requests and, through spectree (web/openapi.py), make the OpenAPI description.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from hub.command_models import (
    Command,
    DiffuserCommand,
    HeatPadCommand,
    LightCommand,
    SpeakerCommand,
)
from hub.scenes.scene import Scene


class Empty(Command):
    """No fields (an empty body or ``{}``)."""


class LoginBody(Command):
    """Log in with the password."""

    password: str = Field(min_length=1, max_length=256)


class SetupBody(Command):
    """Set the first password, with the one-time setup code the hub logs at start."""

    password: str = Field(min_length=8, max_length=256)
    code: str = Field(
        min_length=1,
        max_length=64,
        description="the setup code: in the hub's log at start, or `massage-hub setup-code`",
    )


class PasswordChange(Command):
    """Change the password."""

    current: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=8, max_length=256)
    revoke_tokens: bool = Field(False, description="also revoke every API token")


class TokenCreate(Command):
    """Create an API token called ``name``."""

    name: str = Field(min_length=1, max_length=60)


class SceneDuplicate(Command):
    """Copy a scene, optionally under a new ``name``."""

    name: str | None = Field(None, min_length=1, max_length=40)


class SceneApply(Command):
    """Apply a scene now, optionally with its own ``fade_seconds``."""

    fade_seconds: float | None = Field(None, ge=0, le=3600)


class DeviceCommand(RootModel[LightCommand | DiffuserCommand | HeatPadCommand | SpeakerCommand]):
    """A change to one device: the fields of its kind's command."""


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _scene_input() -> type[BaseModel]:
    """Make the Scene model as a client sends it: ``id`` optional, no ``builtin``."""
    described = Scene.model_fields["id"].description
    fields: dict[str, Any] = {  # optional, but never null: no default in the schema
        "id": (str, Field(None, description=described, json_schema_extra=_no_default))
    }
    for name, info in Scene.model_fields.items():
        if name not in fields and name != "builtin":
            fields[name] = (info.annotation, info)
    return create_model(
        "SceneInput",
        __config__=Scene.model_config,
        __doc__="A scene to store; the id is made from the name when left out.",
        __module__=__name__,
        **fields,
    )


SceneInput = _scene_input()


class HistoryQuery(Command):
    """Page through past sessions."""

    model_config = ConfigDict(extra="forbid", strict=False)

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


# --- responses (extra fields allowed: the API may grow) -----------------------------------


class Open(BaseModel):
    """A response object that may carry more fields than listed."""

    # built when first used (the OpenAPI description), not at start-up
    model_config = ConfigDict(extra="allow", defer_build=True)


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error's body."""

    error: ErrorDetail


class Ok(Open):
    """A plain acknowledgement."""

    ok: bool


class LoginResult(Open):
    """A login; send ``csrf_token`` as ``X-CSRF-Token`` with state-changing requests."""

    ok: bool
    csrf_token: str


class AuthStatus(BaseModel):
    """Whether a password is set and this request is logged in."""

    password_set: bool
    authenticated: bool
    via: Literal["cookie", "token", "guest"] | None
    csrf_token: str | None


class SessionInfo(Open):
    """The running session."""

    id: int
    scene: str
    scene_name: str
    phase: Literal["prepare", "active", "fade_out", "ended"]
    paused: bool
    minutes: float
    remaining_seconds: float
    phase_remaining_seconds: float
    elapsed_seconds: float
    started_at: str
    source: str


class DeviceState(Open):
    """One device's state; ``kind`` says which fields it has."""

    kind: Literal["light", "diffuser", "heat_pad", "speaker"]
    name: str


class TablePerson(Open):
    """One person on the table: their profile, name and pad (None: every pad)."""

    profile: str
    name: str
    pad: str | None


class TableState(Open):
    """Who is on the table, why (``room``, ``default``, ``link``), and the limits in force."""

    people: list[TablePerson]
    source: Literal["room", "default", "link"] | None
    default: list[TablePerson]
    limits: dict[str, Any] | None
    limits_words: str | None


class Problem(BaseModel):
    """Something found wrong in the data (rows set aside at start), in plain words."""

    source: str
    count: int
    message: str


class EnergyState(BaseModel):
    """The room's energy meter (null in the state when no light or pad has its watts)."""

    total_kwh: float = Field(description="lifetime energy of the counted devices, never falls")
    saved_kwh: float = Field(description="the total as last saved (at most a minute behind)")
    watts: float = Field(description="the counted devices' power now")
    session_kwh: float | None = Field(description="the running session's energy so far")
    session_cost: float | None = Field(description="its cost at `price_per_kwh` (null: no price)")
    price_per_kwh: float | None
    currency: str


class LastSession(Open):
    """The session that ended last: its end summary."""

    id: int
    scene: str
    scene_name: str
    planned_minutes: float
    actual_minutes: float
    end_reason: str
    ended_at: str
    energy_kwh: float | None = Field(None, description="null when no light or pad has its watts")
    energy_cost: float | None = Field(None, description="null without `energy.price_per_kwh`")
    energy_currency: str | None = None


class HubState(Open):
    """Everything at once."""

    devices: dict[str, DeviceState]
    session: SessionInfo | None
    last_session: LastSession | None
    energy: EnergyState | None = None
    next_routine: dict[str, Any] | None
    backend: str
    warnings: list[str]
    audio: str | None
    version: str
    time: str
    interrupted_session: dict[str, Any] | None
    table: TableState
    problems: list[Problem] = Field(default_factory=list)


class HistoryEntry(Open):
    """One past session."""

    id: int
    scene: str
    scene_name: str
    source: str
    started_at: str
    planned_minutes: float
    actual_minutes: float | None
    ended_at: str | None
    end_reason: str | None
    energy_kwh: float | None = Field(None, description="null when no light or pad has its watts")
    energy_cost: float | None = Field(None, description="null without `energy.price_per_kwh`")
    energy_currency: str | None = None


class HistoryPage(BaseModel):
    """Past sessions, newest first."""

    sessions: list[HistoryEntry]
    limit: int
    offset: int


class SceneList(BaseModel):
    """Every scene, built-ins first."""

    scenes: list[dict[str, Any]]


class TokenInfo(BaseModel):
    """An API token (never the token itself)."""

    id: int
    name: str
    created_at: str
    last_used_at: str | None


class TokenList(BaseModel):
    """Every API token."""

    tokens: list[TokenInfo]


class TokenCreated(BaseModel):
    """A new token: ``token`` is shown this once."""

    id: int
    name: str
    created_at: str
    token: str


class Health(Open):
    """Readiness: ``ready`` is true when every check passes."""

    status: Literal["ok", "starting", "unavailable"]
    ready: bool
    problems: list[Problem] = Field(default_factory=list)
