"""Apple Home in the web: GET /api/v1/homekit, DELETE /api/v1/homekit/pairing, the Settings card."""
# ruff: noqa: F811  (pytest fixtures imported from tests/rigs/web_fixtures.py)

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.config.model import Config
from hub.core import Hub
from hub.homekit import homekit_component
from tests.rigs.homekit_controller import by_name, controller, pair
from tests.rigs.phone import first_run
from tests.rigs.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    ServeProcess,
    free_port,
    wait_for,
    write_config,
)
from tests.rigs.web_fixtures import Api, api, app, client, logged_in, token  # noqa: F401
from web import create_app

pytestmark = pytest.mark.timeout(180)


def homekit_overrides() -> dict[str, Any]:
    return {
        "homekit": {
            "enabled": True,
            "port": free_port(),
            "address": "127.0.0.1",
            "interfaces": ["127.0.0.1"],
        }
    }


# --- Apple Home off ---------------------------------------------------------------------------


def test_off_by_default_the_api_says_so_in_plain_words(api: Api) -> None:
    r = api.get("/homekit")
    assert r.status_code == 200
    assert r.json["enabled"] is False and r.json["setup_code"] is None
    assert "homekit.enabled: true" in r.json["message"]
    r = api.delete("/homekit/pairing")
    assert r.status_code == 409
    assert r.json["error"]["code"] == "conflict"
    assert "Apple Home is off" in r.json["error"]["message"]


def test_the_routes_need_a_login_and_writes_need_the_csrf_token(
    client: FlaskClient, logged_in: tuple[FlaskClient, str]
) -> None:
    assert client.get("/api/v1/homekit").status_code == 401
    assert client.delete("/api/v1/homekit/pairing").status_code == 401
    cookie_client, csrf = logged_in
    assert cookie_client.get("/api/v1/homekit").status_code == 200
    assert cookie_client.delete("/api/v1/homekit/pairing").status_code == 403
    r = cookie_client.delete("/api/v1/homekit/pairing", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 409  # past the CSRF check: Apple Home is off here


def test_building_the_service_with_homekit_off_imports_no_hap_or_zeroconf(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "svc")
    code = f"""
import sys
from hub.config.model import load_config
from hub.service import build_service
service = build_service(load_config({str(config_path)!r}))
assert service.homekit is None
print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyhap', 'zeroconf', 'aiohomekit', 'segno')))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT), timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- Apple Home on, a real bridge -------------------------------------------------------------


@pytest.fixture
def bridged_app(
    make_config: Callable[..., Config], make_hub: Callable[..., Hub]
) -> Iterator[Flask]:
    config = make_config(homekit_overrides())
    hub = make_hub(config)
    bridge = homekit_component(SimpleNamespace(hub=hub, config=config))
    assert bridge is not None
    bridge.start()
    app = create_app(hub)
    app.config["TESTING"] = True
    app.extensions["massagehub"].service = SimpleNamespace(homekit=bridge)
    yield app
    bridge.stop()


def test_unpaired_the_api_gives_the_setup_code_its_uri_and_a_qr_code(bridged_app: Flask) -> None:
    token = bridged_app.extensions["massagehub"].auth.create_token("t")["token"]
    api = Api(bridged_app.test_client(), token)
    body = api.get("/homekit").json
    assert body["enabled"] is True and body["running"] is True and body["paired"] is False
    assert len(body["setup_code"]) == 10 and body["setup_code"][3] == "-"
    assert body["setup_uri"].startswith("X-HM://") and len(body["setup_uri"]) == 20
    svg = body["qr_svg"]
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "Swedish massage" in body["accessories"]


def test_the_settings_card_pairs_and_resets_the_pairing_of_a_running_service(
    tmp_path: Path,
) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (setup.sh installs it)")
    from playwright.sync_api import expect, sync_playwright

    config_path = write_config(tmp_path / "svc", homekit_overrides())
    served = ServeProcess(config_path).start()
    try:
        # the setup code is in the log at start, until the hub is paired
        log = wait_for(lambda: "Apple Home is not paired yet" in served.log() and served.log())
        state_file = Path(served.config["data_dir"]) / "homekit" / "accessory.state"
        device_id = json.loads(state_file.read_text())["mac"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})
                errors: list[Any] = []
                page.on("pageerror", lambda e: errors.append(e))
                first_run(page, served, "homekit-test-pw")
                page.goto(served.base_url + "/#settings")
                code = page.get_by_test_id("homekit-code")
                expect(code).to_have_text(_code_in(log))
                qr = page.get_by_test_id("homekit-qr")
                expect(qr).to_be_visible()
                assert page.evaluate("e => e.naturalWidth", qr.element_handle()) > 0  # drawn

                setup_code = code.inner_text()

                async def pair_phone() -> list[str]:
                    async with controller() as c:
                        pairing = await pair(c, device_id, setup_code)
                        names = list(by_name(await pairing.list_accessories_and_characteristics()))
                        await pairing.close()
                        return names

                # Playwright's own event loop runs in this thread: the phone gets another
                with ThreadPoolExecutor(1) as phone:
                    assert "Swedish massage" in phone.submit(asyncio.run, pair_phone()).result(60)
                page.reload()
                expect(page.get_by_test_id("homekit-message")).to_have_text(
                    "Paired with Apple Home."
                )
                expect(page.get_by_test_id("homekit-code")).to_have_count(0)
                page.once("dialog", lambda d: d.accept())
                page.click("#homekit-reset")
                fresh = page.get_by_test_id("homekit-code")
                expect(fresh).to_be_visible()
                assert fresh.inner_text() != _code_in(log)
                assert not json.loads(state_file.read_text())["paired_clients"]
                assert not errors, errors
            finally:
                browser.close()
    finally:
        assert served.stop() == 0, served.log()


def _code_in(log: str) -> str:
    import re

    found = re.search(r"setup code (\d{3}-\d{2}-\d{3})", log)
    assert found, log
    return found.group(1)
