"""The speaker on real libvlc: what it plays is recorded and checked.

Fades, loops, pauses and the chime go through a real PulseAudio server of the test's own
(null sink, recorded in real time; see tests/rigs/audio_rig.py). VLC's ``afile`` output is
checked too, for what it can show: it has no volume control and rewrites its file at each
track. Everything runs in real time, so tracks and fades are a few seconds long.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware.music import chime_sound, generate, write_wav
from hardware.vlc_speaker import VlcSpeaker
from hub.config.model import load_config
from hub.core import Hub
from hub.engine.clock import RealClock
from hub.errors import InvalidCommand
from tests.rigs.audio_rig import PulseServer, Track, have_pulse, libvlc_present, make_tone, runs
from tests.rigs.live import create_token
from tests.rigs.support import ROOT, ServeProcess, wait_for, write_config

pytestmark = [
    pytest.mark.vlc,
    pytest.mark.usefixtures(libvlc_present.__name__),  # fails without libvlc
    pytest.mark.timeout(120),
]


needs_pulse = pytest.mark.usefixtures("pulse")  # fails without PulseAudio (see pulse)

CHIME_HZ = 523.25  # the base of hardware.music's chime


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A private PulseAudio server with a recordable null sink."""
    if not have_pulse():
        pytest.fail("PulseAudio is not installed (setup.sh --test installs pulseaudio)")
    server = PulseServer(tmp_path_factory.mktemp("pulse")).start()
    yield server
    server.stop()


@pytest.fixture
def pulse_env(pulse: PulseServer, monkeypatch: pytest.MonkeyPatch) -> PulseServer:
    """Point libpulse (inside libvlc) at the private server."""
    for key, value in pulse.env().items():
        monkeypatch.setenv(key, value)
    return pulse


def make_hub(folder: Path, speaker: dict[str, Any] | None = None) -> Hub:
    """A started hub on a real clock, simulated pins, and the speaker on PulseAudio."""
    path = write_config(
        folder, {"speaker": {"output": "pulse", "max_volume": 80, **(speaker or {})}}
    )
    hub = Hub(load_config(path), clock=RealClock())
    hub.start()
    return hub


def events_of(hub: Hub) -> list[Any]:
    """Collect the hub's events (the callback only appends: quick, never blocks)."""
    seen: list[Any] = []
    hub.subscribe(seen.append)
    return seen


@needs_pulse
def test_playlist_loops_in_order_through_real_decoders(pulse_env: PulseServer, tmp_path: Path):
    music = tmp_path / "music" / "tones"
    make_tone(music / "01-a.ogg", 440, 2.5)
    make_tone(music / "02-b.mp3", 660, 2.5)
    make_tone(music / "03-c.flac", 880, 2.5)
    hub = make_hub(tmp_path)
    try:
        assert hub.state()["audio"] == "vlc"
        assert hub.room.speaker.playlists() == ["tones"]
        seen = events_of(hub)
        rec = pulse_env.record(tmp_path / "rec.wav")
        state = hub.devices.set("speaker", {"playlist": "tones", "volume": 70})
        assert state["playing"] and state["playlist"] == "tones" and state["track"] == "01-a.ogg"
        assert state["volume"] == 0 and state["fading_to"] == {"volume": 70}  # muted, ramping
        time.sleep(8.5)  # 01 02 03 01 and a bit
        track = rec.stop()
        played = list(seen)  # what listeners heard while it played (closing stops the music)
    finally:
        hub.close()

    tones = [track.dominant([440, 660, 880], t / 10, 0.1, floor=20) for t in range(0, 90)]
    order = [f for f in runs(tones) if f is not None]
    assert order[:4] == [440, 660, 880, 440], " ".join(str(t) for t in tones)
    # the hub told its listeners about each new track, in order
    moved = [
        e.data["changes"]["track"]
        for e in played
        if e.type == "device" and "track" in e.data.get("changes", {})
    ]
    assert moved[:3] == ["02-b.mp3", "03-c.flac", "01-a.ogg"], moved
    assert all(e.state["devices"]["speaker"]["playlist"] == "tones" for e in played)


