"""Visiting therapists: time-limited guest links, what they may see, what they did.

A guest link is a random token (``mhg_...``, 256 bits); the store keeps only its hash.
It is valid until ``expires_at`` (wall time, the hub's clock) unless the owner ends it
first. Which requests a guest may make is the web layer's business (``web.guests``); here
are the records: create, list, end, look up by token, log an action, and the client
panel's data (the profiles the owner chose: name, limits, areas of concern, notes).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from ..command_models import Command, parse
from ..errors import Conflict, InvalidCommand, NotFound

if TYPE_CHECKING:
    from ..context import Context

GUEST_PREFIX = "mhg_"
DEFAULT_MINUTES = 180
MAX_MINUTES = 24 * 60
MAX_PROFILES = 20
MAX_OPEN_LINKS = 20  # links working at once; end one to make another
SHOWN_ACTIONS = 50  # the latest actions of each link in the list

ProfileId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
#: what the therapist's client panel shows of a profile
CLIENT_FIELDS = ("id", "name", "heat_max", "volume_max", "aroma", "areas", "notes")


class GuestCreate(Command):
    """A visit: the therapist's ``name``, how many ``minutes`` the link lasts, which ``profiles``."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    minutes: int = Field(DEFAULT_MINUTES, ge=1, le=MAX_MINUTES)
    profiles: list[ProfileId] = Field(default_factory=list, max_length=MAX_PROFILES)


def hash_guest_token(token: str) -> str:
    """Return the stored form of a guest token (sha256; tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def guest_label(name: str) -> str:
    """Return how history names an action through a guest link."""
    return f"{name} (guest)"


def source_for_guest(name: str) -> str:
    """Return the session source recorded for a session a guest started."""
    return f"guest:{name}"


class GuestCommands:
    """Guest links: make, list and end them; what a guest may see and what they did."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _wall_epoch(self) -> float:
        return self._ctx.clock.now().timestamp()

    def _iso(self, at: datetime) -> str:
        return self._ctx.wall_iso(at)

    def create(self, data: Any) -> dict[str, Any]:
        """Make a guest link; return its id, token (shown only now) and expiry."""
        cmd = data if isinstance(data, GuestCreate) else parse(GuestCreate, data)
        seen: list[Any] = []
        for pid in cmd.profiles:  # type: ignore[attr-defined]
            try:
                self._ctx.profiles.get(pid)
            except NotFound:
                raise InvalidCommand(f"profiles: there is no profile {pid!r}") from None
            if pid not in seen:
                seen.append(pid)
        if sum(1 for g in self.list() if g["active"]) >= MAX_OPEN_LINKS:
            raise Conflict(f"{MAX_OPEN_LINKS} visit links work already; end one first")
        token = GUEST_PREFIX + secrets.token_urlsafe(32)
        now = self._ctx.clock.now()
        expires = now + timedelta(minutes=cmd.minutes)  # type: ignore[attr-defined]
        guest_id = self._ctx.store.add_guest(
            cmd.name,  # type: ignore[attr-defined]
            hash_guest_token(token),
            seen,
            self._iso(now),
            expires.timestamp(),
        )
        return {
            "id": guest_id,
            "name": cmd.name,  # type: ignore[attr-defined]
            "profiles": seen,
            "token": token,
            "expires_at": self._iso(expires),
        }

    def _shown(self, row: dict[str, Any], now: float) -> dict[str, Any]:
        expires = float(row["expires_at"])
        active = row["ended_at"] is None and expires > now
        return {
            "id": row["id"],
            "name": row["name"],
            "profiles": row["profiles"],
            "created_at": row["created_at"],
            "expires_at": self._iso(datetime.fromtimestamp(expires, self._ctx.clock.now().tzinfo)),
            "ended_at": row["ended_at"],
            "active": active,
        }

    def list(self) -> list[dict[str, Any]]:
        """Return every guest link (never its token), newest first, with whether it still works."""
        now = self._wall_epoch()
        store = self._ctx.store
        out = []
        for row in store.guests():
            shown = self._shown(row, now)
            actions = store.guest_actions(guest_id=int(row["id"]), limit=SHOWN_ACTIONS)
            shown["actions"] = [{"at": a["at"], "action": a["action"]} for a in actions]
            out.append(shown)
        return out

    def end(self, guest_id: int) -> None:
        """End a guest link now (it stops working at once); NotFound if there is none."""
        store = self._ctx.store
        if not 0 <= guest_id < 2**63 or not store.guest_exists(guest_id):
            raise NotFound(f"no guest link with id {guest_id}")
        store.end_guest(guest_id, self._iso(self._ctx.clock.now()))

    def for_token(self, token: str) -> dict[str, Any] | None:
        """Return the guest of a token that still works (not expired, not ended), or None."""
        if not isinstance(token, str) or not token.startswith(GUEST_PREFIX) or len(token) > 200:
            return None
        row = self._ctx.store.guest_by_hash(hash_guest_token(token))
        if row is None:
            return None
        shown = self._shown(row, self._wall_epoch())
        return shown if shown["active"] else None

    def record_action(self, guest: dict[str, Any], action: str) -> None:
        """Log an action a guest took (attached to the running session, if there is one)."""
        if not action or len(action) > 200:
            raise InvalidCommand("action: use 1 to 200 characters")
        current = self._ctx.sessions.current
        session_id = current.id if current is not None else None
        self._ctx.store.add_guest_action(
            int(guest["id"]),
            str(guest["name"]),
            self._iso(self._ctx.clock.now()),
            action,
            session_id,
        )

    def clients(self, guest: dict[str, Any]) -> list[dict[str, Any]]:
        """Return what this guest's link may show of its profiles (one deleted since: gone)."""
        shown = []
        for pid in guest.get("profiles", []):
            try:
                profile = self._ctx.profiles.get(pid)
            except NotFound:
                continue
            shown.append({k: profile.get(k) for k in CLIENT_FIELDS})
        return shown

    def history(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``by`` and the guest ``actions`` to history rows (sessions a guest ran)."""
        ids = [int(r["id"]) for r in rows]
        actions: dict[int, list[dict[str, Any]]] = {}
        for a in self._ctx.store.guest_actions(session_ids=ids):
            actions.setdefault(int(a["session_id"]), []).append(
                {"at": a["at"], "action": a["action"], "by": guest_label(a["guest_name"])}
            )
        out = []
        for row in rows:
            source = str(row.get("source") or "")
            by = guest_label(source[len("guest:") :]) if source.startswith("guest:") else None
            out.append({**row, "by": by, "actions": actions.get(int(row["id"]), [])})
        return out
