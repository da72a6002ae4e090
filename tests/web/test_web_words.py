"""The phone speaks a person's words: errors next to their field, endings and dates in
words, a lockout that counts down, routines on the Now page, remembered lengths, the Room
page's heat time and playlist. Debian's Chromium against ``massage-hub serve``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.phone import PASSWORD, HubApi, log_in, phone, set_password, shot
from tests.rigs.support import ServeProcess, run_cli, wait_for, write_config

pytestmark = pytest.mark.browser
PAD_VALUE = "document.querySelector('#page-room [data-device=pad] .value')"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """The hub with no pre-warm, Europe/Stockholm time, three logins a minute."""
    path = write_config(
        tmp_path,
        {
            "session": {"prewarm_minutes": 0},
            "timezone": "Europe/Stockholm",
            "web": {"login_attempts_per_minute": 3},
        },
    )
    made = run_cli(path, "make-music", "--if-empty")  # playlists to choose from
    assert made.returncode == 0, made.stderr
    proc = ServeProcess(path).start()
    set_password(proc)
    yield proc
    proc.stop()


def test_scene_errors_are_words_next_to_their_field(served: ServeProcess) -> None:
    api = HubApi(served)
    playlists = api.state()["devices"]["speaker"]["playlists"]
    assert playlists
    with phone() as page:
        log_in(page, served)
        page.click("#tabs a[data-page=scenes]")
        page.click("#new-scene")
        page.fill("#scene-name", "")
        page.click("#save-scene")
        err = page.locator("#page-scenes .field-error")
        err.wait_for()
        assert err.text_content() == (
            "Give the scene a name (1 to 40 characters) that no other scene has."
        )
        assert page.get_attribute("#scene-name", "aria-invalid") == "true"
        assert page.get_attribute("#scene-name", "aria-describedby") == err.get_attribute("id")
        # the error stays (no 6 s toast) and sits right under the name field
        page.wait_for_timeout(6500)
        assert err.is_visible()
        assert page.locator("#toast").is_hidden()
        shot(page, "scene-error")

        page.fill("#scene-name", "Swedish")  # a built-in's name
        page.click("#save-scene")
        page.wait_for_selector("#page-scenes .field-error")
        assert "no other scene has" in page.locator("#page-scenes .field-error").text_content()
        # the playlist is chosen from the ones there are
        options = page.locator("#scene-playlist option").all_text_contents()
        assert options == ["No music", *playlists]
        page.fill("#scene-name", "Evening glow")
        page.select_option("#scene-playlist", playlists[0])
        page.click("#save-scene")
        page.wait_for_selector("#page-scenes [data-scene=evening-glow]")
        assert page.locator("#page-scenes .field-error").count() == 0
        assert [s["name"] for s in api.call("GET", "/scenes")["scenes"]].count("Swedish") == 1
        assert not page.errors, page.errors


def field_error(page: Any, selector: str) -> str:
    """The error shown for a field (the text its aria-describedby points at)."""
    page.wait_for_selector(selector + "[aria-invalid=true]")
    return str(page.locator("#" + page.get_attribute(selector, "aria-describedby")).text_content())


def test_settings_password_and_token(served: ServeProcess) -> None:
    with phone() as page:
        log_in(page, served)
        page.click("#tabs a[data-page=settings]")
        page.fill("#pw-current", PASSWORD)
        page.fill("#pw-new", "tiny7")
        page.fill("#pw-repeat", "tiny7")
        page.click("#change-password")
        assert field_error(page, "#pw-new") == "Use at least 8 characters."
        assert "tiny7" not in page.locator("body").inner_text()  # never echoed
        page.fill("#pw-new", "a longer password")
        page.fill("#pw-repeat", "a longer passwore")
        page.click("#change-password")
        assert field_error(page, "#pw-repeat") == "The two new passwords differ."
        assert page.locator("#pw-new[aria-invalid]").count() == 0  # the old mark is gone
        page.fill("#pw-current", "not it at all")
        page.fill("#pw-repeat", "a longer password")
        page.click("#change-password")
        assert field_error(page, "#pw-current") == "That is not the current password."

        page.fill("#token-name", "")
        page.click("#create-token")
        assert field_error(page, "#token-name") == "Give the token a name (1 to 60 characters)."
        page.fill("#token-name", "kitchen shortcut")
        page.click("#create-token")
        token = page.locator("[data-testid=new-token]")
        token.wait_for()
        assert len(token.text_content() or "") > 20
        assert page.locator("#toast").is_hidden()  # nothing covers the new token
        page.click("#copy-token")
        page.wait_for_selector("#toast:not([hidden])")
        assert page.locator("#toast").text_content() in (
            "Copied.",
            "Selected: copy it with your phone's Copy.",
        )
        # an ISO date is never shown raw
        about = page.locator("#page-settings").inner_text()
        assert not re.search(r"\d{4}-\d\d-\d\dT", about), about
        assert "Europe/Stockholm" in about
        shot(page, "settings-token")
        assert not page.errors, page.errors


def test_login_lockout_counts_down_and_password_can_be_shown(served: ServeProcess) -> None:
    with phone() as page:
        page.goto(served.base_url + "/login")
        toggle = page.get_by_role("button", name="Show password")
        page.fill("#password", "secret words")
        toggle.click()
        assert page.get_attribute("#password", "type") == "text"
        assert toggle.get_attribute("aria-pressed") == "true"
        toggle.click()
        assert page.get_attribute("#password", "type") == "password"
        msg = page.locator("#message")
        for _ in range(3):
            page.fill("#password", "wrong password")
            page.click("#submit")
            page.wait_for_function("document.getElementById('message').textContent !== ''")
            text = msg.text_content() or ""
            if text.startswith("Too many"):
                break
            assert text == "That password is not right. Try again."
            page.evaluate("document.getElementById('message').textContent = ''")
        page.fill("#password", "wrong password")
        if not (msg.text_content() or "").startswith("Too many"):
            page.click("#submit")
        page.wait_for_function(
            "document.getElementById('message').textContent.startsWith('Too many')"
        )
        first = msg.text_content() or ""
        m = re.fullmatch(r"Too many wrong passwords\. Try again in (\d+) s\.", first)
        assert m, first
        assert page.locator("#submit").is_disabled()
        page.wait_for_timeout(2200)
        later = re.search(r"in (\d+) s", msg.text_content() or "")
        assert later and int(later.group(1)) < int(m.group(1))  # it counts down
        assert page.locator("#submit").is_disabled()
        assert "wrong password" not in page.locator("body").inner_text().lower().replace(
            "wrong passwords", ""
        )
        assert not page.errors, page.errors


def test_now_shows_routines_lengths_and_endings(served: ServeProcess) -> None:
    api = HubApi(served)
    made = api.call(
        "POST",
        "/routines",
        {
            "name": "Wind-down",
            "schedule": {
                "kind": "weekly",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "time": "21:30",
            },
            "action": {"kind": "wind_down", "minutes": 30, "light_from": 0.6, "light_to": 0},
        },
    )
    with phone() as page:
        log_in(page, served)
        nxt = page.locator("[data-testid=next-routine]")
        nxt.wait_for()
        assert re.fullmatch(
            r"Wind-down (tonight|\w{3}, \d+ \w{3}|\w{3} \d+ \w{3}) at 9:30\sPM",
            nxt.locator("span").text_content() or "",
        ), nxt.text_content()
        # remembered length per scene
        page.click("[data-scene=swedish]")
        page.click("[data-minutes='45']")
        page.reload()
        page.wait_for_selector("#conn.live")
        page.wait_for_selector("[data-minutes='45'][aria-pressed=true]")
        # a running routine: its name, what it does, and a Stop
        api.call("POST", f"/routines/{made['id']}/run", {})
        card = page.locator("[data-testid=routine-running]")
        card.wait_for()
        assert card.locator("strong").text_content() == "Wind-down is running"
        assert "Wind-down 60 % → 0 % over 30 min" in (card.text_content() or "")
        shot(page, "routine-running")
        page.click("#stop-routine")  # the routine alone: its lights go to their end level
        card.wait_for(state="hidden")
        wait_for(lambda: api.state()["devices"]["main"]["level"] == 0, timeout=10)
        # a session stopped early reads in words in History
        page.click("#start")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        page.click("#stop")
        page.wait_for_selector("#stop:text('End now')")
        page.click("#stop")
        page.wait_for_selector("#start")
        page.click("#tabs a[data-page=history]")
        end = page.locator("[data-testid=history] tbody tr [data-testid=end]").first
        end.wait_for()
        assert end.text_content() == "Stopped early"
        assert not page.errors, page.errors


def test_room_heat_minutes_apply_and_volume_shows_its_number(served: ServeProcess) -> None:
    api = HubApi(served)
    with phone() as page:
        log_in(page, served)
        page.click("#tabs a[data-page=room]")
        pad = page.locator("#page-room [data-device=pad]")
        pad.wait_for()
        assert "15 min" in pad.locator("select option").all_text_contents()
        pad.locator("button[data-value=low]").click()
        page.wait_for_function(f"{PAD_VALUE}.textContent.includes('off in')")
        off = api.state()["devices"]["pad"]["off_in_seconds"]
        assert 19 * 60 < off <= 20 * 60
        page.select_option("#page-room [data-device=pad] select", "15")
        page.wait_for_function(f"/off in (14:|15:00)/.test({PAD_VALUE}.textContent)")
        off = api.state()["devices"]["pad"]["off_in_seconds"]
        assert 14 * 60 < off <= 15 * 60
        vol = page.get_by_role("slider", name="Volume")
        vol.fill("40")
        vol.dispatch_event("change")
        page.wait_for_function(
            "document.querySelector('[data-device=speaker] .slider-row .value').textContent === '40'"
        )
        wait_for(lambda: abs(api.state()["devices"]["speaker"]["volume"] - 40) < 1, timeout=10)
        shot(page, "room-heat")
        assert not page.errors, page.errors
