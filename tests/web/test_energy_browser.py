"""A session's energy on a phone (390 px): the end summary and History say it in words, and
say nothing when no device has its watts (issue 31). Real Chromium against ``massage-hub serve``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.rigs.phone import ARTIFACTS, PASSWORD, PORTRAIT, call, log_in, phone
from tests.rigs.support import ServeProcess, run_cli, write_config

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "energy"
#: a 3 kW pad at 4 €/kWh: a few seconds of warm-up make a figure that shows in cents
WATTS = {
    "heat_pads": {"pad": {"watts": 3000}},
    "lights": {"main": {"watts": 30}},
    "energy": {"price_per_kwh": 4.0, "currency": "€"},
}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], ServeProcess]]:
    made: list[ServeProcess] = []

    def start(overrides: dict[str, Any]) -> ServeProcess:
        folder = tmp_path / f"hub{len(made)}"
        path = write_config(folder, {"session": {"prewarm_minutes": 5}, **overrides})
        out = run_cli(path, "set-password", stdin=PASSWORD + "\n")
        assert out.returncode == 0, out.stderr
        proc = ServeProcess(path).start()
        made.append(proc)
        return proc

    yield start
    for proc in made:
        proc.stop()


def inside(page: Any, selector: str, container: str) -> bool:
    """True if ``selector``'s box ends within ``container``'s (nothing past the card's edge)."""
    return bool(
        page.evaluate(
            "([s, c]) => { const e = document.querySelector(s).getBoundingClientRect();"
            " const k = document.querySelector(c).getBoundingClientRect();"
            " return e.right <= k.right + 0.5 && e.left >= k.left - 0.5; }",
            [selector, container],
        )
    )


def test_the_end_summary_and_history_say_the_energy_in_words(
    serve: Callable[[dict[str, Any]], ServeProcess],
) -> None:
    served = serve(WATTS)
    words = re.compile(r"^\d+\.\d{2,3} kWh · (under )?€\d+\.\d\d$")
    with phone(PORTRAIT) as page:
        log_in(page, served)
        call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})
        time.sleep(4)  # the pad warms: its relay is closed from the first second
        call(page, "DELETE", "/session")  # a stop in the warm-up ends it at once
        ended = page.get_by_test_id("ended-energy")
        expect(ended).to_be_visible()
        expect(ended).to_have_text(re.compile(r"^Energy: \d+\.\d{2,3} kWh · (under )?€\d+\.\d\d$"))
        last = call(page, "GET", "/state")["last_session"]
        assert last["energy_kwh"] >= 3000 * 3 / 3.6e6  # at least 3 s of the pad
        assert inside(page, "[data-testid=ended-energy]", "[data-testid=session-ended]")
        assert ended.bounding_box()["height"] < 30  # one small line
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "ended-portrait.png"))
        page.click("#tabs a[data-page=history]")
        cell = page.locator("[data-testid=history] tbody tr").first.get_by_test_id("energy")
        expect(cell).to_have_text(words)
        kwh = float(cell.inner_text().split(" ")[0])
        assert kwh == pytest.approx(last["energy_kwh"], abs=0.0006)  # as shown, rounded
        assert inside(
            page, "[data-testid=history] tbody tr [data-testid=energy]", "[data-testid=history]"
        )
        assert cell.bounding_box()["height"] < 30
        page.screenshot(path=str(SHOTS / "history-portrait.png"))


def test_without_watts_nothing_about_energy_is_shown(
    serve: Callable[[dict[str, Any]], ServeProcess],
) -> None:
    served = serve({})
    with phone(PORTRAIT) as page:
        log_in(page, served)
        call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})
        call(page, "DELETE", "/session")
        expect(page.get_by_test_id("session-ended")).to_be_visible()
        expect(page.get_by_test_id("ended-energy")).to_be_hidden()
        expect(page.get_by_test_id("session-ended")).not_to_contain_text("kWh")
        page.click("#tabs a[data-page=history]")
        row = page.locator("[data-testid=history] tbody tr").first
        expect(row).to_contain_text("none of 30")
        expect(row.get_by_test_id("energy")).to_have_count(0)
        expect(row).not_to_contain_text("kWh")
