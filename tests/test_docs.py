"""The README is a front page, and the docs it points to hold together: every relative link and image
in README.md and docs/*.md names a file that exists, and a #fragment names a heading of that page."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 200

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def unfenced(text: str) -> str:
    """The text without fenced code blocks (where a `#` line is a comment, not a heading)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.M | re.S)


def prose(text: str) -> str:
    """The text without code, fenced or inline, where a bracket is not a link."""
    return re.sub(r"`[^`]*`", "", unfenced(text))


def anchors(page: Path) -> set[str]:
    """The fragments GitHub gives the page's headings: lower case, punctuation dropped, spaces as
    hyphens, and -1, -2, ... after a repeated one."""
    seen: dict[str, int] = {}
    for line in unfenced(page.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6} +(.*?) *#* *$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        seen.setdefault(slug if n == 0 else f"{slug}-{n}", 1)
    return set(seen)


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file is missing, or whose #fragment is no heading there."""
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):          # http:, https:, mailto: ...
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target} (no such heading)")
    return broken


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == [], f"{page.relative_to(ROOT)}: broken links"


def test_every_docs_page_is_linked_from_the_readme():
    readme = prose((ROOT / "README.md").read_text(encoding="utf-8"))
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in LINK.findall(readme)}
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []


def test_the_checker_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"")
    (tmp_path / "other.md").write_text("# Other page\n\n## The shipped model's figures: `now`\n\n## Repeat\n\n## Repeat\n")
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n![ok](img/a.png) [ok](other.md#the-shipped-models-figures-now) [ok](#title)\n"
                    "[ok](other.md#repeat-1) [ok](https://example.com/x.md) `[in code](gone.md)`\n\n"
                    "```\n[in a block](gone.md)\n```\n\n"
                    "[bad](img/b.png) [bad](other.md#nothing) [bad](#repeat) [bad](../nowhere.md)\n")
    assert broken_links(page) == ["img/b.png (no such file)", "other.md#nothing (no such heading)",
                                  "#repeat (no such heading)", "../nowhere.md (no such file)"]
