"""The UI's files, light on the wire: two script bundles, hashed names, gzip, ETags.

- ``/assets/app-<hash>.js`` is what the first page needs, in load order (``app.js``,
  ``live.js``, the scripts of the pages in ``web.pages.FIRST``, ``FIRST_PARTS``, ``start.js``);
  ``/assets/more-<hash>.js`` is the other pages' scripts and ``EXTENSIONS``, which app.js
  loads when one of those pages is first opened; ``/assets/app-<hash>.css`` is the style
  sheets of :data:`STYLES`. A name changes when its content does, so all are cached for a
  year (``immutable``) and carry their hash as ETag (``If-None-Match`` answers 304).
- The HTML, the manifest and SVG are gzipped when the client accepts it and it is worth
  it. API answers stay plain JSON (small, and clients and test tools read them as they
  are); the event stream is never touched.
- ``/sw.js`` is the service worker: it keeps the shell and the assets so the app opens
  without the hub and then says the hub is not answering.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, Response, abort, request

from .auth import public

bp = Blueprint("assets", __name__)

STATIC = Path(__file__).parent / "static"
YEAR = 365 * 24 * 3600
MIN_GZIP_BYTES = 512  # smaller answers gain nothing from gzip
COMPRESSIBLE = {
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/manifest+json",
    "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """One built file: its bytes, gzipped bytes, content type and hash."""

    body: bytes
    gz: bytes
    mimetype: str
    digest: str


def scripts(kind: str = "js") -> list[str]:
    """Return the scripts of the first bundle (``js``) or the second (``more``), in order.

    The second holds the pages a first visit does not need; app.js loads it when one of
    them is opened. Its extensions come first, so a page finds them when it mounts.
    """
    from .pages import EXTENSIONS, FIRST, FIRST_PARTS, PAGES

    first = [p["script"] for p in PAGES if p.get("script") and p["id"] in FIRST]
    later = [p["script"] for p in PAGES if p.get("script") and p["id"] not in FIRST]
    if kind == "more":
        return [*EXTENSIONS, *later]
    return ["app.js", "live.js", *first, *FIRST_PARTS, "start.js"]


TRAILING = re.compile(r"([;{},)(])\s{2,}// [^\"']*$")


def slim_js(source: str) -> str:
    """Drop a script's header comment, full-line ``//`` comments, blank lines and indents.

    Only whole lines go, and every line break stays, so what runs is the same (the
    scripts use no template literals, whose lines this would change).
    """
    if source.startswith("/*"):
        source = source[source.index("*/") + 2 :]
    # a trailing comment goes too: code, then two spaces and "// " (the scripts' one style)
    lines = (TRAILING.sub(r"\1", line).strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


def _build(names: list[str], mimetype: str) -> Asset:
    if mimetype.endswith("javascript"):
        parts = [slim_js((STATIC / n).read_text()).encode() for n in names]
    else:
        parts = [(STATIC / n).read_bytes() for n in names]
    body = b"\n;\n".join(parts) if mimetype.endswith("javascript") else b"\n".join(parts)
    return Asset(
        body, gzip.compress(body, 9, mtime=0), mimetype, hashlib.sha256(body).hexdigest()[:12]
    )


#: the style sheets, in one file: the app's, then the people pages' and the visits'
STYLES = ("app.css", "people.css", "visits.css")

_cache: dict[tuple[str, ...], Asset] = {}


def asset(kind: str) -> Asset:
    """Return a built script bundle (``js``, ``more``) or the style sheet (``css``)."""
    names = STYLES if kind == "css" else tuple(scripts(kind))
    key = (kind, *names, *(str((STATIC / n).stat().st_mtime_ns) for n in names))
    if key not in _cache:
        mimetype = "text/css" if kind == "css" else "text/javascript"
        if len(_cache) > 8:  # files changed while serving (a developer's edits)
            _cache.clear()
        _cache[key] = _build(list(names), mimetype)
    return _cache[key]


def asset_url(kind: str) -> str:
    """Return the hashed address of a bundle (``js``, ``more``) or the style sheet (``css``)."""
    if kind == "more":
        return f"/assets/more-{asset(kind).digest}.js"
    return f"/assets/app-{asset(kind).digest}.{kind}"


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


@bp.get("/assets/more-<digest>.js")
@public
def more(digest: str) -> Response:
    """Serve the second bundle (the pages a first visit does not need)."""
    return built(digest, "more")


@bp.get("/assets/app-<digest>.<kind>")
@public
def built(digest: str, kind: str) -> Response:
    """Serve a bundle or the style sheet, cached for a year under its hash."""
    if kind not in ("js", "css", "more"):
        abort(404)
    a = asset(kind)
    if digest != a.digest:
        abort(404)  # an old name: the shell asks for the new one
    etag = f'"{a.digest}"'
    if etag in request.headers.get("If-None-Match", ""):
        resp = Response(status=304)
    elif _accepts_gzip():
        resp = Response(a.gz, mimetype=a.mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(a.body, mimetype=a.mimetype)
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    resp.headers["Vary"] = "Accept-Encoding"
    return resp


@bp.get("/sw.js")
@public
def service_worker() -> Response:
    """Serve the service worker (from the root, so it may keep the whole app)."""
    body = (
        (STATIC / "sw.js")
        .read_text()
        .replace("__ASSETS__", f"{asset_url('js')} {asset_url('more')} {asset_url('css')}")
    )
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def gzip_response(resp: Response) -> Response:
    """Gzip a compressible, complete answer when the client accepts gzip."""
    if (
        resp.direct_passthrough
        or resp.is_streamed
        or resp.status_code < 200
        or resp.status_code in (204, 304)
        or "Content-Encoding" in resp.headers
        or resp.mimetype not in COMPRESSIBLE
        or not _accepts_gzip()
    ):
        return resp
    data = resp.get_data()
    if len(data) < MIN_GZIP_BYTES:
        return resp
    resp.set_data(gzip.compress(data, 6))
    resp.headers["Content-Encoding"] = "gzip"
    vary = resp.headers.get("Vary")
    resp.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    return resp


def init_app(app: Flask) -> None:
    """Offer ``asset_url`` to templates and gzip answers on the way out."""
    app.jinja_env.globals["asset_url"] = asset_url
    # the icon inline as the tab's icon too: no request for it on the first load
    svg = (STATIC / "icon.svg").read_text().strip()
    app.jinja_env.globals["icon_uri"] = "data:image/svg+xml," + quote(svg, safe=' =:/"<>')
    app.after_request(gzip_response)
