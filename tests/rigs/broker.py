"""A real Mosquitto broker on 127.0.0.1 for tests and benches, and a small observer client."""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.rigs.support import free_port, wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def have_mosquitto() -> bool:
    """True when the mosquitto binary is installed."""
    return Path(MOSQUITTO).exists()


class Mosquitto:
    """Run ``mosquitto`` with a generated config on a loopback port (kill and restart it too)."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        users: dict[str, str] | None = None,
        nodelay: bool = False,
        tls: dict[str, Path] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.users = users or {}
        self.nodelay = nodelay  # mosquitto's set_tcp_nodelay (off by default, as shipped)
        self.tls = tls  # {"ca": ..., "cert": ..., "key": ...}: TLS with client certificates
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = self.folder / "mosquitto.conf"
        self.log_path = self.folder / "mosquitto.log"

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "user root",
        ]
        if self.nodelay:
            lines.append("set_tcp_nodelay true")
        if self.tls:
            lines += [
                f"cafile {self.tls['ca']}",
                f"certfile {self.tls['cert']}",
                f"keyfile {self.tls['key']}",
                "require_certificate true",
            ]
        if self.users:
            pw = self.folder / "passwd"
            pw.write_text("")
            pw.chmod(0o600)
            for user, password in self.users.items():
                subprocess.run(
                    [MOSQUITTO_PASSWD, "-b", str(pw), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {pw}"]
        else:
            lines.append("allow_anonymous true")
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Mosquitto:
        """Start the broker and wait until it accepts connections."""
        self._write_config()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for(self._accepting, timeout=10)
        return self

    def _accepting(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited:\n{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log(self) -> str:
        """Return what the broker printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def stop(self) -> None:
        """Stop the broker."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()


def make_certificates(folder: Path) -> dict[str, Path]:
    """Make a CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", f"{name}.crt")  # fmt: skip
    for key in folder.glob("*.key"):
        key.chmod(0o600)
    return {
        name: folder / name
        for name in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
    }


class Observer:
    """An MQTT client that records every message on the topics it subscribes to."""

    def __init__(
        self,
        port: int,
        topics: list[str],
        *,
        username: str | None = None,
        password: str | None = None,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[float, str, str, bool]] = []
        self.queue: queue.Queue[tuple[float, str, str, bool]] = queue.Queue()
        self._lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            ca, cert, key = tls
            self.client.tls_set(ca_certs=str(ca), certfile=str(cert), keyfile=str(key))
        self._subscribed = threading.Event()
        self.topics = topics
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_socket_open = lambda c, u, s: s.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise AssertionError("observer could not subscribe")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        item = (time.monotonic(), msg.topic, msg.payload.decode("utf-8", "replace"), msg.retain)
        with self._lock:
            self.messages.append(item)
        self.queue.put(item)

    def publish(self, topic: str, payload: str, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait until the broker has it."""
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def snapshot(self) -> list[tuple[float, str, str, bool]]:
        """Return every message so far."""
        with self._lock:
            return list(self.messages)

    def last(self, topic: str) -> str | None:
        """Return the newest payload on ``topic``."""
        for _, t, payload, _ in reversed(self.snapshot()):
            if t == topic:
                return payload
        return None

    def on(self, topic: str) -> list[str]:
        """Return every payload seen on ``topic``."""
        return [p for _, t, p, _ in self.snapshot() if t == topic]

    def wait_last(self, topic: str, payload: str, timeout: float = 5.0) -> str:
        """Wait until the newest payload on ``topic`` is ``payload``."""
        return wait_for(lambda: self.last(topic) == payload and payload, timeout=timeout)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