@needs_pulse
def test_next_track_and_stale_end_events(pulse_env: PulseServer, tmp_path: Path):
    music = tmp_path / "music" / "tones"
    for name, freq in (("01-a.ogg", 440), ("02-b.ogg", 660), ("03-c.ogg", 880)):
        make_tone(music / name, freq, 6.0)  # long enough that VLC is not draining its end
    speaker = VlcSpeaker(tmp_path / "music", max_volume=80, output="pulse")
    try:
        rec = pulse_env.record(tmp_path / "rec.wav")
        speaker.volume = 60
        speaker.play("tones")
        time.sleep(0.8)
        t_next = rec.at()
        speaker.next_track()
        assert speaker.state()["track"] == "02-b.ogg"
        time.sleep(1.2)
        t_next2 = rec.at()
        speaker.next_track()
        speaker.next_track()  # quickly twice: 03 then back to 01
        assert speaker.state()["track"] == "01-a.ogg"
        time.sleep(1.0)
        track = rec.stop()
        assert speaker.state()["track"] == "01-a.ogg"  # no stale end event moved it on
    finally:
        speaker.close()
    assert track.dominant([440, 660, 880], t_next - 0.4, 0.2, 150) == 440
    assert track.dominant([440, 660, 880], t_next2 - 0.5, 0.3, 150) == 660
    assert track.dominant([440, 660, 880], t_next2 + 0.6, 0.3, 150) == 440


@needs_pulse
def test_session_fades_in_pauses_fades_out_and_chimes(pulse_env: PulseServer, tmp_path: Path):
    make_tone(tmp_path / "music" / "calm" / "tone.ogg", 330, 30)
    write_wav(tmp_path / "music" / "chime.wav", chime_sound())
    hub = make_hub(tmp_path)
    try:
        hub.scenes.create(
            {
                "id": "audio-test",
                "name": "Audio test",
                "lights": {"*": 0.3},
                "playlist": "calm",
                "volume": 80,
                "fade_seconds": 3,
                "fade_out_seconds": 3,
            }
        )
        seen = events_of(hub)
        rec = pulse_env.record(tmp_path / "rec.wav")
        time.sleep(0.5)
        t_start = rec.at()
        hub.sessions.start("audio-test", 1)
        # wait for the state, not a time window: on a busy or slow machine the fade ends
        # late, and the level must be measured at full volume (a 1 s hold after it)
        speaker = lambda: hub.state()["devices"]["speaker"]  # noqa: E731
        at_full = lambda: speaker()["playing"] and speaker()["volume"] >= 79.5  # noqa: E731
        wait_for(at_full, timeout=30)
        time.sleep(max(1.5, 4.5 - (rec.at() - t_start)))
        t_pause = rec.at()
        hub.sessions.pause()
        assert not hub.state()["devices"]["speaker"]["playing"]
        time.sleep(1.5)
        t_resume = rec.at()
        hub.sessions.resume()
        time.sleep(0.5)  # the resume's fade-in starts from silence
        wait_for(at_full, timeout=30)
        time.sleep(max(1.5, 3.0 - (rec.at() - t_resume)))
        t_stop = rec.at()
        hub.sessions.stop()
        wait_for(lambda: hub.sessions.current is None, timeout=8)
        t_end = rec.at()
        time.sleep(3.0)
        track = rec.stop()
        assert hub.room.speaker.chimes == 1
        assert hub.state()["devices"]["speaker"]["playing"] is False
    finally:
        hub.close()

    tone = lambda a, n=0.25: track.tone(330, a, n)  # noqa: E731

    def steady(a: float, n: float) -> float:
        # the loudest 0.1 s in a window where the level holds: a busy CPU makes libvlc miss
        # a buffer now and then (a short gap of silence), which lowers a window's mean
        return max(tone(a + k / 10, 0.1) for k in range(round(n * 10)))

    full = steady(t_pause - 1.0, 0.8)
    assert full > 2000, f"the music did not play (level {full:.0f})"
    assert tone(0, t_start) < 0.02 * full  # silent before the session
    # fade-in: starts muted and rises step by step to full over the scene's 3 s
    rise = [tone(t_start + x) for x in (0.25, 1.0, 1.75, 2.5)]
    assert rise[0] < 0.3 * full, rise
    assert rise == sorted(rise) and rise[-1] - rise[0] > 0.4 * full, rise
    steps = track.profile(330, t_start, t_start + 3.5)
    assert max(b - a for (_, a), (_, b) in zip(steps, steps[1:], strict=False)) < 0.5 * full
    # pause leaves a gap, resume comes back softly
    assert tone(t_pause + 0.4, t_resume - t_pause - 0.5) < 0.03 * full
    assert tone(t_resume + 0.05) < 0.6 * tone(t_resume + 2.4, 0.5)
    assert steady(t_stop - 1.0, 0.8) == pytest.approx(full, rel=0.25)
    # fade-out: falls step by step to silence over 3 s
    fall = [tone(t_stop + x) for x in (0.25, 1.0, 1.75, 2.5)]
    # libvlc's gain follows the volume on a curve, so a quarter second in the level is already
    # well below full; what matters is that it goes down in steps, not at once, to silence
    assert fall == sorted(fall, reverse=True), fall
    assert fall[0] > 0.2 * full and fall[0] - fall[-1] > 0.3 * full, fall
    assert tone(t_end + 0.3, 1.0) < 0.03 * full
    # the chime sounds at the end, on its own (the music has stopped), and not before
    chime = max(track.tone(CHIME_HZ, t_end - 0.3 + x / 4, 0.25) for x in range(10))
    assert chime > 300, f"no chime after the session (level {chime:.0f})"
    assert track.tone(CHIME_HZ, t_start, t_stop - t_start) < 0.1 * chime
    # the speaker's state went out with the events
    phases = [e.data.get("action") for e in seen if e.type == "session"]
    assert phases[:4] == ["started", "paused", "resumed", "fade_out"], phases
    volumes = [e.state["devices"]["speaker"]["volume"] for e in seen if e.type == "progress"]
    assert max(volumes) == pytest.approx(80, abs=1)


