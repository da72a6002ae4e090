"""Scenes: named settings for every device; built-ins from YAML, user scenes in SQLite."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config.model import ConfigError, ConfigIssue, issues_from, line_of, load_yaml
from ..facts import DiffuserMode, FadeSeconds, HeatLevel, Volume, check_light_levels
from .timeline import Timeline, timeline_errors

SCENE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class Scene(BaseModel):
    """What a scene sets. ``"*"`` in ``lights`` or ``heat`` means every other channel/pad."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    id: str = Field(description="short id: a-z, 0-9, - and _")
    name: str = Field(min_length=1, max_length=40)
    description: str = Field("", max_length=200)
    lights: dict[str, float] = Field(default_factory=dict)
    diffuser: DiffuserMode = DiffuserMode.OFF
    heat: dict[str, HeatLevel] = Field(default_factory=dict)
    playlist: str | None = Field(None, max_length=80)
    volume: Volume = 0
    fade_seconds: FadeSeconds = 10
    fade_out_seconds: FadeSeconds = 60
    prewarm_minutes: float | None = Field(None, ge=0, le=30)
    default_minutes: float | None = Field(
        None, ge=1, le=480, description="session length when none is asked for"
    )
    timeline: Timeline = Field(
        default_factory=Timeline, description="cues and light steps during the session"
    )
    builtin: bool = False

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not SCENE_ID.match(v):
            raise ValueError(
                "use 1-40 characters: a-z, 0-9, - and _, starting with a letter or digit"
            )
        return v

    @field_validator("lights")
    @classmethod
    def _levels(cls, v: dict[str, float]) -> dict[str, float]:
        return check_light_levels(v)

    def light_levels(self, light_ids: list[str]) -> dict[str, float]:
        """Return the level of every light, filling ``"*"`` and missing ones."""
        default = self.lights.get("*", 0.0)
        return {lid: float(self.lights.get(lid, default)) for lid in light_ids}

    def heat_levels(self, pad_ids: list[str]) -> dict[str, str]:
        """Return the heat level of every pad, filling ``"*"`` and missing ones."""
        default = self.heat.get("*", "off")
        return {pid: self.heat.get(pid, default) for pid in pad_ids}

    def has_heat(self, pad_ids: list[str]) -> bool:
        """True if the scene warms any pad."""
        return any(level != "off" for level in self.heat_levels(pad_ids).values())


def spoken_name(scene: dict[str, object]) -> str:
    """Return what a voice assistant calls a scene: "Swedish" is "Swedish massage".

    A scene that warms no pad ("Cleaning", "Wind-down") is not a massage and keeps its own
    name, and so does one whose name says "massage" already. Home Assistant and Apple Home
    both use this, so Assist and Siri hear the same names.
    """
    name = " ".join(str(scene.get("name") or scene.get("id") or "").split())
    heat = scene.get("heat") or {}
    warms = isinstance(heat, dict) and any(level != "off" for level in heat.values())
    if not warms or "massage" in name.lower():
        return name
    return f"{name} massage"


def load_builtin_scenes(path: Path) -> dict[str, Scene]:
    """Load the built-in scenes file; raise ConfigError naming file, key and line."""
    located = load_yaml(path)
    data = located.data
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), dict):
        raise ConfigError([ConfigIssue(str(path), 1, "", "the file must have a 'scenes:' mapping")])
    scenes: dict[str, Scene] = {}
    issues = []
    for key, body in data["scenes"].items():
        if body is not None and not isinstance(body, dict):
            line = line_of(located.lines, ("scenes", str(key)))
            issues.append(
                ConfigIssue(str(path), line, f"scenes.{key}", "must be a mapping of keys")
            )
            continue
        body = dict(body or {})
        body.setdefault("id", key)
        body["builtin"] = True
        try:
            scenes[key] = Scene.model_validate(body)
        except ValidationError as exc:
            issues.extend(issues_from(exc, Scene, str(path), located, prefix=("scenes", key)))
    if issues:
        raise ConfigError(issues)
    return scenes


def scene_errors(scene: Scene, light_ids: list[str], pad_ids: list[str]) -> list[str]:
    """Return what in ``scene`` does not fit this room (unknown lights or pads)."""
    problems = []
    for key in scene.lights:
        if key != "*" and key not in light_ids:
            problems.append(
                f"lights.{key}: no light called {key!r} (lights: {', '.join(light_ids)})"
            )
    for key in scene.heat:
        if key != "*" and key not in pad_ids:
            have = ", ".join(pad_ids) or "none"
            problems.append(f"heat.{key}: no heat pad called {key!r} (heat pads: {have})")
    return problems + timeline_errors(scene.timeline, light_ids)


def free_id(base: str, taken: set[str] | dict[str, object], width: int = 36) -> str:
    """Return ``base``, or ``base-2``, ``base-3``… whichever is not ``taken``."""
    if base not in taken:
        return base
    n = 2
    while f"{base[:width]}-{n}" in taken:
        n += 1
    return f"{base[:width]}-{n}"


def slug(name: str) -> str:
    """Turn a scene name into an id ("Deep tissue" -> "deep-tissue")."""
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (s or "scene")[:40]
