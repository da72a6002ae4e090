"""libvlc itself: whether it loads and plays here, and the options for an audio output.

:mod:`.vlc_speaker` is the speaker built on it; the service asks :func:`vlc_available`
first and falls back to a silent speaker, saying why, when libvlc is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

OUTPUTS = ("auto", "alsa", "pulse", "afile", "none")
DISABLE_ENV = "MASSAGE_HUB_NO_VLC"


def load_vlc() -> Any:
    """Import python-vlc (which loads libvlc); raise ImportError or OSError if missing."""
    import vlc

    return vlc


def vlc_available() -> tuple[bool, str]:
    """Say whether libvlc and its plugins can play here, and if not, why."""
    if os.environ.get(DISABLE_ENV):
        return False, f"libvlc disabled by the {DISABLE_ENV} environment variable"
    try:
        vlc = load_vlc()
    except Exception as exc:  # python-vlc raises ImportError, OSError or NotImplementedError
        return False, (
            f"libvlc could not be loaded ({exc}); install the Debian packages libvlc5 and "
            "vlc-plugin-base"
        )
    try:
        instance = vlc.Instance(["--quiet", "--no-video", "--aout=adummy"])
    except Exception as exc:
        return False, f"libvlc failed to start ({exc})"
    if instance is None:
        return False, "libvlc found no plugins; install the Debian package vlc-plugin-base"
    instance.release()
    return True, "libvlc " + vlc.libvlc_get_version().decode(errors="replace")


def instance_args(output: str, device: str | None, afile_path: Path | None) -> list[str]:
    """Return the libvlc options for an audio output."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)} (got {output!r})")
    args = ["--quiet", "--no-video", "--no-xlib", "--no-metadata-network-access"]
    if output == "alsa":
        args += ["--aout=alsa", f"--alsa-audio-device={device or 'default'}"]
    elif output == "pulse":
        args += ["--aout=pulse"]
    elif output == "afile":
        if afile_path is None:
            raise ValueError("output 'afile' needs afile_path")
        args += ["--aout=afile", f"--audiofile-file={afile_path}"]
    elif output == "none":
        args += ["--aout=adummy"]
    return args
