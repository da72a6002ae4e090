"""The routines API through Flask's test client, on a fake-clock hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.routines.controller import RoutineController
from tests.core.routines.test_routines import START, Room, routine
from web import create_app, web_state


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], RoutineController]]:
    room = Room(tmp_path / "api")
    rc = room.start(START)
    app = create_app(rc.hub)
    token = web_state(app).auth.create_token("test")["token"]
    yield app.test_client(), {"Authorization": f"Bearer {token}"}, rc
    room.stop()


def test_routines_crud_over_http(api: tuple[Any, dict[str, str], RoutineController]) -> None:
    client, auth, rc = api
    assert client.get("/api/v1/routines").status_code == 401
    r = client.get("/api/v1/routines", headers=auth)
    assert r.status_code == 200 and r.json == {"routines": []}

    r = client.post("/api/v1/routines", json=routine(), headers=auth)
    assert r.status_code == 201, r.json
    made = r.json
    assert made["id"] == "evening-wind-down"
    assert made["next_run_words"] == "tonight at 21:30"
    assert (
        client.post("/api/v1/routines", json=routine(id=made["id"]), headers=auth).status_code
        == 409
    )

    r = client.get(f"/api/v1/routines/{made['id']}", headers=auth)
    assert r.status_code == 200 and r.json["runs"] == []
    state = client.get("/api/v1/state", headers=auth).json
    assert state["next_routine"]["words"] == "tonight at 21:30"

    r = client.put(f"/api/v1/routines/{made['id']}", json={"enabled": False}, headers=auth)
    assert r.status_code == 200 and r.json["next_run"] is None
    r = client.put(f"/api/v1/routines/{made['id']}", json={"enabled": True}, headers=auth)
    assert r.json["next_run"] == "2026-06-01T21:30:00+01:00"

    r = client.post(f"/api/v1/routines/{made['id']}/skip-next", headers=auth)
    assert r.status_code == 200 and r.json["next_run_words"] == "tomorrow at 21:30"
    r = client.post(f"/api/v1/routines/{made['id']}/skip-next", json={"skip": False}, headers=auth)
    assert r.json["skip_next"] is None

    r = client.post(f"/api/v1/routines/{made['id']}/run", headers=auth)
    assert r.status_code == 200 and r.json["running"] is True
    r = client.post(f"/api/v1/routines/{made['id']}/stop", headers=auth)
    assert r.status_code == 200 and r.json["running"] is False
    assert r.json["next_run_words"] == "tonight at 21:30"  # the schedule stays
    runs = client.get(f"/api/v1/routines/{made['id']}", headers=auth).json["runs"]
    assert runs[0]["outcome"] == "stopped"
    r = client.post(f"/api/v1/routines/{made['id']}/stop", headers=auth)
    assert r.status_code == 409 and "is not running" in r.json["error"]["message"]
    r = client.post(f"/api/v1/routines/{made['id']}/run", headers=auth)
    assert r.status_code == 200 and r.json["running"] is True

    assert client.delete(f"/api/v1/routines/{made['id']}", headers=auth).status_code == 204
    r = client.get(f"/api/v1/routines/{made['id']}", headers=auth)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (
            routine(schedule={"kind": "weekly", "days": ["mon"], "time": "25:00"}),
            422,
            "schedule.time",
        ),
        (
            routine(schedule={"kind": "weekly", "days": [], "time": "21:30"}),
            422,
            "at least one day",
        ),
        (routine(action={"kind": "scene", "scene": "nope", "minutes": 5}), 422, "no scene called"),
        (
            routine(schedule={"kind": "once", "date": "2020-01-01", "time": "10:00"}),
            422,
            "in the past",
        ),
        ([1, 2], 422, "JSON object"),
        ("not json", 400, "not valid JSON"),
    ],
)
def test_bad_routines_get_the_api_error_shape_and_change_nothing(
    api: tuple[Any, dict[str, str], RoutineController], body: Any, status: int, words: str
) -> None:
    client, auth, rc = api
    if body == "not json":
        r = client.post(
            "/api/v1/routines",
            data="{nope",
            headers={**auth, "Content-Type": "application/json"},
        )
    else:
        r = client.post("/api/v1/routines", json=body, headers=auth)
    assert r.status_code == status
    assert set(r.json) == {"error"} and words in r.json["error"]["message"]
    assert client.get("/api/v1/routines", headers=auth).json == {"routines": []}
    assert rc.hub.store.list_docs("routines") == []


def test_routine_errors_on_unknown_ids_and_conflicts(
    api: tuple[Any, dict[str, str], RoutineController],
) -> None:
    client, auth, rc = api
    for method, path in [
        ("get", "/nope"),
        ("put", "/nope"),
        ("delete", "/nope"),
        ("post", "/nope/run"),
        ("post", "/nope/skip-next"),
        ("post", "/nope/stop"),
    ]:
        r = getattr(client, method)(f"/api/v1/routines{path}", json={}, headers=auth)
        assert r.status_code == 404, (method, path)
        assert r.json["error"]["code"] == "not_found"
    made = client.post("/api/v1/routines", json=routine(), headers=auth).json
    rc.hub.sessions.start("deep-tissue", 30)
    r = client.post(f"/api/v1/routines/{made['id']}/run", headers=auth)
    assert r.status_code == 409 and "session is running" in r.json["error"]["message"]
    r = client.post(f"/api/v1/routines/{made['id']}/skip-next", json={"skip": 1}, headers=auth)
    assert r.status_code == 422


def test_openapi_describes_the_routines(api: tuple[Any, dict[str, str], RoutineController]) -> None:
    client, auth, _ = api
    spec = client.get("/api/v1/openapi.json", headers=auth).json
    paths = spec["paths"]
    assert set(paths["/api/v1/routines"]) == {"get", "post"}
    assert set(paths["/api/v1/routines/{routine_id}"]) == {"get", "put", "delete"}
    assert "post" in paths["/api/v1/routines/{routine_id}/run"]
    assert "post" in paths["/api/v1/routines/{routine_id}/skip-next"]
    assert "post" in paths["/api/v1/routines/{routine_id}/stop"]
    params = paths["/api/v1/routines/{routine_id}"]["get"]["parameters"]
    assert params[0]["name"] == "routine_id"
    schemas = spec["components"]["schemas"]
    assert {"RoutineIn", "RoutineOut", "WeeklySchedule", "WindDownAction"} <= set(schemas)
    body = paths["/api/v1/routines"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/RoutineIn")
