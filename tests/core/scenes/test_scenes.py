"""Scene CRUD: built-ins are copied, never changed; bad scenes are refused and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core import Hub
from hub.errors import Conflict, HubError, InvalidCommand, NotFound
from tests.conftest import PinRecorder
from tests.rigs.support import BUILTIN_SCENES

BUILTINS = BUILTIN_SCENES


def snapshot(hub: Hub) -> Any:
    return hub.scenes.list(), hub.store.list_docs("scenes"), hub.events.seq, hub.state()


def test_built_ins_come_first(hub: Hub) -> None:
    scenes = hub.scenes.list()
    assert [s["id"] for s in scenes] == BUILTINS
    assert all(s["builtin"] for s in scenes)
    assert hub.scenes.get("cleaning").lights == {"*": 1.0}


def test_create_get_update_delete_a_user_scene(hub: Hub) -> None:
    seen: list[Any] = []
    hub.subscribe(seen.append)
    made = hub.scenes.create(
        {"name": "My Swedish", "lights": {"main": 0.3}, "heat": {"pad": "low"}, "volume": 20}
    )
    assert made["id"] == "my-swedish" and made["builtin"] is False
    assert [s["id"] for s in hub.scenes.list()] == [*BUILTINS, "my-swedish"]
    assert hub.scenes.get("my-swedish").heat == {"pad": "low"}
    with pytest.raises(Conflict, match="exists already"):  # two chips named alike: refused
        hub.scenes.create({"name": "My Swedish"})

    changed = hub.scenes.update("my-swedish", {"name": "Mine", "diffuser": "interval"})
    assert changed["id"] == "my-swedish" and changed["name"] == "Mine"
    assert changed["lights"] == {}  # a PUT replaces the whole scene
    hub.scenes.delete("my-swedish")
    with pytest.raises(NotFound):
        hub.scenes.get("my-swedish")
    actions = [(e.data["action"], e.data["scene"]) for e in seen if e.type == "scenes"]
    assert actions == [
        ("created", "my-swedish"),
        ("updated", "my-swedish"),
        ("deleted", "my-swedish"),
    ]


def test_built_ins_can_only_be_copied(hub: Hub) -> None:
    before = snapshot(hub)
    with pytest.raises(Conflict, match="'swedish' is built in and cannot be changed; duplicate it"):
        hub.scenes.update("swedish", {"name": "Swedish", "volume": 80})
    with pytest.raises(Conflict, match="'swedish' is built in and cannot be deleted"):
        hub.scenes.delete("swedish")
    with pytest.raises(Conflict, match="a scene called 'swedish' exists already"):
        hub.scenes.create({"id": "swedish", "name": "Swedish"})
    assert snapshot(hub) == before
    copy = hub.scenes.duplicate("swedish")
    assert (copy["id"], copy["name"], copy["builtin"]) == ("swedish-copy", "Swedish copy", False)
    assert copy["lights"] == {"main": 0.35, "*": 0.2} and copy["heat"] == {"*": "medium"}
    named = hub.scenes.duplicate("swedish", "Evening")
    assert named["id"] == "evening"
    hub.scenes.update("swedish-copy", {**copy, "volume": 10})
    assert hub.scenes.get("swedish-copy").volume == 10
    assert hub.scenes.get("swedish").volume == 35


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (
            {"name": "x", "lights": {"ghost": 0.3}},
            InvalidCommand,
            "lights.ghost: no light called 'ghost' (lights: main, accent)",
        ),
        (
            {"name": "x", "lights": {"main": 2}},
            InvalidCommand,
            "lights: light 'main': level must be from 0 to 1 (got 2.0)",
        ),
        (
            {"name": "x", "heat": {"pad": "toasty"}},
            InvalidCommand,
            "heat.pad: must be one of 'off', 'low', 'medium' or 'high' (got 'toasty')",
        ),
        (
            {"name": "x", "heat": {"pad2": "low"}},
            InvalidCommand,
            "heat.pad2: no heat pad called 'pad2' (heat pads: pad)",
        ),
        (
            {"name": "x", "fade_secnds": 3},
            InvalidCommand,
            "fade_secnds: unknown field (did you mean 'fade_seconds'?)",
        ),
        ({}, InvalidCommand, "name: is required"),
        (
            {"name": "x", "builtin": True},
            InvalidCommand,
            "builtin: only shipped scenes are built in",
        ),
        ([], InvalidCommand, "expected a JSON object"),
        ({"name": "x", "volume": 101}, InvalidCommand, "volume: must be at most 100 (got 101)"),
        (
            {"id": "Bad Id!", "name": "x"},
            InvalidCommand,
            "id: use 1-40 characters: a-z, 0-9, - and _, starting with a letter or digit",
        ),
        (
            {"name": "x", "diffuser": "pulse"},
            InvalidCommand,
            "diffuser: must be one of 'off', 'on' or 'interval' (got 'pulse')",
        ),
        (
            {"name": "x", "fade_seconds": -1},
            InvalidCommand,
            "fade_seconds: must be at least 0 (got -1)",
        ),
    ],
)
def test_bad_scenes_are_refused_and_change_nothing(
    hub: Hub, data: Any, error: type[HubError], message: str
) -> None:
    hub.scenes.create({"name": "Mine"})
    before = snapshot(hub)
    with pytest.raises(error) as info:
        hub.scenes.create(data)
    assert info.value.message == message
    if isinstance(data, dict) and "id" not in data:
        with pytest.raises(error) as info:
            hub.scenes.update("mine", data)
        assert info.value.message == message
    assert snapshot(hub) == before


def test_update_refuses_a_new_id_and_unknown_scenes(hub: Hub) -> None:
    hub.scenes.create({"name": "Mine"})
    before = snapshot(hub)
    with pytest.raises(InvalidCommand, match="a scene's id cannot be changed; create a copy"):
        hub.scenes.update("mine", {"id": "yours", "name": "Mine"})
    with pytest.raises(NotFound, match="no scene called 'nope'"):
        hub.scenes.update("nope", {"name": "Nope"})
    with pytest.raises(NotFound, match="no scene called 'nope'"):
        hub.scenes.delete("nope")
    with pytest.raises(NotFound, match=r"no scene called 'nope' \(scenes: swedish, .*, mine\)"):
        hub.scenes.duplicate("nope")
    assert snapshot(hub) == before


def test_a_user_scene_runs_a_session_and_applies(hub: Hub, pins: PinRecorder) -> None:
    hub.scenes.create(
        {"name": "Bright", "lights": {"*": 0.8}, "heat": {"pad": "high"}, "prewarm_minutes": 0}
    )
    hub.sessions.start("bright", 10)
    assert hub.state()["session"]["phase"] == "active"
    assert pins.level("GPIO24") == 1
    hub.advance(11 * 60 + 5)
    assert hub.sessions.history()[0]["scene"] == "bright"
    hub.scenes.apply("bright", fade_seconds=0)
    assert hub.room.lights["accent"].level == 0.8
    # a manual scene's heat carries the manual timeout (20 min in the shipped config)
    assert hub.state()["devices"]["pad"]["off_in_seconds"] == 20 * 60


def test_apply_scene_refuses_bad_arguments_and_changes_nothing(hub: Hub) -> None:
    before = snapshot(hub)
    for kwargs, message in [
        ({"fade_seconds": 4000}, "fade_seconds: must be a number from 0 to 3600"),
        ({"fade_seconds": "5"}, "fade_seconds: must be a number from 0 to 3600"),
        ({"heat_seconds": 0}, "heat_seconds: must be a number of seconds, more than 0"),
        ({"owner": "nobody"}, "unknown owner 'nobody'; use one of session, routine, manual"),
    ]:
        with pytest.raises(InvalidCommand) as info:
            hub.scenes.apply("swedish", **kwargs)
        assert info.value.message == message
    with pytest.raises(NotFound):
        hub.scenes.apply("nope")
    assert snapshot(hub) == before