@needs_pulse
def test_volume_is_capped_and_cheap_to_set(pulse_env: PulseServer, tmp_path: Path):
    make_tone(tmp_path / "music" / "calm" / "tone.ogg", 330, 10)
    speaker = VlcSpeaker(tmp_path / "music", max_volume=40, output="pulse")
    try:
        rec = pulse_env.record(tmp_path / "rec.wav")
        speaker.volume = 100
        assert speaker.volume == 40
        speaker.play("calm")
        time.sleep(1.5)
        t_capped = rec.at()
        speaker.max_volume = 80
        speaker.volume = 80
        time.sleep(1.2)
        t_full = rec.at()
        # the hub sets the volume ~60 times a second; unchanged whole steps are skipped
        for i in range(600):
            speaker.volume = 80 - (i % 2) * 0.1
        track = rec.stop()
    finally:
        speaker.close()
    capped = track.tone(330, t_capped - 0.9, 0.6)
    full = track.tone(330, t_full - 0.8, 0.6)
    levels = track.profile(330, 0, track.seconds)
    assert full > 2000, levels
    # libvlc's volume is perceptual (cubic): 40 is an eighth of the amplitude of 80
    assert capped == pytest.approx(full / 8, rel=0.3), levels


def test_afile_output_records_decoded_audio_and_the_chime(tmp_path: Path):
    make_tone(tmp_path / "music" / "one" / "tone.mp3", 600, 1.5)
    write_wav(tmp_path / "music" / "chime.wav", chime_sound(1.0))
    out = tmp_path / "out.wav"
    speaker = VlcSpeaker(tmp_path / "music", max_volume=80, output="afile", afile_path=out)
    try:
        speaker.volume = 80
        speaker.play("one")
        time.sleep(1.0)
        speaker.chime()
        time.sleep(1.0)
        speaker.stop()
    finally:
        speaker.close()
    music = Track.load(out)
    assert music.seconds > 0.5
    assert music.dominant([600, CHIME_HZ], 0.1, 0.4, floor=1000) == 600
    chime = Track.load(tmp_path / "out.chime.wav")
    assert chime.dominant([600, CHIME_HZ], 0.05, 0.3, floor=500) == CHIME_HZ


