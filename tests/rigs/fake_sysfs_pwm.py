"""A directory tree in tmp that behaves like ``/sys/class/pwm`` for one chip.

``export`` and ``unexport`` are named pipes, so every write reaches the fake "kernel" (two
quick writes to a plain file would leave only the second), which makes or removes ``pwmN/``
with ``period``, ``duty_cycle``, ``enable`` and ``polarity``, as the kernel does; a watcher
thread also checks every state it sees against the kernel's
rules (a duty never longer than the period) and keeps what it saw, so a test can assert on
the history. The real kernel's files are exercised by the ``pi_rig`` tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path


class FakePWMChip:
    """``root/pwmchip<chip>`` with ``npwm`` channels and a watcher thread."""

    def __init__(self, root: Path, chip: int = 0, npwm: int = 2) -> None:
        self.root = Path(root)
        self.dir = self.root / f"pwmchip{chip}"
        self.dir.mkdir(parents=True)
        (self.dir / "npwm").write_text(f"{npwm}\n")
        for name in ("export", "unexport"):
            os.mkfifo(self.dir / name)
        self.npwm = npwm
        self.exports: list[int] = []
        self.unexports: list[int] = []
        self.violations: list[str] = []
        self.duties: dict[int, list[int]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name="fake-sysfs-pwm", daemon=True),
            threading.Thread(target=self._serve, args=("export", self._export), daemon=True),
            threading.Thread(target=self._serve, args=("unexport", self._unexport), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def read(self, channel: int, name: str) -> str:
        """Return the text of ``pwm<channel>/<name>``."""
        return (self.dir / f"pwm{channel}" / name).read_text().strip()

    def exported(self, channel: int) -> bool:
        """Return True while ``pwm<channel>`` exists."""
        return (self.dir / f"pwm{channel}").is_dir()

    def _serve(self, name: str, handle: Callable[[int], None]) -> None:
        # held open for reading and writing the whole time: a pipe reopened after each writer
        # drops a write that lands between its end and the close (a lost unexport)
        fd = os.open(self.dir / name, os.O_RDWR)
        try:
            while not self._stop.is_set():
                data = os.read(fd, 64).decode(errors="replace")
                # channels are single digits here; two writes can meet in one read
                for c in data:
                    if c.isdigit():
                        with self._lock:
                            handle(int(c))
        finally:
            os.close(fd)

    def _export(self, n: int) -> None:
        if not 0 <= n < self.npwm or self.exported(n):
            return
        self.exports.append(n)
        # made aside and renamed: the kernel's pwmN/ appears with all its files at once
        ch = self.root / f".pwm{n}.new"
        ch.mkdir()
        for name, value in (("period", 0), ("duty_cycle", 0), ("enable", 0)):
            (ch / name).write_text(f"{value}\n")
        (ch / "polarity").write_text("normal\n")
        ch.rename(self.dir / f"pwm{n}")

    def _unexport(self, n: int) -> None:
        ch = self.dir / f"pwm{n}"
        if ch.is_dir():
            self._check(n, ch)  # the channel's last state, which the poller may not have seen
        shutil.rmtree(self.dir / f"pwm{n}", ignore_errors=True)
        self.unexports.append(n)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            with self._lock:
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
        """Stop the watcher and the pipes' readers."""
        self._stop.set()
        for name in ("export", "unexport"):
            with contextlib.suppress(OSError):  # wake a reader blocked in read()
                fd = os.open(self.dir / name, os.O_WRONLY | os.O_NONBLOCK)
                try:
                    os.write(fd, b"\n")
                finally:
                    os.close(fd)
        for thread in self._threads:
            thread.join(timeout=2)
