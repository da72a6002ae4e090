"""A real Home Assistant (2025.4.4) on loopback for the Home Assistant test tier.

- **Venv**: built once and cached by :mod:`tests.ha_venv` (HA's own constraints and every
  loaded integration's requirements, so HA never pip-installs at run time).
- **A run**: a seeded config folder (``configuration.yaml`` with ``homeassistant``, ``http``
  on 127.0.0.1, ``api``, ``conversation``, ``logger``, no ``default_config``; ``.storage``
  with the MQTT config entry, an owner with a long-lived token, onboarding done), zeroconf
  forced to unicast on 127.0.0.1 (it would bind UDP 5353 on every interface), and readiness
  = core state RUNNING with MQTT loaded (the hub announces again on HA's birth message).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.rigs.ha_seed import seed
from tests.rigs.ha_venv import HomeAssistantError, venv

__all__ = ["HomeAssistant", "HomeAssistantError"]

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


class HomeAssistant:
    """A real Home Assistant process on 127.0.0.1, spoken to over its REST API."""

    def __init__(
        self, folder: Path, broker_port: int, http_port: int, extra_config: str = ""
    ) -> None:
        self.folder = Path(folder)
        self.broker_port = broker_port
        self.port = http_port
        self.token = seed(self.folder, http_port, broker_port)
        if extra_config:  # integrations one test needs (the recorder and energy for Energy)
            with (self.folder / "configuration.yaml").open("a") as f:
                f.write(extra_config)
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
