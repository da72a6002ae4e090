"""The app is light on the wire: gzip, hashed files cached for a year with ETags, a first
load under 30 KB, and a service worker so the app opens without the hub and says so.
Byte counts are Chromium's own (``request.sizes()``: compressed bodies plus headers)."""

from __future__ import annotations

import gzip
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rigs.phone import PORTRAIT, log_in, phone, set_password, shot
from tests.rigs.support import ServeProcess, write_config

pytestmark = pytest.mark.browser

FIRST_LOAD_LIMIT = 30_000  # bytes: under 30 KB however a kilobyte is counted


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    path = write_config(tmp_path)
    proc = ServeProcess(path).start()
    set_password(proc)
    yield proc
    proc.stop()


def first_load(page: Any, url: str) -> tuple[int, int, list[str]]:
    """Open ``url``; return the bytes on the wire, the requests, and what they were."""
    seen: list[Any] = []
    page.on("requestfinished", lambda r: seen.append(r))
    page.goto(url)
    page.wait_for_selector("#conn.live")
    page.wait_for_timeout(1500)  # the page's first API calls
    total, names = 0, []
    for req in seen:
        sizes = req.sizes()
        # Chromium reports body = on-the-wire length - headers: their sum is what came in
        total += max(0, sizes["responseBodySize"] + sizes["responseHeadersSize"])
        total += sizes["requestHeadersSize"] + sizes["requestBodySize"]
        names.append(
            f"{req.url.split('/', 3)[-1]} {sizes['responseBodySize']}+{sizes['responseHeadersSize']}+{sizes['requestHeadersSize']}"
        )
    # the event stream is open, so not finished: count it as a request, its bytes are live
    return total, len(seen) + 1, names


def test_first_load_is_small_compressed_and_cached(served: ServeProcess) -> None:
    with phone() as page:
        log_in(page, served)
        # a new phone: empty cache, no service worker, only the login cookie
        fresh = page.context.browser.new_context(viewport=PORTRAIT, has_touch=True)
        fresh.add_cookies(page.context.cookies())
        page = fresh.new_page()
        page.errors = []
        total, requests, names = first_load(page, served.base_url + "/#now")
        print(f"first load: {total} bytes on the wire in {requests} requests: {names}")
        assert total < FIRST_LOAD_LIMIT, names

        js = next(n.split()[0] for n in names if n.split()[0].endswith(".js"))
        req = urllib.request.Request(f"{served.base_url}/{js}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            etag = r.headers["ETag"]
            body = gzip.decompress(r.read())
        assert b'MH.page("now"' in body and b"MH.start()" in body
        again = urllib.request.Request(f"{served.base_url}/{js}", headers={"If-None-Match": etag})
        try:
            urllib.request.urlopen(again, timeout=10)
            raise AssertionError("expected 304 Not Modified")
        except urllib.error.HTTPError as exc:
            assert exc.code == 304

        # a second visit takes the assets from the cache
        assets: list[Any] = []
        page.on("requestfinished", lambda r: assets.append(r) if "/assets/" in r.url else None)
        page.goto("about:blank")
        page.goto(served.base_url + "/#now")
        page.wait_for_selector("#conn.live")
        assert len(assets) == 2
        wire = [a.sizes()["responseBodySize"] + a.sizes()["responseHeadersSize"] for a in assets]
        assert wire == [0, 0], wire  # both from the cache, nothing on the wire
        assert not page.errors, page.errors


def test_the_app_opens_offline_and_says_the_hub_is_away(served: ServeProcess) -> None:
    with phone() as page:
        log_in(page, served)
        assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now the worker controls the page (and keeps the shell)
        page.wait_for_selector("#conn.live")
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        page.context.set_offline(True)
        page.reload()
        lost = page.locator("[data-testid=lost]")
        lost.wait_for(state="visible", timeout=5000)
        assert lost.text_content() == "The hub is not answering. What you see may be out of date."
        assert page.locator("#tabs a[data-page=now]").count() == 1  # the app itself is here
        shot(page, "offline")
        page.context.set_offline(False)
        lost.wait_for(state="hidden", timeout=10_000)  # back: the page reconnects by itself
