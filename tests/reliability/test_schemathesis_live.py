"""Schemathesis against the live API of ``massage-hub serve``: zero 5xx.

Generates requests from the service's own OpenAPI (the spec the web tests use, from
tests/web/test_web_schema.py) for every operation but the endless event stream, and sends them
to a real service on a loopback port with a token made by the CLI. At least 10 000
requests on a full run (RELIABILITY=full), a few hundred otherwise.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.reliability.conftest import FULL, figure
from tests.rigs.live import LiveHub
from tests.web import test_web_schema as web_schema

pytestmark = pytest.mark.reliability

TARGET = 12_000 if FULL else 100  # schemathesis adds its own coverage cases
schema = schemathesis.openapi.from_dict(web_schema._spec()).exclude(path="/api/v1/events")
OPERATIONS = sum(1 for _ in schema.get_all_operations())
PER_OPERATION = math.ceil(TARGET / max(1, OPERATIONS))
SAFE_TOKEN_ID = 987_654_321  # random DELETE /tokens/{id} will not revoke the test's token

STATS: Counter[str] = Counter()
FIVE_XX: list[str] = []


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    hub = LiveHub(tmp_path_factory.mktemp("schemathesis-live"))
    db = sqlite3.connect(hub.data_dir / "massage-hub.sqlite3")
    with db:
        db.execute("UPDATE tokens SET id = ? WHERE id = 1", (SAFE_TOKEN_ID,))
    db.close()
    hub.start()
    yield hub
    code = hub.stop()
    figure(
        f"schemathesis on the live API: {STATS['requests']} generated requests over "
        f"{OPERATIONS} operations, {len(FIVE_XX)} 5xx, service exit code {code} "
        f"(statuses: {dict(sorted(STATS.items()))})"
    )


@schema.parametrize()
@settings(
    max_examples=PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_live_api_never_answers_5xx(case: Any, live: LiveHub) -> None:
    response = case.call(
        base_url=f"http://127.0.0.1:{live.port}",
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=10,
    )
    STATS["requests"] += 1
    STATS[f"{response.status_code // 100}xx"] += 1
    if response.status_code >= 500:
        FIVE_XX.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    )
    assert live.serve.proc is not None and live.serve.proc.poll() is None, "service died"
