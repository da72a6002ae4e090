"""The limits of the people on the table, and the one place each output is held to them.

:class:`People` says who lies on which pad and what each allows. Who is on the table is a
fact of the room (:mod:`hub.people.table`); a running session carries its own copy, with the
people a therapist's link fixes. :class:`LimitKeeper` caps every request on its way to the
parts, whoever made it (a scene, a routine, MQTT, HomeKit, a link, the button, a cue):

- heat, in :meth:`hub.room.safety.HeatGuard.set` (the only code that switches a pad on): a pad
  never runs above the ceiling of the person on it; a pad nobody was put on follows the
  strictest person present;
- volume, in :class:`hub.room.devices.DeviceController` (every volume target and every write the
  fader makes): never above the lowest cap of the people present;
- the diffuser, in :class:`hub.room.devices.DeviceController`: off if anyone present says no
  aroma; a manual "on" is refused, a scene's is dropped;
- sounds (the end chime, a cue's chime): never louder than the volume cap.

Each cap tells listeners (a ``limit`` event), shows on the device's state and comes back in
the answer to the command that asked, in the same words everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..engine.event_types import Emit, LimitApplied
from ..errors import Conflict, InvalidCommand, NotFound
from ..facts import DiffuserMode, HeatLevel

HEAT_ORDER = [HeatLevel.OFF, HeatLevel.LOW, HeatLevel.MEDIUM, HeatLevel.HIGH]
MAX_PEOPLE = 8


class LimitRefused(Conflict):
    """A request goes past the limit of a person in the session."""

    code = "profile_limit"


def heat_rank(level: str) -> int:
    """The order of a heat level (off 0 … high 3)."""
    return HEAT_ORDER.index(HeatLevel(level))


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _owner(names: list[str]) -> str:
    return f"{_names(names)}'s" if len(names) == 1 else f"{_names(names)}'s shared"


@dataclass(frozen=True)
class Person:
    """One person in a session: their profile's limits and their pad (None: any pad)."""

    profile: str
    name: str
    pad: str | None
    heat_max: str
    volume_max: float
    aroma: bool

    def to_dict(self) -> dict[str, Any]:
        """The person as the session state shows them."""
        return {"profile": self.profile, "name": self.name, "pad": self.pad}


@dataclass(frozen=True)
class People:
    """Who a session is for, and so the limits it runs under."""

    people: tuple[Person, ...]

    def has(self, profile: str) -> bool:
        """True if ``profile`` is one of the people."""
        return any(p.profile == profile for p in self.people)

    def with_profile(self, prof: dict[str, Any]) -> People:
        """The same people, with ``prof``'s new name and limits."""
        return People(
            tuple(_person(prof, p.pad) if p.profile == prof["id"] else p for p in self.people)
        )

    def _on(self, pad: str) -> list[Person]:
        # the person put on it, and anyone on no pad in particular (so on every pad)
        mine = [p for p in self.people if p.pad in (pad, None)]
        return mine or list(self.people)  # nobody put on it: the strictest of everyone

    def heat_cap(self, pad: str) -> tuple[str, list[str]]:
        """The highest heat ``pad`` may have, and whose limit it is."""
        on = self._on(pad)
        cap = min((p.heat_max for p in on), key=heat_rank)
        return cap, [p.name for p in on if p.heat_max == cap]

    def volume_cap(self) -> tuple[float, list[str]]:
        """The loudest the room may be, and whose limit it is."""
        cap = min(p.volume_max for p in self.people)
        return cap, [p.name for p in self.people if p.volume_max == cap]

    def no_aroma(self) -> list[str]:
        """The names of the people who say no aroma (empty: aroma is fine)."""
        return [p.name for p in self.people if not p.aroma]

    def limits(self, pads: list[str]) -> dict[str, Any]:
        """The caps in force, for the session state."""
        vol, _ = self.volume_cap()
        return {
            "heat_max": {pid: self.heat_cap(pid)[0] for pid in pads},
            "volume_max": vol,
            "aroma": not self.no_aroma(),
        }

    def words(self, pads: list[str], name: Callable[[str], str] = str) -> str:
        """The caps in force in a homeowner's words ("Table pad: low at most; no aroma; …")."""
        parts = []
        for pid in pads:
            cap, who = self.heat_cap(pid)
            level = "no heat" if cap == HeatLevel.OFF else f"{cap} at most"
            if cap != HeatLevel.HIGH:
                parts.append(f"{name(pid)}: {level} ({_names(who)})")
        vol, who = self.volume_cap()
        if vol < 100:
            parts.append(f"volume {vol:g} at most ({_names(who)})")
        if self.no_aroma():
            parts.append(f"no aroma ({_names(self.no_aroma())})")
        return "; ".join(parts) or "no limits"

    def rows(self) -> list[tuple[str, str, str | None]]:
        """(profile id, name, pad) of each person, as history records them."""
        return [(p.profile, p.name, p.pad) for p in self.people]


def merge(*groups: People | None) -> People | None:
    """Everyone in ``groups`` (each person once per pad); None if nobody."""
    seen: dict[tuple[str, str | None], Person] = {}
    for group in groups:
        for p in group.people if group is not None else ():
            seen.setdefault((p.profile, p.pad), p)
    return People(tuple(seen.values())) if seen else None


