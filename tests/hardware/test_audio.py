"""Audio without sound: the fallback when libvlc is missing, and the generated music."""

from __future__ import annotations

import logging
import subprocess
import sys
import wave
from array import array
from pathlib import Path

import pytest

import hardware.libvlc as libvlc
import hardware.speaker as speaker
from hardware import SilentSpeaker
from hardware.music import CHIME, PLAYLIST, RATE, generate, has_tracks
from hardware.pins import SimFactory
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import FakeClock
from hub.room.building import build_speaker
from tests.rigs.support import ROOT, write_config


def samples(path: Path) -> tuple[array, int]:
    """Return the 16-bit mono samples of a WAV file and its rate."""
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return array("h", w.readframes(w.getnframes())), w.getframerate()


def test_no_libvlc_warns_and_falls_back_to_a_silent_speaker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    def missing() -> None:
        raise OSError("libvlc.so.5: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(libvlc, "load_vlc", missing)
    ok, why = libvlc.vlc_available()
    assert not ok and "libvlc5" in why and "vlc-plugin-base" in why
    (tmp_path / "music" / "calm").mkdir(parents=True)
    config = load_config(write_config(tmp_path, {"speaker": {"output": "auto"}}))
    with caplog.at_level(logging.WARNING):
        speaker = build_speaker(config)
    assert isinstance(speaker, SilentSpeaker)
    assert any("no audio" in r.getMessage() and "libvlc" in r.getMessage() for r in caplog.records)
    # everything else keeps working, music commands included
    clock = FakeClock()
    hub = Hub(config, clock=clock, pin_factory=SimFactory())
    hub.start()
    try:
        assert hub.state()["audio"] == "silent"
        hub.devices.set("speaker", {"playlist": "calm", "volume": 40})
        hub.sessions.start("wind-down", 1)
        hub.advance(60 + 300 + 1)  # a minute, then the scene's five-minute fade-out
        assert hub.sessions.current is None and hub.sessions.last["end_reason"] == "completed"
        assert hub.room.speaker.chimes == 1
    finally:
        hub.close()


def test_the_environment_can_switch_libvlc_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(libvlc.DISABLE_ENV, "1")
    ok, why = libvlc.vlc_available()
    assert not ok and libvlc.DISABLE_ENV in why


def test_output_none_is_silent_without_touching_libvlc(tmp_path: Path):
    config = load_config(write_config(tmp_path, {"speaker": {"output": "none"}}))
    assert isinstance(build_speaker(config), SilentSpeaker)


def test_output_options():
    assert "--aout=alsa" in libvlc.instance_args("alsa", None, None)
    assert "--alsa-audio-device=hw:CARD=Headphones" in libvlc.instance_args(
        "alsa", "hw:CARD=Headphones", None
    )
    assert "--aout=pulse" in libvlc.instance_args("pulse", None, None)
    assert not [a for a in libvlc.instance_args("auto", None, None) if a.startswith("--aout")]
    assert "--audiofile-file=/x.wav" in libvlc.instance_args("afile", None, Path("/x.wav"))
    with pytest.raises(ValueError, match="afile_path"):
        libvlc.instance_args("afile", None, None)
    with pytest.raises(ValueError, match="output must be one of"):
        libvlc.instance_args("jack", None, None)


def test_playlists_and_tracks_are_found_sorted(tmp_path: Path):
    music = tmp_path / "music"
    for name in ("b.MP3", "a.ogg", "c.flac", "d.wav", "notes.txt", ".hidden.mp3", "e.oga"):
        (music / "calm" / name).parent.mkdir(parents=True, exist_ok=True)
        (music / "calm" / name).write_bytes(b"")
    (music / "rain").mkdir()
    (music / ".cache").mkdir()
    (music / "chime.wav").write_bytes(b"")
    assert speaker.find_playlists(music) == ["calm", "rain"]
    names = [p.name for p in speaker.find_tracks(music / "calm")]
    assert names == ["a.ogg", "b.MP3", "c.flac", "d.wav", "e.oga"]
    assert speaker.find_playlists(tmp_path / "nowhere") == []


def test_generated_music_is_calm_seamless_and_made_once(tmp_path: Path):
    music = tmp_path / "music"
    written = generate(music, if_empty=True)
    names = sorted(p.relative_to(music).as_posix() for p in written)
    assert names == [
        "calm/01-rain.wav",
        "calm/02-slow-tones.wav",
        "calm/03-evening-drone.wav",
        "chime.wav",
    ]
    assert PLAYLIST == "calm" and has_tracks(music)
    for path in written:
        data, rate = samples(path)
        assert rate == RATE
        peak = max(abs(x) for x in data)
        rms = (sum(x * x for x in data) / len(data)) ** 0.5
        assert rms > 1500 and peak < 32000, (path.name, rms, peak)  # audible, never clipped
        assert data[0] == pytest.approx(0, abs=2000)  # starts softly
    for name in ("01-rain.wav", "02-slow-tones.wav"):
        data, rate = samples(music / "calm" / name)
        assert len(data) / rate >= 30  # long enough not to feel like a loop
        # the loop repeats without a click: the step across the seam is like any other step
        loop = 5 * rate
        steps = [abs(data[i + 1] - data[i]) for i in range(loop - 200, loop + 200)]
        assert steps[199] <= 3 * max(steps[:150]) + 50
    chime, rate = samples(music / CHIME)
    assert max(abs(x) for x in chime[: rate // 2]) > 4 * max(abs(x) for x in chime[-rate // 4 :])
    # a second run leaves everything alone; a user's own music is never touched
    assert generate(music, if_empty=True) == []
    own = tmp_path / "own"
    (own / "jazz").mkdir(parents=True)
    (own / "jazz" / "song.mp3").write_bytes(b"ID3")
    assert [p.name for p in generate(own, if_empty=True)] == [CHIME]
    assert not (own / "calm").exists()


def test_music_command_uses_the_config(tmp_path: Path):
    config_path = write_config(tmp_path)
    cmd = [
        sys.executable,
        "-m",
        "hub.cli",
        "make-music",
        "--config",
        str(config_path),
        "--if-empty",
    ]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "made 4 file(s)" in first.stdout
    assert (tmp_path / "music" / "calm" / "01-rain.wav").is_file()
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing made" in again.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("speaker: {music_dri: x}\n")
    err = subprocess.run(
        [sys.executable, "-m", "hub.cli", "make-music", "--config", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert err.returncode == 1 and "music_dri" in err.stderr


def test_manual_play_starts_muted_and_ramps(hub: Hub, clock: FakeClock):
    speaker = hub.room.speaker
    state = hub.devices.set("speaker", {"playlist": "calm", "volume": 50})
    assert state["playing"] and state["volume"] == 0 and state["fading_to"] == {"volume": 50}
    hub.advance(1.0)
    assert 0 < speaker.volume < 50
    hub.advance(1.5)
    assert speaker.volume == 50
    hub.devices.set("speaker", {"volume": 20})  # already playing: as asked, at once
    assert speaker.volume == 20
    hub.devices.set("speaker", {"playing": False})
    hub.devices.set("speaker", {"playing": True})  # back from a pause: softly again
    assert speaker.volume == 0
    hub.advance(3)
    assert speaker.volume == 20


def test_session_resume_brings_music_back_softly(hub: Hub, clock: FakeClock):
    hub.sessions.start("wind-down", 30)
    hub.advance(60)
    full = hub.room.speaker.volume
    assert full > 0
    hub.sessions.pause()
    assert not hub.room.speaker.playing
    hub.advance(10)
    hub.sessions.resume()
    assert hub.room.speaker.playing and hub.room.speaker.volume == 0
    hub.advance(1)
    assert 0 < hub.room.speaker.volume < full
    hub.advance(2)
    assert hub.room.speaker.volume == pytest.approx(full)
