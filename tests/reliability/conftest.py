"""Reliability suite: short by default (CI), full with ``RELIABILITY=full``.

Each test records a one-line figure with ``figure()``; they are printed together at the
end of the run (and appended to the file named by ``RELIABILITY_FIGURES``, if set) so that
docs/RELIABILITY.md can quote them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FULL = os.environ.get("RELIABILITY", "").lower() == "full"
FIGURES: list[str] = []


def scale(short: int, full: int) -> int:
    """Return ``full`` on a full run (RELIABILITY=full), else ``short``."""
    return full if FULL else short


def figure(line: str) -> None:
    """Record a one-line figure for the end-of-run summary."""
    text = f"{line} [{'full' if FULL else 'short'} run]"
    FIGURES.append(text)
    print(text)
    out = os.environ.get("RELIABILITY_FIGURES")
    if out:
        with Path(out).open("a") as f:
            f.write(text + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the reliability tests recorded."""
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
