"""A real Home Assistant (2025.4.4) on loopback for the Home Assistant test tier.

- **Venv**: ``homeassistant==HA_VERSION`` for pyenv's Python 3.13.0 (HA 2025.4 needs 3.13.0
  or later), installed with HA's own ``package_constraints.txt`` (read from its wheel), plus
  the requirements of every integration the tests load (read from the wheel's manifests,
  following their dependencies), so HA never pip-installs at run time (it would fail
  offline). Cached in ``$MASSAGE_HUB_TEST_CACHE`` (default ``/var/cache/massage-hub-tests``)
  as ``ha-<key>``, keyed on the version, the Python and the integration list, built under a
  lock file when missing (``python -m tests.ha_rig`` builds it, as ``setup.sh --test`` does).
- **A run**: a seeded config folder (``configuration.yaml`` with ``homeassistant``, ``http``
  on 127.0.0.1, ``api``, ``conversation``, ``logger``, no ``default_config``; ``.storage``
  with the MQTT config entry, an owner with a long-lived token, onboarding done), zeroconf
  forced to unicast on 127.0.0.1 (it would bind UDP 5353 on every interface), and readiness
  = core state RUNNING, the MQTT entry loaded and HA's discovery subscription in the broker.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("MASSAGE_HUB_TEST_CACHE", "/var/cache/massage-hub-tests"))
HA_VERSION = "2025.4.4"
PYTHON = Path(os.environ.get("MASSAGE_HUB_HA_PYTHON", "/root/.pyenv/versions/3.13.0/bin/python3"))
#: the integrations a run loads (their dependencies are followed when installing)
INTEGRATIONS = [
    "api",
    "automation",
    "button",
    "conversation",
    "device_automation",
    "event",
    "frontend",
    "homeassistant",
    "http",
    "isal",
    "light",
    "logger",
    "mqtt",
    "network",
    "number",
    "onboarding",
    "persistent_notification",
    "scene",
    "select",
    "sensor",
    "switch",
    "system_log",
    "websocket_api",
    "zeroconf",
]
BUILD_VERSION = 1  # bump when the build steps change


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be installed, started or reached."""


def log(message: str) -> None:
    """Print a progress line (pytest shows it with -s, and for a failing test)."""
    print(f"[ha] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], timeout: float) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise HomeAssistantError(f"{' '.join(argv[:4])}… exited {result.returncode}:\n{tail}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def venv_key() -> str:
    """The cache key of the venv: what goes into it."""
    parts = [HA_VERSION, str(PYTHON), sorted(INTEGRATIONS), BUILD_VERSION]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def requirements_of(wheel: Path, domains: list[str]) -> list[str]:
    """Return the pip requirements of ``domains`` and their dependencies, from HA's wheel."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(domains)
    with zipfile.ZipFile(wheel) as zf:
        while todo:
            domain = todo.pop()
            if domain in seen:
                continue
            seen.add(domain)
            try:
                manifest = json.loads(zf.read(f"homeassistant/components/{domain}/manifest.json"))
            except KeyError:
                raise HomeAssistantError(f"Home Assistant has no integration {domain!r}") from None
            todo += manifest.get("dependencies", [])
            found.update(manifest.get("requirements", []))
    return sorted(found)


def venv() -> Path:
    """Return the cached Home Assistant venv, building it first when it is missing."""
    target = CACHE / f"ha-{venv_key()}"
    with _locked(CACHE / f"ha-{venv_key()}.lock"):
        if (target / ".complete").exists():
            return target
        if not PYTHON.exists():
            raise HomeAssistantError(
                f"{PYTHON} is missing: Home Assistant {HA_VERSION} needs Python 3.13 "
                "(set MASSAGE_HUB_HA_PYTHON to another 3.13 interpreter)"
            )
        started = time.monotonic()
        log(f"building {target} (Home Assistant {HA_VERSION}; cached afterwards)")
        build = target.with_name(target.name + ".build")
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        _run([str(PYTHON), "-m", "venv", str(build)], timeout=300)
        pip = [str(build / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        wheels = build / "ha-wheel"
        _run(
            [*pip, "download", "--no-deps", "-d", str(wheels), f"homeassistant=={HA_VERSION}"], 600
        )
        wheel = next(wheels.glob("homeassistant-*.whl"))
        constraints = build / "package_constraints.txt"
        with zipfile.ZipFile(wheel) as zf:
            constraints.write_bytes(zf.read("homeassistant/package_constraints.txt"))
        extra = requirements_of(wheel, INTEGRATIONS)
        _run([*pip, "install", "-c", str(constraints), str(wheel), *extra], timeout=1800)
        shutil.rmtree(wheels)
        (build / ".complete").write_text(json.dumps({"key": venv_key(), "extra": extra}))
        build.rename(target)
        # a venv's scripts name their interpreter by path: the build folder is gone
        for script in (target / "bin").iterdir():
            if script.is_file() and not script.is_symlink():
                data = script.read_bytes()
                if str(build).encode() in data:
                    script.write_bytes(data.replace(str(build).encode(), str(target).encode()))
        log(f"Home Assistant venv built in {time.monotonic() - started:.0f} s")
        return target


# --- a run ---------------------------------------------------------------------------------

#: run HA with zeroconf forced to unicast on loopback (it would bind UDP 5353 everywhere)
LAUNCHER = """
import sys
import homeassistant.components.zeroconf as zc
from zeroconf import IPVersion

def _loopback_only(hass):
    return {"ip_version": IPVersion.V4Only, "interfaces": ["127.0.0.1"], "unicast": True}

zc._async_get_zc_args = _loopback_only
from homeassistant.__main__ import main
sys.argv = ["hass", "--config", sys.argv[1], "--skip-pip", "--log-no-color"]
sys.exit(main())
"""

WS_CLIENT = """
import asyncio, json, sys
import aiohttp

async def main():
    url, token = sys.argv[1], sys.argv[2]
    commands = json.load(sys.stdin)
    out = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url + "/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": token})
            if (await ws.receive_json())["type"] != "auth_ok":
                sys.exit("websocket auth failed")
            for n, command in enumerate(commands, 1):
                await ws.send_json({"id": n, **command})
                while True:
                    msg = await ws.receive_json()
                    if msg.get("id") == n and msg.get("type") == "result":
                        out.append(msg)
                        break
    print(json.dumps(out))

