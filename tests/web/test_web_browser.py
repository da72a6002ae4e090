"""A real browser (Debian's Chromium through Playwright) against ``massage-hub serve``.

Set the password, log out and in, start a Swedish session, watch the countdown and the
virtual room, pause, stop; All-off from the Room page. Phone-size screenshots (390x844)
go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.rigs.phone import setup_code
from tests.rigs.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    ServeProcess,
    sim_pins,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.browser

ARGS = CHROMIUM_ARGS
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "quiet evening room"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """``massage-hub serve`` on a free port, simulated pins, no pre-warm (quick sessions)."""
    path = write_config(tmp_path, {"session": {"prewarm_minutes": 0}})
    proc = ServeProcess(path).start()
    yield proc
    proc.stop()


@pytest.fixture
def page(served: ServeProcess) -> Iterator[Any]:
    """A phone-sized Chromium page."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (setup.sh --test installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=1, has_touch=True
        )
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.errors = errors
        pg.set_default_timeout(15_000)
        yield pg
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    """Save a phone-size screenshot."""
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=False)


def outputs_off(served: ServeProcess) -> bool:
    pins = sim_pins(served.config_path)
    return all(pins.get(p, 0) == 0 for p in ("GPIO18", "GPIO13", "GPIO23", "GPIO24"))


def test_phone_session_flow(served: ServeProcess, page: Any) -> None:
    page.goto(served.base_url + "/")
    assert page.url.endswith("/setup")
    shot(page, "1-setup")
    page.fill("#code", "WRONG-CODE-0000")
    page.fill("#password", PASSWORD)
    page.fill("#repeat", PASSWORD + "x")
    page.click("#submit")
    expect(page.locator("#message")).to_contain_text("differ")
    page.fill("#repeat", PASSWORD)
    page.click("#submit")
    expect(page.locator("#message")).to_contain_text("not the setup code")
    page.errors.clear()  # the wrong code's 403 was logged on purpose
    page.fill("#code", setup_code(served))
    page.click("#submit")
    page.wait_for_url(re.compile(r"/#now$"))
    expect(page.locator("#tabs a.on")).to_have_text("Now")

    # log out from Settings and back in
    page.click("#tabs a[data-page=settings]")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.fill("#password", "wrong password")
    page.click("#submit")
    expect(page.locator("#message")).to_contain_text("password is not right")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/#now$"))
    expect(page.locator("#conn.live")).to_have_count(1)  # the event stream is connected
    page.errors.clear()  # the wrong password's 401 was logged on purpose

    room = page.locator("[data-testid=vroom]").first
    expect(room).to_have_attribute("data-heat", "off")
    page.click("[data-scene=swedish]")
    page.click("[data-minutes='30']")
    shot(page, "2-now-idle")
    page.click("#start")
    running = page.locator("[data-testid=running]")
    expect(running).to_be_visible()
    expect(page.locator("[data-testid=session-scene]")).to_have_text("Swedish")
    countdown = page.locator("[data-testid=countdown]")
    expect(countdown).to_have_text(re.compile(r"^(29|30):\d\d$"))
    first = countdown.text_content()
    wait_for(lambda: countdown.text_content() != first, timeout=5)  # it ticks
    # the virtual room follows the session over SSE: pad warm, mist, light rising
    expect(room).to_have_attribute("data-heat", "on")
    expect(room).to_have_attribute("data-mist", "on")
    wait_for(lambda: float(room.get_attribute("data-light") or 0) > 0.05, timeout=15)
    expect(page.locator("[data-testid=device-summary] li[data-device=pad] .value")).to_contain_text(
        "Medium"
    )
    shot(page, "3-now-running")

    page.click("#pause")
    expect(page.locator("[data-testid=phase]")).to_have_text("Paused")
    expect(page.locator("#pause")).to_have_text("Resume")
    paused_at = countdown.text_content()
    page.wait_for_timeout(1500)
    assert countdown.text_content() == paused_at  # the countdown stops while paused
    shot(page, "4-now-paused")
    page.click("#pause")
    expect(page.locator("[data-testid=phase]")).to_have_text("In session")

    page.click("#stop")
    expect(page.locator("[data-testid=phase]")).to_have_text("Fading out")
    expect(page.locator("#stop")).to_have_text("End now")
    shot(page, "5-now-fading")
    page.click("#stop")
    expect(page.locator("#start")).to_be_visible()
    expect(room).to_have_attribute("data-heat", "off")
    wait_for(lambda: outputs_off(served) or None, timeout=10)

    # Room page: switch things on, then All off
    page.click("#tabs a[data-page=room]")
    controls = page.locator("[data-testid=room-controls]")
    controls.locator("[data-device=diffuser] button[data-value=on]").click()
    controls.locator("[data-device=pad] button[data-value=low]").click()
    room2 = page.locator("#page-room [data-testid=vroom]")
    expect(room2).to_have_attribute("data-mist", "on")
    expect(room2).to_have_attribute("data-heat", "on")
    wait_for(lambda: sim_pins(served.config_path).get("GPIO23") == 1, timeout=5)
    shot(page, "6-room")
    page.click("#room-all-off")
    expect(room2).to_have_attribute("data-mist", "off")
    expect(room2).to_have_attribute("data-heat", "off")
    wait_for(lambda: outputs_off(served) or None, timeout=10)
    expect(page.locator("#toast")).to_contain_text("Everything is off")

    for name in ("scenes", "history", "settings"):
        page.click(f"#tabs a[data-page={name}]")
        page.wait_for_timeout(300)
        shot(page, f"7-{name}")
    expect(page.locator("[data-testid=history] tbody tr").first).to_contain_text("Swedish")

    # Scenes: make one, see it listed, delete it; built-ins offer no Delete
    page.on("dialog", lambda d: d.accept())
    page.click("#tabs a[data-page=scenes]")
    page.click("#new-scene")
    page.fill("#scene-name", "Evening glow")
    page.click("#save-scene")
    mine = page.locator("#page-scenes [data-scene=evening-glow]")
    expect(mine).to_be_visible()
    expect(
        page.locator("#page-scenes [data-scene=swedish]").get_by_role("button", name="Delete")
    ).to_have_count(0)
    mine.get_by_role("button", name="Delete").click()
    expect(mine).to_have_count(0)
    assert not page.errors, page.errors


def test_interrupted_banner(tmp_path: Path, page: Any, served: ServeProcess) -> None:
    """After a crash the Now page offers to start again or dismiss; heat stays off."""
    import signal
    import subprocess
    import sys

    from web.cli import cmd_set_password  # noqa: F401 - the CLI path is tested elsewhere

    subprocess.run(
        [sys.executable, "-m", "hub.cli", "set-password", "--config", str(served.config_path)],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        cwd=str(ROOT),
        capture_output=True,
    )
    page.goto(served.base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/#now$"))
    page.click("#start")
    expect(page.locator("[data-testid=running]")).to_be_visible()
    served.stop(signal.SIGKILL)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "all-off",
            "--direct",
            "--config",
            str(served.config_path),
        ],
        check=True,
        cwd=str(ROOT),
        capture_output=True,
    )
    served.start()
    page.goto(served.base_url + "/#now")
    banner = page.locator("[data-testid=interrupted]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("interrupted")
    expect(page.locator("[data-testid=vroom]").first).to_have_attribute("data-heat", "off")
    shot(page, "8-interrupted")
    page.click("#dismiss")
    expect(banner).to_be_hidden()
    assert outputs_off(served)
