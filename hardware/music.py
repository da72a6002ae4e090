"""Make a few calm tracks and a chime, so a fresh install plays something.

``massage-hub make-music --config FILE --if-empty`` writes, in pure Python (nothing is
downloaded), into ``speaker.music_dir``:

- ``calm/01-rain.wav``: soft rain-like filtered noise;
- ``calm/02-slow-tones.wav`` and ``calm/03-evening-drone.wav``: slow, breathing chords;
- ``chime.wav`` (beside the playlists, so it is not played as a track): the end-of-session
  bell.

Each track is a short seamless loop repeated (11 025 Hz mono), which keeps generation to a
few seconds on a Pi Zero 2 W. With ``--if-empty`` the tracks are only made when no playlist
has any track yet; the chime is made whenever none exists.
"""

from __future__ import annotations

import math
import random
import sys
import wave
from array import array
from pathlib import Path

from .speaker import AUDIO_EXTENSIONS, find_playlists, find_tracks

RATE = 11025
PLAYLIST = "calm"
CHIME = "chime.wav"
_TABLE_BITS = 12
_TABLE = [math.sin(2 * math.pi * i / (1 << _TABLE_BITS)) for i in range(1 << _TABLE_BITS)]


def _partial(freq: float, n: int, rate: int, amp: float) -> list[float]:
    """Return ``n`` samples of a sine (from a table; 16.16 fixed-point phase)."""
    step = int(freq * (1 << _TABLE_BITS) / rate * 65536)
    mask = (1 << _TABLE_BITS) - 1
    tab = _TABLE
    return [amp * tab[((i * step) >> 16) & mask] for i in range(n)]


def chord_loop(freqs: list[float], seconds: float, rate: int = RATE) -> list[float]:
    """Return a seamless loop of a soft chord that swells and ebbs once per loop.

    Frequencies are rounded to whole cycles per loop so the loop has no seam.
    """
    n = int(seconds * rate)
    total = [0.0] * n
    for k, f in enumerate(freqs):
        f = round(f * seconds) / seconds
        amp = 0.22 / (1 + 0.6 * k)
        part = _partial(f, n, rate, amp)
        # each voice breathes on its own phase: one slow swell per loop
        phase = k / max(1, len(freqs))
        env = [0.55 + 0.45 * math.sin(2 * math.pi * (i / n + phase)) for i in range(0, n, 64)]
        total = [t + p * env[i >> 6] for i, (t, p) in enumerate(zip(total, part, strict=True))]
    return total


def rain_loop(seconds: float, rate: int = RATE, seed: int = 7) -> list[float]:
    """Return a seamless loop of soft rain-like noise (low-passed, gently swelling)."""
    rnd = random.Random(seed)
    fade = int(rate * 1.0)
    n = int(seconds * rate) + fade
    out = [0.0] * n
    low = 0.0
    lower = 0.0
    gauss = rnd.gauss
    for i in range(n):
        white = gauss(0.0, 1.0)
        low += 0.18 * (white - low)  # hiss of the rain
        lower += 0.02 * (white - lower)  # the rumble under it
        out[i] = 0.13 * low + 0.35 * lower
    swell = [
        0.75 + 0.25 * math.sin(2 * math.pi * i / (n - fade)) for i in range(0, n - fade + 64, 64)
    ]
    body = [s * swell[i >> 6] for i, s in enumerate(out[: n - fade])]
    # crossfade the extra tail into the head so the loop has no seam
    for i in range(fade):
        x = i / fade
        body[i] = body[i] * x + out[n - fade + i] * swell[0] * (1 - x)
    return body


def chime_sound(seconds: float = 3.0, rate: int = RATE) -> list[float]:
    """Return a soft bell: a few inharmonic partials with an exponential decay."""
    n = int(seconds * rate)
    base = 523.25
    total = [0.0] * n
    for ratio, amp, decay in ((1.0, 0.35, 1.2), (2.76, 0.12, 2.4), (5.4, 0.05, 4.0)):
        part = _partial(base * ratio, n, rate, amp)
        total = [
            t + p * math.exp(-decay * i / rate) * min(1.0, i / (0.005 * rate))
            for i, (t, p) in enumerate(zip(total, part, strict=True))
        ]
    return total


def write_wav(path: Path, samples: list[float], repeat: int = 1, rate: int = RATE) -> None:
    """Write mono 16-bit samples (-1..1), ``repeat`` times over, to ``path``."""
    pcm = array(
        "h", [int(32000.0 * (1.0 if s > 1.0 else -1.0 if s < -1.0 else s)) for s in samples]
    )
    if sys.byteorder == "big":
        pcm.byteswap()
    data = pcm.tobytes() * repeat
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)
    tmp.replace(path)


def has_tracks(music_dir: Path) -> bool:
    """True if any playlist (sub-folder) of ``music_dir`` holds a playable file."""
    return any(find_tracks(music_dir / name) for name in find_playlists(music_dir))


def has_chime(music_dir: Path) -> bool:
    """True if ``music_dir`` has a chime file."""
    return any((music_dir / f"chime{ext}").is_file() for ext in AUDIO_EXTENSIONS)


def generate(music_dir: Path, *, if_empty: bool = True) -> list[Path]:
    """Write the calm tracks and the chime as needed; return the files written."""
    written: list[Path] = []
    if not (if_empty and has_tracks(music_dir)):
        calm = music_dir / PLAYLIST
        tracks = [
            ("01-rain.wav", lambda: rain_loop(5.0), 8),
            ("02-slow-tones.wav", lambda: chord_loop([110.0, 164.8, 220.0, 277.2], 5.0), 8),
            ("03-evening-drone.wav", lambda: chord_loop([98.0, 146.8, 196.0, 246.9], 5.0), 8),
        ]
        for name, make, repeat in tracks:
            write_wav(calm / name, make(), repeat)
            written.append(calm / name)
    if not has_chime(music_dir):
        write_wav(music_dir / CHIME, chime_sound())
        written.append(music_dir / CHIME)
    return written
