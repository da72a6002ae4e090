"""The ``pi_rig`` tier's guest: a real Linux kernel with a simulated GPIO chip, booted in qemu.

Built once and cached like Home Assistant's venv (tests/rigs/ha_venv.py), in
``$MASSAGE_HUB_TEST_CACHE`` (default ``/var/cache/massage-hub-tests``) as ``pi-rig-<key>``,
keyed on the kernel, the lock files and the guest files; built under a lock when missing
(``setup.sh --test`` builds it first, else the first test that needs it;
``python -m tests.rigs.pi_rig`` alone). What goes in:

- **Kernel**: Debian bookworm-backports' newest 6.12 ``linux-image-*-amd64`` (no Debian kernel
  builds gpio-sim, gpio-mockup or pwm-gpio, so they are built out of tree from the same
  version's ``linux-source-6.12`` against its headers, with the host's gcc-12; irq_sim needs
  ``generic_handle_irq`` as ``irq_to_desc`` is not exported to modules). The packages are
  fetched with ``apt-get download`` through a private apt config: the host's apt is untouched.
- **Userland**: ``debootstrap --variant=minbase bookworm`` with python3, a venv at
  ``/opt/venv`` with ``requirements/build.txt`` + ``run.txt`` (hashes checked), the project
  (``-e /opt/hub``) and lgpio's PyPI wheel (Debian has no lgpio), busybox, the modules and
  ``tests/pi_rig_guest/init``; packed as one initramfs.

Each boot appends a second cpio with the working tree's tracked files at ``/opt/hub`` (the
guest runs them with ``PYTHONPATH=/opt/hub``), so the cache never tests stale code. The
guest talks to the host on its second serial port (``tests/pi_rig_guest/agent.py``). qemu runs
with TCG: this machine's ``/dev/kvm`` cannot run a stock kernel.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.rigs.support import ROOT, locked

CACHE = Path(os.environ.get("MASSAGE_HUB_TEST_CACHE", "/var/cache/massage-hub-tests"))
GUEST = Path(__file__).resolve().parents[1] / "pi_rig_guest"
SUITE = "bookworm"
KERNEL_SERIES = "6.12"
LGPIO = "lgpio==0.2.2.0"
GUEST_MODULES = ["irq_sim", "gpio-sim", "gpio-mockup", "pwm-gpio", "pwm-gpio-glue"]
BUILD_VERSION = 1  # bump when the build steps change
#: host commands the rig needs (setup.sh --test installs their packages)
HOST_TOOLS = ["qemu-system-x86_64", "debootstrap", "cpio", "gcc-12", "make", "xz", "busybox"]
STRIP = ["usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info",
         "var/lib/apt/lists", "var/cache/apt", "usr/share/zoneinfo/right"]  # fmt: skip


class RigError(RuntimeError):
    """The rig could not be built or booted, or the guest did not answer."""


def log(message: str) -> None:
    """Print a progress line (pytest shows it with -s, and for a failing test)."""
    print(f"[pi-rig] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], timeout: float, **kwargs: object) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise RigError(f"{' '.join(map(str, argv[:6]))}… exited {result.returncode}:\n{tail}")
    return result.stdout


def missing_host_tools() -> list[str]:
    """Return the host commands the rig needs and cannot find."""
    return [tool for tool in HOST_TOOLS if shutil.which(tool) is None]


def rig_key() -> str:
    """The cache key of the rig: what goes into it."""
    h = hashlib.sha256(json.dumps([SUITE, KERNEL_SERIES, LGPIO, BUILD_VERSION]).encode())
    for path in sorted(
        [
            ROOT / "requirements" / "build.txt",
            ROOT / "requirements" / "run.txt",
            ROOT / "pyproject.toml",
            # what goes into the image; agent.py runs from the working tree at each boot
            GUEST / "init",
            GUEST / "pwm-gpio-glue.c",
        ]
    ):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def mirror() -> str:
    """Return the Debian mirror apt already uses (deb.debian.org if none is found)."""
    for source in (Path("/etc/apt/sources.list.d/debian.sources"),):
        with contextlib.suppress(OSError):
            for line in source.read_text().splitlines():
                if line.startswith("URIs:"):
                    return line.split()[1]
    return "http://deb.debian.org/debian"


def _apt(work: Path) -> dict[str, str]:
    """Make a private apt config for bookworm-backports; return the environment to use it."""
    apt = work / "apt"
    for d in ("state/lists/partial", "cache/archives/partial"):
        (apt / d).mkdir(parents=True, exist_ok=True)
    (apt / "state" / "status").touch()
    (apt / "sources.list").write_text(
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        f"{mirror()} {SUITE}-backports main\n"
    )
    (apt / "apt.conf").write_text(
        f'Dir::State "{apt}/state"; Dir::State::status "{apt}/state/status"; '
        f'Dir::Cache "{apt}/cache"; Dir::Etc::SourceList "{apt}/sources.list"; '
        'Dir::Etc::SourceParts "/nonexistent"; APT::Architecture "amd64"; '
        'APT::Sandbox::User "root";\n'
    )
    return {**os.environ, "APT_CONFIG": str(apt / "apt.conf")}


def fetch_kernel(work: Path) -> tuple[str, Path]:
    """Download the newest backports 6.12 kernel, headers and source; return (release, debs)."""
    env = _apt(work)
    _run(["apt-get", "update", "-qq"], 600, env=env)
    out = _run(["apt-cache", "madison", f"linux-source-{KERNEL_SERIES}"], 60, env=env)
    versions = [line.split("|")[1].strip() for line in out.splitlines() if "|" in line]
    if not versions:
        raise RigError(f"no linux-source-{KERNEL_SERIES} in {SUITE}-backports on {mirror()}")
    version = max(versions, key=_version_key)
    abi = version.split("-")[0] + "+deb12"  # 6.12.95-1~bpo12+1 -> 6.12.95+deb12
    debs = work / "debs"
    debs.mkdir(exist_ok=True)
    _run(
        [
            "apt-get",
            "download",
            "-qq",
            f"linux-image-{abi}-amd64={version}",
            f"linux-headers-{abi}-amd64={version}",
            f"linux-headers-{abi}-common={version}",
            f"linux-kbuild-{abi}={version}",
            f"linux-source-{KERNEL_SERIES}={version}",
        ],
        1800,
        env=env,
        cwd=debs,
    )
    return f"{abi}-amd64", debs


def _version_key(version: str) -> list[int]:
    return [int(x) for x in version.split("-")[0].split(".") if x.isdigit()]


def build_modules(work: Path, release: str, debs: Path) -> Path:
    """Build gpio-sim, gpio-mockup, pwm-gpio (+ irq_sim and the glue) out of tree; return them."""
    tree = work / "kernel"
    tree.mkdir(exist_ok=True)
    for deb in debs.glob("linux-*.deb"):
        if "linux-source" not in deb.name:
            _run(["dpkg-deb", "-x", str(deb), str(tree)], 600)
    headers = tree / "usr" / "src" / f"linux-headers-{release}"
    # the headers' Makefile includes the common headers by absolute path: point it here
    makefile = headers / "Makefile"
    makefile.write_text(
        makefile.read_text().replace("include /usr/src/", f"include {tree}/usr/src/")
    )
    src = work / "src"
    src.mkdir(exist_ok=True)
    source_deb = next(debs.glob(f"linux-source-{KERNEL_SERIES}_*.deb"))
    tarball = work / "linux-source.tar.xz"
    with tarball.open("wb") as out:
        subprocess.run(
            f"dpkg-deb --fsys-tarfile '{source_deb}' | tar -xO './usr/src/linux-source-{KERNEL_SERIES}.tar.xz'",
            shell=True,
            check=True,
            stdout=out,
            timeout=600,
        )
    wanted = ["drivers/gpio/gpio-sim.c", "drivers/gpio/gpio-mockup.c", "drivers/pwm/pwm-gpio.c",
              "kernel/irq/irq_sim.c"]  # fmt: skip
    prefix = f"linux-source-{KERNEL_SERIES}/"
    _run(["tar", "-xJf", str(tarball), "-C", str(src), *(prefix + w for w in wanted)], 600)
    tarball.unlink()
    mods = work / "mods"
    mods.mkdir(exist_ok=True)
    for w in wanted:
        shutil.copy(src / prefix / w, mods)
    irq_sim = mods / "irq_sim.c"
    text = irq_sim.read_text()
    old = "handle_simple_irq(irq_to_desc(irqnum));"
    if old not in text:
        raise RigError("irq_sim.c changed upstream: the out-of-tree fix no longer applies")
    # irq_to_desc is not exported to modules; generic_handle_irq does the same lookup
    irq_sim.write_text(
        text.replace(old, "generic_handle_irq(irqnum);")
        + '\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("irq_sim, built out of tree");\n'
    )
    shutil.copy(GUEST / "pwm-gpio-glue.c", mods)
    (mods / "Kbuild").write_text("obj-m := " + " ".join(f"{m}.o" for m in GUEST_MODULES) + "\n")
    _run(
        ["make", "-C", str(headers), f"M={mods}", "CC=gcc-12", "CONFIG_DEBUG_INFO_BTF_MODULES=",
         "modules"],
        900,
    )  # fmt: skip
    return mods


def build_userland(work: Path, root: Path) -> None:
    """Debootstrap bookworm and install the project's lock, the project and lgpio in a venv."""
    _run(
        ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
         SUITE, str(root), mirror()],
        1800,
    )  # fmt: skip
    hub = root / "opt" / "hub"
    copy_tracked(hub)
    cert = Path("/etc/ssl/certs/ca-certificates.crt")
    if cert.exists():  # pip in the chroot trusts what the host trusts (a proxy's CA)
        shutil.copy(cert, root / "opt" / "host-ca.crt")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy"):
        if key in os.environ:
            env[key] = os.environ[key]
    if cert.exists():
        env["PIP_CERT"] = "/opt/host-ca.crt"
    pip = ["/opt/venv/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    steps = [
        ["python3", "-m", "venv", "/opt/venv"],
        [*pip, "--require-hashes", "-r", "/opt/hub/requirements/build.txt"],
        [*pip, "--require-hashes", "-r", "/opt/hub/requirements/run.txt"],
        [*pip, "--no-deps", "--no-build-isolation", "-e", "/opt/hub"],
        [*pip, LGPIO],
    ]
    for step in steps:
        _run(["chroot", str(root), *step], 1800, env=env)
    shutil.rmtree(hub)  # each boot brings the working tree's files
    hub.mkdir()


