"""Which Host header values the hub answers (``web.allowed_hosts``), and Origin checks.

A web page on another site can make its own host name resolve to the hub's address (DNS
rebinding); the browser then treats the hub as that site and lets the page read it. The
page cannot change the Host header, so answering only the hub's own names stops it.

Entries: a name (``hub.example``), ``*.suffix`` (any name ending ``.suffix``), an IP
address, a network (``192.168.1.0/24``), ``auto`` (this machine's host name, that name with
``.local``, and every address it has) or ``*`` (any host). ``localhost`` and loopback
addresses are always allowed. Ports are ignored: ``hub.local:8080`` is ``hub.local``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

CACHE_SECONDS = 30.0
CACHE_SIZE = 64


def split_host(value: str) -> tuple[str, int | None] | None:
    """Split a Host header into a lower-case name (or IP, without brackets) and a port."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/\\@?# \t"):
        return None
    port: int | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
        else:
            port_text = ""
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif ":" in value:  # a bare IPv6 address (not valid in Host, but unambiguous)
        host, port_text = value, ""
    else:
        host, port_text = value, ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    host = host.rstrip(".")
    return (host, port) if host else None


def _ip(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def is_local_address(ip: IP) -> bool:
    """True if ``ip`` is one of this machine's addresses (binding to it works)."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.bind((str(ip), 0))
        return True
    except OSError:
        return False


class HostGuard:
    """Decide whether a Host header is one of the hub's own names."""

    def __init__(self, patterns: list[str]) -> None:
        self.any = "*" in patterns
        self.auto = "auto" in patterns
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for p in patterns:
            if p in ("*", "auto"):
                continue
            try:
                self.networks.append(ipaddress.ip_network(p.strip("[]"), strict=False))
            except ValueError:
                if p.startswith("*."):
                    self.suffixes.append(p[1:])  # ".suffix"
                else:
                    self.names.add(p)
        self._local: dict[IP, tuple[bool, float]] = {}  # bounded: CACHE_SIZE entries
        self._lock = threading.Lock()

    def machine_names(self) -> set[str]:
        """Return this machine's names: its host name, the short name and ``<name>.local``."""
        name = socket.gethostname().lower().rstrip(".")
        short = name.split(".", 1)[0]
        return {n for n in (name, short, short + ".local", name + ".local") if n}

    def _is_local(self, ip: IP) -> bool:
        now = time.monotonic()
        with self._lock:
            hit = self._local.get(ip)
            if hit is not None and hit[1] > now:
                return hit[0]
        result = is_local_address(ip)  # addresses come and go (DHCP): cached briefly
        with self._lock:
            if len(self._local) >= CACHE_SIZE:
                self._local.clear()
            self._local[ip] = (result, now + CACHE_SECONDS)
        return result

    def allowed(self, header: str | None) -> bool:
        """True if a request with this Host header may be answered."""
        if header is None:  # only HTTP/1.0 clients may omit it (RequestGate: 400 for 1.1)
            return True
        parts = split_host(header)
        if parts is None:
            return False
        host = parts[0]
        if self.any or host == "localhost":
            return True
        ip = _ip(host)
        if ip is not None:
            if ip.is_loopback or (
                isinstance(ip, ipaddress.IPv6Address)
                and ip.ipv4_mapped is not None
                and ip.ipv4_mapped.is_loopback
            ):
                return True
            if any(ip in net for net in self.networks if net.version == ip.version):
                return True
            return self.auto and self._is_local(ip)
        if host in self.names or any(host.endswith(s) for s in self.suffixes):
            return True
        return self.auto and host in self.machine_names()


def same_origin(origin: str, host_header: str | None) -> bool:
    """True if an Origin header names the host (and port) the request was sent to.

    A Host without a port matches the Origin scheme's default port (a TLS proxy in front
    of the hub forwards ``Host: hub.example`` for ``https://hub.example``).
    """
    if host_header is None:
        return False
    try:
        parts = urlsplit(origin.strip())
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    target = split_host(host_header)
    if target is None:
        return False
    default = {"http": 80, "https": 443}
    o_port = origin_port or default[parts.scheme]
    h_port = target[1] or default[parts.scheme]
    return parts.hostname.lower().rstrip(".") == target[0] and o_port == h_port


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestGate:
    """Run before every request: a Host (400) it knows (421), same Origin (403), JSON (415)."""

    def __init__(self, config: Any) -> None:
        self.patterns = list(config.web.allowed_hosts)
        self.hosts = HostGuard(self.patterns)
        self.where = str(getattr(config, "source", None) or "hub.yaml")

    def before_request(self) -> None:
        """Refuse requests another site could have made; raise an ApiError."""
        from flask import request

        from .errors import ApiError

        host = request.environ.get("HTTP_HOST")
        if host is None and request.environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
            raise ApiError(  # RFC 9112, 3.2: a server must answer 400
                400,
                "missing_host",
                "an HTTP/1.1 request needs a Host header (the name or address of the hub)",
            )
        if not self.hosts.allowed(host):
            shown = (host or "")[:100]
            raise ApiError(
                421,
                "unknown_host",
                f"this hub does not answer to the host name {shown!r}: if that is how you "
                f"reach it, add it to web.allowed_hosts in {self.where} "
                f"(now: {', '.join(self.patterns) or 'nothing'}) and restart the hub",
            )
        if request.method not in WRITE_METHODS:
            return
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(origin, host):
            raise ApiError(
                403,
                "cross_origin",
                f"refused: this request came from a page at {origin[:100]!r}, not from the "
                f"hub's own pages (http://{(host or '')[:100]})",
            )
        has_body = (
            bool(request.content_length)
            or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        )
        if has_body and not (
            request.mimetype == "application/json" or request.mimetype.endswith("+json")
        ):
            raise ApiError(
                415,
                "unsupported_media_type",
                "send the body as JSON with 'Content-Type: application/json' "
                f"(got {request.content_type or 'no Content-Type'!r})",
            )
