"""A private PulseAudio server that records what it plays, and tools to analyse recordings.

VLC's ``afile`` output has no volume control and rewrites its file at every track (see
docs/OPERATIONS.md, "No sound"), so fades, loops and the chime are checked through a real sound
server instead: a PulseAudio daemon of the test's own (null sink, a unix socket in a temp
folder, no network), recorded in real time by ``parecord`` from the sink's monitor.
"""

from __future__ import annotations

import array
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from hardware.libvlc import vlc_available

RATE = 44100
DECIMATE = 4  # analyse at 11 025 Hz: every test tone and the chime are far below 5 kHz


@pytest.fixture
def libvlc_present() -> None:
    """Fail, naming the fix, when libvlc cannot be loaded: the libvlc tests never skip."""
    ok, why = vlc_available()
    if not ok:
        pytest.fail(f"no libvlc: {why} (setup.sh installs Debian's libvlc5)")


def have_pulse() -> bool:
    """True if the PulseAudio daemon and its recorder are installed."""
    return bool(shutil.which("pulseaudio") and shutil.which("parecord"))


class PulseServer:
    """Run ``pulseaudio`` with one null sink on a unix socket in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "native"
        self.server = f"unix:{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """Environment for a client of this server."""
        return {"PULSE_SERVER": self.server}

    def start(self) -> PulseServer:
        """Start the daemon and wait until it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "HOME": str(self.folder),
            "XDG_RUNTIME_DIR": str(self.folder),
            "PULSE_RUNTIME_PATH": str(self.folder),
            "XDG_CONFIG_HOME": str(self.folder),
        }
        self.log = open(self.folder / "pulse.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                "pulseaudio",
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "--realtime=no",
                "--high-priority=no",
                "--log-target=stderr",
                "--log-level=error",
                "-L",
                f"module-null-sink sink_name=rec rate={RATE} channels=2",
                "-L",
                f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pulseaudio exited: " + (self.folder / "pulse.log").read_text())
            r = subprocess.run(
                ["pactl", "info"], env={**os.environ, **self.env()}, capture_output=True
            )
            if r.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("pulseaudio did not answer within 15 s")

    def stop(self) -> None:
        """Stop the daemon (only the process this object started)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()

    def record(self, path: Path) -> Recorder:
        """Start recording everything the server plays into the WAV file ``path``."""
        return Recorder(self, path).start()


class Recorder:
    """``parecord`` from the null sink's monitor into a WAV file, in real time."""

    def __init__(self, server: PulseServer, path: Path) -> None:
        self.server = server
        self.path = path
        self.proc: subprocess.Popen[bytes] | None = None
        self.t0 = 0.0

    def start(self) -> Recorder:
        """Start recording; ``t0`` is the monotonic time it started."""
        self.proc = subprocess.Popen(
            [
                "parecord",
                "--device=rec.monitor",
                "--file-format=wav",
                f"--rate={RATE}",
                "--channels=2",
                "--format=s16le",
                "--latency-msec=20",
                str(self.path),
            ],
            env={**os.environ, **self.server.env()},
        )
        # Wait until samples arrive, and place t0 from how many have been written so far.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("parecord exited at once")
            size = self.path.stat().st_size if self.path.exists() else 0
            if size > 44 + RATE * 4 // 10:
                now = time.monotonic()
                self.t0 = now - (size - 44) / (RATE * 4)
                return self
            time.sleep(0.02)
        raise RuntimeError("parecord wrote nothing within 10 s")

    def at(self) -> float:
        """Seconds since the recording started (wall-clock estimate)."""
        return time.monotonic() - self.t0

    def stop(self) -> Track:
        """Stop recording; return the recording."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return Track.load(self.path)


class Track:
    """A recording as mono samples at ``rate`` Hz (left channel, decimated)."""

    def __init__(self, samples: array.array, rate: int) -> None:
        self.samples = samples
        self.rate = rate

    @classmethod
    def load(cls, path: Path, decimate: int = DECIMATE) -> Track:
        """Read a 16-bit WAV file (to its end, whatever the header says of its length)."""
        with wave.open(str(path), "rb") as w:
            channels = w.getnchannels()
            assert w.getsampwidth() == 2, "expected 16-bit samples"
            rate = w.getframerate()
        raw = path.read_bytes()
        start = raw.find(b"data") + 8  # a recorder stopped by a signal may not fix the header
        data = array.array("h", raw[start : start + (len(raw) - start) // 2 * 2])
        if sys.byteorder == "big":
            data.byteswap()
        return cls(data[:: channels * decimate], rate // decimate)

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate

    def window(self, start: float, length: float) -> array.array:
        """Samples from ``start`` for ``length`` seconds."""
        a = max(0, int(start * self.rate))
        return self.samples[a : a + int(length * self.rate)]

    def rms(self, start: float, length: float) -> float:
        """Loudness (root mean square, 0-32768) of a window."""
        w = self.window(start, length)
        if not w:
            return 0.0
        return math.sqrt(sum(x * x for x in w) / len(w))

    def tone(self, freq: float, start: float, length: float) -> float:
        """Amplitude of the ``freq`` Hz component in a window (Goertzel filter)."""
        w = self.window(start, length)
        n = len(w)
        if n == 0:
            return 0.0
        coeff = 2 * math.cos(2 * math.pi * freq / self.rate)
        s1 = s2 = 0.0
        for x in w:
            s1, s2 = x + coeff * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coeff * s1 * s2
        return 2 * math.sqrt(max(power, 0.0)) / n

    def dominant(
        self, freqs: list[float], start: float, length: float, floor: float
    ) -> float | None:
        """Which of ``freqs`` is loudest in a window (None if none reaches ``floor``)."""
        levels = {f: self.tone(f, start, length) for f in freqs}
        best = max(levels, key=lambda f: levels[f])
        return best if levels[best] >= floor else None

    def profile(
        self, freq: float | None, start: float, end: float, step: float = 0.25
    ) -> list[tuple[float, float]]:
        """(time, level) in windows of ``step`` seconds: tone level, or RMS if freq is None."""
        out = []
        t = start
        while t + step <= min(end, self.seconds) + 1e-9:
            level = self.rms(t, step) if freq is None else self.tone(freq, t, step)
            out.append((round(t, 3), level))
            t += step
        return out


def make_tone(path: Path, freq: float, seconds: float, volume: float = 4.0) -> Path:
    """Encode a sine tone (amplitude volume/8) with ffmpeg; the suffix says the format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:duration={seconds}:sample_rate={RATE}",
            "-af",
            f"volume={volume}",
            "-ac",
            "2",
            str(path),
        ],
        check=True,
    )
    return path


def runs(values: list[float | None]) -> list[float | None]:
    """Collapse repeats: [a, a, b, b, a] -> [a, b, a]."""
    out: list[float | None] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out
