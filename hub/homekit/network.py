"""Where the bridge is found: the interfaces mDNS advertises on, and this machine's address."""

from __future__ import annotations

import ipaddress
from typing import Any


def mdns_interfaces(entries: list[str]) -> Any:
    """Return zeroconf's interfaces for ``homekit.interfaces``: every one when empty.

    Entries are IPv4 addresses or interface names (``eth0``, ``wlan0``); a name stands for
    its IPv4 addresses.
    """
    from zeroconf import InterfaceChoice

    if not entries:
        return InterfaceChoice.All
    import ifaddr

    adapters = {a.nice_name: a for a in ifaddr.get_adapters()}
    out: list[str] = []
    for entry in entries:
        try:
            ip = ipaddress.ip_address(entry)
        except ValueError:
            adapter = adapters.get(entry)
            if adapter is None:
                known = ", ".join(sorted(adapters)) or "none"
                raise RuntimeError(
                    f"homekit.interfaces: this machine has no network interface called "
                    f"{entry!r} (it has: {known})"
                ) from None
            out.extend(str(a.ip) for a in adapter.ips if isinstance(a.ip, str))
            continue
        if ip.version != 4:
            raise RuntimeError(
                f"homekit.interfaces: {entry!r} is IPv6; give an IPv4 address or an interface name"
            )
        out.append(entry)
    if not out:
        raise RuntimeError(f"homekit.interfaces: {entries} have no IPv4 address to advertise on")
    return out


def local_address() -> str:
    """Return this machine's address on its network: where its default route goes, else the
    first IPv4 address that is not loopback (a LAN without a router to the internet)."""
    from pyhap.util import get_local_address

    try:
        return str(get_local_address())  # a UDP "connect": no packet is sent
    except OSError:
        pass
    import ifaddr

    for adapter in ifaddr.get_adapters():
        for a in adapter.ips:
            if isinstance(a.ip, str) and not ipaddress.ip_address(a.ip).is_loopback:
                return a.ip
    raise RuntimeError(
        "Apple Home: this machine has no network address to be found at (no network?); "
        "connect it, or set homekit.address in the config"
    )
