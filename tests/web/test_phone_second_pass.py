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

from tests.rigs.phone import (
    ARTIFACTS,
    LANDSCAPE,
    PASSWORD,
    PORTRAIT,
    call,
    log_in,
    phone,
    small_targets,
)
from tests.rigs.support import ServeProcess, run_cli, write_config

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
        # the title whole beside Live, Dim and All off ("Massage r…" before)
        assert page.evaluate(
            "(h => h.scrollWidth <= h.clientWidth)(document.querySelector('.brand h1'))"
        )
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
        # the "before" is asked on the start form, while they still sit up
        expect(page.locator(".start-form [data-ask=before]")).to_have_count(2)
        page.click("#start")
        expect(page.get_by_test_id("running")).to_be_visible()
        page.wait_for_timeout(800)  # anything the page would ask the hub, painted
        for sel in ("#pause", "#stop"):
            box = page.locator(sel).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= size["height"], sel
            assert hit_is(page, sel), f"{sel} is covered"
        # nothing of the journal between the ring and Stop: no question shows in a session
        assert not journal_between_ring_and_stop(page)
        expect(page.locator("[data-ask]:visible")).to_have_count(0)
        expect(page.get_by_test_id("journal-card")).to_be_hidden()
        shot(page, "couples-running", size)
        # Stop in the warm-up: the "after" questions show at the top, in view
        page.click("#stop")
        expect(page.get_by_test_id("session-ended")).to_be_visible()
        after = page.locator("[data-ask=after]").first
        expect(after).to_be_visible()
        assert after.bounding_box()["y"] < size["height"] - 60  # in view, at the top
        shot(page, "couples-ended", size)
        assert not page.errors


WIND_DOWN = {
    "name": "Wind-down",
    "schedule": {
        "kind": "weekly",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "time": "21:30",
    },
    "action": {"kind": "wind_down", "minutes": 30, "light_from": 0.6, "light_to": 0},
}

# a visible journal element that comes after the ring and before Stop in the page's order
BETWEEN = """() => { const ring = document.querySelector('.ring'), stop = document.querySelector('#stop');
  return Array.from(document.querySelectorAll('[data-ask], .journal-card, [data-testid=before-form]'))
    .filter(el => el.offsetParent !== null)
    .filter(el => ring.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)
    .filter(el => stop.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING)
    .map(el => el.outerHTML.slice(0, 80)); }"""


def journal_between_ring_and_stop(page: Any) -> list[str]:
    return list(page.evaluate(BETWEEN))


