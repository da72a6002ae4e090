"""A seeded Home Assistant config folder: no onboarding, an owner's token, MQTT set up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.rigs.ha_venv import HA_VERSION

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
