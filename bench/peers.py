"""The servers bench/peer_mqttio.py sets beside the hub, and the floors it measures.

- :class:`MqttIo`: mqtt-io 2.7 with one gpiozero mock output, from a bench-only venv
  (:func:`ensure_venv` builds it when missing).
- :class:`PahoEcho`: the floor of any threaded paho server. A child process whose paho
  client answers each command with its payload as the state, on its network thread, with
  TCP_NODELAY like the hub; no validation, no GPIO, no events. A figure the hub cannot beat.
- :func:`stack_rss_mb`: the floor of the hub's memory. VmRSS of a child process that only
  imports the libraries ``serve`` has loaded when idle (:data:`STACK`), creates nothing;
  and with the hub's own modules imported too (code and models, nothing started).

``python bench/peers.py echo PORT BASE`` is the echo's child process itself.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

PEER_SPEC = "mqtt-io==2.7.*"
DEFAULT_VENV = Path("/var/cache/massage-hub-bench/mqttio-venv")
NODE = "bench"
#: the third-party libraries (and the stdlib's sqlite3) in ``serve``'s sys.modules when it
#: idles with MQTT on and SSE clients, simulated pins (checked 2026-12-01): its floor
STACK = ("flask", "waitress", "pydantic", "spectree", "paho.mqtt.client", "gpiozero", "yaml",
         "sqlite3")  # fmt: skip
#: the hub's modules ``serve`` imports only when used: Apple Home on, music played
LAZY = ("hub.homekit", "hardware.libvlc", "hardware.music", "hardware.vlc_speaker")


def pct(values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank) of ``values`` (as bench/mqtt_latency.py)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Child:
    """A server the bench runs as a child process: its topics, its pid, and stopping it."""

    set_topic: str
    state_topic: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the bench-only venv ----------------------------------------------------------------


def peer_versions(venv: Path) -> tuple[str, str] | None:
    """Return (mqtt-io, gpiozero) versions installed in ``venv``, or None."""
    py = venv / "bin" / "python"
    if not py.exists():
        return None
    out = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; "
         "print(m.version('mqtt-io'), m.version('gpiozero'))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    parts = out.stdout.split()
    return (parts[0], parts[1]) if out.returncode == 0 and len(parts) == 2 else None


def ensure_venv(venv: Path) -> tuple[str, str]:
    """Build the bench-only venv with mqtt-io 2.7 and the hub's gpiozero unless it is there."""
    gpiozero = version("gpiozero")
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benches at once: one builds, one waits
        found = peer_versions(venv)
        if found and found[0].startswith("2.7.") and found[1] == gpiozero:
            return found
        print(f"building {venv} ({PEER_SPEC}, gpiozero=={gpiozero}) ...", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        out = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", PEER_SPEC, f"gpiozero=={gpiozero}"],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if out.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise RuntimeError(f"pip install into {venv} failed:\n{out.stdout}{out.stderr}")
        found = peer_versions(venv)
        if not found:
            raise RuntimeError(f"{venv}: mqtt-io not importable after install")
        return found


# --- mqtt-io ------------------------------------------------------------------------------


class MqttIo(Child):
    """Run mqtt-io with one mock digital output as a child process."""

    prefix = f"mqttio/{NODE}"

    def __init__(self, venv: Path, folder: Path, port: int, quiet: bool) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "mqtt": {
                "host": "127.0.0.1",
                "port": port,
                "topic_prefix": self.prefix,
                "client_id": f"mqttio-{NODE}",
            },
            "gpio_modules": [{"name": "mock", "module": "gpiozero"}],
            "digital_outputs": [
                {"name": "diffuser", "module": "mock", "pin": 23, "class": "DigitalOutputDevice"}
            ],
        }
        if quiet:
            config["logging"] = {
                "version": 1,
                "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
                "loggers": {"mqtt_io": {"level": "WARNING", "handlers": ["console"]}},
            }
        self.config_path = folder / "mqtt-io.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log_path = folder / "mqtt-io.log"
        self.python = venv / "bin" / "python"
        self.set_topic = f"{self.prefix}/output/diffuser/set"
        self.state_topic = f"{self.prefix}/output/diffuser"

    def start(self) -> MqttIo:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
        self.proc = subprocess.Popen(
            [str(self.python), "-m", "mqtt_io", str(self.config_path)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=str(self.config_path.parent),
        )  # fmt: skip
        return self

    def check(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"mqtt-io exited ({self.proc.returncode}):\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        super().stop()
        if getattr(self, "_log", None) is not None:
            self._log.close()


# --- the floors -----------------------------------------------------------------------------


def echo_client(port: int, base: str) -> Any:
    """Return a started paho client answering ``base/diffuser/set`` on ``base/diffuser/state``
    with the command's payload, on its network thread (the floor; in this process)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"echo-{base}")

    def on_socket_open(c: Any, userdata: Any, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the hub does

    def on_connect(c: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        c.subscribe(f"{base}/diffuser/set", qos=1)
        c.publish(f"{base}/availability", "online", qos=1, retain=True)

    def on_message(c: Any, userdata: Any, msg: Any) -> None:
        c.publish(f"{base}/diffuser/state", msg.payload, qos=0, retain=True)

    client.on_socket_open = on_socket_open
    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


class PahoEcho(Child):
    """:func:`echo_client` in a child process of its own (so its CPU is its own)."""

    base = f"echo/{NODE}"

    def __init__(self, port: int, prefix: list[str] | None = None) -> None:
        self.port = port
        self.prefix = prefix or []  # run it under this (bench/pi_zero.py's cgroup)
        self.set_topic = f"{self.base}/diffuser/set"
        self.state_topic = f"{self.base}/diffuser/state"

    def start(self) -> PahoEcho:
        argv = [*self.prefix, sys.executable, __file__, "echo", str(self.port), self.base]
        self.proc = subprocess.Popen(argv)
        return self


def stack_rss_mb(hub_modules: bool = False, settle: float = 2.0) -> float:
    """Return VmRSS (MB) of a fresh Python that has imported :data:`STACK` and waited.

    ``hub_modules``: every module of hub/, web/ and hardware/ too (their code and pydantic
    models) but those ``serve`` loads only when used (:data:`LAZY`); nothing is started."""
    code = f"import time\nimport {', '.join(STACK)}\n"
    if hub_modules:
        code += (
            "import importlib, pkgutil\n"
            "for pkg in ('hub', 'web', 'hardware'):\n"
            "    for m in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + '.'):\n"
            f"        if not m.name.startswith({LAZY!r}):\n"
            "            importlib.import_module(m.name)\n"
        )
    code += (
        f"time.sleep({settle})\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS:')))"
    )
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root
    )
    if out.returncode != 0:
        raise RuntimeError(f"importing the hub's libraries failed:\n{out.stderr}")
    return int(out.stdout.split()[-1]) / 1024


if __name__ == "__main__" and sys.argv[1:2] == ["echo"]:
    echo_client(int(sys.argv[2]), sys.argv[3])
    while True:  # until the bench terminates it
        time.sleep(3600)