@pytest.mark.parametrize("size", SIZES)
def test_the_before_question_is_on_the_start_form_and_goes_with_start(
    served: ServeProcess, size: Any
) -> None:
    with phone(size) as page:
        log_in(page, served)
        # Anna's limits and a routine: a few more lines that must not push Stop off the screen
        call(page, "POST", "/profiles", {"name": "Anna", "heat_max": "low", "aroma": False})
        call(page, "POST", "/profiles", {"name": "Ben", "volume_max": 40})
        call(page, "PUT", "/table", {"people": {"pad": "ben", "pad2": "anna"}})
        call(page, "POST", "/routines", WIND_DOWN)
        page.reload()
        page.wait_for_selector("#conn.live")
        form = page.locator(".start-form")
        anna = form.locator("[data-ask=before][data-person=anna]")
        expect(anna).to_contain_text("Anna: how stressed are you now?")
        anna.locator("[data-value='7']").click()
        anna.get_by_role("button", name="Tense areas").click()
        anna.locator(".area-chips [data-area=neck]").click()
        ben = form.locator("[data-ask=before][data-person=ben]")
        ben.locator("[data-value='2']").click()
        ben.locator("[data-value='2']").click()  # a second tap takes it back
        ben.locator("[data-value='4']").click()
        expect(ben.locator("[aria-pressed=true]")).to_have_text("4")
        assert hit_is(page, "#start"), "the questions push Start under something"
        assert not small_targets(page), small_targets(page)
        shot(page, "before-on-start-form", size)
        page.click("#start")
        expect(page.get_by_test_id("running")).to_be_visible()
        sid = call(page, "GET", "/state")["session"]["id"]
        entries = call(page, "GET", "/journal")["entries"]
        assert sorted(
            (e["session_id"], e["profile"], e["when"], e["stress"], e["areas"]) for e in entries
        ) == [
            (sid, "anna", "before", 7, ["neck"]),
            (sid, "ben", "before", 4, []),
        ]
        # in the session: no question anywhere, Stop in reach
        page.wait_for_timeout(800)
        expect(page.locator("[data-ask]:visible")).to_have_count(0)
        assert not journal_between_ring_and_stop(page)
        stop = page.locator("#stop").bounding_box()
        assert stop and stop["y"] >= 0 and stop["y"] + stop["height"] <= size["height"], stop
        assert hit_is(page, "#stop")
        # the end: "and now?" for each, in view with the summary
        page.click("#stop")
        expect(page.get_by_test_id("session-ended")).to_be_visible()
        first = page.locator("[data-testid=journal-card] [data-ask=after]").first
        expect(first).to_be_visible()
        assert first.bounding_box()["y"] < size["height"] - 60  # in view, at the top
        after = page.locator("[data-testid=journal-card] [data-ask=after][data-person=anna]")
        after.locator("[data-value='3']").click()
        expect(page.locator("#toast")).to_have_text("Noted, thank you.")
        hist = call(page, "GET", "/history?limit=1")["sessions"][0]
        assert {p["profile"]: (p["before"], p["after"]) for p in hist["people"]} == {
            "anna": (7, 3),
            "ben": (4, None),
        }
        # the next start form asks again, nothing kept from last time
        page.click("#end-ok")
        expect(form.locator("[data-ask=before] [aria-pressed=true]")).to_have_count(0)
        assert not page.errors, page.errors


