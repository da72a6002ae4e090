"""Build, boot and stop a Debian bookworm container with systemd as its PID 1 (systemd-nspawn).

The systemd tier (tests/system/test_systemd_nspawn.py) installs massage-hub in it with the real
``setup.sh --install`` and drives the real unit through the container's own systemd.

- **Root filesystem**: ``debootstrap --variant=minbase`` of bookworm from the mirror in this
  machine's apt sources (read at run time), plus VLC's libraries installed before the first
  boot. Cached in ``$MASSAGE_HUB_TEST_CACHE`` (default ``/var/cache/massage-hub-tests``, outside
  the repository, so a fresh clone reuses it), keyed on a hash of the package lists and the
  debootstrap arguments; built whenever it is missing (about a minute here).
- **Wheelhouse**: the wheels of the lock that ``systemd/install.sh`` installs from
  (``requirements/build.txt``: pip and setuptools, the build backend of ``pip install
  --no-build-isolation -e``; ``requirements/run.txt``: the libraries), fetched with ``pip
  download --require-hashes`` on the host, cached keyed on those two files; the container has
  no network, so pip installs from it (and checks every hash again).
- **A run** copies the cached tree (``cp -a --reflink=auto``: every run starts clean) and boots
  it with ``--private-network`` (only loopback) and the repository and wheelhouse bound
  read-only. With no systemd on the host, nspawn (``--keep-unit``) makes its ``payload`` and
  ``supervisor`` cgroups below its own cgroup: it is started in a cgroup of its own per run,
  so two runs never share them, and ``stop()`` kills what is left there and removes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.rigs.support import locked

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MASSAGE_HUB_TEST_CACHE", "/var/cache/massage-hub-tests"))

SUITE = "bookworm"
PYTHON_VERSION = "3.11"  # bookworm's python3: the wheelhouse is fetched for it
DEBOOTSTRAP_ARGS = ["--variant=minbase"]
#: debootstrap --include: systemd as PID 1, and what setup.sh --install and the tests use
BASE_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-venv",
    "python3-pip",
    "sudo",
    "git",
    "curl",
    "ca-certificates",
    "iproute2",
    "procps",
]
#: apt-get install before the first boot (setup.sh's APT_RUN, which then finds them installed)
EXTRA_PACKAGES = ["libvlc5", "libvlc-bin", "vlc-plugin-base"]

SRC_IN_CONTAINER = "/media/src"
WHEELS_IN_CONTAINER = "/media/wheels"


class NspawnError(RuntimeError):
    """The container could not be built, booted or reached."""


def log(message: str) -> None:
    """Print a progress line (pytest shows it with -s, and for a failing test)."""
    print(f"[nspawn] {message}", file=sys.stderr, flush=True)


def run(
    argv: Sequence[str], *, timeout: float, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a host command; raise NspawnError with its output when it fails."""
    result = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,  # type: ignore[call-overload]
    )
    if check and result.returncode != 0:
        raise NspawnError(
            f"{shlex.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


# --- preconditions ---------------------------------------------------------------------------


def preflight() -> None:
    """Raise NspawnError saying what is missing when containers cannot run here."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the systemd tier needs root (systemd-nspawn, debootstrap)")
    for tool, package in (
        ("systemd-nspawn", "systemd-container"),
        ("debootstrap", "debootstrap"),
        ("nsenter", "util-linux"),
    ):
        if shutil.which(tool) is None:
            problems.append(f"{tool} missing (apt-get install {package}; setup.sh --test does)")
    if not cgroup_mounts():
        problems.append("no cgroup2 or name=systemd cgroup hierarchy is mounted")
    if problems:
        raise NspawnError("; ".join(problems))


# --- apt mirror ------------------------------------------------------------------------------


def apt_mirror(etc: Path = Path("/etc/apt")) -> str:
    """Return the Debian mirror of this machine's apt sources that carries ``SUITE``."""
    files = [etc / "sources.list"] if (etc / "sources.list").is_file() else []
    parts = etc / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.strip().startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                if (
                    "deb" in fields.get("types", "").split()
                    and SUITE in fields.get("suites", "").split()
                ):
                    return fields["uris"].split()[0]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#")[0]).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1]
    raise NspawnError(f"no apt source for {SUITE} in {etc}: cannot debootstrap")


# --- caches ----------------------------------------------------------------------------------


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def rootfs_key() -> str:
    """The cache key of the root filesystem: its package lists and debootstrap arguments."""
    return _key(SUITE, DEBOOTSTRAP_ARGS, BASE_PACKAGES, EXTRA_PACKAGES)


def rootfs() -> Path:
    """Return the cached root filesystem, building it first when it is missing."""
    target = CACHE / f"rootfs-{rootfs_key()}"
    with locked(CACHE / f"rootfs-{rootfs_key()}.lock"):
        if (target / ".complete").exists():
            return target
        mirror = apt_mirror()
        started = time.monotonic()
        log(f"building the root filesystem {target} from {mirror} (cached afterwards)")
        build = target.with_name(target.name + ".build")
        shutil.rmtree(build, ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        run(
            [
                "debootstrap",
                *DEBOOTSTRAP_ARGS,
                "--include=" + ",".join(BASE_PACKAGES),
                SUITE,
                str(build),
                mirror,
            ],
            timeout=1200,
        )
        install = (
            "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && "
            "apt-get install -y -qq --no-install-recommends "
            + " ".join(EXTRA_PACKAGES)
            + " && apt-get clean && rm -rf /var/lib/apt/lists/*"
        )
        # not booted, not a private network: apt reaches the mirror debootstrap used
        with own_cgroup() as cgroup:
            run(
                [
                    "systemd-nspawn",
                    "-q",
                    "-D",
                    str(build),
                    "--register=no",
                    "--keep-unit",
                    "sh",
                    "-c",
                    install,
                ],
                timeout=900,
                preexec_fn=cgroup.enter,
            )
        (build / ".complete").write_text(json.dumps({"mirror": mirror, "key": rootfs_key()}))
        build.rename(target)
        log(f"root filesystem built in {time.monotonic() - started:.0f} s")
        return target


#: the lock files systemd/install.sh installs from (tools/lock-deps writes them)
LOCK_FILES = [ROOT / "requirements" / "build.txt", ROOT / "requirements" / "run.txt"]


def lock_key(files: Sequence[Path] = LOCK_FILES) -> str:
    """The wheelhouse's cache key: the lock files' contents (pins and hashes)."""
    return _key(PYTHON_VERSION, [hashlib.sha256(path.read_bytes()).hexdigest() for path in files])


def wheelhouse() -> Path:
    """Return a cached folder of wheels for the container's Python, fetching it if missing."""
    target = CACHE / f"wheels-{lock_key()}"
    with locked(target.with_name(target.name + ".lock")):
        if (target / ".complete").exists():
            return target
        log(f"fetching the wheelhouse {target} (pip download)")
        build = target.with_name(target.name + ".build")
        shutil.rmtree(build, ignore_errors=True)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "--python-version",
                PYTHON_VERSION,
                "--require-hashes",
                "-d",
                str(build),
                *(arg for path in LOCK_FILES for arg in ("-r", str(path))),
            ],
            timeout=600,
        )
        (build / ".complete").write_text(json.dumps([str(p) for p in LOCK_FILES]))
        if target.exists():
            shutil.rmtree(target)
        build.rename(target)
        return target


