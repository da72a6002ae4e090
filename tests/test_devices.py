"""Manual device commands mean the same from every entry point."""

from __future__ import annotations

from hub.core import Hub


def test_diffuser_on_keeps_a_running_interval_and_starts_continuous_from_off(hub: Hub) -> None:
    hub.set_device("diffuser", {"mode": "interval"})
    hub.set_device("diffuser", {"on": True})
    assert hub.state()["devices"]["diffuser"]["mode"] == "interval"
    hub.set_device("diffuser", {"on": False})
    hub.set_device("diffuser", {"on": True})
    assert hub.state()["devices"]["diffuser"]["mode"] == "on"
