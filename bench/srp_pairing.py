"""How often pair-setup fails by chance: HAP-python's SRP server and the hub's, each against
aiohomekit's SRP client (the controller behind Home Assistant's HomeKit Controller).

Each try is a fresh pair-setup with random secrets on both sides, run in this process as
HAP-python's handler runs it (M1-M4: salt and B out, A and the proof in, the server's proof
out), then the session key each side would use for M5 and M6 is compared. Prints, per
server, how many tries failed at the proof and how many at the key.

    .venv/bin/python bench/srp_pairing.py [--tries 300]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohomekit.crypto.srp import SrpClient  # noqa: E402
from pyhap.hsrp import Server  # noqa: E402
from pyhap.params import get_srp_context  # noqa: E402
from pyhap.util import long_to_bytes  # noqa: E402

from hub.homekit.srp import USERNAME, FullWidthServer  # noqa: E402

CODE = "031-45-154"


def one(server_class: type[Any]) -> str:
    """Run one pair-setup; return "ok", "proof" or "key"."""
    ctx = get_srp_context(3072, hashlib.sha512, 16)
    server = server_class(ctx, USERNAME, CODE.encode())
    salt, big_b = server.get_challenge()
    client = SrpClient(USERNAME.decode(), CODE)
    client.set_salt(bytearray(salt))
    client.set_server_public_key(bytearray(long_to_bytes(big_b)))
    server.set_A(bytes(client.get_public_key_bytes()))
    hamk = server.verify(bytes(client.get_proof_bytes()))
    if hamk is None or not client.verify_servers_proof_bytes(hamk):
        return "proof"
    if long_to_bytes(server.get_session_key()) != bytes(client.get_session_key_bytes()):
        return "key"
    return "ok"


def main() -> int:
    """Run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=300, help="pair-setups per server")
    args = parser.parse_args()
    worst = 0
    for label, server_class in (("HAP-python's", Server), ("the hub's", FullWidthServer)):
        t0 = time.perf_counter()
        results = [one(server_class) for _ in range(args.tries)]
        failed = {kind: results.count(kind) for kind in ("proof", "key")}
        print(
            f"{label:<13} SRP server: {sum(failed.values())} of {args.tries} pair-setups failed "
            f"({failed['proof']} at the proof, {failed['key']} at the session key), "
            f"{time.perf_counter() - t0:.0f} s"
        )
        if server_class is FullWidthServer:
            worst = sum(failed.values())
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
