"""Fixtures for the web tests: an app on a fake-clock hub, a client, a token, a logged-in client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core import Hub
from web import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(hub: Hub) -> Flask:
    """The web app on the fake-clock hub."""
    app = create_app(hub)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client without credentials."""
    return app.test_client()


@pytest.fixture
def token(app: Flask) -> str:
    """A valid API token."""
    return str(app.extensions["massagehub"].auth.create_token("tests")["token"])


class Api:
    """Call the API with a bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str) -> Any:
        def call(path: str, **kwargs: Any) -> Any:
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.client, method)("/api/v1" + path, headers=headers, **kwargs)

        return call


@pytest.fixture
def api(client: FlaskClient, token: str) -> Api:
    """The API, authenticated with a token."""
    return Api(client, token)


@pytest.fixture
def logged_in(app: Flask) -> Iterator[tuple[FlaskClient, str]]:
    """A client logged in with the cookie, and its CSRF token."""
    app.extensions["massagehub"].auth.set_password(PASSWORD)
    c = app.test_client()
    r = c.post("/api/v1/login", json={"password": PASSWORD})
    assert r.status_code == 200, r.json
    yield c, r.json["csrf_token"]
