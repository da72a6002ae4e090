"""The speaker interface, and a silent speaker used when no audio output is available."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

AUDIO_EXTENSIONS = (".mp3", ".ogg", ".oga", ".flac", ".wav")  # what a playlist may hold


def find_tracks(folder: Path) -> list[Path]:
    """Return the playable files in ``folder``, sorted by name."""
    try:
        files = [
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
        ]
    except OSError:
        return []
    return sorted(files, key=lambda p: p.name.lower())


def find_playlists(music_dir: Path) -> list[str]:
    """Return the names of the sub-folders of ``music_dir`` (each one a playlist)."""
    try:
        return sorted(
            p.name for p in music_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    except OSError:
        return []


#: a cue chime's level against the end chime's (libvlc: about a third as loud)
CUE_CHIME_FACTOR = 0.7


def capped(volume: float, loudest: float | None) -> float:
    """``volume``, never above ``loudest`` (a person's volume cap; None: no cap)."""
    return volume if loudest is None else max(0.0, min(volume, float(loudest)))


class Speaker(Protocol):
    """What the hub needs of a speaker; volume is 0-100 and is faded by the hub."""

    kind: str
    backend: str

    @property
    def volume(self) -> float: ...
    @volume.setter
    def volume(self, value: float) -> None: ...
    @property
    def playing(self) -> bool: ...

    def playlists(self) -> list[str]: ...
    def play(self, playlist: str | None = None) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...
    def next_track(self) -> None: ...
    def chime(self, loudest: float | None = None) -> None: ...
    def cue_chime(self, loudest: float | None = None) -> None: ...
    def state(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class SilentSpeaker:
    """Keep a speaker's state (playlist, volume, playing) without making any sound."""

    kind = "speaker"
    backend = "silent"

    def __init__(
        self,
        *,
        playlists: list[str] | None = None,
        max_volume: float = 100.0,
        chime_volume: float = 50.0,
    ) -> None:
        self._playlists = list(playlists or [])
        self.max_volume = float(max_volume)
        self.chime_volume = min(self.max_volume, float(chime_volume))
        self.chime_levels: list[float] = []  # each chime's level (after any cap)
        self._volume = 0.0
        self._playing = False
        self._paused = False
        self._playlist: str | None = None
        self.chimes = 0
        self.cue_chimes = 0

    @property
    def volume(self) -> float:
        """Volume 0-100 (never above ``max_volume``)."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = min(self.max_volume, max(0.0, float(value)))

    @property
    def playing(self) -> bool:
        """True while music is playing (not paused or stopped)."""
        return self._playing and not self._paused

    def playlists(self) -> list[str]:
        """Return the names of the playlists."""
        return list(self._playlists)

    def play(self, playlist: str | None = None) -> None:
        """Start ``playlist`` (or the current one) from its first track."""
        if playlist is not None:
            self._playlist = playlist
        self._playing = True
        self._paused = False

    def pause(self) -> None:
        """Pause playback."""
        if self._playing:
            self._paused = True

    def resume(self) -> None:
        """Resume after a pause."""
        self._paused = False

    def stop(self) -> None:
        """Stop playback."""
        self._playing = False
        self._paused = False

    def next_track(self) -> None:
        """Skip to the next track (nothing to skip when silent)."""

    def chime(self, loudest: float | None = None) -> None:
        """Sound the end-of-session chime (counted and its level kept, not heard)."""
        self.chimes += 1
        self.chime_levels.append(capped(self.chime_volume, loudest))

    def cue_chime(self, loudest: float | None = None) -> None:
        """Sound the soft cue chime (counted and its level kept, not heard)."""
        self.cue_chimes += 1
        self.chime_levels.append(capped(self.chime_volume * CUE_CHIME_FACTOR, loudest))

    def state(self) -> dict[str, Any]:
        """Return the speaker's state for the API."""
        return {
            "kind": self.kind,
            "volume": round(self._volume, 1),
            "playing": self.playing,
            "paused": self._playing and self._paused,
            "playlist": self._playlist,
            "track": None,
            "backend": self.backend,
        }

    def close(self) -> None:
        """Stop."""
        self.stop()
