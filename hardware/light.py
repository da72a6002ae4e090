"""A dimmable light channel (LED strip behind a MOSFET) on a PWM pin."""

from __future__ import annotations

from typing import Any

from gpiozero import PWMLED


class DimmableLight:
    """Dim an LED channel with perceptual (gamma) levels and a visible minimum.

    ``level`` is what a person perceives, 0-1. The PWM duty is
    ``min_duty + (1 - min_duty) * level ** gamma`` for any level above 0, so 1 % is
    still a faint glow rather than dark, and equal steps in level look equal.

    ``output`` is what emits the duty (an object with a ``value`` of 0-1 and ``close()``,
    such as :class:`hardware.kernel_pwm.KernelPWM`); without one, a gpiozero ``PWMLED`` on
    ``pin``. ``duty_step`` is the output's coarsest step (0.01 on lgpio, which takes whole
    percent): duties are then rounded to it and any level above 0 gets at least one step,
    so no level silently emits 0 %.

    Wiring: GPIO -> gate of a logic-level N-MOSFET (e.g. IRLZ44N) switching the strip's
    negative lead; 10 kOhm pull-down from gate to ground so a released pin means off.
    """

    kind = "light"

    def __init__(
        self,
        pin: int | str,
        *,
        gamma: float = 2.2,
        min_duty: float = 0.004,
        frequency: int = 800,
        active_high: bool = True,
        pin_factory: Any = None,
        output: Any = None,
        duty_step: float | None = None,
    ) -> None:
        self.gamma = gamma
        self.duty_step = duty_step
        # the honest minimum: never below what the output can emit as "not dark"
        self.min_duty = max(min_duty, duty_step or 0.0)
        self._level = 0.0
        self._led = output or PWMLED(
            pin,
            active_high=active_high,
            initial_value=0,
            frequency=frequency,
            pin_factory=pin_factory,
        )

    @property
    def level(self) -> float:
        """The perceived brightness, 0 (off) to 1 (full)."""
        return self._level

    @level.setter
    def level(self, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        self._level = value
        self._led.value = self._emitted(self.duty_for(value))

    def _emitted(self, duty: float) -> float:
        if not self.duty_step or duty <= 0.0 or duty >= 1.0:
            return duty
        # gpiozero's lgpio pin truncates value*100: hand it the middle of the step so
        # 0.29 (28.999… %) is not cut to 28 %
        return duty + self.duty_step / 2

    def duty_for(self, level: float) -> float:
        """Return the PWM duty cycle for a perceived ``level``."""
        if level <= 0.0:
            return 0.0
        duty = min(1.0, self.min_duty + (1.0 - self.min_duty) * level**self.gamma)
        if self.duty_step:
            duty = min(1.0, max(1, round(duty / self.duty_step)) * self.duty_step)
        return duty

    def level_for(self, duty: float) -> float:
        """Return the perceived level for a PWM ``duty`` (the inverse of ``duty_for``)."""
        if duty <= 0.0:
            return 0.0
        x = max(0.0, (duty - self.min_duty) / (1.0 - self.min_duty))
        return x ** (1.0 / self.gamma)

    def off(self) -> None:
        """Switch the channel off at once."""
        self.level = 0.0

    def close(self) -> None:
        """Switch off and release the pin."""
        self.off()
        self._led.close()

    def state(self) -> dict[str, Any]:
        """Return the channel's state for the API."""
        return {"kind": self.kind, "level": round(self._level, 4)}
