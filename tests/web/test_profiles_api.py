"""Profiles, couples and limits over HTTP (Flask test client on a fake-clock hub)."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from hub.config.model import Config
from hub.core import Hub
from tests.rigs.web_fixtures import Api, api, app, client, logged_in, token  # noqa: F401
from web import create_app

COUPLES = {"heat_pads": {"pad2": {"pin": 17, "name": "Second pad", "max_on_minutes": 60}}}


@pytest.fixture
def couples_api(make_hub: Callable[..., Hub], make_config: Callable[..., Config]) -> Api:
    hub = make_hub(make_config(COUPLES))
    app = create_app(hub)
    app.config["TESTING"] = True
    tok = app.extensions["massagehub"].auth.create_token("tests")["token"]
    return Api(app.test_client(), tok)


def test_profiles_crud(api: Api) -> None:
    r = api.post(
        "/profiles",
        json={
            "name": "Anna",
            "heat_max": "low",
            "volume_max": 40,
            "aroma": False,
            "favourite_scenes": ["swedish"],
            "areas": ["neck", "shoulders"],
            "notes": "pregnant, 24 weeks",
        },
    )
    assert r.status_code == 201, r.json
    anna = r.json
    assert anna["id"] == "anna" and anna["notes"] == "pregnant, 24 weeks"
    assert api.get("/profiles").json == {"profiles": [anna]}
    assert api.get("/profiles/anna").json == anna
    r = api.put("/profiles/anna", json={**anna, "volume_max": 30})
    assert r.status_code == 200 and r.json["volume_max"] == 30
    assert api.delete("/profiles/anna").status_code == 204
    r = api.get("/profiles/anna")
    assert r.status_code == 404 and r.json["error"]["message"] == "no profile called 'anna'"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"name": "B", "heat_max": "max"},
            "heat_max: must be one of 'off', 'low', 'medium' or 'high' (got 'max')",
        ),
        ({"name": "B", "volume_max": 120}, "volume_max: must be at most 100"),
        ({"name": "B", "areas": ["knee"]}, "areas.0: must be one of 'neck', 'shoulders'"),
        ({"name": "B", "aroma": 0}, "aroma"),
        ({"nam": "B"}, "nam: unknown field (did you mean 'name'?)"),
    ],
)
def test_bad_profile_bodies_say_what_to_change(api: Api, body: Any, message: str) -> None:
    r = api.post("/profiles", json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid"
    assert message in r.json["error"]["message"], r.json
    assert api.get("/profiles").json == {"profiles": []}


def test_profile_writes_need_csrf_with_the_cookie(logged_in: tuple[FlaskClient, str]) -> None:
    c, csrf = logged_in
    r = c.post("/api/v1/profiles", json={"name": "Zed"})
    assert r.status_code == 403
    r = c.post("/api/v1/profiles", json={"name": "Zed"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_profile_routes_need_auth(client: FlaskClient) -> None:
    assert client.get("/api/v1/profiles").status_code == 401
    assert client.get("/api/v1/journal").status_code == 401
    assert client.get("/api/v1/journal.csv").status_code == 401


def test_a_session_for_one_person_over_http(api: Api) -> None:
    api.post("/profiles", json={"name": "Dana", "heat_max": "medium", "aroma": False})
    r = api.post("/session", json={"scene": "hot-stone", "minutes": 30, "profiles": ["dana"]})
    assert r.status_code == 201, r.json
    assert r.json["people"] == [{"profile": "dana", "name": "Dana", "pad": None}]
    state = api.get("/state").json
    assert state["devices"]["pad"]["heat"] == "medium"
    assert state["session"]["limits"]["aroma"] is False
    r = api.put("/devices/diffuser", json={"mode": "on"})
    assert r.status_code == 409
    assert r.json["error"] == {
        "code": "profile_limit",
        "message": "the diffuser stays off: Dana says no aroma",
    }
    r = api.put("/devices/pad", json={"heat": "high"})
    assert r.status_code == 200
    assert r.json["heat"] == "medium"
    assert r.json["limit"] == "Table pad capped at medium (asked high): Dana's heat limit"


def test_couples_over_http(couples_api: Api) -> None:
    api = couples_api
    api.post("/profiles", json={"name": "Kim", "heat_max": "high", "volume_max": 25})
    api.post("/profiles", json={"name": "Lou", "heat_max": "off"})
    r = api.post(
        "/session",
        json={"scene": "couples", "minutes": 60, "profiles": {"pad": "kim", "pad2": "lou"}},
    )
    assert r.status_code == 201, r.json
    state = api.get("/state").json
    assert state["devices"]["pad"]["heat"] == "medium"
    assert state["devices"]["pad2"]["heat"] == "off"
    assert state["session"]["limits"] == {
        "heat_max": {"pad": "high", "pad2": "off"},
        "volume_max": 25,
        "aroma": True,
    }
    history = api.get("/history").json["sessions"]
    assert [(p["name"], p["pad"]) for p in history[0]["people"]] == [
        ("Kim", "pad"),
        ("Lou", "pad2"),
    ]


@pytest.mark.parametrize(
    ("profiles", "message"),
    [
        ({"sofa": "kim"}, "profiles: no heat pad called 'sofa' (pads: pad, pad2)"),
        (["ghost"], "profiles: no profile called 'ghost'"),
        ({"pad": "kim", "pad2": "kim"}, "profiles: the same person is named twice"),
        ("kim", "profiles"),
    ],
)
def test_bad_couples_are_refused_and_nothing_starts(
    couples_api: Api, profiles: Any, message: str
) -> None:
    api = couples_api
    api.post("/profiles", json={"name": "Kim"})
    r = api.post("/session", json={"scene": "couples", "minutes": 60, "profiles": profiles})
    assert r.status_code == 422, r.json
    assert message in r.json["error"]["message"]
    assert api.get("/state").json["session"] is None
    assert api.get("/history").json["sessions"] == []