asyncio.run(main())
"""

CONFIGURATION = """\
homeassistant:
  name: Test home
  time_zone: UTC
  unit_system: metric
  latitude: 0
  longitude: 0
  elevation: 0
  currency: EUR
  country: DE
  internal_url: "http://127.0.0.1:{port}"
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
conversation:
automation: !include automations.yaml
logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def long_lived_token(refresh_id: str, jwt_key: str) -> str:
    """Return the access token HA accepts for a long-lived refresh token (a HS256 JWT)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    body = _b64(json.dumps({"iss": refresh_id, "iat": now, "exp": now + 10 * 365 * 86400}).encode())
    signature = hmac.new(jwt_key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def _store(key: str, data: Any, version: int = 1, minor: int = 1) -> str:
    return json.dumps({"version": version, "minor_version": minor, "key": key, "data": data})


def seed(folder: Path, http_port: int, broker_port: int) -> str:
    """Write HA's config folder (configuration and .storage); return an owner's token."""
    storage = folder / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (folder / "configuration.yaml").write_text(CONFIGURATION.format(port=http_port))
    (folder / "automations.yaml").write_text("[]\n")
    user_id, refresh_id = uuid.uuid4().hex, uuid.uuid4().hex
    jwt_key = secrets.token_hex(64)
    now = datetime.now(UTC).isoformat()
    auth = {
        "users": [
            {
                "id": user_id,
                "group_ids": ["system-admin"],
                "is_owner": True,
                "is_active": True,
                "name": "Tester",
                "system_generated": False,
                "local_only": False,
            }
        ],
        "groups": [
            {"id": "system-admin", "name": "Administrators"},
            {"id": "system-users", "name": "Users"},
            {"id": "system-read-only", "name": "Read Only"},
        ],
        "credentials": [],
        "refresh_tokens": [
            {
                "id": refresh_id,
                "user_id": user_id,
                "client_id": None,
                "client_name": "massage-hub tests",
                "client_icon": None,
                "token_type": "long_lived_access_token",
                "created_at": now,
                "access_token_expiration": 10 * 365 * 86400.0,
                "token": secrets.token_hex(64),
                "jwt_key": jwt_key,
                "last_used_at": None,
                "last_used_ip": None,
                "expire_at": None,
                "credential_id": None,
                "version": HA_VERSION,
            }
        ],
    }
    entry = {
        "entry_id": uuid.uuid4().hex,
        "version": 1,
        "minor_version": 2,
        "domain": "mqtt",
        "title": "127.0.0.1",
        "data": {"broker": "127.0.0.1", "port": broker_port},
        "options": {"discovery": True, "discovery_prefix": "homeassistant"},
        "source": "user",
        "unique_id": None,
        "disabled_by": None,
    }
    files = {
        "auth": _store("auth", auth),
        "onboarding": _store(
            "onboarding", {"done": ["user", "core_config", "analytics", "integration"]}, 4
        ),
        "core.config_entries": _store("core.config_entries", {"entries": [entry]}),
    }
    for name, text in files.items():
        path = storage / name
        path.write_text(text)
        path.chmod(0o600)
    return long_lived_token(refresh_id, jwt_key)


class HomeAssistant:
    """A real Home Assistant process on 127.0.0.1, spoken to over its REST API."""

    def __init__(self, folder: Path, broker_port: int, http_port: int) -> None:
        self.folder = Path(folder)
        self.broker_port = broker_port
        self.port = http_port
        self.token = seed(self.folder, http_port, broker_port)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.folder / "hass.out"

    @property
    def url(self) -> str:
        """HA's address."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240) -> HomeAssistant:
        """Start HA and wait until it runs with MQTT loaded."""
        python = venv() / "bin" / "python"
        self._out = self.log_path.open("ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(python), "-c", LAUNCHER, str(self.folder)],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=str(self.folder),
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HomeAssistantError(
                    f"Home Assistant exited {self.proc.returncode}:\n{self.log()}"
                )
            try:
                config = self.get("/api/config")
            except (OSError, HomeAssistantError):
                time.sleep(0.5)
                continue
            if config.get("state") == "RUNNING" and "mqtt" in config.get("components", []):
                return self
            time.sleep(0.5)
        raise HomeAssistantError(f"Home Assistant did not start in {timeout:g} s:\n{self.log()}")

    def log(self) -> str:
        """Return the tail of HA's output and log."""
        out = []
        for path in (self.log_path, self.folder / "home-assistant.log"):
            if path.exists():
                out.append(path.read_text(errors="replace")[-6000:])
        return "\n".join(out)

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call HA's REST API; return the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as exc:
            raise HomeAssistantError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        """GET ``path``."""
        return self.request("GET", path)

    def states(self) -> list[dict[str, Any]]:
        """Return every entity's state."""
        return self.get("/api/states")

    def state(self, entity_id: str) -> dict[str, Any] | None:
        """Return one entity's state, or None if HA has no such entity."""
        try:
            return self.get(f"/api/states/{entity_id}")
        except HomeAssistantError as exc:
            if " 404 " in str(exc):
                return None
            raise

    def call(self, domain: str, service: str, **data: Any) -> Any:
        """Call a service (``light.turn_on``…)."""
        return self.request("POST", f"/api/services/{domain}/{service}", data)

    def say(self, text: str) -> dict[str, Any]:
        """Send ``text`` to Assist (the conversation API); return its answer."""
        return self.request("POST", "/api/conversation/process", {"text": text, "language": "en"})

    def ws(self, *commands: dict[str, Any], timeout: float = 30) -> list[Any]:
        """Send websocket commands (``{"type": "config/device_registry/list"}``…); return results.

        Run by HA's own Python (it has aiohttp), so the tests need no websocket client.
        """
        result = subprocess.run(
            [str(venv() / "bin" / "python"), "-c", WS_CLIENT, self.url, self.token],
            input=json.dumps(list(commands)),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise HomeAssistantError(f"websocket: {result.stderr[-2000:]}")
        answers = json.loads(result.stdout)
        for command, answer in zip(commands, answers, strict=True):
            if not answer.get("success"):
                raise HomeAssistantError(f"websocket {command}: {answer}")
        return [answer["result"] for answer in answers]

    def stop(self) -> None:
        """Stop HA (SIGTERM, then SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_out", None) is not None:
            self._out.close()


if __name__ == "__main__":
    print(venv())
