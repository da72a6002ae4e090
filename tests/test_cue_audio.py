"""The cue chime through real libvlc and a private PulseAudio server: quieter than the end chime."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.music import chime_sound, write_wav
from hardware.vlc_speaker import VlcSpeaker, vlc_available

from .audio_rig import PulseServer, have_pulse

VLC_OK, VLC_WHY = vlc_available()
CHIME_HZ = 523.25  # the base of hardware.music's chime

pytestmark = [
    pytest.mark.vlc,
    pytest.mark.skipif(not VLC_OK, reason=f"no libvlc: {VLC_WHY}"),
    pytest.mark.skipif(not have_pulse(), reason="PulseAudio is not installed"),
    pytest.mark.timeout(120),
]


@pytest.fixture
def pulse_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """A private PulseAudio server with a recordable null sink; libvlc pointed at it."""
    server = PulseServer(tmp_path / "pulse").start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    yield server
    server.stop()


def test_cue_chime_is_softer_than_the_end_chime(pulse_env: PulseServer, tmp_path: Path) -> None:
    write_wav(tmp_path / "music" / "chime.wav", chime_sound(1.0))
    speaker = VlcSpeaker(tmp_path / "music", max_volume=80, output="pulse", chime_volume=60)
    try:
        rec = pulse_env.record(tmp_path / "rec.wav")
        time.sleep(0.3)
        t_end = rec.at()
        speaker.chime()
        time.sleep(2.0)
        t_cue = rec.at()
        speaker.cue_chime()
        time.sleep(2.0)
        track = rec.stop()
    finally:
        speaker.close()
    assert speaker.chimes == 1 and speaker.cue_chimes == 1
    loud = max(track.tone(CHIME_HZ, t_end + x / 8, 0.25) for x in range(12))
    soft = max(track.tone(CHIME_HZ, t_cue + x / 8, 0.25) for x in range(12))
    print(f"end chime {loud:.0f}, cue chime {soft:.0f} (ratio {soft / loud:.2f})")
    assert loud > 300, "the end chime was not heard"
    assert soft > 10, "the cue chime was not heard"
    assert soft < 0.5 * loud
