"""Helpers for the phone browser tests: Chromium at phone sizes, login, axe-core, the API.

axe-core comes from ``tests/axe/node_modules`` (``setup.sh --test`` runs ``npm ci`` there);
it is injected into the page as a script, so the check needs no network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.live import create_token
from tests.rigs.support import CHROMIUM, CHROMIUM_ARGS, ROOT, ServeProcess

ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "quiet evening room"
PORTRAIT = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}


@contextmanager
def phone(viewport: dict[str, int] = PORTRAIT) -> Iterator[Any]:
    """Yield a page in Debian's Chromium at a phone's size (errors collected in .errors)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (setup.sh --test installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # bypass_csp: only so the test can inject axe-core as a script; the app itself obeys CSP
        context = browser.new_context(
            viewport=viewport, device_scale_factor=1, has_touch=True, bypass_csp=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def set_password(served: ServeProcess) -> None:
    """Set the hub's password through the CLI."""
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "set-password", "--config", str(served.config_path)],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        cwd=str(ROOT),
        capture_output=True,
    )


def setup_code(served: ServeProcess) -> str:
    """The first-run setup code, as ``massage-hub setup-code`` prints it."""
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "setup-code", "--config", str(served.config_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(ROOT),
    )
    return out.stdout.strip()


def first_run(page: Any, served: ServeProcess, password: str = PASSWORD) -> None:
    """Set the first password on the setup page, with the setup code; wait for Now."""
    page.goto(served.base_url + "/setup")
    page.fill("#code", setup_code(served))
    page.fill("#password", password)
    page.fill("#repeat", password)
    page.click("#submit")
    page.wait_for_url("**/#now")


def log_in(page: Any, served: ServeProcess) -> None:
    """Log in through the login page and wait for the live stream."""
    page.goto(served.base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/#now$"))
    page.wait_for_selector("#conn.live")


def call(page: Any, method: str, path: str, body: Any = None) -> Any:
    """Call the API from the page (its cookie and CSRF token)."""
    return page.evaluate(
        "([m, p, b]) => MH.api(m, p, b === null ? undefined : b)", [method, path, body]
    )


def shot(page: Any, name: str) -> None:
    """Save a screenshot of what the phone shows."""
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=False)


class HubApi:
    """The REST API with a token made by the CLI."""

    def __init__(self, served: ServeProcess) -> None:
        self.base = served.base_url + "/api/v1"
        self.token = create_token(served.config_path, "phone-tests")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def state(self) -> dict[str, Any]:
        return self.call("GET", "/state")  # type: ignore[no-any-return]


def axe_violations(page: Any) -> list[str]:
    """Run axe-core on the page; return each violation as rule id and the nodes it hit."""
    assert AXE.exists(), f"{AXE} is missing: run 'npm ci' in tests/axe (setup.sh --test does)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(result)


SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    'button, a[href], input:not([type=hidden]), select, [role=button]'))
  .filter(el => el.offsetParent !== null && !el.closest('[hidden]'))
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
  .map(([el, r]) => (el.id || el.textContent.trim() || el.getAttribute('aria-label') || el.tagName)
       + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))"""


def small_targets(page: Any) -> list[str]:
    """Return the visible tap targets smaller than 44x44 CSS px."""
    return list(page.evaluate(SMALL_TARGETS))
