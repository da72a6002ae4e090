"""Messages that tell a person what to do next."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.core import Hub
from hub.errors import Conflict
from tests.rigs.support import ROOT, write_config


def test_starting_during_a_fade_out_says_how_to_end_it(hub: Hub) -> None:
    hub.sessions.start("cleaning", 10)
    hub.sessions.stop()
    with pytest.raises(Conflict, match="still fading out; stop it again"):
        hub.sessions.start("swedish", 10)


def test_check_config_warns_about_an_unknown_default_scene(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"session": {"default_scene": "nope"}})
    run = subprocess.run(
        [sys.executable, "-m", "hub.cli", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0  # it may be one of the user's own scenes
    assert "session.default_scene: 'nope' is not a built-in scene" in run.stderr


def test_a_new_session_clears_the_interrupted_notice(hub: Hub) -> None:
    hub.sessions.interrupted = [{"id": 1, "scene": "swedish", "planned_minutes": 60}]
    assert hub.state()["interrupted_session"] is not None
    hub.sessions.start("cleaning", 5)
    hub.advance(10 * 60)
    assert hub.state()["interrupted_session"] is None