def copy_tracked(target: Path, source: Path = ROOT) -> None:
    """Copy the project's files (tracked, and new ones not ignored) into ``target``."""
    files = _run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        60,
    ).split("\0")
    for name in filter(None, files):
        if "node_modules/" in name or name.startswith(".venv"):
            continue  # untracked tool folders, not the project
        src = source / name
        if src.is_file():
            dst = target / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _pack(folder: Path, out: Path) -> None:
    with out.open("wb") as f:
        subprocess.run(
            "find . -print0 | cpio --null -o -H newc --quiet",
            shell=True,
            cwd=folder,
            stdout=f,
            check=True,
            timeout=900,
        )


def rig() -> Path:
    """Return the cached rig (``vmlinuz``, ``base.cpio``), building it first when missing."""
    target = CACHE / f"pi-rig-{rig_key()}"
    with locked(CACHE / f"pi-rig-{rig_key()}.lock"):
        if (target / ".complete").exists():
            return target
        if os.geteuid() != 0:
            raise RigError("building the rig needs root (debootstrap, chroot)")
        missing = missing_host_tools()
        if missing:
            raise RigError(f"the rig needs {', '.join(missing)}: run ./setup.sh --test")
        started = time.monotonic()
        log(f"building {target} (kernel, modules, bookworm userland; cached afterwards)")
        work = target.with_name(target.name + ".build")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        work.mkdir(parents=True)
        release, debs = fetch_kernel(work)
        log(f"kernel {release} fetched at {time.monotonic() - started:.0f} s")
        mods = build_modules(work, release, debs)
        log(f"modules built at {time.monotonic() - started:.0f} s")
        root = work / "root"
        build_userland(work, root)
        log(f"userland installed at {time.monotonic() - started:.0f} s")
        kernel = work / "kernel"
        (root / "mods").mkdir()
        for m in GUEST_MODULES:
            shutil.copy(mods / f"{m}.ko", root / "mods")
        configfs = (
            kernel / "usr" / "lib" / "modules" / release / "kernel/fs/configfs/configfs.ko.xz"
        )
        if not configfs.exists():
            configfs = kernel / "lib" / "modules" / release / "kernel/fs/configfs/configfs.ko.xz"
        with (root / "mods" / "configfs.ko").open("wb") as f:
            subprocess.run(["xz", "-dc", str(configfs)], stdout=f, check=True, timeout=60)
        shutil.copy(shutil.which("busybox") or "/bin/busybox", root / "usr/local/bin/busybox")
        shutil.copy(GUEST / "init", root / "init")
        (root / "init").chmod(0o755)
        for strip in STRIP:
            shutil.rmtree(root / strip, ignore_errors=True)
        out = work / "out"
        out.mkdir()
        shutil.copy(kernel / "boot" / f"vmlinuz-{release}", out / "vmlinuz")
        _pack(root, out / "base.cpio")
        (out / ".complete").write_text(json.dumps({"key": rig_key(), "release": release}))
        out.rename(target)
        shutil.rmtree(work)
        log(f"rig built in {time.monotonic() - started:.0f} s")
        return target


