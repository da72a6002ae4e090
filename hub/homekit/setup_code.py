"""The bridge's setup code and setup id, kept in ``data_dir``, and its ``X-HM://`` setup URI.

HAP-python keeps its keys and paired controllers in its own state file, but not the setup
code: without this file the code would change at every start, and a code printed on a card
next to the hub would stop working. Nothing here imports HAP-python.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: codes the HomeKit Accessory Protocol forbids (too easy to guess)
FORBIDDEN = {
    "00000000",
    "11111111",
    "22222222",
    "33333333",
    "44444444",
    "55555555",
    "66666666",
    "77777777",
    "88888888",
    "99999999",
    "12345678",
    "87654321",
}
CODE = re.compile(r"^\d{3}-\d{2}-\d{3}$")
SETUP_ID = re.compile(r"^[0-9A-Z]{4}$")
CATEGORY_BRIDGE = 2
FLAG_IP = 2  # the accessory pairs over IP (not BLE, not NFC)


@dataclass(frozen=True)
class SetupCode:
    """An 8-digit setup code (``123-45-678``) and a 4-character setup id."""

    code: str
    setup_id: str

    @classmethod
    def new(cls) -> SetupCode:
        """Return a random code the protocol allows and a random setup id."""
        while True:
            digits = "".join(secrets.choice(string.digits) for _ in range(8))
            if digits not in FORBIDDEN:
                break
        setup_id = "".join(secrets.choice(string.digits + string.ascii_uppercase) for _ in range(4))
        return cls(f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", setup_id)

    def uri(self, category: int = CATEGORY_BRIDGE) -> str:
        """Return the ``X-HM://`` setup URI that the QR code carries."""
        payload = (category & 0xFF) << 31 | (FLAG_IP & 0xF) << 27
        payload |= int(self.code.replace("-", "")) & 0x7FFFFFF
        return "X-HM://" + _base36(payload).rjust(9, "0") + self.setup_id


def _base36(n: int) -> str:
    chars = string.digits + string.ascii_uppercase
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = chars[r] + out
        if n == 0:
            return out


def load_or_create(path: Path) -> SetupCode:
    """Return the setup code kept in ``path``; make and keep a new one if there is none.

    A damaged file is replaced (and said so in the log): the hub then shows a new code.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = SetupCode(str(data["code"]), str(data["setup_id"]))
        if CODE.match(found.code) and SETUP_ID.match(found.setup_id):
            return found
        log.warning("Apple Home: %s holds no valid setup code; making a new one", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Apple Home: cannot read %s (%s); making a new setup code", path, exc)
    made = SetupCode.new()
    save(path, made)
    return made


def save(path: Path, setup: SetupCode) -> None:
    """Write ``setup`` to ``path`` atomically, readable by the service's user only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"code": setup.code, "setup_id": setup.setup_id}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
