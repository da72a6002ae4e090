"""Pair-setup's SRP against a real controller's (aiohomekit's), on the cases that fail by chance.

Each case is a secret (the hub's ``b`` or the controller's ``a``, from a fixed seed) that
gives a value with a leading zero byte: B (the hub's public key), S (the shared secret),
or K (the session key). HAP-python's own SRP server fails each one; the hub's must not.
The seeds were found by trying seeds in turn (about one in 256 gives each case).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohomekit.crypto.srp import SrpClient, pad_left, to_byte_array
from pyhap.hsrp import Server
from pyhap.params import get_srp_context
from pyhap.util import long_to_bytes

from hub.homekit.srp import USERNAME, FullWidthServer

CODE = "031-45-154"
SALT = bytes(range(1, 17))
GOOD_B, SHORT_B = 1, 75  # seeds of the hub's secret b: B full width, B one byte short
S_SHORT, K_ZERO = 491, 120  # seeds of the controller's secret a (with GOOD_B)


def secret(label: bytes, seed: int, size: int) -> int:
    return int.from_bytes(hashlib.sha256(label + b"%d" % seed).digest()[:size], "big")


def client(a_seed: int) -> SrpClient:
    """aiohomekit's SRP client with the secret ``a`` of ``a_seed``."""
    c = SrpClient(USERNAME.decode(), CODE)
    c.a = secret(b"a", a_seed, 16)
    c.A = pow(c.g, c.a, c.n)
    c.A_b = pad_left(to_byte_array(c.A), 384)
    return c


def pair(server_class: type[Any], b_seed: int, a_seed: int) -> tuple[bool, bool]:
    """Run pair-setup's M1-M4 as HAP-python's handler does; return (proof ok, keys equal)."""
    ctx = get_srp_context(3072, hashlib.sha512, 16)
    server = server_class(ctx, USERNAME, CODE.encode(), s=SALT, b=secret(b"b", b_seed, 32))
    salt, big_b = server.get_challenge()
    c = client(a_seed)
    c.set_salt(bytearray(salt))
    c.set_server_public_key(bytearray(long_to_bytes(big_b)))  # what the handler sends
    server.set_A(bytes(c.get_public_key_bytes()))
    hamk = server.verify(bytes(c.get_proof_bytes()))
    if hamk is None:
        return False, False
    # the handler derives the next steps' keys from long_to_bytes(session key)
    same_key = long_to_bytes(server.get_session_key()) == bytes(c.get_session_key_bytes())
    return c.verify_servers_proof_bytes(hamk), same_key


@pytest.mark.parametrize(
    ("b_seed", "a_seed", "case"),
    [(SHORT_B, 1, "B short"), (GOOD_B, S_SHORT, "S short"), (GOOD_B, K_ZERO, "K starts 00")],
)
def test_pairing_works_where_a_value_has_a_leading_zero_byte(
    b_seed: int, a_seed: int, case: str
) -> None:
    assert pair(Server, b_seed, a_seed) != (True, True), f"not a failing case any more: {case}"
    assert pair(FullWidthServer, b_seed, a_seed) == (True, True), case


def test_an_ordinary_pairing_still_works_and_a_wrong_code_still_fails() -> None:
    assert pair(FullWidthServer, GOOD_B, 1) == (True, True)
    ctx = get_srp_context(3072, hashlib.sha512, 16)
    server = FullWidthServer(ctx, USERNAME, b"111-22-333", s=SALT)
    c = client(1)
    c.set_salt(bytearray(SALT))
    c.set_server_public_key(bytearray(long_to_bytes(server.get_challenge()[1])))
    server.set_A(bytes(c.get_public_key_bytes()))
    assert server.verify(bytes(c.get_proof_bytes())) is None


def test_a_short_b_is_drawn_again_and_a_bad_public_key_is_still_refused() -> None:
    ctx = get_srp_context(3072, hashlib.sha512, 16)
    server = FullWidthServer(ctx, USERNAME, CODE.encode(), s=SALT, b=secret(b"b", SHORT_B, 32))
    assert server.b != secret(b"b", SHORT_B, 32) and len(long_to_bytes(server.B)) == 384
    with pytest.raises(ValueError, match="A mod N == 0"):
        server.set_A(long_to_bytes(server.N))
