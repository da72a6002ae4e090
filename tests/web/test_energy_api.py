"""Energy over the REST API: each session's kWh and cost in GET /history and the end summary,
the room's meter in GET /state, and the OpenAPI description of both (issue 31)."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.config.model import Config
from hub.core import Hub
from tests.rigs.support import wait_for
from tests.rigs.web_fixtures import Api, api, app, client, token  # noqa: F401
from web import create_app
from web.models import HistoryPage, HubState

PRICE = 0.25
WATTS = {
    "lights": {"main": {"watts": 30.0}, "accent": {"watts": 10.0}},
    "heat_pads": {"pad": {"watts": 80.0}},
    "energy": {"price_per_kwh": PRICE, "currency": "€"},
    "session": {"prewarm_minutes": 0},
}


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    """The shipped config with watts for every light and the pad, and a price."""
    return make_config(WATTS)


def run_session(api: Api, hub: Hub, minutes: int) -> None:
    r = api.post("/session", json={"scene": "swedish", "minutes": minutes})
    assert r.status_code == 201, r.get_json()
    hub.advance(minutes * 60 + 61)
    assert api.get("/state").get_json()["session"] is None
    # records follow the deed (hub/store/recorder.py): the history row is on disk once none wait
    wait_for(lambda: hub.recorder.waiting == 0)


def test_history_and_the_end_summary_carry_the_sessions_energy_and_cost(api: Api, hub: Hub) -> None:
    run_session(api, hub, 20)
    state = api.get("/state").get_json()
    HubState.model_validate(state)
    last = state["last_session"]
    assert last["energy_kwh"] > 0.01  # 20 min of an 80 W pad at 55 % alone is 0.0147 kWh
    assert last["energy_cost"] == pytest.approx(last["energy_kwh"] * PRICE, rel=1e-3)
    assert last["energy_currency"] == "€"
    page = api.get("/history").get_json()
    HistoryPage.model_validate(page)
    row = page["sessions"][0]
    assert row["id"] == last["id"]
    assert row["energy_kwh"] == pytest.approx(last["energy_kwh"], rel=1e-6)
    assert row["energy_cost"] == pytest.approx(last["energy_cost"], rel=1e-6)
    assert row["energy_currency"] == "€"
    meter = state["energy"]
    assert meter["total_kwh"] == pytest.approx(last["energy_kwh"], rel=1e-3)
    assert meter["session_kwh"] is None and meter["watts"] == 0
    assert meter["currency"] == "€" and meter["price_per_kwh"] == PRICE


def test_the_meter_counts_the_running_session(api: Api, hub: Hub) -> None:
    api.post("/session", json={"scene": "swedish", "minutes": 30})
    hub.advance(600)
    meter = api.get("/state").get_json()["energy"]
    assert meter["session_kwh"] > 0
    assert meter["session_cost"] == pytest.approx(meter["session_kwh"] * PRICE, rel=1e-3)


def test_openapi_describes_the_energy_fields(api: Api) -> None:
    schemas = api.get("/openapi.json").get_json()["components"]["schemas"]
    for name in ("HistoryEntry", "LastSession"):
        assert {"energy_kwh", "energy_cost", "energy_currency"} <= set(schemas[name]["properties"])
    assert {"total_kwh", "saved_kwh", "watts", "session_kwh", "session_cost", "currency"} <= set(
        schemas["EnergyState"]["properties"]
    )
    assert "energy" in schemas["HubState"]["properties"]


def test_without_watts_no_energy_at_all(
    make_hub: Callable[..., Hub], make_config: Callable[..., Config]
) -> None:
    hub = make_hub(make_config({"session": {"prewarm_minutes": 0}}))
    app = create_app(hub)
    app.config["TESTING"] = True
    token_ = str(app.extensions["massagehub"].auth.create_token("tests")["token"])
    plain = Api(app.test_client(), token_)
    run_session(plain, hub, 5)
    state: dict[str, Any] = plain.get("/state").get_json()
    assert state["energy"] is None
    assert state["last_session"]["energy_kwh"] is None
    assert state["last_session"]["energy_cost"] is None
    row = plain.get("/history").get_json()["sessions"][0]
    assert row["energy_kwh"] is None and row["energy_cost"] is None
