"""Every page, in the states the tests visit, passes axe-core with 0 violations; every tap
target is at least 44x44 CSS px; selected states are exposed; landscape keeps the session
controls in view. Debian's Chromium, axe-core injected from tests/axe (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rigs.phone import (
    LANDSCAPE,
    PORTRAIT,
    HubApi,
    axe_violations,
    log_in,
    phone,
    set_password,
    shot,
    small_targets,
)
from tests.rigs.support import ServeProcess, write_config

pytestmark = pytest.mark.browser

PAGES = ("now", "room", "scenes", "routines", "history", "people", "journal", "settings")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """The hub on simulated pins with a 1-minute pre-warm."""
    path = write_config(tmp_path, {"session": {"prewarm_minutes": 1}})
    proc = ServeProcess(path).start()
    set_password(proc)
    yield proc
    proc.stop()


def check(page: object, where: str) -> None:
    """axe finds nothing and no target is small."""
    assert axe_violations(page) == [], where
    assert small_targets(page) == [], where


@pytest.mark.parametrize("size", ["portrait", "landscape"])
def test_every_page_passes_axe_and_has_big_targets(served: ServeProcess, size: str) -> None:
    viewport = PORTRAIT if size == "portrait" else LANDSCAPE
    with phone(viewport) as page:
        page.goto(served.base_url + "/login")
        check(page, "login")
        log_in(page, served)
        for name in PAGES:
            page.click(f"#tabs a[data-page={name}]")
            page.wait_for_timeout(400)
            check(page, name)
            shot(page, f"{size}-{name}")
        page.click("#tabs a[data-page=scenes]")
        page.click("#new-scene")
        page.click("#save-scene")  # no name: the error shows next to the field
        page.wait_for_selector(".field-error")
        check(page, "scene editor with an error")
        page.click("#tabs a[data-page=now]")
        page.click("#start")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        check(page, "session running")
        shot(page, f"{size}-session")
        page.evaluate("document.documentElement.classList.add('dim')")
        check(page, "dim look")
        shot(page, f"{size}-session-dim")
        assert not page.errors, page.errors


def test_selected_states_are_exposed(served: ServeProcess) -> None:
    with phone() as page:
        log_in(page, served)
        swedish = page.locator("[data-scene=swedish]")
        assert swedish.get_attribute("aria-pressed") == "true"
        page.click("[data-scene=hot-stone]")
        assert swedish.get_attribute("aria-pressed") == "false"
        assert page.locator("[data-scene=hot-stone]").get_attribute("aria-pressed") == "true"
        page.click("[data-minutes='45']")
        pressed = page.locator("[data-minutes][aria-pressed=true]")
        assert pressed.count() == 1 and pressed.text_content() == "45 min"
        page.click("#tabs a[data-page=room]")
        page.wait_for_selector("#tabs a[data-page=room][aria-current=page]")
        assert page.locator("#tabs a[aria-current]").count() == 1
        diffuser = page.locator("[data-device=diffuser] [role=group]")
        assert diffuser.get_attribute("aria-label") == "Diffuser mode"
        diffuser.locator("button[data-value=interval]").click()
        page.wait_for_selector(
            "[data-device=diffuser] button[data-value=interval][aria-pressed=true]"
        )
        assert diffuser.locator("[aria-pressed=true]").count() == 1
        for name in ("Ceiling strip brightness", "Accent lamp brightness", "Volume"):
            assert page.get_by_role("slider", name=name).count() == 1, name
        assert page.get_by_role("combobox", name="Playlist").count() == 1
        assert page.locator("#conn").text_content() == "Live"  # words, not a bare dot
        # the dim look: a pressed toggle in Settings, kept on this phone
        page.click("#tabs a[data-page=settings]")
        dim = page.locator("#dim")
        assert dim.get_attribute("aria-pressed") == "false"
        dim.click()
        assert dim.get_attribute("aria-pressed") == "true"
        assert page.evaluate("document.documentElement.classList.contains('dim')")
        page.reload()
        page.wait_for_selector("#conn.live")
        assert page.evaluate("document.documentElement.classList.contains('dim')")
        assert not page.errors, page.errors


def test_landscape_session_controls_fit_without_scrolling(served: ServeProcess) -> None:
    api = HubApi(served)
    with phone(LANDSCAPE) as page:
        log_in(page, served)
        page.click("#start")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") == 0
        tabs = page.locator("#tabs").bounding_box()
        for sel in ("#pause", "#extend", "#dim-now", "#stop", ".ring", "[data-testid=phase]"):
            box = page.locator(sel).bounding_box()
            assert box is not None, sel
            assert box["y"] >= 0 and box["y"] + box["height"] <= LANDSCAPE["height"], (sel, box)
            # not under the tab bar (down the side in landscape)
            assert box["x"] >= tabs["x"] + tabs["width"] or box["y"] >= tabs["y"] + tabs["height"]
        dim = page.locator("#dim-now")  # the dim look at hand during a session
        assert dim.get_attribute("aria-pressed") == "false"
        dim.click()
        assert dim.get_attribute("aria-pressed") == "true"
        assert page.evaluate("document.documentElement.classList.contains('dim')")
        shot(page, "landscape-prewarm")
        page.wait_for_function("MH.wakeLocked()")  # the screen stays on during a session
        page.click("#stop")  # during the pre-warm: over at once, no fade-out
        page.wait_for_selector("#start")
        assert api.state()["session"] is None
        page.wait_for_function("!MH.wakeLocked()")  # and lets the screen sleep again
        assert api.call("GET", "/history?limit=1")["sessions"][0]["end_reason"] == "stopped"
        assert not page.errors, page.errors


@pytest.mark.parametrize("size", ["portrait", "landscape"])
def test_the_tab_bar_holds_eight_pages(served: ServeProcess, size: str) -> None:
    viewport = PORTRAIT if size == "portrait" else LANDSCAPE
    with phone(viewport) as page:
        log_in(page, served)
        assert page.locator("#tabs a").count() == 8  # with People and Journal
        for tab in page.locator("#tabs a").all():
            box = tab.bounding_box()
            assert box is not None
            assert box["width"] >= 44 and box["height"] >= 44, (tab.text_content(), box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5
        shot(page, f"{size}-eight-tabs")


def test_first_run_setup_page_passes_axe(tmp_path: Path) -> None:
    proc = ServeProcess(write_config(tmp_path)).start()  # no password yet
    try:
        with phone() as page:
            page.goto(proc.base_url + "/")
            page.wait_for_url("**/setup")
            check(page, "setup")
            # both password boxes can be shown, each with its own pressed toggle
            toggles = page.get_by_role("button", name="Show password")
            assert toggles.count() == 2
            toggles.nth(1).click()
            assert page.get_attribute("#repeat", "type") == "text"
            assert page.get_attribute("#password", "type") == "password"
            check(page, "setup, one password shown")
            shot(page, "setup")
            assert not page.errors, page.errors
    finally:
        proc.stop()


@pytest.mark.parametrize("size", ["portrait", "landscape"])
def test_people_journal_ended_and_therapist_pages_pass_axe_and_have_big_targets(
    served: ServeProcess, size: str
) -> None:
    viewport = PORTRAIT if size == "portrait" else LANDSCAPE
    api = HubApi(served)
    api.call("POST", "/profiles", {"name": "Anna", "areas": ["lower_back"], "notes": "left knee"})
    api.call("PUT", "/table", {"people": ["anna"]})
    with phone(viewport) as page:
        log_in(page, served)
        # the start form asks how Anna feels before she lies down: numbers, then area chips
        ask = page.locator(".start-form [data-ask=before][data-person=anna]")
        ask.locator("[data-value='6']").click()
        ask.get_by_role("button", name="Tense areas").click()
        ask.locator(".area-chips [data-area=neck]").wait_for()
        check(page, "start form with the journal's question")
        page.click("#start")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        check(page, "session")
        page.click("#stop")
        page.wait_for_selector("[data-testid=session-ended]:not([hidden])")
        check(page, "session ended, with its 'after' question")
        shot(page, f"{size}-ended")
        page.click("#tabs a[data-page=history]")
        page.click("[data-rate-after=anna]")
        page.wait_for_selector(".rate-row [data-ask=after]")
        check(page, "history, answering a missed 'after'")
        page.click("#tabs a[data-page=people]")
        page.click("text=Edit")
        page.wait_for_selector("#profile-name")
        check(page, "a person's editor (area chips)")
        page.click("#tabs a[data-page=settings]")
        page.wait_for_selector("#visit-profiles [data-profile=anna]")
        check(page, "settings with people to share")
        url = api.call("POST", "/guests", {"name": "Ana", "profiles": ["anna"]})["url"]
    with phone(viewport) as guest:
        guest.goto(url)
        guest.wait_for_selector("#t-client-list >> text=Anna")
        check(guest, "therapist")
        shot(guest, f"{size}-therapist")
        guest.goto(served.base_url + "/guest-ended")
        check(guest, "link ended")
