"""The config sections of the ways in: the web server, MQTT and Apple Home.

They are part of :class:`hub.config.model.Config` and importable from :mod:`hub.config.model`.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    """A config section that refuses unknown keys."""

    model_config = ConfigDict(extra="forbid")


class WebConfig(Strict):
    """The web UI and REST API."""

    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)
    threads: int = Field(32, ge=4, le=256)
    login_attempts_per_minute: int = Field(5, ge=1, le=100)
    # Host header values answered (others get 421): names, "*.suffix", IP addresses,
    # networks ("192.168.1.0/24"), "auto" (this machine's names and addresses) or "*" (any)
    allowed_hosts: list[str] = Field(default_factory=lambda: ["auto"], max_length=100)
    password_checks_at_once: int = Field(1, ge=1, le=2)  # each argon2 check takes 19 MiB
    header_timeout_seconds: float = Field(10.0, ge=1, le=120)
    connections_per_client: int = Field(32, ge=4, le=1000)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        import ipaddress

        label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
        out = []
        for entry in v:
            e = entry.strip().lower().rstrip(".")
            try:
                e = str(ipaddress.ip_network(e.strip("[]"), strict=False))
            except ValueError:
                name = e.removeprefix("*.")
                if e not in ("auto", "*") and not re.fullmatch(rf"{label}(\.{label})*", name):
                    raise ValueError(
                        f"{entry!r} is not a host name, '*.name', an IP address, a network, "
                        "'auto' or '*' (give no port: any port is allowed)"
                    ) from None
            out.append(e)
        return out


class MqttConfig(Strict):
    """Home Assistant over MQTT."""

    enabled: bool = False
    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password_file: Path | None = None
    client_id: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    discovery_prefix: str = "homeassistant"
    base_topic: str = "massagehub"
    node_id: str = "massage_room"
    keepalive: int = Field(30, ge=5, le=600)
    device_name: str | None = Field(None, min_length=1, max_length=64)
    #: Home Assistant's suggested area for the device (Assist: "turn off the lights in …")
    area: str | None = Field("Massage room", min_length=1, max_length=64)
    configuration_url: str | None = None
    reconnect_min_seconds: float = Field(1.0, ge=0.05, le=60)
    reconnect_max_seconds: float = Field(60.0, ge=0.05, le=3600)
    fade_update_seconds: float = Field(1.0, ge=0.1, le=60)

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", v):
            raise ValueError("use letters, digits, _ or - only")
        return v

    @field_validator("base_topic", "discovery_prefix")
    @classmethod
    def _topic(cls, v: str) -> str:
        if not v or v.startswith("/") or v.endswith("/") or any(c in v for c in "+#\0"):
            raise ValueError("an MQTT topic without wildcards (+ #) or leading/trailing /")
        return v


class HomeKitConfig(Strict):
    """Apple Home: the hub as a HomeKit bridge (hub/homekit/)."""

    enabled: bool = False
    port: int = Field(51826, ge=1, le=65535)
    name: str = Field("Massage Room", min_length=1, max_length=64)
    # the IP address the bridge listens on and advertises (default: this machine's address)
    address: str | None = None
    # where mDNS (_hap._tcp) is advertised: IP addresses or interface names (default: all)
    interfaces: list[str] = Field(default_factory=list, max_length=16)
    fade_seconds: float = Field(1.0, ge=0, le=60)  # how long a brightness change glides

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        # Apple Home takes letters, digits, spaces and a few marks; it must start and end
        # with a letter or a digit
        if not re.fullmatch(r"[^\W_](?:[\w '.,-]*[^\W_])?", v) or "_" in v:
            raise ValueError("use letters, digits, spaces and ' . , - only, starting with a letter")
        return v

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        import ipaddress

        if v is not None:
            try:
                ipaddress.ip_address(v)
            except ValueError:
                raise ValueError(f"{v!r} is not an IP address (like 192.168.1.20)") from None
        return v

    @field_validator("interfaces")
    @classmethod
    def _interfaces(cls, v: list[str]) -> list[str]:
        for entry in v:
            if not re.fullmatch(r"[A-Za-z0-9_.:%-]{1,64}", entry):
                raise ValueError(f"{entry!r} is not an IP address or an interface name (eth0)")
        return v
