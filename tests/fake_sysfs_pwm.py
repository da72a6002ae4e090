"""A directory tree in tmp that behaves like ``/sys/class/pwm`` for one chip.

A small "kernel" thread watches ``export`` and ``unexport`` (plain files: a write replaces
their text) and makes or removes ``pwmN/`` with ``period``, ``duty_cycle``, ``enable`` and
``polarity``, as the kernel does; it also checks every state it sees against the kernel's
rules (a duty never longer than the period) and keeps what it saw, so a test can assert on
the history. The real kernel's files are exercised by the ``pi_rig`` tests.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path


class FakePWMChip:
    """``root/pwmchip<chip>`` with ``npwm`` channels and a watcher thread."""

    def __init__(self, root: Path, chip: int = 0, npwm: int = 2) -> None:
        self.root = Path(root)
        self.dir = self.root / f"pwmchip{chip}"
        self.dir.mkdir(parents=True)
        (self.dir / "npwm").write_text(f"{npwm}\n")
        (self.dir / "export").write_text("")
        (self.dir / "unexport").write_text("")
        self.npwm = npwm
        self.exports: list[int] = []
        self.unexports: list[int] = []
        self.violations: list[str] = []
        self.duties: dict[int, list[int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-sysfs-pwm", daemon=True)
        self._thread.start()

    def read(self, channel: int, name: str) -> str:
        """Return the text of ``pwm<channel>/<name>``."""
        return (self.dir / f"pwm{channel}" / name).read_text().strip()

    def exported(self, channel: int) -> bool:
        """Return True while ``pwm<channel>`` exists."""
        return (self.dir / f"pwm{channel}").is_dir()

    def _take(self, name: str) -> int | None:
        path = self.dir / name
        text = path.read_text().strip()
        if not text:
            return None
        path.write_text("")
        return int(text)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            n = self._take("export")
            if n is not None and 0 <= n < self.npwm:
                ch = self.dir / f"pwm{n}"
                ch.mkdir()
                for name, value in (("period", 0), ("duty_cycle", 0), ("enable", 0)):
                    (ch / name).write_text(f"{value}\n")
                (ch / "polarity").write_text("normal\n")
                self.exports.append(n)
            n = self._take("unexport")
            if n is not None:
                shutil.rmtree(self.dir / f"pwm{n}", ignore_errors=True)
                self.unexports.append(n)
            for ch in sorted(self.dir.glob("pwm[0-9]*")):
                self._check(int(ch.name[3:]), ch)

    def _check(self, n: int, ch: Path) -> None:
        try:
            period = int((ch / "period").read_text() or 0)
            duty = int((ch / "duty_cycle").read_text() or 0)
        except (OSError, ValueError):
            return  # caught between a truncate and a write
        seen = self.duties.setdefault(n, [])
        if not seen or seen[-1] != duty:
            seen.append(duty)
        if duty > period > 0:
            self.violations.append(f"pwm{n}: duty {duty} > period {period}")

    def close(self) -> None:
        """Stop the watcher."""
        self._stop.set()
        self._thread.join(timeout=2)
