"""Manual device commands mean the same from every entry point."""

from __future__ import annotations

from hub.core import Hub


def test_diffuser_on_keeps_a_running_interval_and_starts_continuous_from_off(hub: Hub) -> None:
    hub.devices.set("diffuser", {"mode": "interval"})
    hub.devices.set("diffuser", {"on": True})
    assert hub.state()["devices"]["diffuser"]["mode"] == "interval"
    hub.devices.set("diffuser", {"on": False})
    hub.devices.set("diffuser", {"on": True})
    assert hub.state()["devices"]["diffuser"]["mode"] == "on"


def test_every_output_transition_is_an_event(hub: Hub) -> None:
    """The diffuser's interval and the relay's duty cycle reach the page and MQTT as they happen."""
    seen: list[tuple[str, dict[str, object]]] = []
    hub.subscribe(lambda e: seen.append((e.data.get("device"), e.data.get("changes"))))
    hub.devices.set("diffuser", {"mode": "interval"})  # 30 s on, 60 s off
    hub.devices.set("pad", {"heat": "low", "minutes": 5})  # 30 % of a 60 s cycle
    seen.clear()
    hub.advance(181)
    mist = [c["on"] for d, c in seen if d == "diffuser" and c and "on" in c]
    relay = [c["relay"] for d, c in seen if d == "pad" and c and "relay" in c]
    assert mist == [False, True, False, True], mist  # off at 30 s, on at 90 s, ...
    assert relay[:2] == [False, True] and len(relay) >= 4, relay
    assert all(a != b for a, b in zip(relay, relay[1:], strict=False)), "a transition twice"
