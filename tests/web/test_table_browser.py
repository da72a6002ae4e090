"""A therapist's link for Anna in real Chromium: the page shows her limits, Start keeps to
them, and a manual command beyond them is refused or capped, in words. The owner's Now
page shows who is on the table. Phone size, both ways up; screenshots to test-artifacts/.
"""
# ruff: noqa: F811  (pytest fixtures imported from tests/web/test_guest_browser.py)

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.rigs.support import ServeProcess
from tests.web.test_guest_browser import PASSWORD, browser, phone, served, shot  # noqa: F401

pytestmark = pytest.mark.browser

ANNA = {
    "name": "Anna",
    "heat_max": "off",
    "aroma": False,
    "volume_max": 5,
    "notes": "pregnant, 24 weeks",
}


def owner_with_anna(served: ServeProcess, browser: Any) -> Any:
    """The owner's phone, signed in, with Anna's profile made."""
    owner = phone(browser)
    owner.goto(served.base_url + "/login")
    owner.fill("#password", PASSWORD)
    owner.click("#submit")
    owner.wait_for_url(re.compile(r"/#now$"))
    owner.evaluate(f"MH.api('POST', '/profiles', {ANNA!r})".replace("False", "false"))
    return owner


def test_a_therapists_page_keeps_to_the_clients_limits(served: ServeProcess, browser: Any) -> None:
    owner = owner_with_anna(served, browser)
    made = owner.evaluate("MH.api('POST', '/guests', {name: 'Ana', profiles: ['anna']})")
    url = made["url"]

    guest = phone(browser)
    guest.goto(url)
    guest.wait_for_url(re.compile(r"/therapist$"))
    expect(guest.locator("#t-client-list")).to_contain_text("Limits: heat at most off; no aroma")
    guest.select_option("#t-scene", "hot-stone")
    guest.fill("#t-minutes", "30")
    guest.click("#t-go")
    expect(guest.locator("#t-status")).to_contain_text("Hot stone")
    limits = guest.get_by_test_id("limits-in-force")
    expect(limits).to_have_text(
        "Limits in force: Table pad: no heat (Anna); volume 5 at most (Anna); no aroma (Anna)."
    )
    state = guest.request.get(served.base_url + "/api/v1/state").json()
    assert state["devices"]["pad"]["heat"] == "off"  # hot stone asks high; Anna: no heat
    assert state["devices"]["diffuser"]["mode"] == "off"
    assert [p["name"] for p in state["session"]["people"]] == ["Anna"]
    shot(guest, "limits-1-running")

    # the diffuser on by hand: refused, in words, and the control shows it is still off
    guest.select_option("#t-devices select[data-device=diffuser]", "on")
    expect(guest.locator("#toast")).to_have_text("The diffuser stays off: Anna says no aroma.")
    expect(guest.locator("#t-devices select[data-device=diffuser]")).to_have_value("off")
    # the music louder than her cap: capped, said, and the slider snaps back
    volume = guest.locator("#t-devices input[data-device=speaker]")
    volume.fill("60")
    volume.dispatch_event("change")
    expect(guest.locator("#toast")).to_have_text(
        "Volume capped at 5 (asked 60): Anna's volume limit."
    )
    expect(volume).to_have_value("5")
    shot(guest, "limits-2-capped")
    guest.set_viewport_size({"width": 844, "height": 390})
    shot(guest, "limits-3-landscape")

    # the owner's Now page says who is on the table, and History who it was for
    owner.reload()
    box = owner.get_by_test_id("session-limits")
    expect(box).to_contain_text("For Anna")
    expect(box.get_by_test_id("limits-words")).to_contain_text("no aroma (Anna)")
    shot(owner, "limits-4-owner-now")
    guest.click("#t-stop")
    expect(guest.locator("#t-status")).to_have_text("No session running.")
    owner.click("#tabs a[data-page=history]")
    row = owner.locator("[data-testid=history] tbody tr").first
    expect(row).to_contain_text("Anna")
    expect(row).to_contain_text("by Ana (guest)")
    assert owner.errors == [] and guest.errors == []


def test_the_now_page_puts_people_on_the_table(served: ServeProcess, browser: Any) -> None:
    owner = owner_with_anna(served, browser)
    owner.reload()
    picker = owner.get_by_test_id("who-picker")
    picker.locator("[data-profile=anna]").click()
    expect(owner.get_by_test_id("who-source")).to_contain_text(
        "Limits in force: Table pad: no heat"
    )
    table = owner.request.get(served.base_url + "/api/v1/table").json()
    assert [p["profile"] for p in table["people"]] == ["anna"] and table["source"] == "room"
    # a start from anywhere now keeps to Anna: the wall button's, a voice assistant's
    owner.evaluate("MH.api('POST', '/session', {scene: 'hot-stone', minutes: 20})")
    state = owner.request.get(served.base_url + "/api/v1/state").json()
    assert state["devices"]["pad"]["heat"] == "off"
    shot(owner, "limits-5-now-picked")
    assert owner.errors == []
