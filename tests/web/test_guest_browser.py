"""A visiting therapist end to end in real Chromium at phone size: the owner makes a link
(QR code), a second browser opens it, runs a session, cannot reach the rest, and the link
ends. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.rigs.support import CHROMIUM, CHROMIUM_ARGS, ROOT, ServeProcess, run_cli, write_config

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "quiet evening room"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "has_touch": True}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """``massage-hub serve`` with a password set, no pre-warm (the session starts at once)."""
    path = write_config(tmp_path, {"session": {"prewarm_minutes": 0}})
    # the built-in scenes' playlist ("calm"), as setup.sh makes it: a copy of one then saves
    made = run_cli(path, "make-music", "--if-empty")
    assert made.returncode == 0, made.stderr
    out = run_cli(path, "set-password", stdin=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    proc = ServeProcess(path).start()
    yield proc
    proc.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (setup.sh --test installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def phone(browser: Any, **options: Any) -> Any:
    context = browser.new_context(**PHONE, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"guest-{name}.png"), full_page=True)


def test_visiting_therapist_flow(served: ServeProcess, browser: Any) -> None:
    owner = phone(browser)
    owner.goto(served.base_url + "/login")
    owner.fill("#password", PASSWORD)
    owner.click("#submit")
    owner.wait_for_url(re.compile(r"/#now$"))

    # the owner makes a visit in Settings: a QR code made on the hub, and the link as text
    owner.click("#tabs a[data-page=settings]")
    owner.fill("#visit-name", "Ana")
    owner.click("#create-visit")
    qr = owner.locator("[data-testid=visit-qr]")
    expect(qr).to_be_visible()
    assert owner.evaluate("document.querySelector('[data-testid=visit-qr]').naturalWidth") > 0
    url = owner.locator("[data-testid=visit-url]").text_content() or ""
    assert re.match(re.escape(served.base_url) + r"/guest/mhg_[\w-]{40,}$", url), url
    expect(owner.locator("[data-testid=visits] tr").first).to_contain_text("Ana")
    shot(owner, "1-owner-visit")
    # a scene of the owner's whose first cue is at the start, so the test sees one at once
    owner.evaluate(
        """MH.api("POST", "/scenes", {name: "Cue test", lights: {"*": 0.4}, volume: 20,
             timeline: {cues: [{at: "0%", text: "Face down to start"},
                               {at: "1/2", text: "Turn over"}]}})"""
    )

    # the therapist opens the link in a second browser: signed in to the therapist page
    guest = phone(browser)
    # headless Chromium has no vibration motor: note what the page asks for
    guest.add_init_script("navigator.vibrate = function (p) { window.vibrated = p; return true; };")
    guest.goto(url)
    guest.wait_for_url(re.compile(r"/therapist$"))
    expect(guest.locator("#visit")).to_contain_text("Hello Ana")
    expect(guest.locator("#conn.live")).to_have_count(1)
    guest.select_option("#t-scene", "cue-test")
    guest.fill("#t-minutes", "30")
    guest.click("#t-go")
    expect(guest.locator("#t-status")).to_contain_text("Cue test")
    expect(guest.locator("#cue")).to_have_text("Face down to start")
    assert guest.evaluate("window.vibrated") == [200, 100, 200]
    light = guest.locator("#t-devices input[data-device=main]")
    expect(light).to_have_value("40")  # the room follows the session
    expect(guest.locator("#t-countdown")).to_have_text(re.compile(r"^(29|30):\d\d left$"))
    expect(guest.locator("#t-cues li").first).to_contain_text("Turn over at 15:00")
    guest.click("#t-pause")
    expect(guest.locator("#t-status")).to_contain_text("paused")
    guest.click("#t-pause")
    expect(guest.locator("#t-status")).to_contain_text("active")
    guest.click("#t-extend")
    expect(guest.locator("#t-countdown")).to_have_text(re.compile(r"^(39|40):\d\d left$"))
    shot(guest, "2-therapist-running")

    # nothing else: the owner's pages and API refuse the guest
    assert guest.request.get(served.base_url + "/api/v1/tokens").status == 403
    assert guest.request.get(served.base_url + "/api/v1/history").status == 403
    assert guest.request.get(served.base_url + "/api/v1/backup").status == 403
    guest.goto(served.base_url + "/")
    guest.wait_for_url(re.compile(r"/therapist$"))

    # the owner's history says who ran it
    owner.click("#tabs a[data-page=history]")
    expect(owner.locator("[data-testid=history] tbody tr").first).to_contain_text("by Ana (guest)")

    # the owner ends the link early: the therapist's page is told by itself (the live
    # stream closes at its next heartbeat, a second later) and says so
    owner.click("#tabs a[data-page=settings]")
    owner.locator("[data-testid=visits] tr").first.get_by_role("button", name="End now").click()
    expect(owner.locator("[data-testid=visits] tr").first).to_contain_text("ended")
    guest.wait_for_url(re.compile(r"/guest-ended$"), timeout=10000)
    expect(guest.locator("#guest-ended")).to_contain_text("ended")
    shot(guest, "3-link-ended")
    guest.goto(url)
    expect(guest.locator("#guest-ended")).to_contain_text("ended")
    assert guest.request.get(served.base_url + "/api/v1/state").status == 401
    assert owner.errors == [] and guest.errors == []


def test_settings_backup_restore_and_scene_cues(
    served: ServeProcess, browser: Any, tmp_path: Path
) -> None:
    # no service worker: the restore's answer is read on its way (page.route sees only
    # what the page itself asks; a request the worker makes passes it by)
    owner = phone(browser, service_workers="block")
    owner.goto(served.base_url + "/login")
    owner.fill("#password", PASSWORD)
    owner.click("#submit")
    owner.wait_for_url(re.compile(r"/#now$"))
    owner.evaluate('MH.api("POST", "/scenes", {name: "Kept", lights: {"*": 0.3}})')
    owner.click("#tabs a[data-page=settings]")
    with owner.expect_download() as got:
        owner.click("#download-backup")
    file = tmp_path / "backup.json"
    got.value.save_as(str(file))
    doc = json.loads(file.read_text())
    assert doc["format"] == "massage-hub-backup" and doc["secrets"] is False
    assert "kept" in [r["id"] for r in doc["tables"]["scenes"]]
    # the scene goes; the restore brings it back
    owner.evaluate('MH.api("DELETE", "/scenes/kept")')
    owner.on("dialog", lambda d: d.accept())
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    owner.set_input_files("#restore-file", str(bad))
    owner.click("#restore-backup")
    expect(owner.locator("#toast")).to_contain_text("not a backup of this hub")
    owner.set_input_files("#restore-file", str(file))
    owner.click("#restore-backup")
    expect(owner.locator("#toast")).to_contain_text("Restored")
    scenes = owner.evaluate('MH.api("GET", "/scenes").then(function (d) { return d.scenes; })')
    assert "kept" in [s["id"] for s in scenes]
    shot(owner, "4-backup-restored")

    # the scene editor changes a copy's cues
    owner.click("#tabs a[data-page=scenes]")
    owner.locator("[data-scene=swedish]").get_by_role("button", name="Copy").click()
    copy = owner.locator(".scene", has_text="Swedish").last
    expect(copy.get_by_role("button", name="Edit")).to_be_visible()
    copy.get_by_role("button", name="Edit").click()
    cues = owner.locator("#scene-cues")
    expect(cues).to_have_value("1/2 | Turn over\n-5 min | Five minutes left")
    cues.fill("1/3 | Legs\n2/3 | Arms\n-2 min | Nearly done")
    owner.click("#save-scene")
    expect(owner.locator("#toast")).to_contain_text("Scene saved")
    scenes = owner.evaluate('MH.api("GET", "/scenes").then(function (d) { return d.scenes; })')
    mine = [s for s in scenes if not s["builtin"] and s["name"].startswith("Swedish")]
    assert mine and mine[0]["timeline"]["cues"] == [
        {"at": "1/3", "text": "Legs"},
        {"at": "2/3", "text": "Arms"},
        {"at": "-2 min", "text": "Nearly done"},
    ]
    assert owner.errors == []

    # a backup with the password and tokens replaces them only when that is ticked on its own
    owner.click("#tabs a[data-page=settings]")
    owner.check("#backup-secrets")
    with owner.expect_download() as got:
        owner.click("#download-backup")
    secret = tmp_path / "secret.json"
    got.value.save_as(str(secret))
    assert json.loads(secret.read_text())["secrets"] is True
    owner.set_input_files("#restore-file", str(secret))
    owner.click("#restore-backup")
    expect(owner.locator("#toast")).to_contain_text("replaces this hub's password")
    owner.check("#restore-secrets")
    answers: list[tuple[int, dict[str, Any]]] = []

    def keep_answer(route: Any) -> None:
        # read the answer before the page has it: it leaves for the login page right after,
        # and a body is gone once its page navigated away (as happened on a busy machine)
        response = route.fetch()
        answers.append((response.status, response.json()))
        route.fulfill(response=response)

    owner.route(lambda url: "/api/v1/restore" in url, keep_answer)
    owner.click("#restore-backup")
    # the password and tokens were replaced, so every login ended: the page asks for it again
    # (it has the answer by then, so keep_answer has kept it)
    # (the page may start for it twice, the answer's way and a 401's: wait for where it ends)
    expect(owner).to_have_url(re.compile(r"/login"))
    expect(owner.locator("#password")).to_be_visible()
    assert len(answers) == 1, answers
    status, body = answers[0]
    assert status == 200 and body["secrets"] is True
    assert owner.errors == []