def resolve_people(
    spec: list[str] | dict[str, str] | None,
    lookup: Callable[[str], dict[str, Any]],
    pads: list[str],
) -> People | None:
    """Turn a session's ``profiles`` (ids, or {pad: id}) into :class:`People`; raise if bad."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        pairs: list[tuple[str | None, str]] = list(spec.items())
        for pad, _ in pairs:
            if pad not in pads:
                raise InvalidCommand(
                    f"profiles: no heat pad called {pad!r} (pads: {', '.join(pads) or 'none'})"
                )
    else:
        pairs = [(None, pid) for pid in spec]
    if not pairs:
        raise InvalidCommand("profiles: name at least one person, or leave profiles out")
    return people_of(pairs, lookup, "profiles")


def people_of(
    pairs: list[tuple[str | None, str]],
    lookup: Callable[[str], dict[str, Any]],
    field: str,
) -> People:
    """Turn (pad or None, profile id) pairs into :class:`People`; raise (naming ``field``)."""
    if len(pairs) > MAX_PEOPLE:
        raise InvalidCommand(f"{field}: at most {MAX_PEOPLE} people on the table")
    ids = [pid for _, pid in pairs]
    if len(set(ids)) != len(ids):
        raise InvalidCommand(f"{field}: the same person is named twice")
    people = []
    for pad, pid in pairs:
        try:
            prof = lookup(pid)
        except NotFound:
            raise InvalidCommand(f"{field}: no profile called {pid!r}") from None
        people.append(_person(prof, pad))
    return People(tuple(people))


def _person(prof: dict[str, Any], pad: str | None) -> Person:
    return Person(
        profile=prof["id"],
        name=prof["name"],
        pad=pad,
        heat_max=prof["heat_max"],
        volume_max=float(prof["volume_max"]),
        aroma=bool(prof["aroma"]),
    )


class LimitKeeper:
    """Hold each output to the people it reaches (the hub lock is held by callers)."""

    def __init__(
        self,
        current: Callable[[], People | None],
        emit: Emit,
        name: Callable[[str], str] = str,
    ) -> None:
        self._current = current
        self._emit = emit
        self._name = name  # a device's display name, for the messages
        self._for: People | None = None
        #: device id -> the last limit that held it back, in words (for these people)
        self._notes: dict[str, str] = {}
        self._also: People | None = None  # people one command reaches besides (a link's)
        self._heard: list[str] | None = None  # what held the command under way back

    @property
    def people(self) -> People | None:
        """The people whose limits hold now (None: no one's)."""
        people = merge(self._current(), self._also)
        if people != self._for:
            self._for, self._notes = people, {}
        return people

    @contextmanager
    def command(self, also: People | None = None) -> Iterator[list[str]]:
        """Run one command under these limits (and ``also``'s); yield what capped it, in words."""
        heard: list[str] = []
        was = self._also, self._heard
        self._also, self._heard = merge(self._also, also), heard
        try:
            yield heard
        finally:
            self._also, self._heard = was

    def sound(self) -> float | None:
        """The loudest a sound (a chime) may be now, 0-100; None: no one's cap."""
        people = self.people
        return people.volume_cap()[0] if people is not None else None

    def note(self, device: str) -> str | None:
        """The last limit that held ``device`` back in this session, in words."""
        return self._notes.get(device) if self.people is not None else None

    def _tell(self, device: str, limit: str, message: str) -> None:
        self._notes[device] = message
        if self._heard is not None and message not in self._heard:
            self._heard.append(message)
        self._emit(LimitApplied(device=device, limit=limit, message=message))

    def heat(self, pad: str, heat: str) -> str:
        """The heat ``pad`` may have when ``heat`` is asked."""
        people = self.people
        if people is None or heat == HeatLevel.OFF:
            return heat
        cap, who = people.heat_cap(pad)
        if heat_rank(heat) <= heat_rank(cap):
            return heat
        pad_name = self._name(pad)
        if cap == HeatLevel.OFF:
            message = f"{pad_name} stays off: {_owner(who)} limit is no heat"
        else:
            message = f"{pad_name} capped at {cap} (asked {heat}): {_owner(who)} heat limit"
        self._tell(pad, "heat_max", message)
        return cap

    def volume(self, device: str, volume: float, *, quiet: bool = False) -> float:
        """The volume the speaker may have when ``volume`` is asked."""
        people = self.people
        if people is None:
            return volume
        cap, who = people.volume_cap()
        if volume <= cap:
            return volume
        if not quiet:
            self._tell(
                device,
                "volume_max",
                f"volume capped at {cap:g} (asked {volume:g}): {_owner(who)} volume limit",
            )
        return cap

    def diffuser(self, mode: str, *, refuse: bool) -> str:
        """The diffuser mode allowed when ``mode`` is asked; refuse (raise) or drop to off."""
        people = self.people
        if people is None or mode == DiffuserMode.OFF:
            return mode
        who = people.no_aroma()
        if not who:
            return mode
        says = "says" if len(who) == 1 else "say"
        message = f"the diffuser stays off: {_names(who)} {says} no aroma"
        if refuse:
            raise LimitRefused(message)
        self._tell("diffuser", "aroma", message)
        return DiffuserMode.OFF
