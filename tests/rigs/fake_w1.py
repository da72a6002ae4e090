"""A directory tree in tmp that looks like ``/sys/bus/w1/devices`` with DS18B20 sensors.

Each sensor's ``w1_slave`` holds what the kernel's ``w1_therm`` writes (drivers/w1/slaves/
w1_therm.c, ``w1_slave_show``, Linux 6.12): the nine scratchpad bytes just read and the
kernel's own CRC-8 over the first eight with its verdict, then the last good bytes (the
kernel keeps them) and ``t=`` in millidegrees from the new bytes::

    72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
    72 01 4b 46 7f ff 0e 10 57 t=23125

A failed conversion makes the kernel return an empty file. The bus master's own entry
(``w1_bus_master1``) sits beside the sensors, as on a Pi. Files are replaced atomically so a
reader in another thread never sees half a write (the kernel hands out whole reads too).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path


def crc8(data: bytes) -> int:
    """Return the Dallas/Maxim 1-wire CRC-8 (x^8 + x^5 + x^4 + 1, bits LSB first)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


def scratchpad(celsius: float) -> bytes:
    """Return a DS18B20's nine scratchpad bytes at ``celsius`` (12 bits), its CRC last."""
    raw = round(celsius * 16) & 0xFFFF  # two's complement, 1/16 °C, sent LSB first
    # TH 0x4b, TL 0x46, config 0x7f (12 bits), 0xff, then a byte the DS18B20 reserves and
    # real ones fill with 0x10 minus the low nibble, then 0x10
    body = bytes([raw & 0xFF, raw >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x10 - (raw & 0x0F), 0x10])
    return body + bytes([crc8(body)])


def millidegrees(rom: bytes) -> int:
    """Return ``t=`` as the kernel computes it: ``(s16)raw * 1000 / 16`` in C's int maths."""
    raw = int.from_bytes(rom[:2], "little", signed=True)
    return math.trunc(raw * 1000 / 16)


def w1_slave_text(rom: bytes, last_good: bytes | None = None) -> str:
    """Return ``w1_slave``'s two lines for the bytes ``rom`` just read."""
    crc = crc8(rom[:8])
    verdict = "YES" if rom[8] == crc else "NO"
    kept = rom if verdict == "YES" else (last_good or bytes(9))
    return (
        "".join(f"{b:02x} " for b in rom)
        + f": crc={crc:02x} {verdict}\n"
        + "".join(f"{b:02x} " for b in kept)
        + f"t={millidegrees(rom)}\n"
    )


class FakeW1Bus:
    """``root`` as the kernel's w1 devices folder, with sensors a test plugs, heats and breaks."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        master = self.root / "w1_bus_master1"
        master.mkdir(parents=True)
        (master / "w1_master_slaves").write_text("not found.\n")
        self._good: dict[str, bytes] = {}

    def _write(self, sensor: str, text: str) -> None:
        folder = self.root / sensor
        folder.mkdir(exist_ok=True)
        tmp = folder / ".w1_slave.tmp"
        tmp.write_text(text)
        os.replace(tmp, folder / "w1_slave")

    def set(self, sensor: str, celsius: float) -> None:
        """Plug ``sensor`` in (if it was not) reading ``celsius``."""
        rom = scratchpad(celsius)
        self._good[sensor] = rom
        self._write(sensor, w1_slave_text(rom))

    def set_bytes(self, sensor: str, rom: bytes) -> None:
        """Make the next reads return ``rom`` (nine bytes) with the kernel's CRC verdict."""
        text = w1_slave_text(rom, self._good.get(sensor))
        if rom[8] == crc8(rom[:8]):
            self._good[sensor] = rom
        self._write(sensor, text)

    def set_text(self, sensor: str, text: str) -> None:
        """Make the next reads return ``text`` as it is (empty: a failed conversion)."""
        self._write(sensor, text)

    def corrupt(self, sensor: str, celsius: float) -> None:
        """Make the next reads fail their CRC (a bit flipped on the wire)."""
        rom = bytearray(scratchpad(celsius))
        rom[0] ^= 0x04
        self.set_bytes(sensor, bytes(rom))

    def unplug(self, sensor: str) -> None:
        """Remove ``sensor`` as the kernel does when a search no longer finds it."""
        shutil.rmtree(self.root / sensor, ignore_errors=True)
