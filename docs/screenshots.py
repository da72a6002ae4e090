"""Take the Web UI tour's screenshots: the real service, headless Chromium, two phone sizes.

Run from the project's folder (Debian's Chromium and Playwright, as the browser tests use)::

    PYTHONPATH=$PWD .venv/bin/python docs/screenshots.py

``--pads`` takes only the pad screens (:data:`PAD_SCREENS`), so the others stay as they are.

It starts ``massage-hub serve`` on a throwaway config with two heat pads and simulated pins,
gives it a household (Anna and Ben, three weeks of sessions and journal ratings, brought in
as a backup through the API, so the dates look like a lived-in hub), and saves
``docs/images/<screen>-<portrait|landscape>.png`` at 390x844 and 844x390 for the screens
:data:`SCREENS`, then :data:`PAD_SCREENS` from a second service whose pad has a sensor
(its readings written as the kernel's ``w1_slave`` files). The session and the therapist's page are taken in Dim, as they are used in a
dark room; the others in the normal look. Nothing is sent anywhere but 127.0.0.1.
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rigs.support import (  # noqa: E402 - the project's own test helpers, after the path
    CHROMIUM,
    CHROMIUM_ARGS,
    ServeProcess,
    run_cli,
    write_config,
)

OUT = ROOT / "docs" / "images"
PASSWORD = "quiet evening room"
SIZES = {"portrait": {"width": 390, "height": 844}, "landscape": {"width": 844, "height": 390}}
SCREENS = ("now", "session", "room", "journal", "history", "settings", "therapist", "login")
# a pad with a temperature sensor (a DS18B20 read through the kernel's files, which this
# script writes): the Room page with its temperature, and its fault banner once it reads hot
PAD_SCREENS = ("pad-room", "pad-fault")
SENSOR = "28-0316a279a4ff"
MAX_BYTES = 120_000  # a larger PNG is worth a note in the report, not a bigger docs folder

# (days ago, hour, scene id, scene name, minutes, Anna before/after, Ben before/after)
PAST = [
    (20, 20, "swedish", "Swedish", 60, (7, 3), (6, 4)),
    (17, 21, "deep-tissue", "Deep tissue", 45, (8, 4), (7, 4)),
    (13, 19, "hot-stone", "Hot stone", 60, (6, 2), (6, 3)),
    (10, 20, "swedish", "Swedish", 60, (7, 4), (5, 3)),
    (6, 21, "aromatherapy", "Aromatherapy", 45, (8, 3), (7, 3)),
    (3, 20, "hot-stone", "Hot stone", 75, (6, 2), (6, 2)),
    (1, 20, "swedish", "Swedish", 60, (7, 3), (6, None)),
]


def call(page: Any, method: str, path: str, body: Any = None) -> Any:
    """Call the API from the page (its login cookie and CSRF token)."""
    return page.evaluate(
        "([m, p, b]) => MH.api(m, p, b === null ? undefined : b)", [method, path, body]
    )


def log_in(page: Any, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/#now$"))
    page.wait_for_selector("#conn.live")


def household(page: Any) -> dict[str, Any]:
    """Anna and Ben with their limits, weeks of sessions and ratings, a wind-down routine.

    Returns the backup that holds them all, to bring back before each size's tour.
    """
    call(
        page,
        "POST",
        "/profiles",
        {
            "name": "Anna",
            "heat_max": "low",
            "volume_max": 40,
            "aroma": False,
            "areas": ["neck", "lower_back"],
            "notes": "Pregnant, 24 weeks: no pressure on the lower back.",
        },
    )
    call(page, "POST", "/profiles", {"name": "Ben", "areas": ["shoulders"]})
    doc = call(page, "GET", "/backup")
    now = datetime.now().astimezone()
    sessions, people, journal = [], [], []
    for n, (ago, hour, scene, name, minutes, anna, ben) in enumerate(PAST, start=1):
        start = (now - timedelta(days=ago)).replace(hour=hour, minute=0, second=0, microsecond=0)
        end = start + timedelta(minutes=minutes + 5)
        sessions.append(
            {
                "id": n,
                "scene": scene,
                "scene_name": name,
                "source": "web",
                "started_at": start.isoformat(timespec="seconds"),
                "planned_minutes": minutes,
                "actual_minutes": minutes,
                "ended_at": end.isoformat(timespec="seconds"),
                "end_reason": "completed",
            }
        )
        for pid, pname, pad, rating in (("ben", "Ben", "pad", ben), ("anna", "Anna", "pad2", anna)):
            people.append({"session_id": n, "profile_id": pid, "name": pname, "pad": pad})
            for moment, value in zip(("before", "after"), rating, strict=True):
                if value is None:
                    continue
                at = (start if moment == "before" else end).isoformat(timespec="seconds")
                journal.append(
                    {
                        "session_id": n,
                        "profile_id": pid,
                        "moment": moment,
                        "stress": value,
                        "sleep": None,
                        "areas": "[]",
                        "note": "",
                        "created_at": at,
                    }
                )
    tables = doc["tables"]
    template = {k: None for k in (tables["sessions"][0] if tables["sessions"] else sessions[0])}
    tables["sessions"] = [{**template, **s} for s in sessions]
    tables["session_people"] = people
    tables["journal"] = [{**j, "id": i} for i, j in enumerate(journal, start=1)]
    call(page, "POST", "/restore", doc)
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    call(
        page,
        "POST",
        "/routines",
        {
            "name": "Evening wind-down",
            "schedule": {"kind": "weekly", "days": every_day, "time": "21:30"},
            "action": {"kind": "wind_down", "minutes": 30, "light_from": 0.6, "light_to": 0},
        },
    )
    return call(page, "GET", "/backup")  # type: ignore[no-any-return]


def save(page: Any, screen: str, tag: str, taken: list[Path]) -> None:
    path = OUT / f"{screen}-{tag}.png"
    page.wait_for_timeout(600)  # fades and the ring settle
    page.screenshot(path=str(path))
    taken.append(path)


def tour(
    browser: Any,
    base: str,
    doc: dict[str, Any],
    tag: str,
    viewport: dict[str, int],
    taken: list[Path],
) -> None:
    """Every screen of :data:`SCREENS` at one size, from the household in ``doc``."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1, has_touch=True)
    page = context.new_page()
    page.goto(base + "/login")
    page.wait_for_selector("#password")
    save(page, "login", tag, taken)
    log_in(page, base)
    page.evaluate("MH.setDim(false)")
    call(page, "POST", "/restore", doc)  # the household as it was, without the last tour's session
    call(page, "PUT", "/table", {"people": {"pad": "ben", "pad2": "anna"}})
    page.click("#tabs a[data-page=history]")
    page.get_by_test_id("history").locator("tbody tr").nth(2).wait_for()
    save(page, "history", tag, taken)
    page.click("#tabs a[data-page=journal]")
    page.get_by_test_id("journal-summary").wait_for()
    save(page, "journal", tag, taken)
    page.click("#tabs a[data-page=settings]")
    page.wait_for_selector("#visit-name")
    save(page, "settings", tag, taken)
    made = call(page, "POST", "/guests", {"name": "Maria", "profiles": ["anna"]})
    page.goto(base + "/#now")
    page.reload()
    page.wait_for_selector("#conn.live")
    # now: the start form with Anna and Ben picked, each asked how they feel before
    form = page.locator(".start-form")
    form.locator("[data-ask=before][data-person=ben] [data-value='6']").click()
    form.locator("[data-ask=before][data-person=anna] [data-value='5']").click()
    page.get_by_test_id("before-form").evaluate("el => el.scrollIntoView({block: 'center'})")
    page.evaluate("MH.hideToast()")
    save(page, "now", tag, taken)
    # session: running, in Dim (the room is dark)
    page.click("#start")
    page.get_by_test_id("running").wait_for()
    page.evaluate("MH.setDim(true)")
    page.evaluate("MH.hideToast(); window.scrollTo(0, 0)")
    save(page, "session", tag, taken)
    # room: the virtual room while the session runs, in the normal look
    page.evaluate("MH.setDim(false)")
    page.click("#tabs a[data-page=room]")
    save(page, "room", tag, taken)
    while call(page, "GET", "/state")["session"]:  # a stop fades out; a second ends it
        call(page, "DELETE", "/session")
    context.close()
    # therapist: a visiting therapist's link, in Dim (the phone's Dim is kept per phone)
    guest = browser.new_context(viewport=viewport, device_scale_factor=1, has_touch=True)
    page = guest.new_page()
    page.goto(base + "/login")
    page.click("[data-dim]")
    page.goto(made["url"])
    page.wait_for_url(re.compile(r"/therapist$"))
    page.locator("#t-client-list").get_by_text("Anna").wait_for()
    page.wait_for_selector("#conn.live")
    save(page, "therapist", tag, taken)
    guest.close()


