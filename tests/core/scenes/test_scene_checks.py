"""Scenes refuse what cannot work: an unknown playlist (with the list) and a taken name."""

from __future__ import annotations

import pytest

from hub.core import Hub
from hub.errors import Conflict, InvalidCommand


def test_unknown_playlist_is_refused_with_the_list(hub: Hub) -> None:
    known = hub.devices.playlists()
    assert known, "the test config's music folder has playlists"
    with pytest.raises(InvalidCommand) as exc:
        hub.scenes.create({"name": "Quiet", "playlist": "no-such-list"})
    msg = str(exc.value)
    assert msg.startswith("playlist: there is no playlist called 'no-such-list'")
    assert all(p in msg for p in known)
    assert all(s["name"] != "Quiet" for s in hub.scenes.list())  # nothing saved


def test_a_known_playlist_saves(hub: Hub) -> None:
    playlist = hub.devices.playlists()[0]
    scene = hub.scenes.create({"name": "Quiet", "playlist": playlist})
    assert scene["playlist"] == playlist


def test_duplicate_names_are_refused(hub: Hub) -> None:
    with pytest.raises(Conflict, match="name: a scene called 'swedish ' exists already"):
        hub.scenes.create({"name": "swedish "})
    mine = hub.scenes.create({"name": "Evening"})
    with pytest.raises(Conflict, match="name: a scene called 'Evening' exists already"):
        hub.scenes.create({"name": "Evening", "id": "evening-2"})
    # changing a scene and keeping its own name is fine
    assert hub.scenes.update(mine["id"], {**mine, "builtin": False, "volume": 10})["volume"] == 10


def test_copies_get_names_of_their_own(hub: Hub) -> None:
    first = hub.scenes.duplicate("swedish")
    second = hub.scenes.duplicate("swedish")
    assert (first["name"], second["name"]) == ("Swedish copy", "Swedish copy 2")
