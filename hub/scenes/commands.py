"""``hub.scenes``: the built-in and user scenes, and applying one, each under the hub lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine.event_types import SceneApplied

if TYPE_CHECKING:
    from ..context import Context
    from .scene import Scene


class SceneCommands:
    """List, read, save, copy, delete and apply scenes (:class:`~hub.scenes.library.SceneLibrary`)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def list(self) -> list[dict[str, Any]]:
        """Return every scene, built-ins first."""
        with self._ctx.lock:
            return self._ctx.scenes.list()

    def get(self, scene_id: str) -> Scene:
        """Return one scene or raise NotFound."""
        with self._ctx.lock:
            return self._ctx.scenes.get(scene_id)

    def create(self, data: Any) -> dict[str, Any]:
        """Store a new user scene; return it."""
        with self._ctx.lock:
            return self._ctx.scenes.create(data)

    def update(self, scene_id: str, data: Any) -> dict[str, Any]:
        """Replace a user scene; built-ins cannot be changed."""
        with self._ctx.lock:
            return self._ctx.scenes.update(scene_id, data)

    def delete(self, scene_id: str) -> None:
        """Delete a user scene; built-ins cannot be deleted."""
        with self._ctx.lock:
            self._ctx.scenes.delete(scene_id)

    def duplicate(self, scene_id: str, name: str | None = None) -> dict[str, Any]:
        """Copy a scene (built-in or not) under a new name; return the copy."""
        with self._ctx.lock:
            return self._ctx.scenes.duplicate(scene_id, name)

    def apply(
        self,
        scene_id: str,
        *,
        fade_seconds: float | None = None,
        owner: str = "manual",
        heat_seconds: float | None = None,
    ) -> None:
        """Set every device as the scene says, with its fade."""
        c = self._ctx
        with c.lock:
            scene = c.scenes.get(scene_id)
            now = c.clock.monotonic()
            c.sessions.apply_scene(scene, now, fade_seconds, owner, heat_seconds)
            c.emit(SceneApplied(scene=scene.id))
        c.kick()
