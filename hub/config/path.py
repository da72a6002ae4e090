"""Where the config file is: a module of its own, so ``massage-hub version`` and the
argument parser need no pydantic (hub.config builds its models at import)."""

from __future__ import annotations

import os
from pathlib import Path


def default_config_path() -> Path:
    """Return $MASSAGE_HUB_CONFIG, /etc/massage-hub/hub.yaml, ./config/hub.yaml or the shipped one."""
    env = os.environ.get("MASSAGE_HUB_CONFIG")
    if env:
        return Path(env)
    for candidate in (Path("/etc/massage-hub/hub.yaml"), Path("config/hub.yaml")):
        if candidate.exists():
            return candidate
    return Path(__file__).resolve().parent.parent.parent / "config" / "hub.yaml"