def test_fresh_install_music_plays(tmp_path: Path):
    music = tmp_path / "music"
    generate(music)
    out = tmp_path / "out.wav"
    speaker = VlcSpeaker(music, max_volume=80, output="afile", afile_path=out)
    try:
        assert speaker.playlists() == ["calm"]
        assert [p.name for p in speaker.tracks("calm")] == [
            "01-rain.wav",
            "02-slow-tones.wav",
            "03-evening-drone.wav",
        ]
        speaker.play("calm")
        # 11 025 Hz mono: 30 kB is well over a second of rain
        wait_for(lambda: out.exists() and out.stat().st_size > 30_000, timeout=10)
        speaker.stop()
    finally:
        speaker.close()
    rain = Track.load(out, decimate=1)
    assert rain.rate == 11025 and rain.rms(0.2, 1.0) > 500


def test_commands_from_other_threads_while_short_tracks_end(tmp_path: Path):
    """Tracks that end at once, in a loop, while commands come from other threads."""
    music = tmp_path / "music" / "blips"
    for i, f in enumerate((500, 700)):
        make_tone(music / f"{i}.ogg", f, 0.15)
    out = tmp_path / "out.wav"
    speaker = VlcSpeaker(tmp_path / "music", output="afile", afile_path=out)
    changes: list[dict[str, Any]] = []
    speaker.on_change = changes.append
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for i in range(200):
                speaker.volume = i % 100
                if i % 50 == 0:
                    speaker.pause()
                    speaker.resume()
                speaker.state()
                time.sleep(0.005)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        speaker.play("blips")
        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_for(lambda: len(changes) >= 4, timeout=10)
    finally:
        speaker.close()
    assert not errors
    assert {c["track"] for c in changes} == {"0.ogg", "1.ogg"}


@needs_pulse
def test_missing_playlist_is_a_clear_error_and_changes_nothing(
    pulse_env: PulseServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    make_tone(tmp_path / "music" / "calm" / "tone.ogg", 330, 2)
    hub = make_hub(tmp_path)
    try:
        before = hub.state()["devices"]["speaker"]
        with pytest.raises(InvalidCommand) as err:
            hub.devices.set("speaker", {"playlist": "jazz", "volume": 50})
        assert err.value.status == 422 and "calm" in str(err.value)
        after = hub.state()["devices"]["speaker"]
        assert after == before and not hub.room.speaker.playing
    finally:
        hub.close()
    assert logging.WARNING not in [r.levelno for r in caplog.records if "vlc" in r.name]


@needs_pulse
def test_the_service_plays_the_generated_music_and_stops_it_on_sigterm(
    pulse: PulseServer, tmp_path: Path
):
    config_path = write_config(tmp_path, {"speaker": {"output": "pulse", "max_volume": 80}})
    made = subprocess.run(
        [sys.executable, "-m", "hub.cli", "make-music", "--config", str(config_path), "--if-empty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0 and "made 4 file(s)" in made.stdout, made.stderr
    token = create_token(config_path)
    service = ServeProcess(config_path, env=pulse.env()).start()
    rec = pulse.record(tmp_path / "rec.wav")
    try:

        def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            req = urllib.request.Request(
                service.base_url + path,
                method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"null")

        assert call("GET", "/api/v1/state")["audio"] == "vlc"
        call("PUT", "/api/v1/devices/speaker", {"playlist": "calm", "volume": 60})
        time.sleep(3.0)
        speaker = call("GET", "/api/v1/state")["devices"]["speaker"]
        assert speaker["playing"] and speaker["track"] == "01-rain.wav"
        assert speaker["volume"] == 60
        t_term = rec.at()
        t = time.monotonic()
        assert service.stop(signal.SIGTERM) == 0
        stopped_in = time.monotonic() - t
        time.sleep(1.0)
        track = rec.stop()
    finally:
        service.stop()
    assert stopped_in < 8, f"the service took {stopped_in:.1f} s to stop"
    assert "no audio" not in service.log()
    rain = track.rms(t_term - 1.0, 0.8)
    assert rain > 300, f"no music from the service (rms {rain:.0f})"
    assert track.rms(t_term + stopped_in + 0.3, 0.5) < 0.05 * rain  # music off at shutdown
