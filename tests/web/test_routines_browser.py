"""The Routines page in Debian's Chromium: create a weekday wind-down, see its next run."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.command_models import parse
from hub.routines.models import RoutineIn, in_words, next_fire
from tests.rigs.phone import first_run
from tests.rigs.support import CHROMIUM, CHROMIUM_ARGS, ROOT, ServeProcess, write_config

pytestmark = pytest.mark.browser

ARGS = CHROMIUM_ARGS
ZONE = ZoneInfo("Europe/London")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def expected_words(at: str, days: list[str]) -> str:
    sched = parse(
        RoutineIn,
        {
            "name": "x",
            "schedule": {"kind": "weekly", "days": days, "time": at},
            "action": {"kind": "wind_down"},
        },
    ).schedule  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    nxt = next_fire(sched, now, ZONE)
    assert nxt is not None
    return in_words(nxt, now, ZONE)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (setup.sh --test installs it)")
    (tmp_path / "svc" / "music" / "calm").mkdir(parents=True)
    proc = ServeProcess(write_config(tmp_path / "svc", {"timezone": ZONE.key})).start()
    yield proc
    proc.stop()


def test_create_a_weekday_wind_down_in_the_ui_and_see_its_next_run(served: ServeProcess) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = ROOT / "test-artifacts"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            errors: list[Any] = []
            page.on("pageerror", lambda e: errors.append(e))
            first_run(page, served, "routines-test-pw")

            page.goto(served.base_url + "/#routines")
            expect(page.locator("nav.tabs a[data-page=routines]")).to_have_text("Routines")
            page.click("#new-routine")
            page.fill("#routine-name", "Weekday wind-down")
            days = page.locator("#routine-days .chip.on")
            expect(days).to_have_count(5)  # Mon-Fri preselected
            page.fill("#routine-time", "21:30")
            expect(page.locator("#routine-action")).to_have_value("wind_down")
            page.fill("#routine-light-from", "60")
            page.fill("#routine-light-to", "0")
            page.fill("#routine-minutes", "30")
            page.fill("#routine-playlist", "calm")
            page.fill("#routine-mist", "15")
            page.screenshot(path=str(shots / "routines-editor.png"), full_page=True)
            page.click("#save-routine")

            card = page.locator("[data-routine=weekday-wind-down]")
            expect(card).to_be_visible()
            want = expected_words("21:30", WEEKDAYS)
            # the hub's words, with the time as this (en-US, 12-hour) phone writes it
            next_words = re.compile(
                "^" + re.escape(f"Next: {want}").replace("21:30", r"9:30\sPM") + "$"
            )
            expect(card.get_by_test_id("next-run")).to_have_text(next_words)
            expect(card).to_contain_text("weekdays at 21:30")
            expect(card).to_contain_text("Wind-down 60 % → 0 % over 30 min, calm, mist 15 min")
            page.screenshot(path=str(shots / "routines-created.png"), full_page=True)

            # skip the next run: the card shows the one after
            card.get_by_test_id("skip").click()
            # the skipped run in words and local time, never a raw ISO date
            expect(card).to_contain_text(
                re.compile(r"Skipping the run on \w{3}, \w{3} \d+, \d+:30\sPM")
            )
            expect(card.get_by_test_id("next-run")).not_to_have_text(next_words)
            # disable: no next run
            card.get_by_test_id("enabled").click()
            expect(card.get_by_test_id("next-run")).to_have_text("Disabled")
            page.screenshot(path=str(shots / "routines-disabled.png"), full_page=True)

            # a bad time is refused with the API's message, and nothing changes
            page.click("#new-routine")
            page.fill("#routine-name", "Nobody")
            page.locator("#routine-days .chip.on").first.click()
            for _ in range(4):
                page.locator("#routine-days .chip.on").first.click()
            page.click("#save-routine")
            # in words, next to the days it is about, the days marked
            err = page.locator(
                "#routine-days + .field-error, [data-field='schedule.days'] + .field-error"
            )
            expect(err).to_have_text("Choose at least one day.")
            expect(page.locator("[data-field='schedule.days']")).to_have_attribute(
                "aria-invalid", "true"
            )
            expect(page.locator("[data-routine]")).to_have_count(1)
            assert not errors, errors
        finally:
            browser.close()
