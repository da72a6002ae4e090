"""The fader: glide a device's level or volume to a target over time, without steps.

It is passive like the parts: the control loop calls :meth:`Fader.step` with the time and
gets back when it next needs a call (the next tick while anything fades).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.25  # seconds between progress events while something fades


@dataclass
class Fade:
    """A linear change of one device attribute in perceived units."""

    device: str
    attr: str
    start: float
    target: float
    t0: float
    duration: float

    @property
    def end(self) -> float:
        """When the fade reaches its target."""
        return self.t0 + self.duration

    def value_at(self, now: float) -> float:
        """The value at time ``now``."""
        if self.duration <= 0 or now >= self.end:
            return self.target
        x = max(0.0, (now - self.t0) / self.duration)
        return self.start + (self.target - self.start) * x


class Fader:
    """Run fades of device attributes; a new fade of the same attribute replaces the old.

    ``read(device, attr)`` and ``write(device, attr, value)`` reach the parts;
    ``progress(fading)`` is told every :data:`PROGRESS_EVERY` seconds while anything
    fades, and once when the last fade ends.
    """

    def __init__(
        self,
        read: Callable[[str, str], float],
        write: Callable[[str, str, float], None],
        progress: Callable[[bool], None],
        tick: float,
    ) -> None:
        self._read = read
        self._write = write
        self._progress = progress
        self.tick = tick
        self.fades: dict[tuple[str, str], Fade] = {}
        self._last_progress = 0.0

    def start(self, device: str, attr: str, target: float, seconds: float, now: float) -> None:
        """Fade ``device.attr`` to ``target`` over ``seconds`` (0: set it now)."""
        self.fades.pop((device, attr), None)
        current = float(self._read(device, attr))
        if seconds <= 0 or abs(current - target) < 1e-9:
            self._write(device, attr, target)
            return
        self.fades[(device, attr)] = Fade(device, attr, current, target, now, seconds)
        self._last_progress = now

    def target(self, device: str, attr: str) -> float | None:
        """Where ``device.attr`` is fading to, or None."""
        fade = self.fades.get((device, attr))
        return None if fade is None else fade.target

    def targets(self, device: str) -> dict[str, float]:
        """Every attribute of ``device`` that fades, with its target."""
        return {a: f.target for (d, a), f in self.fades.items() if d == device}

    def clear(self) -> None:
        """Drop every fade where it is."""
        self.fades.clear()

    def step(self, now: float) -> float | None:
        """Move every fade to ``now``; return when the next tick is due (None: idle)."""
        done = []
        for key, fade in self.fades.items():
            try:
                self._write(fade.device, fade.attr, fade.value_at(now))
            except Exception:
                log.exception("fading %s.%s failed; the fade is dropped", *key)
                done.append(key)
                continue
            if now >= fade.end:
                done.append(key)
        for key in done:
            del self.fades[key]
        if done and not self.fades:
            self._progress(False)
        elif self.fades and now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self._progress(True)
        return self.deadline(now)

    def deadline(self, now: float) -> float | None:
        """The next tick while anything fades (never past a fade's end)."""
        if not self.fades:
            return None
        return min(now + self.tick, min(f.end for f in self.fades.values()))
