"""Auth: first-run password, login with rate limit, cookie flags, CSRF, API tokens, CLI."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.config.model import load_config
from hub.core import Hub
from hub.store.database import Store
from tests.rigs.support import run_cli, write_config
from tests.rigs.web_fixtures import PASSWORD, app, client, logged_in, token  # noqa: F401


def code(resp) -> str:  # type: ignore[no-untyped-def]
    """Return the error code of an API error response."""
    return str(resp.get_json()["error"]["code"])


def test_first_visit_asks_for_a_password(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/login").headers["Location"].endswith("/setup")
    page = client.get("/setup")
    assert page.status_code == 200 and b"Set password" in page.data
    r = client.get("/api/v1/state")
    assert r.status_code == 401 and "set a password" in r.get_json()["error"]["message"]
    assert client.get("/api/v1/auth").get_json() == {
        "password_set": False,
        "authenticated": False,
        "via": None,
        "csrf_token": None,
    }
    error_login = client.post("/api/v1/login", json={"password": "whatever1"})
    assert error_login.status_code == 409


def test_setup_stores_only_an_argon2_hash_and_logs_in(
    client: FlaskClient, hub: Hub, app: Flask
) -> None:
    setup_code = app.extensions["massagehub"].auth.setup_code()
    r = client.post("/api/v1/setup", json={"password": "short", "code": setup_code})
    assert r.status_code == 422 and "8" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/setup", json={"password": PASSWORD, "code": setup_code})
    assert r.status_code == 201
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    stored = hub.store.get_setting("web.password_hash")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert client.get("/api/v1/state").status_code == 200
    assert client.get("/").status_code == 200
    again = client.post("/api/v1/setup", json={"password": "another password", "code": setup_code})
    assert again.status_code == 409  # only while no password is set
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_login_and_logout(app: Flask) -> None:
    app.extensions["massagehub"].auth.set_password(PASSWORD)
    c = app.test_client()
    assert c.get("/").headers["Location"].endswith("/login")
    assert c.get("/login").status_code == 200
    r = c.post("/api/v1/login", json={"password": "wrong password"})
    assert r.status_code == 401 and code(r) == "wrong_password"
    assert c.get("/api/v1/state").status_code == 401
    r = c.post("/api/v1/login", json={"password": PASSWORD})
    assert r.status_code == 200 and r.get_json()["csrf_token"]
    status = c.get("/api/v1/auth").get_json()
    assert status["authenticated"] and status["via"] == "cookie"
    assert status["csrf_token"] == r.get_json()["csrf_token"]
    assert c.get("/api/v1/state").status_code == 200
    assert c.post("/api/v1/logout").status_code == 200
    assert c.get("/api/v1/state").status_code == 401
    assert c.post("/api/v1/login", json={"pasword": PASSWORD}).status_code == 422
    assert c.post("/api/v1/login", data="nope", content_type="application/json").status_code == 400


def test_login_is_rate_limited_per_client(app: Flask) -> None:
    auth = app.extensions["massagehub"].auth
    auth.set_password(PASSWORD)
    now = [1000.0]
    auth.limiter.now = lambda: now[0]
    c = app.test_client()
    for _ in range(5):  # login_attempts_per_minute defaults to 5
        assert c.post("/api/v1/login", json={"password": "wrong!!!"}).status_code == 401
    r = c.post("/api/v1/login", json={"password": PASSWORD})  # even the right one waits
    assert r.status_code == 429 and code(r) == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    other = app.test_client()
    r = other.post(
        "/api/v1/login", json={"password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert r.status_code == 200  # another client is not limited
    now[0] += 61
    assert c.post("/api/v1/login", json={"password": PASSWORD}).status_code == 200


def test_csrf_is_required_for_cookie_writes(logged_in: tuple[FlaskClient, str]) -> None:
    c, csrf = logged_in
    r = c.post("/api/v1/all-off")
    assert r.status_code == 403 and code(r) == "csrf"
    r = c.post("/api/v1/all-off", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = c.put("/api/v1/devices/main", json={"level": 0.5}, headers={"X-CSRF-Token": "x"})
    assert r.status_code == 403
    assert c.get("/api/v1/state").get_json()["devices"]["main"]["level"] == 0  # nothing changed
    assert c.post("/api/v1/all-off", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert c.get("/api/v1/state").status_code == 200  # reads need no CSRF token


def test_api_tokens(logged_in: tuple[FlaskClient, str], app: Flask, hub: Hub) -> None:
    c, csrf = logged_in
    r = c.post("/api/v1/tokens", json={"name": "shortcut"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    created = r.get_json()
    tok = created["token"]
    assert tok.startswith("mh_") and len(tok) > 40
    rows = hub.store.query("SELECT hash FROM tokens")
    assert [row["hash"] for row in rows] == [hashlib.sha256(tok.encode()).hexdigest()]

    bare = app.test_client()
    bearer = {"Authorization": f"Bearer {tok}"}
    assert bare.get("/api/v1/state", headers=bearer).status_code == 200
    # a token needs no CSRF header
    assert bare.post("/api/v1/all-off", headers=bearer).status_code == 200
    listed = c.get("/api/v1/tokens").get_json()["tokens"]
    assert listed[0]["name"] == "shortcut" and "token" not in listed[0] and "hash" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    for header in ("Bearer mh_wrong", "Basic abc", "Bearer ", "Token " + tok):
        r = bare.get("/api/v1/state", headers={"Authorization": header})
        assert r.status_code == 401, header
    assert bare.get("/", headers={"Authorization": "Bearer mh_wrong"}).status_code == 302

    r = c.delete(f"/api/v1/tokens/{created['id']}", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert bare.get("/api/v1/state", headers=bearer).status_code == 401
    r = c.delete(f"/api/v1/tokens/{created['id']}", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    r = c.post("/api/v1/tokens", json={"name": ""}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422


def test_password_change_ends_other_logins(logged_in: tuple[FlaskClient, str], app: Flask) -> None:
    c, csrf = logged_in
    other = app.test_client()
    assert other.post("/api/v1/login", json={"password": PASSWORD}).status_code == 200
    r = c.put(
        "/api/v1/password",
        json={"current": "not it", "new": "new password 1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 403 and code(r) == "wrong_password"
    r = c.put(
        "/api/v1/password",
        json={"current": PASSWORD, "new": "short"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422
    r = c.put(
        "/api/v1/password",
        json={"current": PASSWORD, "new": "new password 1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200
    new_csrf = r.get_json()["csrf_token"]
    assert c.post("/api/v1/all-off", headers={"X-CSRF-Token": new_csrf}).status_code == 200
    assert other.get("/api/v1/state").status_code == 401  # the other login ended
    assert other.post("/api/v1/login", json={"password": PASSWORD}).status_code == 401
    assert other.post("/api/v1/login", json={"password": "new password 1"}).status_code == 200


def test_only_health_login_and_static_are_open(client: FlaskClient, app: Flask) -> None:
    app.extensions["massagehub"].auth.set_password(PASSWORD)
    for path in (
        "/healthz",
        "/login",
        "/static/app.js",
        "/static/app.css",
        "/manifest.webmanifest",
    ):
        assert client.get(path).status_code == 200, path
    for path in (
        "/api/v1/state",
        "/api/v1/scenes",
        "/api/v1/history",
        "/api/v1/events",
        "/api/v1/openapi.json",
        "/api/v1/tokens",
    ):
        assert client.get(path).status_code == 401, path
    assert client.get("/").status_code == 302
    for method, path in (
        ("post", "/api/v1/session"),
        ("post", "/api/v1/all-off"),
        ("put", "/api/v1/devices/main"),
        ("delete", "/api/v1/session"),
    ):
        assert getattr(client, method)(path, json={}).status_code == 401, path


def test_first_load_is_small(logged_in: tuple[FlaskClient, str]) -> None:
    c, _ = logged_in
    total = len(c.get("/").data)
    for path in ("app.css", "app.js", "start.js", "icon.svg"):
        r = c.get("/static/" + path)
        assert r.status_code == 200
        total += len(r.data)
    total += len(c.get("/manifest.webmanifest").data)
    assert total < 150 * 1024, total


_cli = run_cli


def test_cli_set_password_and_tokens(tmp_path: Path) -> None:
    from web.auth import Credentials

    path = write_config(tmp_path)
    config = load_config(path)
    r = _cli(path, "set-password", stdin="short\n")
    assert r.returncode == 1 and "8" in r.stderr
    r = _cli(path, "set-password", stdin="a good long password\n")
    assert r.returncode == 0, r.stderr
    creds = Credentials(Store(config.data_path))
    assert creds.check_password("a good long password")
    r = _cli(path, "token", "create", "kitchen", "tablet")
    assert r.returncode == 0, r.stderr
    tok = r.stdout.strip()
    assert tok.startswith("mh_") and "shown only this once" in r.stderr
    assert creds.token_id(tok) is not None
    listing = _cli(path, "token", "list")
    assert "kitchen tablet" in listing.stdout and tok not in listing.stdout
    token_id = listing.stdout.split()[0]
    assert _cli(path, "token", "revoke", token_id).returncode == 0
    assert creds.token_id(tok) is None
    r = _cli(path, "token", "revoke", token_id)
    assert r.returncode == 1 and "no API token" in r.stderr
    assert _cli(path, "token", "create").returncode == 2


@pytest.mark.parametrize("bad", ["", "x" * 61])
def test_token_names_are_checked(app: Flask, bad: str) -> None:
    from hub.errors import InvalidCommand

    with pytest.raises(InvalidCommand):
        app.extensions["massagehub"].auth.create_token(bad)