@pytest.mark.parametrize("size", SIZES)
def test_the_therapist_asks_before_on_their_start_form(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        call(page, "POST", "/profiles", {"name": "Anna"})
        made = call(page, "POST", "/guests", {"name": "Ana", "profiles": ["anna"]})
    with phone(size) as guest:
        guest.goto(made["url"])
        guest.wait_for_url(re.compile(r"/therapist$"))
        ask = guest.locator("#t-start [data-ask=before][data-person=anna]")
        expect(ask).to_contain_text("Anna: how stressed are you now?")
        ask.locator("[data-value='8']").click()
        expect(ask.locator("[aria-pressed=true]")).to_have_text("8")
        assert not small_targets(guest), small_targets(guest)
        shot(guest, "therapist-before", size)
        guest.click("#t-go")
        expect(guest.locator("#t-running")).to_be_visible()
        expect(guest.locator("[data-ask]:visible")).to_have_count(0)  # none in the session
        assert not guest.errors, guest.errors
    with phone(size) as page:
        log_in(page, served)
        sid = call(page, "GET", "/state")["session"]["id"]
        entries = call(page, "GET", "/journal?profile=anna")["entries"]
        assert [(e["session_id"], e["when"], e["stress"]) for e in entries] == [(sid, "before", 8)]


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


# what a homeowner should never read: commands, file and key names, ids, raw dates, API words
PROGRAMMER_WORDS = [
    (re.compile(r"`"), "a backtick"),
    (re.compile(r"\b[a-z]+_[a-z_]+\b"), "a _-joined name"),
    (re.compile(r"Bearer|Authorization:"), "an HTTP header"),
    (re.compile(r"journalctl|massage-hub|systemctl|sudo"), "a command"),
    (re.compile(r"\b\d{4}-\d\d-\d\d\b"), "a raw ISO date"),
    (re.compile(r"\bgot \d|Input should be|profile ids?\b"), "a validator's words"),
    (re.compile(r"\b(\w+) \(\1\)", re.IGNORECASE), "a name and its id"),
    (re.compile(r"\.(json|yaml|db|py)\b"), "a file name"),
]

VISIBLE_TEXT = "() => document.body.innerText"


def programmer_words(text: str) -> list[str]:
    found = []
    for pattern, what in PROGRAMMER_WORDS:
        for m in pattern.finditer(text):
            found.append(f"{what}: {text[max(0, m.start() - 30) : m.end() + 30]!r}")
    return found


@pytest.mark.parametrize("size", SIZES)
def test_no_programmer_words_on_any_page(served: ServeProcess, tmp_path: Path, size: Any) -> None:
    seen: dict[str, list[str]] = {}

    def read(page: Any, where: str) -> None:
        page.wait_for_timeout(300)
        seen[where] = programmer_words(page.evaluate(VISIBLE_TEXT))

    def toast(page: Any, where: str) -> None:
        t = page.locator("#toast")
        expect(t).to_be_visible()
        seen[where] = programmer_words(t.inner_text())

    # first run, on a hub with no password yet
    fresh = ServeProcess(write_config(tmp_path / "fresh")).start()
    try:
        with phone(size) as page:
            page.goto(fresh.base_url + "/")
            page.wait_for_selector("#code")
            read(page, "first run")
    finally:
        fresh.stop()

    with phone(size) as page:
        page.goto(served.base_url + "/login")
        read(page, "login")
        log_in(page, served)
        call(page, "POST", "/profiles", {"name": "Anna", "areas": ["lower_back"]})
        call(page, "PUT", "/table", {"people": ["anna"]})
        call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})
        call(page, "DELETE", "/session")
        for tab in (
            "now",
            "room",
            "scenes",
            "routines",
            "history",
            "people",
            "journal",
            "settings",
        ):
            page.click(f"#tabs a[data-page={tab}]")
            read(page, tab)
        # a file that is not a backup
        bad = tmp_path / "notes.json"
        bad.write_text('{"hello": 1}')
        page.set_input_files("#restore-file", str(bad))
        page.once("dialog", lambda d: d.accept())
        page.click("#restore-backup")
        toast(page, "restore of a wrong file")
        made = call(page, "POST", "/guests", {"name": "Ana", "profiles": ["anna"]})

    with phone(size) as guest:
        guest.goto(made["url"])
        guest.wait_for_url(re.compile(r"/therapist$"))
        expect(guest.locator("#t-client-list")).to_contain_text("Anna")
        read(guest, "therapist")
        guest.fill("#t-minutes", "0")
        guest.click("#t-go")
        toast(guest, "therapist: 0 minutes")
        guest.goto(served.base_url + "/guest-ended")
        read(guest, "link ended")
        h1 = guest.locator("h1").bounding_box()

    bad_words = {k: v for k, v in seen.items() if v}
    for where, found in bad_words.items():
        print(where, *found, sep="\n  ")
    assert not bad_words, bad_words
    # the ended-link heading stays whole (it split over 4 lines at 390 px)
    assert h1 and h1["height"] < 100, h1


@pytest.mark.parametrize("size", SIZES)
def test_the_journal_counts_sessions_and_says_dates_in_words(
    served: ServeProcess, size: Any
) -> None:
    with phone(size) as page:
        log_in(page, served)
        couple(page)
        for before, after in [(7, 3), (6, 4), (8, 2)]:  # 3 sessions, 6 ratings (two people)
            sid = call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})["id"]
            for who in ("anna", "ben"):
                entry = {"session_id": sid, "profile": who, "when": "before", "stress": before}
                call(page, "POST", "/journal", entry)
            call(page, "DELETE", "/session")
            for who in ("anna", "ben"):
                entry = {"session_id": sid, "profile": who, "when": "after", "stress": after}
                call(page, "POST", "/journal", entry)
        page.click("#tabs a[data-page=journal]")
        summary = page.get_by_test_id("journal-summary")
        expect(summary).to_contain_text("Stress 4 points lower")
        expect(summary).to_contain_text("From 6 ratings before and after, in 3 sessions")
        chart = page.locator(".chart").first.evaluate("el => el.textContent")
        assert not re.search(r"\d\d-\d\d", chart), chart
        shot(page, "journal", size)


