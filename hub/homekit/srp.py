"""Pair-setup's SRP with every value at its full width, so pairing never fails by chance.

HAP-python's SRP server turns numbers into bytes without their leading zero bytes: the
public key B it sends, the shared secret S it hashes into the session key K, and K itself,
both in the proof M and as the key for the steps after it. A controller (aiohomekit, as
Apple's HomeKit ADK does) uses them at full width: 384 bytes for B and S, 64 for K. So
whenever one of them happens to start with a zero byte, about three pairings in 256, the
proofs differ and pairing fails with "Authentication error" until the user tries again.

:class:`FullWidthServer` keeps HAP-python's checks and arithmetic and only fixes the
widths: it draws its secret again when B would be short (B is random, so nothing is
lost), hashes S at full width, and hands out K as :class:`FullWidthKey`, which HAP-python's
``long_to_bytes`` turns into all 64 bytes. ``tests/homekit/test_homekit_srp.py`` pairs it with
aiohomekit's SRP client on a case of each kind (where HAP-python's own server fails).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from typing import Any

from pyhap.accessory_driver import AccessoryDriver
from pyhap.hsrp import Server
from pyhap.params import get_srp_context
from pyhap.util import long_to_bytes

from .server import current_peer

log = logging.getLogger(__name__)

GROUP_BITS = 3072  # HAP's SRP group; SHA-512, 16-byte salt
MAX_WRONG_CODES = 5  # wrong setup codes from one address before it is locked out ...
LOCKOUT_SECONDS = 60.0  # ... for this long
MAX_PEERS_COUNTED = 256  # addresses whose wrong codes are remembered (oldest forgotten)
KEY_BYTES = 64  # SHA-512
USERNAME = b"Pair-Setup"


class FullWidthKey(int):
    """The session key K: an int that HAP-python writes out as all of its 64 bytes."""

    def bit_length(self) -> int:
        """The width of a SHA-512 digest, leading zero bytes included."""
        return 8 * KEY_BYTES


class FullWidthServer(Server):  # type: ignore[misc]
    """HAP-python's SRP server with B, S and K at full width (see the module docstring)."""

    def __init__(self, ctx: dict[str, Any], u: bytes, p: bytes, **kwargs: Any) -> None:
        super().__init__(ctx, u, p, **kwargs)
        # B goes out as long_to_bytes(B): a B with a leading zero byte would go out short
        while self.B.bit_length() <= self.N_len - 8:
            self.b = int.from_bytes(os.urandom(ctx["secret_len"]), "big")
            self.B = self._derive_B()
            self.Bb = long_to_bytes(self.B)

    def set_A(self, bytes_A: bytes) -> None:
        """Take the controller's public key (HAP-python's checks), then derive K from S at
        full width."""
        super().set_A(bytes_A)
        self.Sb = self._padN(long_to_bytes(self.S))
        self.Kb = self._digest(self.Sb)
        self.K = FullWidthKey(int.from_bytes(self.Kb, "big"))
        self.M = self._get_M()
        self.HAMK = self._get_HAMK()


class HubDriver(AccessoryDriver):  # type: ignore[misc]
    """HAP-python's accessory driver, pairing with :class:`FullWidthServer`."""

    _full_width: FullWidthServer | None = None
    _wrong_codes: dict[str, tuple[int, float]] | None = None  # address -> (count, locked until)

    def register_failed_pairing_attempt(self) -> None:
        """Count a wrong setup code against the address it came from (not against everyone)."""
        peer = current_peer.get() or "?"
        counts = self._wrong_codes if self._wrong_codes is not None else {}
        self._wrong_codes = counts
        count, until = counts.pop(peer, (0, 0.0))
        count += 1
        if count >= MAX_WRONG_CODES:
            count, until = 0, time.monotonic() + LOCKOUT_SECONDS
            log.warning(
                "Apple Home: %d wrong setup codes from %s; it may try again in %g s",
                MAX_WRONG_CODES,
                peer,
                LOCKOUT_SECONDS,
            )
        counts[peer] = (count, until)
        while len(counts) > MAX_PEERS_COUNTED:
            counts.pop(next(iter(counts)))

    @property
    def pairing_locked_out(self) -> bool:
        """True while the address of the request under way is locked out."""
        counts = self._wrong_codes or {}
        return time.monotonic() < counts.get(current_peer.get() or "?", (0, 0.0))[1]

    def setup_srp_verifier(self) -> None:
        """Start a pair-setup: a new SRP server for the setup code."""
        ctx = get_srp_context(GROUP_BITS, hashlib.sha512, 16)
        self._full_width = FullWidthServer(ctx, USERNAME, self.state.pincode)

    @property
    def srp_verifier(self) -> FullWidthServer:
        """The SRP server of the pair-setup under way."""
        assert self._full_width is not None, "no pair-setup under way"
        return self._full_width
