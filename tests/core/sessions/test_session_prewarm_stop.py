"""Stop during the pre-warm ends the session at once (no fade of lights never on)."""

from __future__ import annotations

from hub.core import Hub


def test_stop_during_prewarm_ends_at_once(hub: Hub) -> None:
    hub.sessions.start("swedish", 60)
    hub.advance(60)
    assert hub.state()["session"]["phase"] == "prepare"
    hub.sessions.stop()
    state = hub.state()
    assert state["session"] is None
    assert all(d.get("heat", "off") == "off" for d in state["devices"].values())
    row = hub.sessions.history()[0]
    assert (row["end_reason"], row["actual_minutes"]) == ("stopped", 0)


def test_stop_after_prewarm_still_fades(hub: Hub) -> None:
    hub.sessions.start("swedish", 60)
    hub.advance(30 * 60)
    assert hub.state()["session"]["phase"] == "active"
    hub.sessions.stop()
    assert hub.state()["session"]["phase"] == "fade_out"