class Guest:
    """A booted rig guest: run shell scripts in it over its second serial port."""

    def __init__(self, folder: Path, sock: Path, proc: subprocess.Popen[bytes], console: Path):
        self.folder = folder
        self.proc = proc
        self.console = console
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock.connect(str(sock))
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RigError(f"qemu did not start:\n{self.console_tail()}") from None
                time.sleep(0.1)
        self.reader = self.sock.makefile("rb")
        self.seq = 0

    def console_tail(self, n: int = 4000) -> str:
        """Return the end of the guest's console."""
        try:
            return self.console.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 300) -> None:
        """Wait for the agent's hello (the chip is live, modules loaded)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                line = self.reader.readline()
                if not line:
                    raise RigError(f"the guest closed its port:\n{self.console_tail()}")
                if line.strip() == b"RIG-READY":
                    return
        except TimeoutError:
            raise RigError(
                f"the guest was not ready in {timeout:g} s:\n{self.console_tail()}"
            ) from None

    def sh(self, script: str, timeout: float = 120, check: bool = True) -> str:
        """Run ``script`` with bash in the guest (cwd /opt/hub); return its output."""
        self.seq += 1
        request = {"id": self.seq, "sh": script, "timeout": timeout}
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        self.sock.settimeout(timeout + 30)
        try:
            while True:
                line = self.reader.readline()
                if not line:
                    raise RigError(f"the guest closed its port:\n{self.console_tail()}")
                with contextlib.suppress(ValueError):
                    reply = json.loads(line)
                    if reply.get("id") == self.seq:
                        break
        except TimeoutError:
            raise RigError(f"no answer in {timeout + 30:g} s:\n{self.console_tail()}") from None
        out = base64.b64decode(reply["out"]).decode(errors="replace")
        if check and reply["rc"] != 0:
            raise RigError(f"guest script exited {reply['rc']}:\n{out[-4000:]}")
        return out

    def py(self, code: str, timeout: float = 120) -> str:
        """Run Python ``code`` in the guest's venv with the working tree on the path."""
        b64 = base64.b64encode(code.encode()).decode()
        return self.sh(
            f"echo {b64} | base64 -d > /tmp/step.py && /opt/venv/bin/python /tmp/step.py",
            timeout=timeout,
        )

    def close(self) -> None:
        """Power the guest off (and kill qemu if it does not go)."""
        with contextlib.suppress(Exception):
            self.sock.sendall(b'{"id": 0, "poweroff": true}\n')
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.sock.close()