def pad_tour(browser: Any, tmp: Path, taken: list[Path]) -> None:
    """The pad screens of :data:`PAD_SCREENS` at both sizes: warming, then over its ceiling."""
    from tests.rigs.fake_w1 import FakeW1Bus

    bus = FakeW1Bus(tmp / "w1")
    bus.set(SENSOR, 36.4)
    overrides = {
        "hardware": {"sensors": "w1", "w1_devices": str(tmp / "w1")},
        "heat_pads": {"pad": {"sensor": "auto"}},
    }
    path = write_config(tmp, overrides)
    out = run_cli(path, "set-password", stdin=PASSWORD + "\n")
    if out.returncode:
        raise RuntimeError(out.stderr)
    hub = ServeProcess(path).start()
    try:
        for tag, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport, device_scale_factor=1, has_touch=True)
            page = context.new_page()
            log_in(page, hub.base_url)
            page.evaluate("MH.setDim(false)")
            call(page, "PUT", "/devices/pad", {"heat": "high", "minutes": 20})
            page.click("#tabs a[data-page=room]")
            card = page.locator("#page-room [data-device=pad]")
            card.locator(".value").get_by_text("warming to").wait_for()
            card.evaluate("el => el.scrollIntoView({block: 'center'})")
            save(page, "pad-room", tag, taken)
            bus.set(SENSOR, 46.0)
            page.get_by_test_id("faults").wait_for(timeout=20_000)  # read every 2 s
            page.evaluate("MH.hideToast(); window.scrollTo(0, 0)")
            save(page, "pad-fault", tag, taken)
            bus.set(SENSOR, 36.4)
            page.wait_for_timeout(4500)  # the sensor reads cool again: the fault may be cleared
            call(page, "PUT", "/devices/pad", {"clear_fault": True})
            context.close()
    finally:
        hub.stop()


