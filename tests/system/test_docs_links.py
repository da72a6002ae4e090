"""Every relative link and image in README.md and docs/*.md leads somewhere real.

A link resolves to an existing file (relative to the page it is on), and its ``#anchor``
to a heading of the target page, slugged as GitHub does: lowercase, spaces to ``-``,
punctuation dropped (``-`` and ``_`` kept), a repeated slug numbered ``-1``, ``-2``.
Links to other sites (``https:``, ``mailto:``) are not followed: the tests run offline.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) and ![alt](target); the target stops at whitespace or ")"
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def without_code(text: str) -> list[str]:
    """Return the page's lines with fenced code blocks and inline code blanked out."""
    lines, fence = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fence = not fence
            lines.append("")
            continue
        lines.append("" if fence else re.sub(r"`[^`]*`", "", line))
    return lines


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Return every heading anchor of a markdown page, numbered as GitHub numbers repeats."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fence = not fence
            continue
        match = None if fence else _HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """Return (line number, target) for every relative link and image on a page."""
    out = []
    for number, line in enumerate(without_code(page.read_text(encoding="utf-8")), 1):
        for match in _LINK.finditer(line):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
                continue
            out.append((number, target))
    return out


def broken(page: Path, root: Path = ROOT) -> list[str]:
    """Return a sentence for each link on the page that leads nowhere (paths shown from root)."""
    problems = []
    for number, target in links(page):
        path, _, anchor = target.partition("#")
        dest = page if not path else (page.parent / path).resolve()
        where = f"{page.relative_to(root)}:{number}: {target}"
        shown = dest.relative_to(root) if dest.is_relative_to(root) else dest
        if not dest.exists():
            problems.append(f"{where}: no file {shown}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where}: no heading '{anchor}' in {shown}")
    return problems


def test_the_pages_are_there() -> None:
    names = {page.name for page in PAGES}
    assert "README.md" in names and len(PAGES) > 5, names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_somewhere(page: Path) -> None:
    problems = broken(page)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Its part (two)\n\n## Its part (two)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md#its-part-two) [second](other.md#its-part-two-1) [self](#page)\n"
        "[no file](missing.md) ![no image](images/none.png) [no heading](other.md#nope)\n"
        "```\n[in code](not-a-link.md)\n```\n"
        "`[inline](not-a-link-either.md)` [web](https://example.com/x.md)\n"
    )
    problems = broken(page, root=tmp_path)
    assert len(problems) == 3, problems
    assert "missing.md" in problems[0] and "images/none.png" in problems[1]
    assert "no heading 'nope'" in problems[2]


def test_slugs_follow_github() -> None:
    assert slug("Music (`speaker:`)") == "music-speaker"
    assert slug("The pi_rig tier: build and run times (issue 27)") == (
        "the-pi_rig-tier-build-and-run-times-issue-27"
    )
    assert slug("Voice (Assist, and Alexa or Google through Home Assistant)") == (
        "voice-assist-and-alexa-or-google-through-home-assistant"
    )
