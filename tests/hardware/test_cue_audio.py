"""The cue chime through real libvlc."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hardware.music import chime_sound, write_wav
from hardware.vlc_speaker import VlcSpeaker
from tests.rigs.audio_rig import Track, libvlc_present

CHIME_HZ = 523.25  # the base of hardware.music's chime

pytestmark = [
    pytest.mark.vlc,
    pytest.mark.usefixtures(libvlc_present.__name__),  # fails without libvlc
    pytest.mark.timeout(120),
]


def test_cue_chime_plays_the_chime(tmp_path: Path) -> None:
    """Through libvlc's file output (decoded samples): a cue sounds the chime, not the end's.

    Its level (CUE_CHIME_FACTOR of the end chime's) is not measured here: the file output
    has no volume, and through PulseAudio the same chime's level varied several-fold from
    run to run.
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
    chime = Track.load(tmp_path / "out.chime.wav")
    assert chime.dominant([600, CHIME_HZ], 0.05, 0.3, floor=500) == CHIME_HZ
