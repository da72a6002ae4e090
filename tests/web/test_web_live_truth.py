"""The phone shows what the hub does, moment by moment, and says so when it cannot know.

Debian's Chromium against ``massage-hub serve`` on simulated pins: the page is compared
with ``/api/v1/state`` at random moments through a pre-warm, interval misting, duty-cycled
heat and countdowns; then the hub freezes (SIGSTOP), comes back, and restarts.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.phone import HubApi, log_in, phone, set_password, shot
from tests.rigs.support import ServeProcess, write_config

pytestmark = pytest.mark.browser

READ_PAGE = """() => {
  const room = document.querySelector('#page-now [data-testid=vroom]');
  const pad = document.querySelector('[data-testid=device-summary] li[data-device=pad] .value');
  return {mist: room.dataset.mist, heat: room.dataset.heat, pad: pad ? pad.textContent : '',
          phase: document.querySelector('[data-testid=phase]').textContent,
          running: !document.querySelector('[data-testid=running]').hidden};
}"""


def seconds(text: str, label: str) -> float | None:
    """The M:SS after ``label`` in ``text`` as seconds (None when absent)."""
    m = re.search(re.escape(label) + r" (\d+):(\d\d)", text)
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


def api_view(state: dict[str, Any]) -> dict[str, Any]:
    d = state["devices"]
    s = state["session"]
    return {
        "mist": "on" if d["diffuser"]["on"] else "off",
        "heat": "on" if d["pad"]["heat"] != "off" else "off",
        "off_in": d["pad"]["off_in_seconds"],
        "phase": s["phase"] if s else None,
        "phase_left": s["phase_remaining_seconds"] if s else None,
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    """The hub with a quick interval diffuser (4 s on, 6 s off) and a 40 s pre-warm."""
    path = write_config(
        tmp_path,
        {"session": {"prewarm_minutes": 40 / 60}, "diffuser": {"on_seconds": 4, "off_seconds": 6}},
    )
    proc = ServeProcess(path).start()
    set_password(proc)
    yield proc
    proc.stop()


@pytest.mark.timeout(480)  # a five-minute run, and the set-up
def test_page_matches_the_hub_at_random_moments(served: ServeProcess) -> None:
    api = HubApi(served)
    rng = random.Random(14)
    with phone() as page:
        log_in(page, served)
        page.click("[data-scene=swedish]")
        page.click("[data-minutes='15']")
        page.click("#start")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        checked = {"mist": 0, "pad": 0, "phase": 0}
        mist_seen = set()
        # five minutes, as the issue asks: the pre-warm, the switch to the massage, then
        # thirty mist cycles and the pad's duty cycle, looked at about 260 times
        end = time.monotonic() + 300
        while time.monotonic() < end:
            time.sleep(rng.uniform(0.3, 2.0))
            before = api_view(api.state())
            shown = page.evaluate(READ_PAGE)
            after = api_view(api.state())
            assert shown["running"]
            for key in ("mist", "heat"):
                if before[key] == after[key]:
                    assert shown[key] == after[key], (key, before, shown, after)
                    checked["mist"] += key == "mist"
                else:  # it switched while we looked: the page follows within a second
                    time.sleep(1.0)
                    now = api_view(api.state())
                    assert page.evaluate(READ_PAGE)[key] == now[key], (key, now)
            mist_seen.add(after["mist"])
            off_in = seconds(shown["pad"], "off in")
            if after["off_in"] is not None:
                assert off_in is not None, shown
                assert after["off_in"] - 1.5 <= off_in <= before["off_in"] + 1.5, (shown, after)
                checked["pad"] += 1
            if after["phase"] == "prepare" and before["phase"] == "prepare":
                assert shown["phase"].startswith("Warming the table · session starts in "), shown
                left = seconds(shown["phase"], "starts in")
                assert left is not None
                assert after["phase_left"] - 1.5 <= left <= before["phase_left"] + 1.5
                assert shown["phase"].count(":") == 1  # one clock, not two
                checked["phase"] += 1
            elif after["phase"] == "active" and before["phase"] == "active":
                assert shown["phase"] == "In session", shown
        assert mist_seen == {"on", "off"}, "the diffuser switched during the run"
        assert min(checked.values()) >= 5, checked
        shot(page, "live-session")
        assert not page.errors, page.errors


def test_lost_hub_and_restart_are_told_in_words(served: ServeProcess) -> None:
    with phone() as page:
        log_in(page, served)
        page.click("[data-scene=swedish]")
        page.click("#start")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        lost = page.locator("[data-testid=lost]")
        assert lost.is_hidden()

        served.send(signal.SIGSTOP)  # the hub answers nothing, its socket stays open
        t0 = time.monotonic()
        try:
            lost.wait_for(state="visible", timeout=4000)
            took = time.monotonic() - t0
            assert took < 3.5, f"the page noticed after {took:.1f} s"
            assert lost.text_content() == (
                "The hub is not answering. What you see may be out of date."
            )
            assert page.evaluate("document.body.classList.contains('offline')")
            assert page.evaluate("document.getElementById('view').inert")  # no taps
            assert page.locator("#all-off").is_disabled()
            assert page.locator("#conn").text_content() == "Not answering"
            shot(page, "hub-lost")
        finally:
            served.send(signal.SIGCONT)
        lost.wait_for(state="hidden", timeout=10_000)
        assert page.locator("[data-testid=notice]").is_hidden()  # nothing happened meanwhile
        assert page.locator("[data-testid=running]").is_visible()

        served.stop()  # a clean stop: the session ends and everything goes off
        lost.wait_for(state="visible", timeout=4000)
        served.start()
        notice = page.locator("[data-testid=notice]")
        notice.wait_for(state="visible", timeout=15_000)
        assert notice.locator("p").text_content() == (
            "The hub restarted. Your Swedish session was stopped and everything switched off."
        )
        assert lost.is_hidden()
        assert page.locator("#toast").is_hidden()
        assert page.locator("#start").is_visible()
        shot(page, "hub-restarted")
        page.click("#start-again")
        page.wait_for_selector("[data-testid=running]:not([hidden])")
        assert page.locator("[data-testid=session-scene]").text_content() == "Swedish"
        assert not page.errors, page.errors
