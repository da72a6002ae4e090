"""The speaker on libvlc (python-vlc): playlists from a music folder, looping, volume, chime.

Wiring: any audio output the Pi has (3.5 mm jack, HDMI, a USB or I2S DAC). On a Pi without
a desktop session VLC talks to ALSA directly (``output: alsa``, ``device: default`` or e.g.
``hw:CARD=Headphones``); with PulseAudio or PipeWire running, ``output: pulse``.

Each sub-folder of the music folder is a playlist. Tracks are played one at a time on one
``MediaPlayer`` and advanced from this object's own queue, so a playlist loops without
``MediaListPlayer`` (whose loop mode stops after the first item on Raspberry Pi OS).
libvlc is not re-entrant: its event callbacks only put a note in a queue, and a daemon
thread of ours does the work. The end-of-session chime plays on a second player, so a
music fade never silences it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import libvlc
from .libvlc import instance_args
from .speaker import AUDIO_EXTENSIONS, CUE_CHIME_FACTOR, capped, find_playlists, find_tracks

log = logging.getLogger(__name__)

CHIME_NAMES = ("chime.wav", "chime.ogg", "chime.flac", "chime.mp3")


class VlcSpeaker:
    """Play playlists from ``music_dir`` through libvlc; volume 0-100, capped at ``max_volume``.

    ``output`` is auto (VLC chooses: PulseAudio if a server runs, else ALSA), alsa (with
    ``device``, an ALSA device name), pulse (``device`` names a sink), afile (write the
    samples to ``afile_path``: VLC's file output has no volume control and rewrites the
    file at each track) or none. ``chime_volume`` is the chime's level (also capped).

    Every method returns at once: the state it reports is the one asked for, and a worker
    thread brings libvlc to it. That matters because libvlc can block for up to two
    seconds when a track is stopped near its end (VLC drains the last buffered audio), and
    the hub calls the speaker with its lock held.
    """

    kind = "speaker"
    backend = "vlc"

    def __init__(
        self,
        music_dir: Path | str,
        *,
        max_volume: float = 100.0,
        output: str = "auto",
        device: str | None = None,
        afile_path: Path | str | None = None,
        chime_volume: float = 50.0,
        chime_path: Path | str | None = None,
    ) -> None:
        self.music_dir = Path(music_dir)
        self._playlists_cache: tuple[int | None, list[str]] | None = None  # (folder mtime, names)
        self.max_volume = min(100.0, max(0.0, float(max_volume)))
        self.output = output
        self.device = device
        self.afile_path = Path(afile_path) if afile_path is not None else None
        self.chime_volume = min(self.max_volume, max(0.0, float(chime_volume)))
        self.chime_path = Path(chime_path) if chime_path is not None else None
        self.on_change: Callable[[dict[str, Any]], None] | None = None
        self.chimes = 0
        self.cue_chimes = 0
        self.chime_levels: list[float] = []  # each chime's level as played (after any cap)
        vlc = libvlc.load_vlc()
        self._instance = vlc.Instance(instance_args(output, device, self.afile_path))
        if self._instance is None:
            raise RuntimeError(f"libvlc could not start with output {output!r}")
        self._chime_instance = self._instance
        if output == "afile" and self.afile_path is not None:
            # One file per player: the chime gets "<name>.chime.wav" beside the music's file.
            chime_file = self.afile_path.with_name(self.afile_path.stem + ".chime.wav")
            self._chime_instance = vlc.Instance(instance_args(output, device, chime_file))
        self._player = self._instance.media_player_new()
        self._chime_player = self._chime_instance.media_player_new()
        if device and output == "pulse":
            for player in (self._player, self._chime_player):
                player.audio_output_device_set(None, device)
        # what was asked for (guarded by _lock); the worker makes libvlc follow it
        self._lock = threading.RLock()
        self._playlist: str | None = None
        self._tracks: list[Path] = []
        self._index = 0
        self._active = False
        self._paused = False
        self._errors = 0
        self._generation = 0  # counts track starts; libvlc events carry the one they belong to
        # volume: set from any thread; libvlc's volume call never blocks
        self._volume = 0.0
        self._vol_lock = threading.Lock()
        self._applied = 0
        self._player.audio_set_volume(0)
        # owned by the worker thread
        self._vlc_generation: int | None = None
        self._vlc_paused = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        manager = self._player.event_manager()
        manager.event_attach(vlc.EventType.MediaPlayerEndReached, self._on_vlc_event, "end")
        manager.event_attach(vlc.EventType.MediaPlayerEncounteredError, self._on_vlc_event, "error")
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="speaker", daemon=True)
        self._worker.start()

    # --- volume (set by the hub's fades at the control rate: keep it cheap) -----------------

    @property
    def volume(self) -> float:
        """Volume 0-100 (never above ``max_volume``)."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        v = min(self.max_volume, max(0.0, float(value)))
        self._volume = v
        level = int(v + 0.5)
        if level != self._applied:  # most 60 Hz fade steps change nothing audible: skip them
            self._apply_volume(force=False)

    def _apply_volume(self, *, force: bool) -> None:
        with self._vol_lock:
            level = int(self._volume + 0.5)
            if force or level != self._applied:
                self._applied = level
                self._player.audio_set_volume(level)

    @property
    def playing(self) -> bool:
        """True while music is playing (not paused or stopped)."""
        return self._active and not self._paused

    # --- playlists ---------------------------------------------------------------------------

    def playlists(self) -> list[str]:
        """Return the names of the playlists (sub-folders of the music folder).

        Every state the hub sends names them (a fade: 60 a second), so the folder is read
        again only when it changed: adding or removing a sub-folder changes its mtime.
        """
        try:
            stamp = self.music_dir.stat().st_mtime_ns
        except OSError:
            stamp = None
        cached = self._playlists_cache
        if cached is None or cached[0] != stamp or stamp is None:
            cached = (stamp, find_playlists(self.music_dir))
            self._playlists_cache = cached
        return list(cached[1])

    def tracks(self, playlist: str) -> list[Path]:
        """Return the tracks of ``playlist`` in play order."""
        if playlist not in self.playlists():
            raise KeyError(playlist)
        return find_tracks(self.music_dir / playlist)

    def play(self, playlist: str | None = None) -> None:
        """Play ``playlist`` (or the current one) from its first track, looping.

        Asking for the playlist that is already playing keeps it going (and ends a pause).
        """
        with self._lock:
            name = playlist if playlist is not None else self._playlist
            if name is None:
                lists = self.playlists()
                if not lists:
                    log.warning("no playlists in %s: nothing to play", self.music_dir)
                    return
                name = lists[0]
            if self._active and name == self._playlist:
                self._paused = False
            else:
                tracks = find_tracks(self.music_dir / name)
                self._playlist = name
                self._tracks = tracks
                self._index = 0
                self._errors = 0
                self._paused = False
                if tracks:
                    self._active = True
                    self._generation += 1
                else:
                    log.warning("playlist %r has no tracks (%s)", name, ", ".join(AUDIO_EXTENSIONS))
                    self._active = False
        self._queue.put("sync")

    def pause(self) -> None:
        """Pause playback (resume continues where it was)."""
        with self._lock:
            if self._active:
                self._paused = True
        self._queue.put("sync")

    def resume(self) -> None:
        """Resume after a pause."""
        with self._lock:
            self._paused = False
        self._queue.put("sync")

    def stop(self) -> None:
        """Stop playback (the playlist is remembered)."""
        with self._lock:
            self._active = False
            self._paused = False
        self._queue.put("sync")

    def next_track(self) -> None:
        """Skip to the next track of the playlist (the first after the last)."""
        with self._lock:
            if not self._active or not self._tracks:
                return
            self._index = (self._index + 1) % len(self._tracks)
            self._paused = False
            self._generation += 1
        self._queue.put("sync")

    def chime(self, loudest: float | None = None) -> None:
        """Sound the end-of-session chime on its own player, never louder than ``loudest``."""
        self.chimes += 1
        self._queue.put(("chime", capped(self.chime_volume, loudest)))

    def cue_chime(self, loudest: float | None = None) -> None:
        """Sound the soft cue chime (CUE_CHIME_FACTOR of the chime), never above ``loudest``."""
        self.cue_chimes += 1
        self._queue.put(("chime", capped(self.chime_volume * CUE_CHIME_FACTOR, loudest)))

    def chime_file(self) -> Path | None:
        """The chime's sound file: ``chime_path``, or chime.wav (.ogg…) in the music folder."""
        if self.chime_path is not None:
            return self.chime_path if self.chime_path.is_file() else None
        for name in CHIME_NAMES:
            p = self.music_dir / name
            if p.is_file():
                return p
        return None

    # --- state -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Return the speaker's state for the API."""
        with self._lock:
            on = self._active and bool(self._tracks)
            return {
                "kind": self.kind,
                "volume": round(self._volume, 1),
                "playing": self.playing,
                "paused": self._active and self._paused,
                "playlist": self._playlist,
                "track": self._tracks[self._index].name if on else None,
                "track_number": self._index + 1 if on else None,
                "tracks": len(self._tracks),
                "backend": self.backend,
                "output": self.output,
            }

    def close(self) -> None:
        """Stop both players, end the worker thread and release libvlc."""
        if self._closed:
            return
        self._closed = True
        self.on_change = None
        self.stop()
        self._queue.put(None)
        self._worker.join(timeout=10)
        self._chime_player.stop()
        self._player.release()
        self._chime_player.release()
        if self._chime_instance is not self._instance:
            self._chime_instance.release()
        self._instance.release()

    # --- the worker: the only thread that starts, pauses and stops libvlc ------------------

    def _on_vlc_event(self, event: Any, what: str) -> None:
        # Runs on a libvlc thread: never call libvlc here, only hand the event over.
        self._queue.put((what, self._vlc_generation))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._sync()
                return
            try:
                if item == "sync":
                    self._sync()
                elif item[0] == "chime":
                    self._play_chime(item[1])
                else:
                    what, generation = item
                    if self._advance(what, generation):
                        self._sync()
                        self._changed()
            except Exception:
                log.exception("speaker: %s failed", item)

    def _sync(self) -> None:
        """Bring libvlc to the state asked for (may block: only on the worker)."""
        with self._lock:
            active, generation, paused = self._active, self._generation, self._paused
            path = self._tracks[self._index] if active and self._tracks else None
        if path is None:
            if self._vlc_generation is not None:
                self._vlc_generation = None  # events of the stopped track are stale from now
                self._player.stop()
            self._vlc_paused = False
            return
        if generation != self._vlc_generation:
            media = self._instance.media_new_path(str(path))
            self._vlc_generation = None
            self._player.set_media(media)  # stops the old track: its late events are stale
            media.release()
            self._vlc_generation = generation
            # A PulseAudio stream is made per track and would start at the server's default
            # volume: give the volume again while no stream exists, so the new one starts at it.
            self._apply_volume(force=True)
            self._player.play()
            self._vlc_paused = False
        if paused != self._vlc_paused:
            self._player.set_pause(1 if paused else 0)
            self._vlc_paused = paused
            if not paused:
                # the stream comes back when libvlc un-pauses, which on a busy machine may be
                # after the hub's resume ramp set its last level: give the level again
                self._apply_volume(force=True)

    def _advance(self, what: str, generation: int | None) -> bool:
        """Move to the next track after an end or an error; return True if anything changed."""
        with self._lock:
            if generation is None or generation != self._generation or not self._active:
                return False  # a late event from a track we already left
            if what == "error":
                self._errors += 1
                log.warning("speaker: cannot play %s; skipping it", self._tracks[self._index])
                if self._errors >= len(self._tracks):
                    log.error("speaker: no track of %r plays; stopping", self._playlist)
                    self._active = False
                    return True
            else:
                self._errors = 0
            self._index = (self._index + 1) % len(self._tracks)
            self._generation += 1
            return True

    def _play_chime(self, volume: float) -> None:
        self.chime_levels.append(volume)
        if volume <= 0:
            return  # a person's volume cap of 0: no chime at all
        path = self.chime_file()
        if path is None:
            log.info("no chime file (chime.wav in %s): the session ends silently", self.music_dir)
            return
        media = self._chime_instance.media_new_path(str(path))
        self._chime_player.set_media(media)
        media.release()
        self._chime_player.audio_set_volume(int(volume + 0.5))
        self._chime_player.play()

    def _changed(self) -> None:
        """Tell the owner (the hub) that the track or play state changed by itself."""
        callback = self.on_change
        if callback is None:
            return
        try:
            callback(self.state())
        except Exception:
            log.exception("speaker: change listener failed")
