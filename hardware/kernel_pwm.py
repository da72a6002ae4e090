"""One channel of the kernel's hardware PWM, written through ``/sys/class/pwm``.

On a Pi, ``dtoverlay=pwm-2chan`` hands GPIO12/18 (channel 0) and GPIO13/19 (channel 1) to the
SoC's PWM block, whose 10 MHz clock gives 12,500 steps at 800 Hz and no jitter: the dark end
of a fade (0.4 % duty is 5 us high in a 1,250 us period) is exact. The kernel takes the period
and the duty in nanoseconds; this writes them whole.

The sysfs root is a parameter so the same code runs against the real kernel (the ``pi_rig``
tests boot one) and against a directory tree in tmp (unit tests).
"""

from __future__ import annotations

import contextlib
import errno
import time
from pathlib import Path

SYSFS_PWM = Path("/sys/class/pwm")

#: BCM GPIO -> PWM channel of the SoC's PWM block (pwm-2chan's pin/func pairs: ALT5 for 18/19,
#: ALT0 for 12/13). Two lights on one channel would share one duty.
HARDWARE_PWM_CHANNEL = {12: 0, 18: 0, 13: 1, 19: 1}
#: the pwm-2chan ``func=`` value (the pin's ALT function number in the BCM register encoding)
PWM_FUNC = {12: 4, 13: 4, 18: 2, 19: 2}


class KernelPWMError(RuntimeError):
    """The kernel's PWM channel could not be opened or written."""


def hardware_pwm_channel(gpio: int) -> int | None:
    """Return the hardware PWM channel of BCM ``gpio``, or None if it has none."""
    return HARDWARE_PWM_CHANNEL.get(gpio)


class KernelPWM:
    """Drive one sysfs PWM channel with a duty of 0-1 at a fixed frequency.

    Opening exports the channel, then writes the period, the off duty and ``enable`` in
    that order (the kernel rejects a duty longer than the period and some drivers refuse a
    period change while enabled). Closing writes the off duty, disables and unexports, so
    the pin rests at its pull (wire a pull-down on the MOSFET's gate). An active-low channel
    is left enabled at 100 % duty instead: a released pin would fall low, which is "on".
    """

    def __init__(
        self,
        chip: int,
        channel: int,
        *,
        frequency: float = 800,
        active_high: bool = True,
        root: Path = SYSFS_PWM,
        ready_timeout: float = 2.0,
    ) -> None:
        if frequency <= 0:
            raise ValueError("a PWM frequency is above 0 Hz")
        self.chip_dir = Path(root) / f"pwmchip{chip}"
        self.dir = self.chip_dir / f"pwm{channel}"
        self.channel = channel
        self.active_high = active_high
        self.period_ns = round(1e9 / frequency)
        self._value = 0.0
        self._duty_ns = -1
        self._closed = False
        if not self.chip_dir.is_dir():
            raise KernelPWMError(
                f"{self.chip_dir} is missing: add the pwm-2chan overlay to config.txt "
                "(setup.sh --install does) and reboot"
            )
        if not self.dir.is_dir():
            self._write(self.chip_dir / "export", channel)
        self._wait_ready(ready_timeout)
        # a duty longer than a new period is refused: clear it before the period
        self._write(self.dir / "enable", 0, quiet=True)
        self._write(self.dir / "duty_cycle", 0)
        self._write(self.dir / "period", self.period_ns)
        self._write_duty(self._off_duty_ns())
        self._write(self.dir / "enable", 1)

    def _wait_ready(self, timeout: float) -> None:
        # after export, udev changes the new files' group a moment later: until then a
        # service user gets EACCES, so retry briefly rather than fail the start
        deadline = time.monotonic() + timeout
        while True:
            try:
                if (self.dir / "period").exists():
                    with (self.dir / "period").open("r+"):
                        return
            except PermissionError:
                pass
            if time.monotonic() >= deadline:
                raise KernelPWMError(
                    f"{self.dir} did not become writable within {timeout:g} s "
                    "(is the service user in the group the udev rule names?)"
                )
            time.sleep(0.02)

    def _write(self, path: Path, value: int, *, quiet: bool = False) -> None:
        try:
            with path.open("w") as f:
                f.write(str(value))
        except OSError as exc:
            if quiet and exc.errno in (errno.EINVAL, errno.ENOENT):
                return
            raise KernelPWMError(f"cannot write {value} to {path}: {exc.strerror}") from exc

    def _off_duty_ns(self) -> int:
        return 0 if self.active_high else self.period_ns

    def duty_ns(self, value: float) -> int:
        """Return the high time in nanoseconds for a duty of ``value`` (0-1)."""
        value = min(1.0, max(0.0, float(value)))
        on = round(value * self.period_ns)
        return on if self.active_high else self.period_ns - on

    def _write_duty(self, ns: int) -> None:
        if ns != self._duty_ns:
            self._write(self.dir / "duty_cycle", ns)
            self._duty_ns = ns

    @property
    def value(self) -> float:
        """The duty cycle, 0-1, as last set."""
        return self._value

    @value.setter
    def value(self, value: float) -> None:
        if self._closed:
            raise KernelPWMError(f"{self.dir} is closed")
        self._value = min(1.0, max(0.0, float(value)))
        self._write_duty(self.duty_ns(self._value))

    def close(self) -> None:
        """Write the off level, disable and unexport the channel (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(KernelPWMError):
            self._write_duty(self._off_duty_ns())
        if not self.active_high:
            return
        with contextlib.suppress(KernelPWMError):
            self._write(self.dir / "enable", 0)
        with contextlib.suppress(KernelPWMError):
            self._write(self.chip_dir / "unexport", self.channel)


def force_off(chip: int, channel: int, *, active_high: bool = True, root: Path = SYSFS_PWM) -> bool:
    """Switch an exported channel to its off level without opening it; return True if it was.

    For ``all-off --direct``: the kernel keeps a PWM channel running at its last duty when
    the process that set it dies (kill -9, a crash), so the light would stay on.
    """
    ch = Path(root) / f"pwmchip{chip}" / f"pwm{channel}"
    if not ch.is_dir():
        return False
    period = int((ch / "period").read_text().strip() or 0)
    with (ch / "duty_cycle").open("w") as f:
        f.write(str(0 if active_high else period))
    if active_high:
        with (ch / "enable").open("w") as f:
            f.write("0")
        with contextlib.suppress(OSError), (ch.parent / "unexport").open("w") as f:
            f.write(str(channel))
    return True
