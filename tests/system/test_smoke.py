"""The shipped config runs: a whole session on the fake clock ends with every pin off."""

from hardware import normalize_pin
from hub.core import Hub
from tests.conftest import PinRecorder


def test_session_runs_to_the_end_and_leaves_everything_off(hub: Hub, pins: PinRecorder) -> None:
    hub.sessions.start("swedish", 30)
    hub.advance(5 * 60 + 30 * 60 + 120)
    assert hub.state()["session"] is None
    assert hub.sessions.history()[0]["end_reason"] == "completed"
    outputs = [normalize_pin(p) for p in hub.config.pins().values()]
    assert all(pins.level(p) == 0 for p in outputs)
    assert pins.level("GPIO24") == 0  # the pad went on during the session...
    assert any(v == 1 for _, v in pins.history("GPIO24"))  # ...and is off now


def test_speaker_state_lists_the_playlists(hub: Hub) -> None:
    assert hub.state()["devices"]["speaker"]["playlists"] == ["calm"]
