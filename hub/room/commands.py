"""``hub.devices``: the room's outputs, each command under the hub lock.

Every command takes the lock, lets :class:`~hub.room.devices.DeviceController` do the work
(raising a ``HubError`` before anything changed when it refuses), then kicks the control
loop so the new deadlines are scheduled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine.event_types import AllOff
from ..errors import InvalidCommand
from ..facts import Owner

if TYPE_CHECKING:
    from ..context import Context
    from .devices import DeviceInfo


class DeviceCommands:
    """Set a device, switch heat or everything off; what the room holds."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def set(
        self,
        device_id: str,
        changes: Any,
        *,
        owner: str = "manual",
        for_people: list[str] | None = None,
    ) -> dict[str, Any]:
        """Change one device (a dict, or a parsed command model); return its new state.

        Every person it reaches holds it to their limits: those on the table (or in the
        session), and ``for_people`` (a therapist's link's). What a limit held back is
        said in ``capped``. A pad a person sets by hand in a session stays the session's.
        """
        c = self._ctx
        with c.lock:
            also = c.link_people(for_people)
            with c.limits.command(also) as heard:
                now = c.clock.monotonic()
                pad = isinstance(device_id, str) and device_id in c.room.heat_pads
                seconds = None
                if pad and owner == Owner.MANUAL and c.sessions.running:
                    owner, seconds = Owner.SESSION, c.sessions.heat_seconds(now)
                c.devices.set(device_id, changes, owner, now, seconds=seconds)
                if pad and owner == Owner.SESSION:
                    c.sessions.pad_set(device_id, c.guard.states[device_id].heat)
                elif pad:
                    c.sessions.pad_taken(device_id)  # a routine took it: no longer renewed
                result = c.devices.state(device_id, now)
                if heard:
                    result["capped"] = "; ".join(heard)
        c.kick()
        return result

    def release_heat(self, owner: str) -> list[str]:
        """Switch off every pad that ``owner`` (a routine, say) holds; return their ids."""
        if owner not in tuple(Owner):
            raise InvalidCommand(f"unknown owner {owner!r}; use one of {', '.join(Owner)}")
        c = self._ctx
        with c.lock:
            held = c.devices.release_heat(owner, c.clock.monotonic())
        c.kick()
        return held

    def all_off(self, *, reason: str = "all_off") -> None:
        """Switch everything off now; a running session ends.

        The pads' outputs go off first, before the hub lock is taken (whatever holds it),
        then everything else; what is written down follows when the disk can.
        """
        c = self._ctx
        c.guard.emergency_off()
        with c.lock:
            now = c.clock.monotonic()
            c.fader.clear()
            if c.sessions.current is not None:
                c.sessions.end(reason, now)
            c.devices.all_off(now)
            c.emit(AllOff(reason=reason))
        c.kick()

    def speaker_changed(self, state: dict[str, Any]) -> None:
        """Take the speaker's own move (its next track); called from the speaker's thread."""
        # close() may hold the lock while it waits for that thread, so never wait for the
        # lock for long (the next state() shows the change).
        c = self._ctx
        if not c.lock.acquire(timeout=2.0):
            return
        try:
            c.devices.speaker_moved_on(state)
        finally:
            c.lock.release()

    def info(self) -> list[DeviceInfo]:
        """Return every output device: id, kind and display name, in the room's order."""
        return self._ctx.devices.info()

    def playlists(self) -> list[str]:
        """Return the playlists in the music folder (none without a speaker)."""
        return self._ctx.devices.playlists()

    @property
    def speaker_id(self) -> str | None:
        """The speaker's device id, or None without a speaker."""
        return self._ctx.devices.speaker_id
