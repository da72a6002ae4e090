"""People and journal pages in Debian's Chromium at phone size, on a served two-pad hub.

A profile is made on the People page (areas tapped on the body outline), picked on the Now
page ("Who is on the table?"), its limits hold in the session it starts, the one-tap journal
asks before (on the start form) and after, History shows who it was for, and the Journal page says "not enough
sessions yet" until there are five, then charts them. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.phone import call, first_run
from tests.rigs.support import CHROMIUM, CHROMIUM_ARGS, ROOT, ServeProcess, write_config

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PASSWORD = "people-test-pw"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed (setup.sh installs it)"
    (tmp_path / "svc" / "music" / "calm").mkdir(parents=True)
    pads = {"pad2": {"pin": 17, "name": "Second pad", "max_on_minutes": 60}}
    proc = ServeProcess(write_config(tmp_path / "svc", {"heat_pads": pads})).start()
    yield proc
    proc.stop()


def test_people_picker_limits_journal_and_history(served: ServeProcess) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = ROOT / "test-artifacts"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=PHONE)
            errors: list[Any] = []
            page.on("pageerror", lambda e: errors.append(e))
            first_run(page, served)

            # --- a profile, with its areas tapped on the outline ---------------------------
            page.goto(served.base_url + "/#people")
            expect(page.locator("nav.tabs a[data-page=people]")).to_have_text("People")
            page.click("#new-profile")
            page.fill("#profile-name", "Anna")
            page.click("#profile-heat button[data-value=low]")
            page.locator("#profile-volume").fill("30")
            page.check("#profile-aroma")
            editor = page.get_by_test_id("profile-areas")
            editor.locator("svg [data-area=neck]").click()
            editor.locator("svg [data-area=lower_back]").click()
            editor.locator(".area-chips [data-area=feet]").click()
            page.fill("#profile-notes", "pregnant, 24 weeks")
            page.screenshot(path=str(shots / "people-editor.png"), full_page=True)
            page.click("#save-profile")
            card = page.locator("#page-people .card[data-profile=anna]")
            expect(card).to_contain_text("heat up to low · volume up to 30 · no aroma")
            expect(card).to_contain_text("Areas: Neck, Lower back, Feet")
            expect(card).to_contain_text("pregnant, 24 weeks")
            expect(card.locator("svg [data-area].on")).to_have_count(4)  # two feet
            # a bad value is refused with the API's words, and nothing is added
            page.click("#new-profile")
            page.click("#save-profile")
            error = page.locator("#page-people .field-error")  # next to the name, in words
            expect(error).to_have_text("Give the person a name.")
            assert page.get_attribute("#profile-name", "aria-invalid") == "true"
            expect(page.locator("#page-people .card[data-profile]")).to_have_count(1)
            page.screenshot(path=str(shots / "people-list.png"), full_page=True)
            assert call(page, "GET", "/profiles/anna")["areas"] == ["neck", "lower_back", "feet"]
            call(page, "POST", "/profiles", {"name": "Ben", "heat_max": "high"})

            # --- Now: who is on the table, each on their own pad ----------------------------
            page.goto(served.base_url + "/#now")
            picker = page.get_by_test_id("who-picker")
            expect(picker).to_contain_text("Who is on the table?")
            page.click("[data-scene=hot-stone]")
            picker.locator("[data-profile=anna]").click()
            picker.locator("[data-profile=ben]").click()
            picker.locator("select[data-pad=pad]").select_option("ben")
            picker.locator("select[data-pad=pad2]").select_option("anna")
            expect(page.get_by_test_id("who-notes")).to_contain_text("pregnant, 24 weeks")
            page.screenshot(path=str(shots / "people-now-picker.png"), full_page=True)
            # before they lie down: Anna's stress, with a tense area; Ben's (a second tap on a
            # number takes it back)
            ask = page.locator(".start-form [data-ask=before][data-person=anna]")
            expect(ask).to_be_visible()
            ask.get_by_role("button", name="Tense areas").click()
            ask.locator(".area-chips [data-area=shoulders]").click()
            ask.locator(".scale [data-value='7']").click()
            page.screenshot(path=str(shots / "people-journal-before.png"), full_page=True)
            ben = page.locator(".start-form [data-ask=before][data-person=ben] .scale")
            ben.locator("[data-value='4']").click()
            ben.locator("[data-value='4']").click()
            ben.locator("[data-value='5']").click()
            expect(ben.locator("[aria-pressed=true]")).to_have_text("5")
            page.click("#start")
            expect(page.get_by_test_id("running")).to_be_visible()
            state = call(page, "GET", "/state")
            people = {x["profile"]: x["pad"] for x in state["session"]["people"]}
            assert people == {"anna": "pad2", "ben": "pad"}
            assert state["devices"]["pad"]["heat"] == "high"
            assert state["devices"]["pad2"]["heat"] == "low"
            assert state["devices"]["diffuser"]["mode"] == "off"
            assert "Anna's heat limit" in state["devices"]["pad2"]["limit"]

            box = page.get_by_test_id("session-limits")
            expect(box).to_contain_text("For Ben (Table pad), Anna (Second pad)")
            expect(box.locator("[data-device=pad2]")).to_have_text(
                "Second pad capped at low (asked high): Anna's heat limit"
            )
            expect(page.locator("[data-ask]:visible")).to_have_count(0)  # none in the session

            call(page, "DELETE", "/session")  # still warming the table: it ends at once
            assert call(page, "GET", "/state")["session"] is None
            after = page.locator("[data-ask=after][data-person=anna]")
            expect(after).to_be_visible()
            page.screenshot(path=str(shots / "people-journal-after.png"), full_page=True)
            after.locator(".scale [data-value='3']").click()
            expect(after).to_have_count(0)
            entries = call(page, "GET", "/journal?profile=anna")["entries"]
            assert [(e["when"], e["stress"], e["areas"]) for e in entries] == [
                ("before", 7, ["shoulders"]),
                ("after", 3, []),
            ]

            # --- History: who it was for, with their ratings --------------------------------
            page.goto(served.base_url + "/#history")
            row = page.get_by_test_id("history").locator("tbody tr").first
            expect(row.locator("[data-person=anna]")).to_have_text("Anna 7→3")
            expect(row.locator("[data-person=ben]")).to_contain_text("Ben 5→?")
            page.screenshot(path=str(shots / "people-history.png"), full_page=True)

            # --- Journal: not enough sessions yet, then a chart ----------------------------
            page.goto(served.base_url + "/#journal")
            page.select_option("#journal-who", "anna")
            summary = page.get_by_test_id("journal-summary")
            expect(summary).to_contain_text("Not enough sessions yet")
            expect(summary).to_contain_text("1 of 5 sessions")
            expect(page.locator("svg.chart")).to_have_count(0)  # no line from one session
            page.screenshot(path=str(shots / "journal-not-enough.png"), full_page=True)
            for before, after_ in [(8, 4), (6, 3), (9, 4), (7, 2)]:
                s = call(
                    page,
                    "POST",
                    "/session",
                    {"scene": "swedish", "minutes": 20, "profiles": ["anna"]},
                )
                call(page, "DELETE", "/session")  # in the pre-warm: it ends at once
                for when, value in (("before", before), ("after", after_)):
                    call(
                        page,
                        "POST",
                        "/journal",
                        {"session_id": s["id"], "profile": "anna", "when": when, "stress": value},
                    )
            page.goto(served.base_url + "/#now")
            page.goto(served.base_url + "/#journal")
            page.select_option("#journal-who", "anna")
            expect(summary).to_contain_text("Stress 4.2 points lower after a session, on average")
            expect(summary).to_contain_text("From 5 ratings before and after, in 5 sessions")
            drops = page.get_by_test_id("scene-drops")
            expect(drops.locator("[data-scene=Swedish]")).to_contain_text("not enough sessions yet")
            expect(drops.locator("[data-scene=Swedish]")).to_contain_text("4 sessions")
            expect(drops.locator("[data-scene='Hot stone']")).to_contain_text("1 session")
            expect(page.locator("svg.chart .dot.before")).to_have_count(1)  # one week so far
            expect(page.locator("svg.chart .dot.after")).to_have_count(1)
            page.screenshot(path=str(shots / "journal-chart.png"), full_page=True)
            csv = page.evaluate(
                "() => fetch('/api/v1/journal.csv?profile=anna').then(r => r.text())"
            )
            assert csv.splitlines()[0].startswith("session_id,session_started_at,scene,profile")
            assert len(csv.splitlines()) == 1 + 10
            assert not errors, errors
        finally:
            browser.close()