# --- cgroups ---------------------------------------------------------------------------------


def cgroup_mounts() -> list[Path]:
    """This process's cgroups in the hierarchies nspawn uses (cgroup2 and name=systemd)."""
    mounts: dict[str, Path] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _dev, where, fstype, options, *_ = line.split()
        if fstype == "cgroup2":
            mounts.setdefault("", Path(where))
        elif fstype == "cgroup" and "name=systemd" in options.split(","):
            mounts.setdefault("name=systemd", Path(where))
    found = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _num, controllers, path = line.split(":", 2)
        if controllers in mounts:
            found.append(mounts[controllers] / path.lstrip("/"))
    return found


class Cgroup:
    """A cgroup of our own in each hierarchy nspawn uses, for one container process."""

    def __init__(self, name: str) -> None:
        self.paths = [base / name for base in cgroup_mounts()]

    def create(self) -> None:
        for path in self.paths:
            path.mkdir(exist_ok=True)

    def enter(self) -> None:
        """Move the calling process in (runs in the child, before exec)."""
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self.paths:
            for procs in path.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    found.update(int(p) for p in procs.read_text().split())
        return sorted(found)

    def remove(self, timeout: float = 15.0) -> None:
        """Kill whatever is still inside (only ours), then remove every cgroup below."""
        deadline = time.monotonic() + timeout
        while self.pids() and time.monotonic() < deadline:
            for path in self.paths:
                kill = path / "cgroup.kill"  # cgroup2: every process below, at once
                if kill.exists():
                    with contextlib.suppress(OSError):
                        kill.write_text("1")
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        for path in self.paths:
            if not path.exists():
                continue
            for sub in sorted(
                (p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
            ):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                path.rmdir()


CGROUP_PREFIX = "massage-hub-nspawn-"


def new_cgroup() -> Cgroup:
    """A cgroup named after this process (so a later run can tell when it is stale)."""
    return Cgroup(f"{CGROUP_PREFIX}{os.getpid()}-{time.monotonic_ns()}")


def reap_stale() -> None:
    """Remove the containers of earlier runs whose test process is gone (killed hard)."""
    for base in cgroup_mounts():
        for path in base.glob(CGROUP_PREFIX + "*"):
            owner = path.name[len(CGROUP_PREFIX) :].split("-")[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                log(f"removing a container left by an earlier run: {path.name}")
                Cgroup(path.name).remove()


@contextlib.contextmanager
def own_cgroup() -> Iterator[Cgroup]:
    """A fresh cgroup for one nspawn process, removed afterwards."""
    cgroup = new_cgroup()
    cgroup.create()
    try:
        yield cgroup
    finally:
        cgroup.remove()


# --- the container ---------------------------------------------------------------------------


class Container:
    """One booted copy of the cached root filesystem."""

    def __init__(self, workdir: Path, source: Path = ROOT) -> None:
        self.workdir = workdir
        self.source = source
        self.root = workdir / "root"
        self.console = workdir / "console.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.cgroup: Cgroup | None = None
        self.pid1 = 0
        self.boot_seconds = 0.0

    # lifecycle

    def boot(self, timeout: float = 90.0) -> None:
        """Copy the cached tree, boot it and wait until its systemd says ``running``."""
        preflight()
        base = rootfs()
        wheels = wheelhouse()
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)
        run(["cp", "-a", "--reflink=auto", str(base), str(self.root)], timeout=300)
        reap_stale()
        self.cgroup = new_cgroup()
        self.cgroup.create()
        argv = [
            "systemd-nspawn",
            "-b",
            "-D",
            str(self.root),
            "--register=no",
            "--keep-unit",
            "--private-network",
            "--console=read-only",
            f"--bind-ro={wheels}:{WHEELS_IN_CONTAINER}",
            f"--bind-ro={self.source}:{SRC_IN_CONTAINER}",
        ]
        started = time.monotonic()
        with self.console.open("wb") as out:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=self.cgroup.enter,
            )
        deadline = started + timeout
        while not self.pid1:
            self._check_alive()
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            with contextlib.suppress(OSError):
                found = children.read_text().split()
                if found:
                    self.pid1 = int(found[0])
            if time.monotonic() > deadline:
                raise NspawnError(f"no container PID 1 after {timeout:.0f} s\n{self.tail()}")
            time.sleep(0.05)
        state = ""
        while time.monotonic() < deadline:
            self._check_alive()
            state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.2)
        else:
            raise NspawnError(f"the container's systemd is {state!r} after {timeout:.0f} s")
        self.boot_seconds = time.monotonic() - started
        if state == "degraded":
            failed = self.run("systemctl", "--failed", "--no-pager", check=False).stdout
            log(f"container degraded (not our unit):\n{failed}")
        log(f"container up ({state}) in {self.boot_seconds:.1f} s, PID 1 = {self.pid1}")

    def stop(self, timeout: float = 60.0) -> None:
        """Power the container off; kill what is left; remove its cgroups and its copy."""
        try:
            if self.process is not None and self.process.poll() is None:
                with contextlib.suppress(Exception):
                    self.run("systemctl", "poweroff", check=False, timeout=20)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    log("the container did not power off: killing it")
                    self.process.kill()
                    self.process.wait(timeout=30)
        finally:
            if self.cgroup is not None:
                self.cgroup.remove()
            shutil.rmtree(self.root, ignore_errors=True)

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise NspawnError(
                f"systemd-nspawn exited {self.process.returncode} during boot\n{self.tail()}"
            )

    def tail(self, lines: int = 40) -> str:
        """The end of the container's console."""
        try:
            text = self.console.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # commands inside

    def run(
        self, *argv: str, check: bool = True, timeout: float = 60, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the container (all its namespaces, as root)."""
        if not self.pid1:
            raise NspawnError("the container is not running")
        result = subprocess.run(
            ["nsenter", "-t", str(self.pid1), "-a", "--", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env={
                "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8",
                "SYSTEMD_PAGER": "",
                "SYSTEMD_COLORS": "0",
                "TERM": "dumb",
            },
        )
        if check and result.returncode != 0:
            raise NspawnError(
                f"in the container: {shlex.join(argv)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def sh(
        self, script: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell script inside the container."""
        return self.run("sh", "-c", script, check=check, timeout=timeout)

    def read(self, path: str) -> str:
        """A file's text inside the container."""
        return (self.root / path.lstrip("/")).read_text()

    def write(self, path: str, text: str) -> None:
        """Write a file inside the container (as root)."""
        (self.root / path.lstrip("/")).write_text(text)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        """``systemctl show`` properties of a unit."""
        out = self.run("systemctl", "show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
