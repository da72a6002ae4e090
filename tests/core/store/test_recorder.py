"""The recorder: what follows a deed is written in order, later if the disk says no, and
a pad's older off-record never overwrites its newer on-record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.config.model import Config
from hub.core import Hub
from hub.errors import StorageUnavailable
from hub.store.recorder import Recorder


def test_records_wait_in_order_until_the_disk_answers() -> None:
    written: list[int] = []
    refuse = {"left": 3}

    def write(n: int) -> Callable[[], None]:
        def go() -> None:
            if refuse["left"] > 0:
                refuse["left"] -= 1
                raise StorageUnavailable("the disk is full")
            written.append(n)

        return go

    rec = Recorder()
    rec.start()
    try:
        for n in range(5):
            rec.record(f"record {n}", write(n))  # the first fails: the rest queue behind it
        assert rec.flush(10.0)
        assert written == [0, 1, 2, 3, 4] and rec.failures == 3
    finally:
        rec.stop()


def test_a_late_off_record_never_overwrites_a_newer_on_record(
    make_hub: Callable[..., Hub],
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = make_hub(make_config())
    store = hub.store
    real = store.save_heat_ledger
    refused: list[dict[str, Any]] = []

    def once_refused(pad: str, record: dict[str, Any], still: Any = None) -> None:
        if not record["on"] and not refused:
            refused.append(record)
            raise StorageUnavailable("another program is using its database")
        real(pad, record, still)

    monkeypatch.setattr(store, "save_heat_ledger", once_refused)
    hub.devices.set("pad", {"heat": "low", "minutes": 5})
    hub.devices.set("pad", {"heat": "off"})  # its off-record waits for the disk
    assert refused and hub.recorder.waiting == 1
    hub.devices.set("pad", {"heat": "high", "minutes": 5})  # on again: recorded at once
    assert hub.recorder.flush(10.0)  # the waiting off-record has had its turn
    assert store.load_heat_ledger()["pad"]["on"] is True  # a crash now assumes the worst