@contextlib.contextmanager
def boot(memory_mb: int = 1536) -> Iterator[Guest]:
    """Boot the rig with the working tree at /opt/hub; yield the ready guest."""
    folder = rig()
    with tempfile.TemporaryDirectory(prefix="pi-rig-") as tmp:
        run = Path(tmp)
        tree = run / "tree"
        copy_tracked(tree / "opt" / "hub")
        _pack(tree, run / "hub.cpio")
        initrd = run / "initrd.cpio"
        with initrd.open("wb") as out:
            for part in (folder / "base.cpio", run / "hub.cpio"):
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        sock = run / "agent.sock"
        console = run / "console.log"
        argv = [
            "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-m", str(memory_mb), "-smp", "2", "-kernel", str(folder / "vmlinuz"),
            "-initrd", str(initrd),
            "-append", "console=ttyS0 panic=-1 quiet rdinit=/init",
            "-nographic", "-no-reboot", "-monitor", "none", "-display", "none", "-nic", "none",
            "-serial", f"file:{console}", "-serial", f"unix:{sock},server=on,wait=off",
        ]  # fmt: skip
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        guest = None
        try:
            guest = Guest(folder, sock, proc, console)
            guest.wait_ready()
            log(f"guest ready in {time.monotonic() - started:.1f} s")
            yield guest
        finally:
            if guest is not None:
                guest.close()
            elif proc.poll() is None:
                proc.kill()
                proc.wait()


