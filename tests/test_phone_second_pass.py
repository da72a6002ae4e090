"""The phone, second pass (issue 30), in real Chromium at 390x844 and 844x390: Start is where
the thumb sees it, the journal never stands between a person and Stop, a session ends with
words, and "my usual" is one tap. Screenshots go to ``test-artifacts/second-pass/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .phone import ARTIFACTS, LANDSCAPE, PASSWORD, PORTRAIT, phone
from .support import ServeProcess, run_cli, write_config

pytestmark = pytest.mark.browser

SIZES = [pytest.param(PORTRAIT, id="portrait"), pytest.param(LANDSCAPE, id="landscape")]
SHOTS = ARTIFACTS / "second-pass"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """``massage-hub serve`` with two pads (couples), a 5-minute warm-up and a password."""
    pads = {"pad2": {"pin": 17, "name": "Second pad", "max_on_minutes": 60}}
    path = write_config(tmp_path, {"heat_pads": pads, "session": {"prewarm_minutes": 5}})
    made = run_cli(path, "make-music", "--if-empty")
    assert made.returncode == 0, made.stderr
    out = run_cli(path, "set-password", stdin=PASSWORD + "\n")
    assert out.returncode == 0, out.stderr
    proc = ServeProcess(path).start()
    yield proc
    proc.stop()


def log_in(page: Any, served: ServeProcess) -> None:
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


def shot(page: Any, name: str, size: dict[str, int]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tag = "portrait" if size["height"] > size["width"] else "landscape"
    page.screenshot(path=str(SHOTS / f"{name}-{tag}.png"))


def couple(page: Any) -> None:
    """Anna and Ben, each on a pad of their own, on the table."""
    for name in ("Anna", "Ben"):
        call(page, "POST", "/profiles", {"name": name})
    call(page, "PUT", "/table", {"people": {"pad": "ben", "pad2": "anna"}})


def hit_is(page: Any, selector: str) -> bool:
    """Whether the element at the centre of ``selector`` is that element (or inside it)."""
    found = page.evaluate(
        """sel => { const el = document.querySelector(sel), r = el.getBoundingClientRect();
             const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
             return !!at && (at === el || el.contains(at)) ? true
               : (at ? at.outerHTML.slice(0, 120) : 'nothing') + ' at y ' + Math.round(r.top); }""",
        selector,
    )
    if found is not True:
        print(f"{selector} is covered by {found}")
    return found is True


@pytest.mark.parametrize("size", SIZES)
def test_start_is_not_under_the_tab_bar_when_now_opens(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        couple(page)
        page.reload()
        page.wait_for_selector("#conn.live")
        expect(page.locator("#start")).to_be_visible()
        assert hit_is(page, "#start"), "something covers Start when Now opens"
        shot(page, "now-opens", size)
        assert not page.errors


@pytest.mark.parametrize("size", SIZES)
def test_stop_stays_on_screen_and_the_journal_asks_at_the_right_moments(
    served: ServeProcess, size: Any
) -> None:
    with phone(size) as page:
        log_in(page, served)
        couple(page)
        page.reload()
        page.wait_for_selector("#conn.live")
        page.click("#start")
        expect(page.get_by_test_id("running")).to_be_visible()
        page.wait_for_timeout(800)  # the journal card asks the hub; let it paint
        for sel in ("#pause", "#stop"):
            box = page.locator(sel).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= size["height"], sel
            assert hit_is(page, sel), f"{sel} is covered"
        # nothing of the journal stands between the ring and the Stop button
        stop_y = page.locator("#stop").bounding_box()["y"]
        for ask in page.locator("[data-ask]").all():
            b = ask.bounding_box()
            assert b is None or b["y"] > stop_y, "a journal question sits above Stop"
        shot(page, "couples-running", size)
        # Stop in the warm-up: the "after" questions show at the top, in view
        page.click("#stop")
        expect(page.get_by_test_id("session-ended")).to_be_visible()
        after = page.locator("[data-ask=after]").first
        expect(after).to_be_visible()
        assert after.bounding_box()["y"] < size["height"] - 60  # in view, at the top
        shot(page, "couples-ended", size)
        assert not page.errors


@pytest.mark.parametrize("size", SIZES)
def test_a_missed_after_can_be_answered_from_history(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        couple(page)
        call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})
        call(page, "DELETE", "/session")
        # the next session: the first one's "after" was never answered
        call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})
        call(page, "DELETE", "/session")
        page.click("#tabs a[data-page=history]")
        row = page.locator("[data-testid=history] tbody tr").nth(1)
        row.locator("[data-rate-after=anna]").click()
        page.locator(".rate-row [data-ask=after] [data-value='3']").click()
        expect(page.locator("#toast")).to_have_text("Noted, thank you.")
        hist = call(page, "GET", "/history?limit=2")
        anna = [p for p in hist["sessions"][1]["people"] if p["profile"] == "anna"][0]
        assert anna["after"] == 3
        shot(page, "history-rate-after", size)


@pytest.mark.parametrize("size", SIZES)
def test_a_session_ends_with_words(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        couple(page)
        page.reload()
        page.wait_for_selector("#conn.live")
        # a Stop in the warm-up (hot stone heats the pads first)
        page.click("[data-scene=hot-stone]")
        page.click("#start")
        expect(page.get_by_test_id("phase")).to_contain_text("Warming")
        page.click("#stop")
        ended = page.get_by_test_id("session-ended")
        expect(ended).to_be_visible()
        expect(ended).to_contain_text("Session ended")
        expect(ended).to_contain_text("Hot stone")
        expect(ended).to_contain_text("stopped in the warm-up")
        expect(ended).to_contain_text("Ben (Table pad), Anna (Second pad)")
        assert hit_is(page, "[data-testid=session-ended] h2")
        shot(page, "ended-warm-up", size)
        # after the fade-out (wind-down has no heat: no warm-up)
        page.click("#end-ok")
        expect(ended).to_be_hidden()
        page.click("[data-scene=wind-down]")
        page.click("#start")
        expect(page.get_by_test_id("phase")).to_contain_text("In session")
        page.click("#stop")
        expect(page.get_by_test_id("phase")).to_contain_text("Fading out")
        page.click("#stop")  # End now
        expect(ended).to_contain_text("Session ended")
        expect(ended).to_contain_text("Wind-down")
        expect(ended).to_contain_text(re.compile(r"\d+ min"))
        expect(ended).to_contain_text("lights")
        shot(page, "ended-faded", size)
        assert not page.errors


@pytest.mark.parametrize("size", SIZES)
def test_my_usual_is_one_tap(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        couple(page)
        page.reload()
        page.wait_for_selector("#conn.live")
        page.click("[data-scene=deep-tissue]")
        page.click("[data-minutes='45']")
        page.click("#start")
        expect(page.get_by_test_id("running")).to_be_visible()
        call(page, "DELETE", "/session")
        expect(page.get_by_test_id("session-ended")).to_be_visible()
        # another visit: one tap on "my usual" starts the same again, couples included
        page.click("#end-ok")
        page.reload()
        page.wait_for_selector("#conn.live")
        usual = page.locator("#start-usual")
        expect(usual).to_contain_text("Deep tissue")
        expect(usual).to_contain_text("45 min")
        expect(usual).to_contain_text("Ben")
        expect(usual).to_contain_text("Anna")
        assert hit_is(page, "#start-usual")
        shot(page, "my-usual", size)
        usual.click()
        expect(page.get_by_test_id("running")).to_be_visible()
        sess = call(page, "GET", "/state")["session"]
        assert sess["scene"] == "deep-tissue" and sess["minutes"] == 45
        assert {p["profile"]: p["pad"] for p in sess["people"]} == {"ben": "pad", "anna": "pad2"}
        assert not page.errors