def main(argv: list[str]) -> int:
    """Start the service, take every screenshot at both sizes, stop it; print what was made."""
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    pads_only = "--pads" in argv
    if pads_only:
        with tempfile.TemporaryDirectory(prefix="mh-shots-") as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                pad_tour(browser, Path(tmp), taken)
            finally:
                browser.close()
        return report(taken)
    with tempfile.TemporaryDirectory(prefix="mh-shots-") as tmp:
        pads = {"pad2": {"pin": 17, "name": "Second pad", "max_on_minutes": 60}}
        path = write_config(Path(tmp), {"heat_pads": pads, "session": {"prewarm_minutes": 0}})
        for args, stdin in ((("make-music", "--if-empty"), ""), (("set-password",), PASSWORD)):
            out = run_cli(path, *args, stdin=stdin + "\n" if stdin else "")
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return 1
        hub = ServeProcess(path).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                try:
                    first = browser.new_page()
                    log_in(first, hub.base_url)
                    doc = household(first)
                    first.close()
                    for tag, viewport in SIZES.items():
                        tour(browser, hub.base_url, doc, tag, viewport, taken)
                    pad_tour(browser, Path(tmp) / "pads", taken)
                finally:
                    browser.close()
        finally:
            hub.stop()
    return report(taken)


def report(taken: list[Path]) -> int:
    """Print each screenshot made and its size; return 0."""
    for shot in taken:
        size = shot.stat().st_size
        note = "  (over the size meant for the docs)" if size > MAX_BYTES else ""
        print(f"{shot.relative_to(ROOT)}  {size:,} bytes{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
