"""A simulated heat pad's temperature: heats while its relay is closed, cools toward the room."""

from __future__ import annotations

import math
import threading

#: how a simulated relay can fail: welded shut (SSRs usually fail so) or never closing
STUCK = ("closed", "open")


class ThermalModel:
    """A first-order thermal model of a pad: one lump of heat, losing it to the room.

    While heating it goes toward ``room + rise``, else toward ``room``, with time constant
    ``tau`` seconds; between events it is solved exactly (an exponential), so any step length
    and any clock jump give the same temperature. Held at a duty ``d`` over cycles, its mean
    is ``room + rise * d``. Defaults: 21 °C room, 35 °C of rise (56 °C with the relay always
    closed), 10 minutes' time constant: round figures for a pad under a cover, not measured.

    Hook it to a pad with ``pad.relay_listeners.append(model.relay)``. It is thread-safe: the
    watchdog may switch a relay from its own thread.
    """

    def __init__(
        self,
        *,
        room: float = 21.0,
        rise: float = 35.0,
        tau: float = 600.0,
        start: float | None = None,
    ) -> None:
        if not tau > 0:
            raise ValueError("tau must be above 0 seconds")
        if not rise >= 0:
            raise ValueError("rise must not be negative")
        self.room = float(room)
        self.rise = float(rise)
        self.tau = float(tau)
        self._lock = threading.Lock()
        self._celsius = self.room if start is None else float(start)
        self._at: float | None = None  # the time of _celsius; the first event sets it
        self._closed = False
        self._stuck: str | None = None

    @property
    def stuck(self) -> str | None:
        """None, or how the relay has failed: ``closed`` (heats whatever it is told), ``open``.

        A change takes effect from the model's last update (a relay switch or a reading):
        read :meth:`celsius` at the moment of the failure first.
        """
        return self._stuck

    @stuck.setter
    def stuck(self, stuck: str | None) -> None:
        if stuck is not None and stuck not in STUCK:
            raise ValueError(f"stuck must be None, {' or '.join(STUCK)}")
        with self._lock:
            self._stuck = stuck

    @property
    def heating(self) -> bool:
        """True while the pad draws power (its relay closed, or stuck closed)."""
        with self._lock:
            return self._heating()

    def _heating(self) -> bool:
        return self._stuck == "closed" or (self._stuck is None and self._closed)

    def _advance(self, now: float) -> None:
        if self._at is None:
            self._at = now
            return
        dt = now - self._at
        if dt <= 0:  # a reading from an older clock: the pad does not go back in time
            return
        goal = self.room + (self.rise if self._heating() else 0.0)
        self._celsius = goal + (self._celsius - goal) * math.exp(-dt / self.tau)
        self._at = now

    def relay(self, now: float, closed: bool) -> None:
        """Note the relay closing or opening at ``now`` (a HeatPad relay listener)."""
        with self._lock:
            self._advance(now)
            self._closed = bool(closed)

    def celsius(self, now: float) -> float:
        """Return the pad's temperature at ``now``."""
        with self._lock:
            self._advance(now)
            return self._celsius
