"""A cgroup that allows a process a share of one core: a capacity model of a slow Pi.

cgroup v2 (``cpu.max``) where the unified hierarchy has the cpu controller, else cgroup v1
(``cpu.cfs_quota_us``). Processes enter it through an argv prefix (``sh -c 'echo $$ >
cgroup.procs; exec "$@"'``), so the whole service, threads and children, runs inside and
its clients outside. ``close()`` moves anything left back to the parent and removes the
group. A quota is not a slow core: a process gets bursts of full speed then waits for the
next period (100 ms), so latency tails reflect the scheduler as much as the work.
"""

from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 100_000
ROOT = Path("/sys/fs/cgroup")


class CgroupUnavailable(RuntimeError):
    """No cgroup with a CPU quota can be made here (the message says why)."""


class CpuQuota:
    """A cgroup allowed ``share`` of one core; use as a context manager."""

    def __init__(
        self, share: float, name: str = "massage-hub-quota", period_us: int = PERIOD_US
    ) -> None:
        if not 0 < share <= 64:
            raise ValueError(f"share must be above 0 (got {share})")
        self.share = share
        self.period_us = period_us  # a shorter period spreads the share more evenly
        self.name = f"{name}-{os.getpid()}"
        self.path: Path | None = None
        self.version = 0

    def open(self) -> CpuQuota:
        """Make the group; raise CgroupUnavailable with the error if that is not possible."""
        quota = max(1000, int(self.period_us * self.share))
        errors: list[str] = []
        v2 = ROOT / "cgroup.controllers"
        if v2.exists():
            try:
                if "cpu" not in v2.read_text().split():
                    raise OSError("the cpu controller is not available in cgroup v2")
                control = ROOT / "cgroup.subtree_control"
                if "cpu" not in control.read_text().split():
                    control.write_text("+cpu")
                group = ROOT / self.name
                group.mkdir(exist_ok=True)
                self.path, self.version = group, 2
                (group / "cpu.max").write_text(f"{quota} {self.period_us}")
                return self
            except OSError as exc:
                errors.append(f"cgroup v2 at {ROOT}: {exc}")
                self.close()
        v1 = ROOT / "cpu"
        if (v1 / "cpu.cfs_quota_us").exists():
            try:
                group = v1 / self.name
                group.mkdir(exist_ok=True)
                self.path, self.version = group, 1
                (group / "cpu.cfs_period_us").write_text(str(self.period_us))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
                return self
            except OSError as exc:
                errors.append(f"cgroup v1 at {v1}: {exc}")
                self.close()
        else:
            errors.append(f"no cgroup v1 cpu hierarchy at {v1}")
        raise CgroupUnavailable("; ".join(errors) or "no cgroup hierarchy found")

    @property
    def prefix(self) -> list[str]:
        """The argv prefix that runs a command inside the group."""
        assert self.path is not None, "open() the quota first"
        return ["sh", "-c", f'echo $$ > {self.path}/cgroup.procs && exec "$@"', "sh"]

    def pids(self) -> list[int]:
        """The processes in the group now."""
        if self.path is None:
            return []
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def close(self) -> None:
        """Move what is left to the parent group and remove the group."""
        if self.path is None:
            return
        parent = self.path.parent / "cgroup.procs"
        for pid in self.pids():
            try:
                parent.write_text(str(pid))
            except OSError:
                pass
        try:
            self.path.rmdir()
        except OSError:
            pass
        self.path = None

    def __enter__(self) -> CpuQuota:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def quota_or_reason(share: float) -> tuple[CpuQuota | None, str]:
    """Return an open quota, or None and the reason none can be made."""
    try:
        return CpuQuota(share).open(), ""
    except CgroupUnavailable as exc:
        return None, str(exc)
