"""Guest links for a visiting therapist, through the API and the link itself."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core import Hub
from hub.engine.clock import FakeClock
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401


def make_guest(api: Api, **body: Any) -> dict[str, Any]:
    body = {"name": "Ana", **body}
    r = api.post("/guests", json=body)
    assert r.status_code == 201, r.json
    return dict(r.json)


def guest_token(made: dict[str, Any]) -> str:
    return str(made["url"].rsplit("/guest/", 1)[1])


def as_guest(client: FlaskClient, made: dict[str, Any]) -> Api:
    return Api(client, guest_token(made))


def test_create_returns_link_qr_and_default_expiry(api: Api, hub: Hub, clock: FakeClock) -> None:
    for name in ("Anna", "Mia"):
        assert api.post("/profiles", json={"name": name}).status_code == 201
    made = make_guest(api, profiles=["anna", "mia", "anna"])
    assert set(made) == {"id", "name", "profiles", "url", "expires_at", "qr_svg"}
    assert made["url"].startswith("http://localhost/guest/mhg_")
    assert made["qr_svg"].startswith("<svg") and "xmlns" in made["qr_svg"]
    assert made["profiles"] == ["anna", "mia"]  # repeats dropped
    left = datetime.fromisoformat(made["expires_at"]) - clock.now()
    assert abs(left.total_seconds() - 3 * 3600) < 2
    listed = api.get("/guests").json["guests"]
    assert [g["id"] for g in listed] == [made["id"]] and listed[0]["active"] is True
    assert "token" not in listed[0] and guest_token(made) not in str(listed)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Ana", "minutes": 0}, "minutes"),
        ({"name": "Ana", "minutes": 60 * 24 + 1}, "minutes"),
        ({"name": "Ana", "minutes": "3"}, "minutes"),
        ({"name": "Ana", "profiles": [{"id": 1}]}, "profiles"),
        ({"name": "Ana", "profiles": ["../etc"]}, "profiles"),
        ({"name": "Ana", "profiles": [f"p{i}" for i in range(30)]}, "profiles"),
        ({"name": "Ana", "profiles": [3]}, "profiles"),
        ({"name": "Ana", "profiles": ["nobody"]}, "no profile 'nobody'"),
        ({"name": "Ana", "mintues": 5}, "minutes"),
    ],
)
def test_bad_visit_is_refused_and_changes_nothing(api: Api, body: Any, words: str) -> None:
    r = api.post("/guests", json=body)
    assert r.status_code == 422, r.json
    assert words in r.json["error"]["message"]
    assert api.get("/guests").json["guests"] == []


def test_guest_runs_a_session_and_history_says_by_whom(api: Api, client: FlaskClient) -> None:
    guest = as_guest(client, make_guest(api))
    assert guest.get("/state").status_code == 200
    r = guest.post("/session", json={"scene": "swedish", "minutes": 30})
    assert r.status_code == 201, r.json
    assert guest.post("/session/pause", json={}).status_code == 200
    assert guest.post("/session/resume", json={}).status_code == 200
    assert guest.post("/session/extend", json={"minutes": 5}).status_code == 200
    assert guest.put("/devices/main", json={"level": 0.3}).status_code == 200
    assert guest.delete("/session").status_code == 200
    row = api.get("/history").json["sessions"][0]
    assert row["by"] == "Ana (guest)"
    actions = [a["action"] for a in row["actions"]]
    assert actions[:5] == [
        "started a session (swedish)",
        "paused the session",
        "resumed the session",
        "extended the session by 5 min",
        "set main (level)",
    ]
    assert {a["by"] for a in row["actions"]} == {"Ana (guest)"}
    listed = api.get("/guests").json["guests"][0]["actions"]
    assert [a["action"] for a in listed][:2] == [
        "started a session (swedish)",
        "paused the session",
    ]


def test_open_links_are_bounded(api: Api) -> None:
    for i in range(20):
        make_guest(api, name=f"T{i}")
    r = api.post("/guests", json={"name": "One more"})
    assert r.status_code == 409 and "end one first" in r.json["error"]["message"]
    first = api.get("/guests").json["guests"][-1]
    assert api.delete(f"/guests/{first['id']}").status_code == 204
    make_guest(api, name="Now it fits")


def test_owner_sessions_are_by_nobody(api: Api) -> None:
    assert api.post("/session", json={"scene": "swedish"}).status_code == 201
    row = api.get("/history").json["sessions"][0]
    assert row["by"] is None and row["actions"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/tokens"),
        ("get", "/history"),
        ("get", "/guests"),
        ("post", "/guests"),
        ("get", "/routines"),
        ("put", "/password"),
        ("put", "/devices/pad"),
        ("post", "/scenes"),
    ],
)
def test_guest_cannot_reach_owner_things(
    api: Api, client: FlaskClient, hub: Hub, method: str, path: str
) -> None:
    guest = as_guest(client, make_guest(api))
    kwargs: dict[str, Any] = {} if method == "get" else {"json": {"heat": "low"}}
    before = hub.state()["devices"]["pad"]
    r = getattr(guest, method)(path, **kwargs)
    assert r.status_code == 403, r.json
    assert r.json["error"]["code"] == "guest_forbidden"
    assert hub.state()["devices"]["pad"] == before


def test_link_expires_by_itself(api: Api, client: FlaskClient, clock: FakeClock) -> None:
    guest = as_guest(client, make_guest(api, minutes=30))
    assert guest.get("/state").status_code == 200
    clock.jump_wall(29 * 60)
    assert guest.get("/state").status_code == 200
    clock.jump_wall(61)
    r = guest.get("/state")
    assert r.status_code == 401 and r.json["error"]["code"] == "guest_ended"
    assert "ended" in r.json["error"]["message"]
    assert api.get("/guests").json["guests"][0]["active"] is False


def test_owner_ends_a_link_early(api: Api, client: FlaskClient) -> None:
    made = make_guest(api)
    guest = as_guest(client, made)
    assert api.delete(f"/guests/{made['id']}").status_code == 204
    assert guest.get("/state").status_code == 401
    assert guest.post("/session", json={}).status_code == 401
    listed = api.get("/guests").json["guests"][0]
    assert listed["active"] is False and listed["ended_at"]
    assert api.delete("/guests/12345").status_code == 404


def test_link_signs_a_browser_in_with_csrf(api: Api, app: Flask, hub: Hub) -> None:
    mia = {"name": "Mia", "heat_max": "low", "aroma": False, "areas": ["neck"], "notes": "24 weeks"}
    assert api.post("/profiles", json=mia).status_code == 201
    assert (
        api.post("/profiles", json={"name": "Other", "notes": "not for the guest"}).status_code
        == 201
    )
    made = make_guest(api, profiles=["mia"])
    browser = app.test_client()
    r = browser.get(made["url"].removeprefix("http://localhost"))
    assert r.status_code == 302 and r.headers["Location"].endswith("/therapist")
    page = browser.get("/therapist")
    assert page.status_code == 200 and b"therapist.js" in page.data
    assert browser.get("/").headers["Location"].endswith("/therapist")
    me = browser.get("/api/v1/guest").json
    assert me["name"] == "Ana"
    # the client panel: the chosen profile's limits, areas and notes, nobody else's
    assert me["clients"] == [{"id": "mia", "volume_max": 100, **mia, "heat_max": "low"}]
    assert "not for the guest" not in str(me)
    status = browser.get("/api/v1/auth").json
    assert status["via"] == "guest" and status["csrf_token"]
    assert browser.post("/api/v1/session", json={}).status_code == 403  # no CSRF token
    assert hub.sessions.current is None
    ok = browser.post("/api/v1/session", json={}, headers={"X-CSRF-Token": status["csrf_token"]})
    assert ok.status_code == 201, ok.json
    assert browser.get("/api/v1/tokens").status_code == 403
    assert api.delete(f"/guests/{made['id']}").status_code == 204
    assert browser.get("/therapist").headers["Location"].endswith("/guest-ended")
    assert browser.get(made["url"].removeprefix("http://localhost")).status_code == 401


def test_a_wrong_link_is_refused(client: FlaskClient) -> None:
    r = client.get("/guest/mhg_not-a-real-one")
    assert r.status_code == 401 and b"ended" in r.data
    assert client.get("/therapist").status_code == 302


def test_owner_has_no_guest_panel(api: Api) -> None:
    r = api.get("/guest")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_guest"


def test_a_live_view_ends_with_the_link(api: Api, app: Flask, client: FlaskClient) -> None:
    made = make_guest(api)
    app.extensions["massagehub"].broker.heartbeat = 0.05  # a heartbeat at once, not in 15 s
    guest = as_guest(client, made)
    resp = guest.get("/events", buffered=False)
    assert resp.status_code == 200
    chunks = iter(resp.response)
    assert b"hello" in next(chunks)
    next(chunks)  # a heartbeat: the stream goes on while the link works
    assert api.delete(f"/guests/{made['id']}").status_code == 204
    rest = []
    for chunk in chunks:  # ends by itself at the next heartbeat
        rest.append(chunk)
        assert len(rest) < 3, rest
    resp.close()
    assert guest.get("/events").status_code == 401
