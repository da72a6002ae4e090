"""An optional wall button: press to start or pause, hold to switch everything off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpiozero import Button


class WallButton:
    """Call ``on_press`` for a short press and ``on_hold`` after ``hold_seconds``.

    Wiring: a momentary push button between the GPIO and ground; the internal pull-up
    is used, so no resistor is needed.
    """

    kind = "button"

    def __init__(
        self,
        pin: int | str,
        *,
        hold_seconds: float = 2.0,
        on_press: Callable[[], None] | None = None,
        on_hold: Callable[[], None] | None = None,
        pin_factory: Any = None,
    ) -> None:
        self.on_press = on_press
        self.on_hold = on_hold
        self._held = False
        self._button = Button(
            pin, pull_up=True, bounce_time=None, hold_time=hold_seconds, pin_factory=pin_factory
        )
        self._button.when_pressed = self._pressed
        self._button.when_held = self._hold
        self._button.when_released = self._released

    def _pressed(self) -> None:
        self._held = False

    def _hold(self) -> None:
        self._held = True
        if self.on_hold is not None:
            self.on_hold()

    def _released(self) -> None:
        if not self._held and self.on_press is not None:
            self.on_press()
        self._held = False

    def close(self) -> None:
        """Release the pin."""
        self._button.close()