@pytest.mark.parametrize("size", SIZES)
def test_a_skipped_routine_offers_undo_not_a_second_skip(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        call(
            page,
            "POST",
            "/routines",
            {
                "name": "Wind-down",
                "schedule": {"kind": "weekly", "days": every_day, "time": "21:30"},
                "action": {"kind": "wind_down", "minutes": 30, "light_from": 0.6, "light_to": 0},
            },
        )
        page.click("#skip-next-routine")
        expect(page.locator("#unskip-routine")).to_be_visible()
        expect(page.locator("#skip-next-routine")).to_have_count(0)
        expect(page.get_by_test_id("next-routine")).to_contain_text("skipped")
        shot(page, "routine-skipped", size)
        page.click("#unskip-routine")
        expect(page.locator("#skip-next-routine")).to_be_visible()
        assert not page.errors


@pytest.mark.parametrize("size", SIZES)
def test_a_therapists_link_is_made_by_names_and_hours(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        call(page, "POST", "/profiles", {"name": "Anna", "notes": "left knee"})
        call(page, "POST", "/profiles", {"name": "Kim"})
        page.click("#tabs a[data-page=settings]")
        page.fill("#visit-name", "Ana")
        page.fill("#visit-hours", "48")
        page.click("#create-visit")
        expect(page.locator("#toast")).to_contain_text("24 hours")
        page.fill("#visit-hours", "3")
        page.click("#visit-profiles [data-profile=anna]")
        expect(page.locator("#visit-profiles [data-profile=anna]")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.click("#create-visit")
        qr = page.get_by_test_id("visit-qr")
        expect(qr).to_be_visible()
        expect(page.locator("#toast")).to_be_hidden()  # the old error is gone
        expect(page.get_by_test_id("new-visit")).not_to_contain_text(re.compile(r"\d{4}-\d\d"))
        qr.scroll_into_view_if_needed()
        assert hit_is(page, "[data-testid=visit-qr]")
        shot(page, "visit-link", size)
        guests = call(page, "GET", "/guests")["guests"]
        assert guests[0]["profiles"] == ["anna"]
        assert not page.errors


# the brightest pixel of a screenshot, as luma 0-255, measured in the page (no image library)
BRIGHTEST = """async b64 => {
  const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let max = 0;
  for (let i = 0; i < d.length; i += 4) {
    const y = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
    if (y > max) max = y;
  }
  return max; }"""
DIM_TEXT = """() => { const s = getComputedStyle(document.documentElement);
  return ['--text', '--muted'].map(v => s.getPropertyValue(v).trim()); }"""


def luma(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def brightest(page: Any) -> float:
    import base64

    png = base64.b64encode(page.screenshot()).decode()
    return float(page.evaluate(BRIGHTEST, png))


@pytest.mark.parametrize("size", SIZES)
def test_dim_on_every_page_and_nothing_brighter_than_its_text(
    served: ServeProcess, size: Any
) -> None:
    too_bright: dict[str, float] = {}
    with phone(size) as page:
        page.goto(served.base_url + "/login")
        page.click("[data-dim]")  # the login page has Dim too
        assert page.evaluate("document.documentElement.classList.contains('dim')")
        bound = max(luma(c) for c in page.evaluate(DIM_TEXT)) + 6
        too_bright["login"] = brightest(page)
        log_in(page, served)
        assert page.evaluate("document.documentElement.classList.contains('dim')")  # kept
        call(page, "POST", "/profiles", {"name": "Anna", "areas": ["neck"]})
        for tab in ("now", "room", "people", "settings"):
            page.click(f"#tabs a[data-page={tab}]")
            page.wait_for_timeout(400)
            too_bright[tab] = brightest(page)
            shot(page, f"dim-{tab}", size)
        expect(page.locator("header [data-dim]")).to_have_attribute("aria-pressed", "true")
        made = call(page, "POST", "/guests", {"name": "Ana", "profiles": ["anna"]})
    with phone(size) as guest:
        guest.goto(served.base_url + "/login")
        guest.click("[data-dim]")
        guest.goto(made["url"])
        guest.wait_for_url(re.compile(r"/therapist$"))
        expect(guest.locator("#t-client-list")).to_contain_text("Anna")
        assert guest.evaluate("document.documentElement.classList.contains('dim')")
        too_bright["therapist"] = brightest(guest)
        shot(guest, "dim-therapist", size)
        guest.click("[data-dim]")  # and off again
        assert not guest.evaluate("document.documentElement.classList.contains('dim')")
    over = {k: round(v) for k, v in too_bright.items() if v > bound}
    assert not over, f"brighter than the text ({bound:.0f}): {over}"


@pytest.mark.parametrize("size", SIZES)
def test_a_lost_hub_stops_the_countdown(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        page.click("#start")  # swedish: the table warms for 5 minutes first
        phase = page.get_by_test_id("phase")
        expect(phase).to_contain_text("session starts in")
        served.stop()  # the hub goes away (it switches everything off as it goes)
        expect(page.get_by_test_id("lost")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(300)
        first = phase.text_content()
        page.wait_for_timeout(2500)
        assert phase.text_content() == first, "a greyed page still counts down"
        shot(page, "lost-frozen", size)


@pytest.mark.parametrize("size", SIZES)
def test_a_reload_while_the_hub_is_down_shows_the_app(tmp_path: Path, size: Any) -> None:
    path = write_config(tmp_path, {"session": {"prewarm_minutes": 5}})
    assert run_cli(path, "set-password", stdin=PASSWORD + "\n").returncode == 0
    hub = ServeProcess(path).start()
    try:
        with phone(size) as page:
            log_in(page, hub)
            page.wait_for_function("navigator.serviceWorker.controller !== null")
            hub.stop()  # the hub goes away; the phone reloads at once
            page.reload()
            expect(page.get_by_test_id("lost")).to_be_visible(timeout=10_000)
            expect(page.locator("#tabs a[data-page=now]")).to_have_count(1)
            page.goto(hub.base_url + "/login")  # a page it never kept: the app's own words
            expect(page.locator("#away")).to_contain_text("The hub is not answering")
            shot(page, "hub-away", size)
    finally:
        hub.stop()


@pytest.mark.parametrize("size", SIZES)
def test_a_restore_refreshes_another_phones_people(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        call(page, "POST", "/profiles", {"name": "Anna"})
        backup = call(page, "GET", "/backup")
        call(page, "POST", "/profiles", {"name": "Kim"})
        other = page.context.new_page()  # a second tab, open on People
        other.goto(served.base_url + "/#people")
        people = other.get_by_test_id("profile-list")
        expect(people).to_contain_text("Kim")
        call(page, "POST", "/restore", backup)
        expect(people).not_to_contain_text("Kim")
        expect(people).to_contain_text("Anna")
        other.click("#tabs a[data-page=now]")
        expect(other.locator("[data-testid=who-picker] [data-profile]")).to_have_count(1)


@pytest.mark.parametrize("size", SIZES)
def test_history_says_a_stop_in_the_warm_up(served: ServeProcess, size: Any) -> None:
    with phone(size) as page:
        log_in(page, served)
        call(page, "POST", "/session", {"scene": "swedish", "minutes": 30})
        call(page, "DELETE", "/session")
        page.click("#tabs a[data-page=history]")
        row = page.locator("[data-testid=history] tbody tr").first
        expect(row).to_contain_text("none of 30")
        expect(row).not_to_contain_text("0 of 30")
        # the date on one line, and nothing past the card's edge
        assert row.locator("td").first.bounding_box()["height"] < 45  # one line (and padding)
        assert page.evaluate(
            "(() => { const t = document.querySelector('[data-testid=history]');"
            " return t.getBoundingClientRect().right <= t.parentElement.getBoundingClientRect().right; })()"
        )
        shot(page, "history", size)
