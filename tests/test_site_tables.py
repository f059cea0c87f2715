"""Generated tables are HTML blocks (issue #19): MkDocs passes them through without parsing their
cells, so what is in them must be inert HTML with links that already carry their served URLs.

* a table of hostile cells, built by a real `mkdocs build` with the site's theme and Markdown
  extensions, comes out with no element or attribute but the ones `markup` writes, and every
  cell's text as the record holds it;
* every link and image in a table of the built fixture site reaches a built page (and the anchor
  on it), with `use_directory_urls` true and false.
"""
from __future__ import annotations

import os
import posixpath
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from site_fixtures import AS_OF, REPO, make_repo
from servicebook.site.markup import code, external_link, href, link, table

MKDOCS = str(Path(sys.executable).with_name("mkdocs"))


def mkdocs_build(root: Path, *args: str) -> None:
    env = {**os.environ, "SERVICEBOOK_AS_OF": AS_OF, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([MKDOCS, "build", "--strict", *args], cwd=root, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


class _Elements(HTMLParser):
    """Every start tag with its attributes, and each cell's text as a browser shows it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.cells: list[str] = []
        self.comments: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


HOSTILE = [
    "&<>\\`*_{}[]|\"'!#~=:;/",
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(2)' x='",
    "{{ 7*7 }} {% raw %} {#c#}",
    "[x](javascript:alert(1)) ![i](x.png) <a href=\"javascript:alert(3)\">a</a>",
    "**b** _i_ `c` ~~s~~ <b>bold</b>",
    "# heading",
    "1. item",
    "- item",
    "> quote",
    "&amp; &lt; &#60;",
    "<!-- c --> <![CDATA[x]]>",
    "{: onclick=alert(4) }",
    "a\nb\r\nc\rd",
    "bidi \u202egnp.exe\u202c \u2066x\u2069",
    "bell\x07 nul\x00 esc\x1b line\u2028sep",
    "</td></tr></table><script>alert(5)</script>",
    "|a|b|\n| --- |",
]


def shown(text: str) -> str:
    """What a reader must see of a hostile text: control characters as spaces, bidi controls as
    U+FFFD, each line break one line break; nothing else changed."""
    out = []
    for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
        if ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            out.append("\ufffd")
        elif ch != "\n" and (ord(ch) < 32 or ch in "\x7f\u2028\u2029"):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def test_hostile_cells_build_to_inert_html(tmp_path):
    """Every special character, `javascript:` URLs, quotes that would end an attribute, newlines,
    bidi and control characters: through `markup.table` and a real `mkdocs build` (the site's
    theme and extensions), the table holds only the elements and attributes `markup` writes, each
    cell shows its text literally, and the Markdown after the table is still Markdown."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump({
        "site_name": "t", "docs_dir": "docs", "site_dir": "site", "use_directory_urls": True,
        "theme": config["theme"], "markdown_extensions": config["markdown_extensions"]}), encoding="utf-8")
    docs = tmp_path / "docs"
    (docs / "cases").mkdir(parents=True)
    (docs / "cases" / "X.md").write_text('# X\n\n<span id="rec-A"></span>\n', encoding="utf-8")
    here = "people/P.md"
    rows = [[text, len(text)] for text in HOSTILE]
    rows.append([link(HOSTILE[2], href(here, "cases/X.md#rec-A")), external_link(HOSTILE[1], "javascript:alert(6)")])
    rows.append([external_link(HOSTILE[3], 'https://example.com/a"onmouseover=alert(7)\'<x>'), code(HOSTILE[5])])
    (docs / "people").mkdir()
    (docs / "people" / "P.md").write_text(
        f"# P\n\n{table(HOSTILE[:2], rows)}after **the table**\n", encoding="utf-8")
    mkdocs_build(tmp_path)

    built = (tmp_path / "site" / "people" / "P" / "index.html").read_text(encoding="utf-8")
    start, end = built.index("<table>"), built.index("</table>") + len("</table>")
    assert built.count("<table>") == 1
    found = _Elements()
    found.feed(built[start:end])
    found.close()
    assert {tag for tag, _ in found.tags} <= {"table", "thead", "tbody", "tr", "th", "td", "a", "code", "br"}
    attributes = [(tag, attrs) for tag, attrs in found.tags if attrs]
    assert attributes == [("a", [("href", "../../cases/X/#rec-A")]),
                          ("a", [("href", "https://example.com/a%22onmouseover=alert%287%29%27%3Cx%3E")])]
    assert not found.comments
    expected = [shown(h) for h in HOSTILE[:2]]
    for text in HOSTILE:
        expected += [shown(text), str(len(text))]
    expected += [shown(HOSTILE[2]), "javascript:alert(6)", shown(HOSTILE[3]), shown(HOSTILE[5])]
    assert found.cells == expected
    # the table ended where it should: the Markdown after it is rendered, and the link resolves
    assert "<p>after <strong>the table</strong></p>" in built[end:]
    assert (tmp_path / "site" / "cases" / "X" / "index.html").is_file()


