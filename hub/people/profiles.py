"""Profiles: the people the room is for, with the limits the hub enforces for them.

A profile holds a name, a heat ceiling, a volume cap, whether aroma is allowed at all,
favourite scenes, areas of concern and free notes. They are stored in SQLite
(:mod:`hub.people.records`); :mod:`hub.people.limits` turns the people of a session into caps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from ..command_models import describe
from ..errors import Conflict, InvalidCommand, NotFound
from ..facts import Areas, HeatLevel, HeatLevelField, Volume
from .records import PeopleRecords

MAX_PROFILES = 50
MAX_NOTES = 2000


class ProfileIn(BaseModel):
    """A profile as sent: every field but ``name`` has a safe-for-nobody default."""

    model_config = ConfigDict(extra="forbid", strict=True, use_enum_values=True)

    name: str = Field(min_length=1, max_length=60)
    heat_max: HeatLevelField = HeatLevel.HIGH
    volume_max: Volume = 100
    aroma: StrictBool = True
    favourite_scenes: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    areas: Areas = Field(default_factory=list)
    notes: str = Field("", max_length=MAX_NOTES)


class ProfileOut(ProfileIn):
    """A profile as shown: its id too."""

    id: str


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30].strip("-")
    return slug or "person"


def check_profile(data: Any, scene_ids: list[str]) -> dict[str, Any]:
    """Validate a profile body; return it clean (areas once each, in body order)."""
    if not isinstance(data, dict):
        raise InvalidCommand("expected a JSON object")
    body = {k: v for k, v in data.items() if k != "id"}  # a GET body sent back keeps its id
    if isinstance(body.get("name"), str) and not body["name"].strip():
        raise InvalidCommand("name: give the person a name")
    try:
        model = ProfileIn.model_validate(body)
    except ValidationError as exc:
        raise InvalidCommand(describe(exc, ProfileIn)) from None
    out = model.model_dump(mode="json")
    out["name"] = out["name"].strip()
    unknown = [s for s in out["favourite_scenes"] if s not in scene_ids]
    if unknown:
        raise InvalidCommand(
            f"favourite_scenes: no scene called {unknown[0]!r} (scenes: {', '.join(scene_ids)})"
        )
    out["favourite_scenes"] = list(dict.fromkeys(out["favourite_scenes"]))
    out["areas"] = list(dict.fromkeys(out["areas"]))
    return out


class ProfileLibrary:
    """Create, read, change and delete profiles (the hub lock is held by the caller)."""

    def __init__(
        self,
        records: PeopleRecords,
        scene_ids: Callable[[], list[str]],
        now_iso: Callable[[], str],
        in_use: Callable[[str], bool],
    ) -> None:
        self._records = records
        self._scene_ids = scene_ids
        self._now_iso = now_iso
        self._in_use = in_use

    def list(self) -> list[dict[str, Any]]:
        """Every profile, by name."""
        return sorted(self._records.profiles(), key=lambda p: (p["name"].lower(), p["id"]))

    def get(self, profile_id: Any) -> dict[str, Any]:
        """One profile, or NotFound."""
        found = self._records.profile(profile_id) if isinstance(profile_id, str) else None
        if found is None:
            raise NotFound(f"no profile called {profile_id!r}")
        return found

    def create(self, data: Any) -> dict[str, Any]:
        """Store a new profile; return it with its id."""
        clean = check_profile(data, self._scene_ids())
        have = {p["id"] for p in self._records.profiles()}
        if len(have) >= MAX_PROFILES:
            raise Conflict(f"the hub keeps at most {MAX_PROFILES} profiles; delete one first")
        base = _slug(clean["name"])
        pid, n = base, 2
        while pid in have:
            pid, n = f"{base}-{n}", n + 1
        clean["id"] = pid
        self._records.put_profile(pid, clean, self._now_iso())
        return clean

    def update(self, profile_id: str, data: Any) -> dict[str, Any]:
        """Replace a profile's fields (its id stays); return it."""
        self.get(profile_id)
        clean = check_profile(data, self._scene_ids())
        clean["id"] = profile_id
        self._records.put_profile(profile_id, clean, self._now_iso())
        return clean

    def delete(self, profile_id: str) -> None:
        """Delete a profile and its journal (history keeps the name); not while on the table."""
        found = self.get(profile_id)
        if self._in_use(profile_id):
            raise Conflict(
                f"{found['name']} is in the running session; stop it before deleting the profile"
            )
        self._records.delete_profile(profile_id)
