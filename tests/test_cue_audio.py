"""The cue chime through real libvlc: the chime's sound, at a level below the end chime's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hardware.music import chime_sound, write_wav
from hardware.vlc_speaker import VlcSpeaker, vlc_available

from .audio_rig import Track

VLC_OK, VLC_WHY = vlc_available()
CHIME_HZ = 523.25  # the base of hardware.music's chime

pytestmark = [
    pytest.mark.vlc,
    pytest.mark.skipif(not VLC_OK, reason=f"no libvlc: {VLC_WHY}"),
    pytest.mark.timeout(120),
]


def test_cue_chime_plays_the_chime_softer(tmp_path: Path) -> None:
    """Through libvlc's file output (decoded samples, no volume): the cue sounds the chime.

    Its level is set below the end chime's; measuring it through PulseAudio gave levels
    that vary several-fold from run to run for the same chime, so the level is checked on
    the speaker, and the sound through libvlc.
    """
    write_wav(tmp_path / "music" / "chime.wav", chime_sound(1.0))
    out = tmp_path / "out.wav"
    speaker = VlcSpeaker(
        tmp_path / "music", max_volume=80, output="afile", afile_path=out, chime_volume=60
    )
    try:
        speaker.cue_chime()
        time.sleep(1.5)
    finally:
        speaker.close()
    assert speaker.cue_chimes == 1 and speaker.chimes == 0
    assert 0 < speaker.cue_chime_volume < speaker.chime_volume
    chime = Track.load(tmp_path / "out.chime.wav")
    assert chime.dominant([600, CHIME_HZ], 0.05, 0.3, floor=500) == CHIME_HZ
