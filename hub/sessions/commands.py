"""``hub.sessions``: start, pause, resume, extend and stop a session, each under the hub lock.

:class:`~hub.sessions.engine.SessionController` runs the session's phases; these commands take the
lock around it, say whom the session is for, and kick the control loop afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..command_models import SessionExtend, SessionStart, parse
from ..errors import InvalidCommand, attempt
from ..people.journal import before_entries
from ..people.limits import merge, resolve_people

if TYPE_CHECKING:
    from ..context import Context
    from ..guests.commands import GuestCommands
    from .session import Session


class SessionCommands:
    """The session: its commands, the one running, how the last ended, the history."""

    def __init__(self, ctx: Context, guests: GuestCommands) -> None:
        self._ctx = ctx
        self._guests = guests

    @property
    def current(self) -> Session | None:
        """The running session, if any."""
        return self._ctx.sessions.current

    @property
    def last(self) -> dict[str, Any] | None:
        """How the last session ended."""
        return self._ctx.sessions.last

    @property
    def interrupted(self) -> list[dict[str, Any]]:
        """Sessions a crash or power cut interrupted (until dismissed)."""
        return self._ctx.sessions.interrupted

    @interrupted.setter
    def interrupted(self, rows: list[dict[str, Any]]) -> None:
        self._ctx.sessions.interrupted = rows

    def start(
        self,
        scene: str | None = None,
        minutes: float | None = None,
        *,
        source: str = "api",
        profiles: list[str] | dict[str, str] | None = None,
        for_people: list[str] | None = None,
        before: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start a session (pre-warm, then the scene); 409 if one is running.

        ``profiles`` says who it is for: ids (their limits hold on every pad) or
        {pad id: profile id} (each pad its person's heat limit; the room the strictest);
        they are on the table from now on. Without them it is for whoever is on the table
        (else the household default). ``for_people`` are a therapist's link's: always in it.
        ``before`` is the journal's "before" for some of them ({profile id: {stress, areas}}),
        checked before anything starts and written with the session's own records.
        """
        given = {
            k: v
            for k, v in (
                ("scene", scene),
                ("minutes", minutes),
                ("profiles", profiles),
                ("before", before),
            )
            if v is not None
        }
        cmd = parse(SessionStart, given)
        c = self._ctx
        with c.lock:
            named = resolve_people(cmd.profiles, c.profiles.get, c.guard.pad_ids)
            fixed = c.link_people(for_people)
            if fixed is not None and named is not None:
                missing = [p.name for p in fixed.people if not named.has(p.profile)]
                if missing:
                    raise InvalidCommand(
                        f"profiles: this visit is for {', '.join(missing)}; "
                        "a therapist's link cannot leave them out"
                    )
            people = named if named is not None else c.table.people()
            rated = before_entries(
                cmd.before,  # type: ignore[attr-defined]
                merge(fixed, people),
                c.profiles.get,
            )
            result = self._run(lambda now: c.sessions.start(cmd, source, now, people, fixed))
            if named is not None:
                c.table.set(named, by=source)
            s = c.sessions.current
            if s is not None and s.people is not None:
                rows, sid = s.people.rows(), s.id
                attempt("recording who the session is for", lambda: c.record_people(sid, rows))
                for entry in rated:
                    self._record_before(sid, entry)
        return result

    def _record_before(self, session_id: int, entry: dict[str, Any]) -> None:
        """Write one "before" rating of session ``session_id``, now or when the disk can."""
        c = self._ctx
        full = {**entry, "session_id": session_id, "created_at": c.wall_iso()}
        records = c.people_records
        c.recorder.record(
            f"session {session_id}: how {entry['profile']} felt before",
            lambda: records.put_entry(full),
        )

    def pause(self) -> dict[str, Any]:
        """Pause the countdown and the music (heat stays within its limits)."""
        return self._run(self._ctx.sessions.pause)

    def resume(self) -> dict[str, Any]:
        """Resume a paused session; heat is renewed for the time left."""
        return self._run(self._ctx.sessions.resume)

    def extend(self, minutes: float = 10) -> dict[str, Any]:
        """Add minutes to the session (before its fade-out)."""
        cmd = parse(SessionExtend, {"minutes": minutes})
        return self._run(lambda now: self._ctx.sessions.extend(cmd, now))

    def stop(self) -> None:
        """Stop with the scene's fade-out; a second stop during the fade-out ends it now."""
        self._run(self._ctx.sessions.stop)

    def dismiss_interrupted(self) -> None:
        """Forget the notice about a session that a crash or power cut interrupted."""
        with self._ctx.lock:
            self._ctx.sessions.dismiss_interrupted()

    def history(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Return past sessions, newest first, with who each was for and their ratings.

        ``by`` and ``actions`` name what a visiting therapist (a guest) did.
        """
        c = self._ctx
        c.recorder.flush(1.0)  # what was just done shows, when the disk answers
        with c.lock:
            return self._guests.history(c.with_people(c.sessions.history(limit, offset)))

    def _run(self, command: Callable[[float], Any]) -> Any:
        c = self._ctx
        with c.lock:
            result = command(c.clock.monotonic())
        c.kick()
        return result
