"""HAP-python's HAP server with a bound on connections: a LAN peer cannot open them forever.

Anyone on the network can open a TCP connection to the bridge before pairing (that is how
pairing starts), and HAP-python keeps every one until it idles out. Past
:data:`MAX_CONNECTIONS` at once, a new connection is closed at once; the controllers already
connected (an iPhone, a Home hub) keep theirs. Apple asks accessories for at least 8.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pyhap.hap_protocol import HAPServerProtocol
from pyhap.hap_server import HAPServer

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 32


class BoundedProtocol(HAPServerProtocol):  # type: ignore[misc]
    """One controller's connection; refused when the server holds too many already."""

    refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Take the connection, or close it when :data:`MAX_CONNECTIONS` are open."""
        if len(self.connections) >= MAX_CONNECTIONS:
            self.refused = True
            log.warning(
                "Apple Home: refused a connection from %s: %d are open already",
                transport.get_extra_info("peername"),
                MAX_CONNECTIONS,
            )
            transport.abort()
            return
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        """Forget the connection (a refused one was never taken)."""
        if not self.refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Handle a request (never on a refused connection)."""
        if not self.refused:
            super().data_received(data)


class BoundedHAPServer(HAPServer):  # type: ignore[misc]
    """The HAP server, making :class:`BoundedProtocol` connections."""

    def __init__(self, addr_port: tuple[str, int], driver: Any) -> None:
        super().__init__(addr_port, driver)
        self.listen_on = addr_port

    async def async_start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start listening."""
        self.loop = loop
        self.server = await loop.create_server(
            lambda: BoundedProtocol(loop, self.connections, self.accessory_handler),
            self.listen_on[0],
            self.listen_on[1],
        )
        self.async_cleanup_connections()