#: the test tools the arm64 subset needs, installed from requirements/test.txt's hashes
ARM64_TEST_TOOLS = {"pytest", "pluggy", "iniconfig", "hypothesis", "sortedcontainers",
                    "pytest-timeout", "pygments"}  # fmt: skip
#: a short subset that touches the config, the parts, the PWM writer and the installer's files
ARM64_TESTS = ["tests/core/config/test_config.py", "tests/hardware/test_hardware.py", "tests/hardware/test_kernel_pwm.py",
               "tests/hardware/test_pi_setup.py"]  # fmt: skip


def locked_subset(lock: Path, names: set[str]) -> str:
    """Return the blocks of ``lock`` (pip-compile output, with hashes) for ``names`` only."""
    blocks, keep = [], False
    for line in lock.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            keep = line.split("==")[0].strip().lower() in names
        if keep and not line.lstrip().startswith("#"):
            blocks.append(line)
    return "\n".join(blocks) + "\n"


def ensure_binfmt() -> None:
    """Let the kernel run arm64 binaries through qemu-user-static (binfmt_misc)."""
    misc = Path("/proc/sys/fs/binfmt_misc")
    if not (misc / "register").exists():
        _run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(misc)], 60)
    if not (misc / "qemu-aarch64").exists():
        conf = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
        if not conf.exists():
            raise RigError(f"{conf} is missing: install qemu-user-static (setup.sh --test)")
        (misc / "register").write_text(conf.read_text().strip())


def arm64_key() -> str:
    """The cache key of the arm64 chroot: the lock and the project's packaging."""
    # the test tools are not in the key: arm64_check installs them (a no-op when present)
    h = hashlib.sha256(json.dumps([SUITE, LGPIO, BUILD_VERSION]).encode())
    for name in ("requirements/build.txt", "requirements/run.txt", "requirements/test.txt",
                 "pyproject.toml"):  # fmt: skip
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _mounted(root: Path) -> Iterator[None]:
    """Bind /proc and /dev into ``root`` for the time of a chroot."""
    done: list[Path] = []
    try:
        for name in ("proc", "dev"):
            target = root / name
            target.mkdir(exist_ok=True)
            _run(["mount", "--bind", f"/{name}", str(target)], 60)
            done.append(target)
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], check=False, timeout=60)


def _chroot_env() -> dict[str, str]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy"):
        if key in os.environ:
            env[key] = os.environ[key]
    if Path("/etc/ssl/certs/ca-certificates.crt").exists():
        env["PIP_CERT"] = "/opt/host-ca.crt"
    return env


