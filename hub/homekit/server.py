"""HAP-python's HAP server with bounds on connections: a LAN peer cannot hold them forever.

Anyone on the network can open a TCP connection to the bridge before pairing (that is how
pairing starts), and HAP-python keeps every one until it idles out (90 hours). Here:

- one address holds at most :data:`MAX_PER_ADDRESS` connections at once;
- a connection not yet verified (no paired controller behind it) that sends nothing for
  :data:`UNVERIFIED_IDLE_SECONDS` is closed;
- past :data:`MAX_CONNECTIONS` at once, the unverified connection idle longest makes room
  for the new one; the controllers already verified (an iPhone, a Home hub) keep theirs,
  and only if every connection is verified is the new one closed.

Apple asks accessories for at least 8 connections. :data:`current_peer` tells the driver
which address a request comes from, so wrong setup codes lock out that address only
(:class:`hub.homekit.srp.HubDriver`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from typing import Any

from pyhap.hap_protocol import HAPServerProtocol
from pyhap.hap_server import HAPServer

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 32
MAX_PER_ADDRESS = 8
UNVERIFIED_IDLE_SECONDS = 30.0

#: the address of the peer whose request is being handled (None outside a request)
current_peer: ContextVar[str | None] = ContextVar("current_peer", default=None)


def _address(peername: Any) -> str:
    return str(peername[0]) if isinstance(peername, tuple) and peername else "?"


class BoundedProtocol(HAPServerProtocol):  # type: ignore[misc]
    """One controller's connection; refused when the server holds too many already."""

    refused = False
    _idle_check: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Take the connection, within the bounds (see the module's docstring)."""
        peer = transport.get_extra_info("peername")
        address = _address(peer)
        mine = [p for p in self.connections.values() if _address(p.peername) == address]
        why = None
        if len(mine) >= MAX_PER_ADDRESS:
            why = f"{address} holds {MAX_PER_ADDRESS} connections already"
        elif len(self.connections) >= MAX_CONNECTIONS and not self._make_room():
            why = f"{MAX_CONNECTIONS} verified connections are open already"
        if why is not None:
            self.refused = True
            log.warning("Apple Home: refused a connection from %s: %s", peer, why)
            transport.abort()
            return
        super().connection_made(transport)
        self._schedule_idle_check()

    def _make_room(self) -> bool:
        """Close the unverified connection idle longest; False if every one is verified."""
        unverified = [p for p in self.connections.values() if p.hap_crypto is None]
        if not unverified:
            return False
        oldest = min(unverified, key=lambda p: p.last_activity or 0.0)
        log.info("Apple Home: closed an idle unverified connection from %s", oldest.peername)
        oldest.close()
        return True

    def _schedule_idle_check(self) -> None:
        self._idle_check = self.loop.call_later(UNVERIFIED_IDLE_SECONDS, self._check_unverified)

    def _check_unverified(self) -> None:
        """Close this connection if it is still unverified and has been idle too long."""
        self._idle_check = None
        if self.transport is None or self.hap_crypto is not None:
            return  # closed, or a paired controller: HAP-python's own idle rule applies
        idle = time.time() - (self.last_activity or 0.0)
        if idle >= UNVERIFIED_IDLE_SECONDS:
            log.info(
                "Apple Home: closed an unverified connection from %s idle %.0f s",
                self.peername,
                idle,
            )
            self.close()
        else:
            self._idle_check = self.loop.call_later(
                UNVERIFIED_IDLE_SECONDS - idle, self._check_unverified
            )

    def connection_lost(self, exc: BaseException | None) -> None:
        """Forget the connection (a refused one was never taken)."""
        if self._idle_check is not None:
            self._idle_check.cancel()
            self._idle_check = None
        if not self.refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Handle a request (never on a refused connection), knowing whose it is."""
        if not self.refused:
            token = current_peer.set(_address(self.peername))
            try:
                super().data_received(data)
            finally:
                current_peer.reset(token)


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
