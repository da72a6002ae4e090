"""A real HomeKit controller for the tests: aiohomekit (Home Assistant's HomeKit Controller).

It finds the hub over mDNS on loopback: its zeroconf is bound to 127.0.0.1, as the hub's is
in these tests (``homekit.interfaces: [127.0.0.1]``), so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohomekit import Controller
from aiohomekit.characteristic_cache import CharacteristicCacheMemory
from aiohomekit.controller.abstract import AbstractPairing
from aiohomekit.zeroconf import ZeroconfServiceListener
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

HAP_TYPES = ["_hap._tcp.local.", "_hap._udp.local."]
LIGHTBULB = "00000043-0000-1000-8000-0026BB765291"
SWITCH = "00000049-0000-1000-8000-0026BB765291"
INFORMATION = "0000003E-0000-1000-8000-0026BB765291"
PROTOCOL_INFORMATION = "000000A2-0000-1000-8000-0026BB765291"
ON = "00000025-0000-1000-8000-0026BB765291"
BRIGHTNESS = "00000008-0000-1000-8000-0026BB765291"
NAME = "00000023-0000-1000-8000-0026BB765291"


@asynccontextmanager
async def controller() -> AsyncIterator[Controller]:
    """Yield a started aiohomekit controller browsing ``_hap`` on 127.0.0.1 only."""
    azc = AsyncZeroconf(interfaces=["127.0.0.1"])
    browser = AsyncServiceBrowser(azc.zeroconf, HAP_TYPES, listener=ZeroconfServiceListener())
    c = Controller(async_zeroconf_instance=azc, char_cache=CharacteristicCacheMemory())
    await c.async_start()
    try:
        yield c
    finally:
        await c.async_stop()
        await browser.async_cancel()
        await azc.async_close()


async def pair(c: Controller, device_id: str, code: str, alias: str = "phone") -> AbstractPairing:
    """Find the accessory over mDNS and pair with it using its setup code."""
    discovery = await c.async_find(device_id.lower(), timeout=30)
    finish = await discovery.async_start_pairing(alias)
    return await finish(code)


def by_name(accessories: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return each accessory by its name (the Name in its information service)."""
    out = {}
    for acc in accessories:
        for service in acc["services"]:
            if service["type"] == INFORMATION:
                name = next(c["value"] for c in service["characteristics"] if c["type"] == NAME)
                out[name] = acc
    return out


def char(accessory: dict[str, Any], service_type: str, char_type: str) -> tuple[int, int]:
    """Return the (aid, iid) of one characteristic of ``accessory``."""
    for service in accessory["services"]:
        if service["type"] == service_type:
            for c in service["characteristics"]:
                if c["type"] == char_type:
                    return accessory["aid"], c["iid"]
    raise AssertionError(f"no {char_type} in {service_type} of accessory {accessory['aid']}")


async def wait_until(check: Any, timeout: float = 10.0) -> Any:
    """Poll ``check`` (sync) on the event loop until it is truthy; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s; last: {value!r}")
        await asyncio.sleep(0.02)
