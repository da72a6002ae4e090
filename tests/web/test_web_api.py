"""REST API over the Flask test client: every endpoint, its results and its error paths."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

import json

import pytest
from flask import Flask

from hub.core import Hub
from hub.engine.event_types import CueReached, ScenesChanged
from tests.conftest import PinRecorder
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401

MAIN, ACCENT, DIFFUSER, PAD = "GPIO18", "GPIO13", "GPIO23", "GPIO24"


def error(resp, status: int, code: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Assert the API error shape and status; return the message."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return str(body["error"]["message"])


# --- state and sessions ----------------------------------------------------------------------


def test_state_lists_devices_session_and_backend(api: Api) -> None:
    r = api.get("/state")
    assert r.status_code == 200
    s = r.get_json()
    assert set(s["devices"]) == {"main", "accent", "diffuser", "pad", "speaker"}
    assert s["devices"]["main"]["kind"] == "light" and s["devices"]["main"]["level"] == 0
    assert s["devices"]["pad"]["heat"] == "off"
    assert s["session"] is None and s["backend"] == "mock" and "next_routine" in s


def test_session_lifecycle_drives_pins(api: Api, hub: Hub, pins: PinRecorder) -> None:
    r = api.post("/session", json={"scene": "swedish", "minutes": 30})
    assert r.status_code == 201, r.get_json()
    s = r.get_json()
    assert s["scene"] == "swedish" and s["minutes"] == 30 and s["source"] == "web"
    hub.advance(600)
    assert api.get("/state").get_json()["session"]["phase"] == "active"
    assert pins.level(MAIN) > 0
    error(api.post("/session", json={"scene": "swedish"}), 409, "conflict")

    r = api.post("/session/pause")
    assert r.status_code == 200 and r.get_json()["paused"] is True
    error(api.post("/session/pause"), 409)
    r = api.post("/session/resume", json={})
    assert r.status_code == 200 and r.get_json()["paused"] is False
    before = r.get_json()["remaining_seconds"]
    r = api.post("/session/extend", json={"minutes": 10})
    assert r.status_code == 200 and r.get_json()["remaining_seconds"] == pytest.approx(before + 600)
    r = api.post("/session/extend")  # default 10
    assert r.get_json()["remaining_seconds"] == pytest.approx(before + 1200)

    r = api.delete("/session")
    assert r.status_code == 200 and r.get_json()["session"]["phase"] == "fade_out"
    r = api.delete("/session")  # a second stop ends it now
    assert r.status_code == 200 and r.get_json()["session"] is None
    hub.advance(5)
    assert pins.level(MAIN) == 0 and pins.level(PAD) == 0
    error(api.delete("/session"), 409)
    error(api.post("/session/resume"), 409)
    error(api.post("/session/extend", json={"minutes": 5}), 409)

    hist = api.get("/history").get_json()
    assert hist["sessions"][0]["scene"] == "swedish" and hist["sessions"][0]["end_reason"]
    assert hist["limit"] == 50 and hist["offset"] == 0


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"scene": "nope"}, 404, "not_found", "swedish"),
        ({"minutes": 0}, 422, "invalid", "minutes"),
        ({"minutes": "60"}, 422, "invalid", "minutes"),
        ({"minutes": 10_000}, 422, "invalid", "minutes"),
        ({"scene": "swedish", "minuts": 30}, 422, "invalid", "minutes"),  # suggests the key
        ([1, 2], 422, "invalid", "object"),
        ("swedish", 422, "invalid", "object"),
    ],
)
def test_bad_session_start_changes_nothing(
    api: Api, pins: PinRecorder, body: object, status: int, code: str, words: str
) -> None:
    before = api.get("/state").get_json()
    message = error(api.post("/session", json=body), status, code)
    assert words in message
    after = api.get("/state").get_json()
    assert after["session"] is None and after["devices"] == before["devices"]
    assert all(v == 0 for _, p, v in pins.changes if p in (MAIN, ACCENT, DIFFUSER, PAD))


def test_bad_json_is_400(api: Api) -> None:
    r = api.post("/session", data="{not json", content_type="application/json")
    assert "JSON" in error(r, 400, "bad_json")
    error(api.put("/devices/main"), 400, "bad_json")  # a body is needed
    error(api.post("/scenes", data=b"\xff\xfe", content_type="application/json"), 400, "bad_json")


def test_extend_and_pause_refuse_bad_values(api: Api) -> None:
    api.post("/session", json={"scene": "swedish", "minutes": 30})
    error(api.post("/session/extend", json={"minutes": 500}), 422)
    error(api.post("/session/extend", json={"minutes": True}), 422)
    error(api.post("/session/pause", json={"now": True}), 422)


def test_all_off_switches_everything_off(api: Api, hub: Hub, pins: PinRecorder) -> None:
    api.post("/session", json={"scene": "hot-stone" if _has(api, "hot-stone") else "swedish"})
    hub.advance(30)
    r = api.post("/all-off")
    assert r.status_code == 200
    s = r.get_json()
    assert s["session"] is None
    assert all(d.get("level", 0) == 0 for d in s["devices"].values())
    assert s["devices"]["pad"]["heat"] == "off" and s["devices"]["diffuser"]["mode"] == "off"
    hub.advance(1)
    assert all(pins.level(p) == 0 for p in (MAIN, ACCENT, DIFFUSER, PAD))


def _has(api: Api, scene: str) -> bool:
    return api.get(f"/scenes/{scene}").status_code == 200


def test_interrupted_notice_can_be_dismissed(api: Api, hub: Hub) -> None:
    error(api.delete("/interrupted"), 404, "not_found")
    hub.sessions.interrupted = [
        {"id": 9, "scene": "swedish", "scene_name": "Swedish", "planned_minutes": 60}
    ]
    assert api.get("/state").get_json()["interrupted_session"]["id"] == 9
    r = api.delete("/interrupted")
    assert r.status_code == 204 and r.data == b""
    assert api.get("/state").get_json()["interrupted_session"] is None


# --- scenes ----------------------------------------------------------------------------------


def test_scene_crud(api: Api) -> None:
    scenes = api.get("/scenes").get_json()["scenes"]
    ids = [s["id"] for s in scenes]
    assert "swedish" in ids and all(s["builtin"] for s in scenes)
    assert api.get("/scenes/swedish").get_json()["name"] == "Swedish"
    error(api.get("/scenes/nope"), 404, "not_found")

    body = {"name": "Evening calm", "lights": {"main": 0.3}, "diffuser": "interval", "volume": 20}
    r = api.post("/scenes", json=body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["id"] == "evening-calm" and created["builtin"] is False
    error(api.post("/scenes", json={**body, "id": "evening-calm"}), 409, "conflict")
    assert "evening-calm" in [s["id"] for s in api.get("/scenes").get_json()["scenes"]]

    r = api.put("/scenes/evening-calm", json={**body, "volume": 40})
    assert r.status_code == 200 and r.get_json()["volume"] == 40
    error(api.put("/scenes/evening-calm", json={**body, "id": "other"}), 422)
    error(api.put("/scenes/swedish", json=body), 409)
    error(api.put("/scenes/nope", json=body), 404)
    error(api.delete("/scenes/swedish"), 409)

    r = api.post("/scenes/swedish/duplicate", json={"name": "My Swedish"})
    assert r.status_code == 201 and r.get_json()["id"] == "my-swedish"
    r = api.post("/scenes/swedish/duplicate")
    assert r.status_code == 201 and r.get_json()["builtin"] is False
    error(api.post("/scenes/nope/duplicate"), 404)
    error(api.post("/scenes/swedish/duplicate", json={"name": ""}), 422)

    assert api.delete("/scenes/evening-calm").status_code == 204
    error(api.delete("/scenes/evening-calm"), 404)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "x", "lights": {"main": 2}}, "level"),
        ({"name": "x", "lights": {"ceiling": 0.5}}, "ceiling"),
        ({"name": "x", "diffuser": "foggy"}, "diffuser"),
        ({"name": "x", "heat": {"pad": "lava"}}, "heat"),
        ({"name": "x", "volume": 101}, "volume"),
        ({"name": "x", "builtin": True}, "builtin"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"lights": {}}, "name"),
        ([], "object"),
    ],
)
def test_bad_scene_is_refused_and_not_stored(api: Api, body: object, words: str) -> None:
    before = api.get("/scenes").get_json()
    message = error(api.post("/scenes", json=body), 422, "invalid")
    assert words in message
    assert api.get("/scenes").get_json() == before


def test_apply_scene(api: Api, hub: Hub, pins: PinRecorder) -> None:
    r = api.post("/scenes/swedish/apply", json={"fade_seconds": 0})
    assert r.status_code == 200
    hub.advance(1)
    assert pins.level(MAIN) > 0
    error(api.post("/scenes/nope/apply"), 404)
    error(api.post("/scenes/swedish/apply", json={"fade_seconds": -1}), 422)
    error(api.post("/scenes/swedish/apply", json={"fade": 3}), 422)


# --- devices ---------------------------------------------------------------------------------


def test_set_devices(api: Api, hub: Hub, pins: PinRecorder) -> None:
    r = api.put("/devices/main", json={"level": 0.4})
    assert r.status_code == 200 and r.get_json()["level"] == pytest.approx(0.4)
    assert pins.level(MAIN) > 0
    r = api.put("/devices/accent", json={"level": 0.5, "fade_seconds": 3})
    assert r.status_code == 200
    hub.advance(3.5)
    assert api.get("/state").get_json()["devices"]["accent"]["level"] == pytest.approx(0.5)
    assert api.put("/devices/diffuser", json={"mode": "interval"}).get_json()["mode"] == "interval"
    assert api.put("/devices/diffuser", json={"on": False}).get_json()["mode"] == "off"
    r = api.put("/devices/pad", json={"heat": "low", "minutes": 20})
    assert r.status_code == 200 and r.get_json()["heat"] == "low"
    assert r.get_json()["off_in_seconds"] == pytest.approx(1200, abs=1)
    r = api.put("/devices/speaker", json={"volume": 40})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("device", "body", "status", "words"),
    [
        ("ceiling", {"level": 0.5}, 404, "main"),
        ("main", {"level": 2}, 422, "level"),
        ("main", {"level": "0.5"}, 422, "level"),
        ("main", {"level": 0.5, "on": True}, 422, "level"),
        ("main", {}, 422, "level"),
        ("main", {"brightness": 0.5}, 422, "brightness"),
        ("diffuser", {"mode": "fog"}, 422, "mode"),
        ("pad", {"heat": "lava"}, 422, "heat"),
        ("pad", {"heat": "high", "minutes": 500}, 422, "minutes"),
        ("speaker", {"volume": 101}, 422, "volume"),
    ],
)
def test_bad_device_command_changes_nothing(
    api: Api, device: str, body: dict, status: int, words: str
) -> None:
    before = api.get("/state").get_json()["devices"]
    assert words in error(api.put(f"/devices/{device}", json=body), status)
    assert api.get("/state").get_json()["devices"] == before


def test_history_paging_and_bad_query(api: Api, hub: Hub) -> None:
    for _ in range(3):
        api.post("/session", json={"scene": "swedish", "minutes": 5})
        api.post("/all-off")
    page = api.get("/history?limit=2").get_json()
    assert len(page["sessions"]) == 2 and page["limit"] == 2
    rest = api.get("/history?limit=2&offset=2").get_json()["sessions"]
    assert len(rest) == 1 and rest[0]["id"] < page["sessions"][-1]["id"]
    error(api.get("/history?limit=0"), 422)
    error(api.get("/history?limit=abc"), 422)
    error(api.get("/history?offset=-1"), 422)
    error(api.get("/history?color=red"), 422)


# --- events, openapi, general errors -------------------------------------------------------


def test_events_stream_state_changes_and_cleans_up(app: Flask, api: Api, hub: Hub) -> None:
    listeners = hub.events.listener_count
    r = api.get("/events", buffered=False)
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    chunks = iter(r.response)
    first = next(chunks)
    first = first.decode() if isinstance(first, bytes) else first
    assert first.startswith("retry:") and "event: state" in first
    assert json.loads(first.split("data: ", 1)[1])["state"]["devices"]["main"]["level"] == 0
    assert hub.events.listener_count == listeners + 1
    api.put("/devices/main", json={"level": 0.6})
    got = next(chunks)
    got = got.decode() if isinstance(got, bytes) else got
    assert got.startswith("id: ") and "\nevent: state\n" in got
    event = json.loads(got.split("data: ", 1)[1].split("\n", 1)[0])
    assert event["type"] == "device" and event["state"]["devices"]["main"]["level"] == 0.6
    r.close()
    assert hub.events.listener_count == listeners
    assert app.extensions["massagehub"].broker.client_count == 0


def test_events_heartbeat_and_slow_client_never_blocks(hub: Hub) -> None:
    from web.sse import EventBroker

    broker = EventBroker(hub, heartbeat=0.05, queue_size=8, min_interval=0)
    client = broker.add()
    stream = broker.stream(client)
    next(stream)  # hello
    assert next(stream) == "event: ping\ndata: {}\n\n"
    for i in range(200):  # nobody reads: one device event waits, replaced by each newer one
        hub.devices.set("main", {"level": (i % 100) / 100})
    assert client.merged == 199 and len(client.queue) == 1
    batch = next(stream)
    assert batch.count("event: state") == 1
    assert json.loads(batch.split("data: ", 1)[1])["state"]["devices"]["main"]["level"] == 0.99
    broker.close()
    with pytest.raises(StopIteration):
        next(stream)
    assert broker.client_count == 0


def _messages(text: str) -> list[dict]:
    return [
        json.loads(part.split("data: ", 1)[1]) for part in text.split("\n\n") if "data: " in part
    ]


def test_events_a_full_buffer_falls_behind_to_the_latest_state(hub: Hub) -> None:
    from web.sse import EventBroker

    broker = EventBroker(hub, heartbeat=5, queue_size=4, min_interval=0)
    client = broker.add()
    stream = broker.stream(client)
    hello = _messages(next(stream))[0]
    for i in range(40):  # types alternate, so nothing merges: the buffer overflows
        hub.devices.set("main", {"level": (i + 1) / 100})
        hub.emit(ScenesChanged(action="created", scene=f"s{i}"))
    assert len(client.queue) == 0 and client.behind is not None  # holds one event, no copies
    (resync,) = _messages(next(stream))
    assert resync["type"] == "hello" and resync["seq"] == hub.event_seq > hello["seq"]
    assert resync["state"]["devices"]["main"]["level"] == 0.4
    hub.devices.set("main", {"level": 0.5})  # and then it follows again, in order
    (after,) = _messages(next(stream))
    assert after["type"] == "device" and after["seq"] == resync["seq"] + 1
    broker.close()


def test_events_cues_are_never_merged(hub: Hub) -> None:
    from web.sse import EventBroker

    broker = EventBroker(hub, heartbeat=5, queue_size=8, min_interval=0)
    client = broker.add()
    stream = broker.stream(client)
    next(stream)
    for text in ("turn over", "five minutes left"):
        hub.emit(CueReached(text=text, at=1, at_minutes=1.0, session=1, scene="s"))
    got = _messages(next(stream))
    assert [m["data"]["text"] for m in got] == ["turn over", "five minutes left"]
    broker.close()


def test_openapi_is_generated_from_the_models(api: Api) -> None:
    r = api.get("/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.1")
    for path, method in [
        ("/api/v1/state", "get"),
        ("/api/v1/session", "post"),
        ("/api/v1/session", "delete"),
        ("/api/v1/session/pause", "post"),
        ("/api/v1/session/resume", "post"),
        ("/api/v1/session/extend", "post"),
        ("/api/v1/all-off", "post"),
        ("/api/v1/scenes", "get"),
        ("/api/v1/scenes", "post"),
        ("/api/v1/scenes/{scene_id}", "put"),
        ("/api/v1/scenes/{scene_id}/duplicate", "post"),
        ("/api/v1/devices/{device_id}", "put"),
        ("/api/v1/history", "get"),
        ("/api/v1/events", "get"),
        ("/api/v1/interrupted", "delete"),
        ("/healthz", "get"),
    ]:
        assert method in spec["paths"][path], (path, method)
    schemas = spec["components"]["schemas"]
    from hub.command_models import SessionStart

    made = SessionStart.model_json_schema(ref_template="#/components/schemas/{model}")
    assert schemas["SessionStart"]["properties"] == made["properties"]
    assert schemas["BeforeRating"]["properties"]["stress"]["maximum"] == 10  # nested, by name
    assert spec["paths"]["/api/v1/session"]["post"]["summary"].startswith("Start a session")


def test_unknown_route_wrong_method_and_huge_body_answer_json(api: Api, client) -> None:  # type: ignore[no-untyped-def]
    error(api.get("/nothing-here"), 404, "not_found")
    error(client.get("/nothing-here"), 404, "not_found")
    r = api.patch("/state")
    error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]
    error(api.post("/scenes", data=b"x" * 100_000, content_type="application/json"), 413)


def test_security_headers(client, api: Api) -> None:  # type: ignore[no-untyped-def]
    r = api.get("/state")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    page = client.get("/setup")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_healthz_is_open(client, hub: Hub) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["ready"] is True and body["status"] == "ok" and body["hub"] and body["store"]
    hub.health_checks["radio"] = lambda: False
    hub.health_checks["info"] = lambda: {"clients": 3}
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["radio"] is False and r.get_json()["info"] == {"clients": 3}


def test_event_streams_leave_threads_for_commands(make_config, make_hub) -> None:  # type: ignore[no-untyped-def]
    from web import create_app

    hub = make_hub(make_config({"web": {"threads": 10}}))
    app = create_app(hub)
    bearer = {
        "Authorization": f"Bearer {app.extensions['massagehub'].auth.create_token('t')['token']}"
    }
    c = app.test_client()
    streams = [c.get("/api/v1/events", headers=bearer, buffered=False) for _ in range(2)]
    assert all(r.status_code == 200 for r in streams)
    error(c.get("/api/v1/events", headers=bearer), 503, "busy")  # 10 threads - 8 kept free
    assert c.post("/api/v1/all-off", headers=bearer).status_code == 200
    streams[0].close()
    third = c.get("/api/v1/events", headers=bearer, buffered=False)
    assert third.status_code == 200
    for r in (streams[1], third):
        r.close()