# --- links in the tables of a built site ---------------------------------------------------------

class _Page(HTMLParser):
    """A built page's ids, and the links and images in its article (the page's own content, not
    the theme's navigation), with whether each is inside a table."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.targets: list[tuple[str, bool]] = []
        self._article = 0
        self._tables = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "article":
            self._article += 1
        elif tag == "table":
            self._tables += 1
        elif self._article and tag == "a" and a.get("href"):
            self.targets.append((a["href"], bool(self._tables)))
        elif self._article and tag == "img" and a.get("src"):
            self.targets.append((a["src"], bool(self._tables)))

    def handle_endtag(self, tag):
        if tag == "article":
            self._article -= 1
        elif tag == "table":
            self._tables -= 1


def read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def page_url(site: Path, file: Path, directory_urls: bool) -> str:
    """The URL (from the site root) a built file is served at: `a/b/index.html` at `a/b/` with
    directory URLs; every file at its own path without."""
    rel = file.relative_to(site).as_posix()
    if directory_urls and rel.endswith("index.html"):
        return rel[:-len("index.html")]
    return rel


@pytest.mark.parametrize("directory_urls", [True, False], ids=["directory-urls", "flat-urls"])
def test_links_in_tables_reach_built_pages(tmp_path, directory_urls):
    """Every link and image in the content of every page of the built fixture site reaches a
    built file, and a `#fragment` an element on that page; those in tables lead to records
    (`#rec-<id>` on a case page), people, customers and knowledge-base entries."""
    root = make_repo(tmp_path / "repo")
    (root / "mkdocs.check.yml").write_text(
        f"INHERIT: mkdocs.yml\nsite_dir: site-check\nuse_directory_urls: {str(directory_urls).lower()}\n"
        "plugins:\n  servicebook:\n    alternate_config: ''\n", encoding="utf-8")
    mkdocs_build(root, "-f", "mkdocs.check.yml")
    site = root / "site-check"
    pages = sorted(site.rglob("*.html"))
    checked, kinds, anchors, ids = 0, set(), 0, {}
    for file in pages:
        url = page_url(site, file, directory_urls)
        for target, in_table in read_page(file).targets:
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert not target.startswith(("/", "javascript:")), (url, target)
            path, _, fragment = target.partition("#")
            if path:
                base = url if url.endswith("/") or not url else posixpath.dirname(url)
                resolved = posixpath.normpath(posixpath.join(base, path))
                assert not resolved.startswith(".."), (url, target)
                dest = site / resolved
                if dest.is_dir():
                    dest = dest / "index.html"
            else:
                resolved, dest = url, file
            assert dest.is_file(), f"{url}: {target} -> {dest.relative_to(site)} is not built"
            if fragment:
                if dest not in ids:
                    ids[dest] = read_page(dest).ids
                assert fragment in ids[dest], f"{url}: {target}: no id {fragment!r} there"
            if in_table:
                checked += 1
                anchors += bool(fragment)
                kinds.add(resolved.split("/")[0])
    assert checked > 100 and anchors > 10, (checked, anchors)
    assert {"cases", "customers", "people", "kb"} <= kinds, kinds
