"""Typed events: one frozen dataclass per event type, and the SSE JSON each one makes.

The stream's ``data`` is a public interface (the web page, scripts, the logs): these pin,
key by key and in order, what each event type sends, through the real SSE broker.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from hub.core import Hub
from hub.engine.event_types import (
    PAYLOADS,
    AllOff,
    ButtonPressed,
    CueReached,
    DeviceChanged,
    FadeProgress,
    HubStatus,
    LimitApplied,
    Payload,
    PeopleChanged,
    RoutinesChanged,
    SafetyTripped,
    SceneApplied,
    ScenesChanged,
    SessionChanged,
    TableChanged,
)
from hub.facts import ButtonAction, EventType, HeatLevel, Phase, SessionMoment

PERSON = {"profile": "ana", "pad": "pad", "name": "Ana"}

#: each payload, and the ``data`` the stream sent for it before events were typed
CASES: list[tuple[Payload, dict[str, Any]]] = [
    (HubStatus(backend="mock"), {"status": "started", "backend": "mock"}),
    (
        DeviceChanged(device="main", changes={"level": 0.5, "fade_seconds": 2}),
        {"device": "main", "changes": {"level": 0.5, "fade_seconds": 2}},
    ),
    (
        DeviceChanged(device="pad", changes={"heat": HeatLevel.OFF}),
        {"device": "pad", "changes": {"heat": "off"}},
    ),
    (
        SessionChanged(
            action=SessionMoment.STARTED, phase=Phase.PREPARE, scene="swedish", scene_name="Swe"
        ),
        {"action": "started", "phase": "prepare", "scene": "swedish", "scene_name": "Swe"},
    ),
    (
        SessionChanged(
            action=SessionMoment.EXTENDED,
            phase=Phase.ACTIVE,
            minutes=70,
            scene="swedish",
            scene_name="Swe",
        ),
        {
            "action": "extended",
            "phase": "active",
            "minutes": 70,
            "scene": "swedish",
            "scene_name": "Swe",
        },
    ),
    (
        SessionChanged(
            action=SessionMoment.ENDED,
            phase=Phase.ENDED,
            reason="stopped",
            scene="swedish",
            scene_name="Swe",
        ),
        {
            "action": "ended",
            "phase": "ended",
            "reason": "stopped",
            "scene": "swedish",
            "scene_name": "Swe",
        },
    ),
    (
        SessionChanged(action=SessionMoment.INTERRUPTED_DISMISSED),
        {"action": "interrupted_dismissed"},
    ),
    (SceneApplied(scene="swedish"), {"scene": "swedish"}),
    (ScenesChanged(action="created", scene="mine"), {"action": "created", "scene": "mine"}),
    (ScenesChanged(action="restored"), {"action": "restored"}),
    (SafetyTripped(device="pad", reason="max_on"), {"device": "pad", "reason": "max_on"}),
    (SafetyTripped(reason="control_loop_error"), {"reason": "control_loop_error"}),
    (AllOff(reason="button"), {"reason": "button"}),
    (FadeProgress(fading=True), {"fading": True}),
    (RoutinesChanged(action="deleted", routine="r1"), {"action": "deleted", "routine": "r1"}),
    (
        RoutinesChanged(routine="r1", outcome="ran", detail="scene calm"),
        {"routine": "r1", "outcome": "ran", "detail": "scene calm"},
    ),
    (
        RoutinesChanged(routine="r1", outcome="finished"),
        {"routine": "r1", "outcome": "finished"},
    ),
    (ButtonPressed(action=ButtonAction.HOLD), {"action": "hold"}),
    (
        CueReached(text="turn over", at="1/2", at_minutes=30.0, session=4, scene="swedish"),
        {"text": "turn over", "at": "1/2", "at_minutes": 30.0, "session": 4, "scene": "swedish"},
    ),
    (
        LimitApplied(device="pad", limit="heat", message="Ana: at most low"),
        {"device": "pad", "limit": "heat", "message": "Ana: at most low"},
    ),
    (
        PeopleChanged(action="profile_saved", profile="ana"),
        {"action": "profile_saved", "profile": "ana"},
    ),
    (PeopleChanged(action="journal", profile=None), {"action": "journal", "profile": None}),
    (
        TableChanged(by="owner", people=[PERSON], source="set"),
        {"action": "table", "by": "owner", "people": [PERSON], "source": "set"},
    ),
    (
        TableChanged(by="profile deleted", people=[], source="default", message="Ana left"),
        {
            "action": "table",
            "by": "profile deleted",
            "people": [],
            "source": "default",
            "message": "Ana left",
        },
    ),
]


def test_every_event_type_has_exactly_one_payload_and_a_case_here() -> None:
    assert sorted(p.type for p in PAYLOADS) == sorted(EventType)
    assert {type(p) for p, _ in CASES} == set(PAYLOADS)


def test_a_payload_cannot_be_changed_after_it_is_made() -> None:
    payload = AllOff(reason="button")
    with pytest.raises(dataclasses.FrozenInstanceError):
        payload.reason = "other"  # type: ignore[misc]


def test_a_payload_is_built_by_name_only() -> None:
    with pytest.raises(TypeError):
        AllOff("button")  # type: ignore[misc]


def test_each_event_type_crosses_the_sse_stream_with_the_same_keys_and_values(hub: Hub) -> None:
    from web.sse import EventBroker

    broker = EventBroker(hub, heartbeat=5, queue_size=64, min_interval=0)
    client = broker.add()
    stream = broker.stream(client)
    next(stream)  # hello
    for payload, data in CASES:
        hub.emit(payload)
        (message,) = [
            json.loads(part.split("data: ", 1)[1])
            for part in next(stream).split("\n\n")
            if "data: " in part
        ]
        assert list(message) == ["seq", "type", "data", "state"]
        assert message["type"] == payload.type.value
        assert list(message["data"]) == list(data)  # the keys, in their order
        assert message["data"] == data
        assert message["seq"] == hub.event_seq
        assert message["state"]["backend"] == hub.backend
    broker.close()


def test_a_listener_gets_the_payload_itself_and_its_wire_data(hub: Hub) -> None:
    seen = []
    hub.subscribe(seen.append)
    hub.sessions.start(scene="swedish")
    started = [e for e in seen if isinstance(e.payload, SessionChanged)]
    assert started and started[0].payload.action == SessionMoment.STARTED
    assert started[0].type == EventType.SESSION
    assert started[0].data == started[0].payload.to_data()
    assert started[0].data["scene"] == "swedish" and "reason" not in started[0].data
