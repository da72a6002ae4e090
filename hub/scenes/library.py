"""The scene library: built-in scenes from YAML and the user's scenes in SQLite."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ..command_models import describe
from ..engine.event_types import Emit, ScenesChanged
from ..errors import Conflict, InvalidCommand, NotFound
from ..store.database import Store
from .scene import Scene, free_id, scene_errors, slug

log = logging.getLogger(__name__)


class SceneLibrary:
    """List, read, create, change and delete scenes; built-ins are read-only."""

    def __init__(
        self,
        builtin: dict[str, Scene],
        store: Store,
        *,
        lights: list[str],
        pads: list[str],
        emit: Emit,
        now_iso: Callable[[], str],
        playlists: Callable[[], list[str] | None] | None = None,
    ) -> None:
        self.builtin = builtin
        self._store = store
        self._lights = lights
        self._pads = pads
        self._emit = emit
        self._now_iso = now_iso
        # the music folder's playlists (None: no speaker, so nothing to check against)
        self._playlists = playlists or (lambda: None)

    def list(self) -> list[dict[str, Any]]:
        """Every scene, built-ins first."""
        out = [s.model_dump() for s in self.builtin.values()]
        out.extend(s.model_dump() for s in self._user().values())
        return out

    def _user(self) -> dict[str, Scene]:
        scenes = {}
        for doc in self._store.list_docs("scenes"):
            try:
                scenes[doc["id"]] = Scene.model_validate(doc)
            except Exception:
                log.exception("stored scene %r is unreadable; skipped", doc.get("id"))
        return scenes

    def get(self, scene_id: Any) -> Scene:
        """Return one scene or raise NotFound."""
        if not isinstance(scene_id, str):
            raise NotFound(f"no scene called {scene_id!r}")
        if scene_id in self.builtin:
            return self.builtin[scene_id]
        user = self._user()
        if scene_id in user:
            return user[scene_id]
        names = ", ".join([*self.builtin, *user])
        raise NotFound(f"no scene called {scene_id!r} (scenes: {names})")

    def _check(self, data: Any, scene_id: str | None) -> Scene:
        if not isinstance(data, dict):
            raise InvalidCommand("expected a JSON object")
        data = dict(data)
        if data.get("builtin"):
            raise InvalidCommand("builtin: only shipped scenes are built in")
        data.pop("builtin", None)
        if scene_id is not None:
            if data.get("id", scene_id) != scene_id:
                raise InvalidCommand("id: a scene's id cannot be changed; create a copy instead")
            data["id"] = scene_id
        elif "id" not in data:
            # the id comes from the name; without a name, only "name" is reported missing
            name = data.get("name")
            taken = set(self.builtin) | set(self._user())
            data["id"] = free_id(slug(name if isinstance(name, str) else ""), taken)
        try:
            scene = Scene.model_validate(data)
        except ValidationError as exc:
            raise InvalidCommand(describe(exc, Scene)) from None
        problems = scene_errors(scene, self._lights, self._pads)
        if problems:
            raise InvalidCommand("; ".join(problems))
        self._check_playlist(scene)
        self._check_name(scene)
        return scene

    def _check_playlist(self, scene: Scene) -> None:
        """Refuse a playlist the music folder does not have (the scene would play silence)."""
        known = self._playlists()
        if scene.playlist is None or known is None or scene.playlist in known:
            return
        have = ", ".join(known) if known else "none: the music folder is empty"
        raise InvalidCommand(
            f"playlist: there is no playlist called {scene.playlist!r} (playlists: {have})"
        )

    def _taken_names(self, but: str | None = None) -> set[str]:
        scenes = [*self.builtin.values(), *self._user().values()]
        return {s.name.strip().casefold() for s in scenes if s.id != but}

    def _check_name(self, scene: Scene) -> None:
        """Refuse a second scene with the same name (two chips that look the same)."""
        if scene.name.strip().casefold() in self._taken_names(scene.id):
            raise Conflict(
                f"name: a scene called {scene.name!r} exists already; choose another name"
            )

    def create(self, data: Any) -> dict[str, Any]:
        """Store a new user scene; return it."""
        scene = self._check(data, None)
        if scene.id in self.builtin or scene.id in self._user():
            raise Conflict(f"a scene called {scene.id!r} exists already")
        self._store.put_doc("scenes", scene.id, scene.model_dump(), self._now_iso())
        self._emit(ScenesChanged(action="created", scene=scene.id))
        return scene.model_dump()

    def update(self, scene_id: str, data: Any) -> dict[str, Any]:
        """Replace a user scene; built-ins cannot be changed."""
        self.get(scene_id)  # NotFound for anything that is not a scene's id
        if scene_id in self.builtin:
            raise Conflict(f"{scene_id!r} is built in and cannot be changed; duplicate it")
        if scene_id not in self._user():
            raise NotFound(f"no scene called {scene_id!r}")
        scene = self._check(data, scene_id)
        self._store.put_doc("scenes", scene.id, scene.model_dump(), self._now_iso())
        self._emit(ScenesChanged(action="updated", scene=scene.id))
        return scene.model_dump()

    def delete(self, scene_id: str) -> None:
        """Delete a user scene; built-ins cannot be deleted."""
        self.get(scene_id)  # NotFound for anything that is not a scene's id
        if scene_id in self.builtin:
            raise Conflict(f"{scene_id!r} is built in and cannot be deleted")
        if not self._store.delete_doc("scenes", scene_id):
            raise NotFound(f"no scene called {scene_id!r}")
        self._emit(ScenesChanged(action="deleted", scene=scene_id))

    def duplicate(self, scene_id: str, name: str | None = None) -> dict[str, Any]:
        """Copy a scene (built-in or not) under a new name; return the copy."""
        source = self.get(scene_id).model_dump()
        if name is not None and not isinstance(name, str):
            raise InvalidCommand("name: must be text")
        if name is None:
            taken, base = self._taken_names(), f"{source['name']} copy"[:37]
            name = next(
                n
                for n in (base, *(f"{base} {i}" for i in range(2, 1000)))
                if n.casefold() not in taken
            )
        source["name"] = name[:40]
        source.pop("id")
        source.pop("builtin")
        return self.create(source)