def arm64_root() -> Path:
    """Return the cached arm64 bookworm chroot with the locked venv, building it when missing.

    What a 64-bit Raspberry Pi OS install does: ``requirements/build.txt`` + ``run.txt`` with
    hashes, the project (``-e``) and lgpio, all from aarch64 wheels (nothing compiled).
    """
    ensure_binfmt()
    target = CACHE / f"pi-arm64-{arm64_key()}"
    with locked(CACHE / f"pi-arm64-{arm64_key()}.lock"):
        if (target / ".complete").exists():
            return target
        started = time.monotonic()
        log(f"building {target} (arm64 debootstrap under qemu-user; cached afterwards)")
        work = target.with_name(target.name + ".build")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        root = work / "root"
        _run(
            ["debootstrap", "--arch=arm64", "--variant=minbase",
             "--include=python3,python3-venv,ca-certificates", SUITE, str(root), mirror()],
            3600,
        )  # fmt: skip
        log(f"arm64 debootstrap done at {time.monotonic() - started:.0f} s")
        cert = Path("/etc/ssl/certs/ca-certificates.crt")
        if cert.exists():
            shutil.copy(cert, root / "opt" / "host-ca.crt")
        copy_tracked(root / "opt" / "hub")
        pip = ["/opt/venv/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        steps = [
            ["python3", "-m", "venv", "/opt/venv"],
            [*pip, "--only-binary=:all:", "--require-hashes", "-r", "/opt/hub/requirements/build.txt"],
            [*pip, "--only-binary=:all:", "--require-hashes", "-r", "/opt/hub/requirements/run.txt"],
            [*pip, "--no-deps", "--no-build-isolation", "-e", "/opt/hub"],
            [*pip, "--only-binary=:all:", LGPIO],
        ]  # fmt: skip
        with _mounted(root):
            for step in steps:
                _run(["chroot", str(root), *step], 3600, env=_chroot_env())
        for strip in STRIP:
            shutil.rmtree(root / strip, ignore_errors=True)
        (work / ".complete").write_text(json.dumps({"key": arm64_key()}))
        work.rename(target)
        log(f"arm64 chroot built in {time.monotonic() - started:.0f} s")
        return target


def arm64_check() -> dict[str, object]:
    """In the arm64 chroot, with the working tree: check-config and a short test subset."""
    folder = arm64_root()
    root = folder / "root"
    hub = root / "opt" / "hub"
    shutil.rmtree(hub, ignore_errors=True)
    copy_tracked(hub)
    env = {**_chroot_env(), "PYTHONPATH": "/opt/hub", "TMPDIR": "/tmp"}
    (root / "opt" / "test-tools.txt").write_text(
        locked_subset(ROOT / "requirements" / "test.txt", ARM64_TEST_TOOLS)
    )
    pip = ["/opt/venv/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    with _mounted(root):
        _run(["chroot", str(root), *pip, "--only-binary=:all:", "--no-deps", "--require-hashes",
              "-r", "/opt/test-tools.txt"], 1800, env=_chroot_env())  # fmt: skip
        arch = _run(["chroot", str(root), "uname", "-m"], 60, env=env).strip()
        check = subprocess.run(
            ["chroot", str(root), "/opt/venv/bin/massage-hub", "check-config",
             "--config", "/opt/hub/config/hub.yaml"],
            capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
        tests = subprocess.run(
            ["chroot", str(root), "/bin/sh", "-c",
             "cd /opt/hub && /opt/venv/bin/python -m pytest -q -p no:cacheprovider "
             "-m 'not pi_rig' " + " ".join(ARM64_TESTS)],
            capture_output=True, text=True, timeout=1800, env=env,
        )  # fmt: skip
    return {
        "arch": arch,
        "check_config": check.stdout + check.stderr,
        "check_rc": check.returncode,
        "pytest_rc": tests.returncode,
        "pytest_tail": (tests.stdout + tests.stderr)[-3000:],
    }


if __name__ == "__main__":
    print(rig())
    if "--arm64" in sys.argv or os.environ.get("MASSAGE_HUB_PI_RIG_ARM64", "1") == "1":
        print(arm64_root())
