"""Guest links against every operation of the OpenAPI description (deny by default).

Every owner-only operation refuses a live guest with 403 and changes nothing; every
operation (public ones too) refuses an expired or ended guest link with 401.
"""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from hub.core import Hub
from hub.engine.clock import FakeClock
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401
from web.guests import GUEST_OPERATIONS

PATH_VALUES = {
    "scene_id": "swedish",
    "device_id": "main",
    "guest_id": "1",
    "token_id": "1",
    "routine_id": "evening",
    "profile_id": "anna",
}


def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the live OpenAPI description."""
    spec = api.get("/openapi.json").json
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                out.append((method, path, op))
    assert len(out) >= 30, "the description lists too few operations"
    return out


def concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        return PATH_VALUES[match.group(1)]

    return re.sub(r"\{(\w+)\}", value, path)


def call(client: FlaskClient, token: str, method: str, path: str) -> Any:
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}}
    if method in ("post", "put", "patch"):
        kwargs["json"] = {}
    return getattr(client, method)(concrete(path), **kwargs)


def guest_operation(op: dict[str, Any]) -> bool:
    return op["operationId"] in {e.replace(".", "_") for e in GUEST_OPERATIONS}


def new_guest(api: Api) -> tuple[int, str]:
    r = api.post("/guests", json={"name": "Ana", "minutes": 60})
    assert r.status_code == 201, r.json
    return int(r.json["id"]), str(r.json["url"].rsplit("/guest/", 1)[1])


def test_every_owner_only_operation_refuses_a_guest(
    api: Api, client: FlaskClient, hub: Hub
) -> None:
    _, guest = new_guest(api)
    owner_only = [
        (m, p, op)
        for m, p, op in operations(api)
        if op.get("security") != [] and not guest_operation(op)
    ]
    ids = {op["operationId"] for _, _, op in owner_only}
    # the description must carry what a guest must never reach, or this test proves nothing
    for must in (
        "auth_list_tokens",
        "auth_create_token",
        "auth_change_password",
        "api_history",
        "guests_create_guest",
        "guests_list_guests",
        "guests_end_guest",
        "routines_list_routines",
        "api_create_scene",
        "api_openapi",
        "backup_download_backup",
        "backup_restore_backup",
    ):
        assert must in ids, must
    before_scenes = api.get("/scenes").json
    before_guests = api.get("/guests").json
    for method, path, _op in owner_only:
        r = call(client, guest, method, path)
        assert r.status_code == 403, (method, path, r.status_code, r.get_json())
        assert r.json["error"]["code"] == "guest_forbidden", (method, path)
    assert api.get("/scenes").json == before_scenes
    assert api.get("/guests").json == before_guests
    assert api.get("/tokens").json["tokens"][0]["name"] == "tests"


def test_guest_operations_are_allowed(api: Api, client: FlaskClient) -> None:
    _, guest = new_guest(api)
    allowed = [(m, p, op) for m, p, op in operations(api) if guest_operation(op)]
    assert {op["operationId"] for _, _, op in allowed} >= {
        "api_start_session",
        "api_pause_session",
        "api_extend_session",
        "api_stop_session",
        "api_set_device",
        "guests_guest_me",
    }
    for method, path, op in allowed:
        if op["operationId"] == "api_events":
            continue  # a stream: answered for real below with the browser flow
        r = call(client, guest, method, path)
        assert r.status_code not in (401, 403), (method, path, r.get_json())


@pytest.mark.parametrize("how", ["expired", "ended"])
def test_every_operation_refuses_an_ended_guest(
    api: Api, client: FlaskClient, hub: Hub, clock: FakeClock, how: str
) -> None:
    guest_id, guest = new_guest(api)
    if how == "expired":
        clock.jump_wall(3601)
    else:
        assert api.delete(f"/guests/{guest_id}").status_code == 204
    ops = operations(api)
    assert any(op.get("security") == [] for _, _, op in ops)  # public ones are in the sweep
    for method, path, _ in ops:
        r = call(client, guest, method, path)
        assert r.status_code == 401, (method, path, r.status_code, r.get_json())
        assert r.json["error"]["code"] == "guest_ended", (method, path)
    assert hub.sessions.current is None
