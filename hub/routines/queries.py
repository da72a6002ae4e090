"""The routines' read-only queries: the next one, the list, one routine, the runs' log.

:class:`~hub.routines.controller.RoutineController` inherits these; each takes the hub lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import InvalidCommand, NotFound
from .models import in_words
from .records import Routine
from .runs import RoutineRuns

if TYPE_CHECKING:
    from ..core import Hub


class RoutineQueries:
    """What the routines are and did (the attributes are the controller's)."""

    hub: Hub
    zone: ZoneInfo
    routines: dict[str, Routine]
    runs: RoutineRuns

    def next_routine(self) -> dict[str, Any] | None:
        """Return the next routine to run: id, name, ISO time and the time in words."""
        best: Routine | None = None
        for r in self.routines.values():
            if r.shown_next is not None and (
                best is None or r.shown_next < best.shown_next  # type: ignore[operator]
            ):
                best = r
        if best is None or best.shown_next is None:
            return None
        now = self.hub.clock.now()
        return {
            "id": best.id,
            "name": best.spec.name,
            "at": best.shown_next.astimezone(self.zone).isoformat(timespec="seconds"),
            "words": in_words(best.shown_next, now, self.zone),
            # one skip at a time: while one is pending the phone offers to take it back instead
            "skipped": None
            if best.skip_next is None
            else best.skip_next.astimezone(self.zone).isoformat(timespec="seconds"),
        }

    def _out(self, r: Routine, now: datetime) -> dict[str, Any]:
        return r.out(now, self.zone, running=r.id in self.runs)

    def list_routines(self) -> list[dict[str, Any]]:
        """Return every routine with its next and last run."""
        with self.hub.lock:
            now = self.hub.clock.now()
            return [self._out(r, now) for r in sorted(self.routines.values(), key=lambda r: r.id)]

    def _get(self, rid: str) -> Routine:
        r = self.routines.get(rid)
        if r is None:
            names = ", ".join(self.routines) or "none"
            raise NotFound(f"no routine called {rid!r} (routines: {names})")
        return r

    def get_routine(self, rid: str, *, runs: int = 10) -> dict[str, Any]:
        """Return one routine, with its latest logged runs."""
        self.hub.recorder.flush(1.0)  # a run just made shows, when the disk answers
        with self.hub.lock:
            out = self._out(self._get(rid), self.hub.clock.now())
            out["runs"] = self.hub.store.routine_runs(rid, runs) if runs else []
            return out

    def runs_log(self, rid: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return logged runs (of one routine or of all), newest first."""
        if not 1 <= limit <= 500:
            raise InvalidCommand("limit must be 1-500")
        self.hub.recorder.flush(1.0)
        with self.hub.lock:
            if rid is not None:
                self._get(rid)
            return self.hub.store.routine_runs(rid, limit)
