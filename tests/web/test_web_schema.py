"""Schemathesis against the generated OpenAPI: no 5xx, no response that breaks the schema.

Runs in-process (WSGI) on a fake-clock hub with simulated pins, authenticated with a token.
The event stream never ends, so it is left out; a bounded number of examples keeps it quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hub.core import Hub
from hub.routines.controller import RoutineController
from tests.rigs.web_fixtures import PASSWORD
from web import create_app
from web.credentials import hash_token
from web.openapi import build_spec

TOKEN = "mh_schemathesis-" + "x" * 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _app(hub: Hub) -> Flask:
    app = create_app(hub)
    auth = app.extensions["massagehub"].auth
    auth.set_password(PASSWORD)
    with hub.store.transaction() as db:  # an id that random DELETE /tokens/{id} will not hit
        db.execute(
            "INSERT INTO tokens(id, name, hash, created_at) VALUES (?, ?, ?, ?)",
            (987_654_321, "schemathesis", hash_token(TOKEN), datetime.now(UTC).isoformat()),
        )
    return app


def _spec() -> dict[str, Any]:
    return build_spec()  # the app's routes, described; no hub needed


schema = schemathesis.openapi.from_dict(_spec()).exclude(path="/api/v1/events")


@pytest.fixture
def web_app(hub: Hub) -> Iterator[Flask]:
    """The app on the fake-clock hub with routines, a password, a token."""
    controller = RoutineController(hub)
    controller.start()
    yield _app(hub)
    controller.stop()


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi(case: Any, web_app: Flask) -> None:
    case.call_and_validate(
        app=web_app,
        headers={"Authorization": f"Bearer {TOKEN}"},
        checks=CHECKS,
    )
