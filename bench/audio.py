"""Audio figures: the cost of a volume step, of a hub fade tick, of transport calls, and of
making the built-in music.

    .venv/bin/python bench/audio.py

Plays through a private PulseAudio server (as the tests do) when PulseAudio is installed,
else through VLC's dummy output. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_call(fn, n: int) -> float:
    """Microseconds per call of ``fn(i)`` over ``n`` calls (best of 3 runs)."""
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - t) / n * 1e6)
    return min(runs)


def main() -> None:
    """Print the figures."""
    from tests.rigs.audio_rig import PulseServer, have_pulse, make_tone

    tmp = Path(tempfile.mkdtemp(prefix="bench-audio-"))
    t = time.perf_counter()
    import hardware.vlc_speaker as vs

    print(
        f"import hardware.vlc_speaker: {(time.perf_counter() - t) * 1e3:.1f} ms (libvlc not loaded)"
    )
    t = time.perf_counter()
    from hardware.libvlc import vlc_available

    ok, why = vlc_available()
    print(f"vlc_available(): {ok} ({why}) in {(time.perf_counter() - t) * 1e3:.1f} ms")

    from hardware.music import generate

    t = time.process_time()
    generate(tmp / "gen")
    print(f"hardware.music generate (3 tracks + chime): {time.process_time() - t:.2f} s CPU")
    if not ok:
        return

    server = None
    output = "none"
    if have_pulse():
        server = PulseServer(tmp / "pulse").start()
        os.environ.update(server.env())
        output = "pulse"
    try:
        music = tmp / "music"
        make_tone(music / "calm" / "tone.ogg", 330, 30)
        t = time.perf_counter()
        speaker = vs.VlcSpeaker(music, max_volume=80, output=output)
        print(f"output {output}: VlcSpeaker() in {(time.perf_counter() - t) * 1e3:.1f} ms")
        speaker.volume = 40
        t = time.perf_counter()
        speaker.play("calm")
        print(f"play() returns in {(time.perf_counter() - t) * 1e6:.0f} us")
        time.sleep(1.0)
        same = per_call(lambda i: setattr(speaker, "volume", 40 + (i % 3) * 0.1), 20000)
        moving = per_call(lambda i: setattr(speaker, "volume", 20 + i % 40), 3000)
        print(f"volume step, same whole value (skipped): {same:.2f} us")
        print(f"volume step, new value (libvlc call): {moving:.1f} us")
        # a hub fade tick at 60 Hz: the setter over a 20 s fade from 0 to 35
        ticks = [35 * i / 1200 for i in range(1200)]
        t = time.perf_counter()
        for v in ticks:
            speaker.volume = v
        print(
            f"a 20 s fade 0->35 at 60 Hz: {(time.perf_counter() - t) * 1e3:.1f} ms of calls "
            f"for 1200 ticks ({len({int(v + 0.5) for v in ticks})} reached libvlc)"
        )
        times = []
        for _ in range(5):
            t = time.perf_counter()
            speaker.next_track()
            times.append((time.perf_counter() - t) * 1e6)
            time.sleep(0.3)
        print(f"next_track() returns in {statistics.median(times):.0f} us (median of 5)")
        time.sleep(2.0)  # let PulseAudio work through the thousands of volume calls above
        t = time.perf_counter()
        speaker.close()
        print(f"close() in {(time.perf_counter() - t) * 1e3:.0f} ms")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
