"""The tables of a generated page as data, for tests that compare a page with a report.

`servicebook.site.markup.table` writes each table as an HTML block (`<table>` ... `</table>`, one
row a line) inside the page's Markdown; this reads them back with the standard library's HTML
parser, under the `##` heading above each. A cell's text is what a reader sees (entities decoded,
`<br>` a newline, tags dropped); its links' `href`s are kept beside it. Links are resolved to docs
paths here on their own terms (how MkDocs serves a page), not with the code under test.
"""
from __future__ import annotations

import html
import posixpath
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]
    links: list[list[list[str]]] = field(default_factory=list)  # per row, per cell: its hrefs

    def column(self, name: str) -> list[str]:
        at = self.head.index(name)
        return [r[at] for r in self.rows]


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.head: list[str] = []
        self.rows: list[list[str]] = []
        self.links: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._row_links: list[list[str]] = []
        self._cell: list[str] | None = None
        self._cell_links: list[str] = []
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row, self._row_links = [], []
        elif tag in ("td", "th"):
            self._cell, self._cell_links = [], []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        elif tag == "a" and self._cell is not None:
            self._cell_links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._row_links.append(self._cell_links)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._in_head:
                self.head = self._row
            else:
                self.rows.append(self._row)
                self.links.append(self._row_links)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse_table(block: str) -> Table:
    reader = _Reader()
    reader.feed(block)
    reader.close()
    return Table(reader.head, reader.rows, reader.links)


def page_tables(md: str) -> list[tuple[str, Table]]:
    """Every table of a generated Markdown page, with the `##` heading above it ('' before the
    first), in page order."""
    out, heading, block = [], "", None
    for line in md.splitlines():
        if block is not None:
            block.append(line)
            if line.strip() == "</table>":
                out.append((heading, parse_table("\n".join(block))))
                block = None
        elif line.startswith("## "):
            heading = html.unescape(line[3:].strip())
        elif line.strip() == "<table>":
            block = [line]
    assert block is None, "a table that does not end"
    return out


def tables_by_heading(md: str) -> dict[str, list[list[str]]]:
    """The body rows of every table under each `##` heading (the tables under one heading together)."""
    out: dict[str, list[list[str]]] = {}
    for heading, tbl in page_tables(md):
        out.setdefault(heading, []).extend(tbl.rows)
    return out


def first_table(md: str) -> Table:
    found = page_tables(md)
    assert found, "no table"
    return found[0][1]


def hrefs(md: str) -> list[str]:
    """Every `href` of an `<a>` in a generated page (tables and paragraphs)."""
    class _Links(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.found.append(dict(attrs).get("href") or "")
    reader = _Links()
    reader.found = []
    reader.feed(md)
    reader.close()
    return reader.found


def docs_path(here: str, href: str, pages, directory_urls: bool = True) -> str | None:
    """The docs path (a key of ``pages``) that a link ``href`` on the page generated from ``here``
    reaches in the browser, or None. With directory URLs ``a/b.md`` is served at ``a/b/`` and
    ``a/index.md`` at ``a/``; without, at ``a/b.html`` and ``a/index.html``."""
    target = href.partition("#")[0]
    if not target:
        return here
    stem = here[:-3]
    if directory_urls:
        page_dir = stem[:-len("index")] if stem == "index" or stem.endswith("/index") else stem + "/"
    else:
        page_dir = posixpath.dirname(stem) + "/" if "/" in stem else ""
    url = posixpath.normpath(posixpath.join(page_dir or ".", target))
    if url.startswith(".."):
        return None
    if directory_urls and target.endswith("/"):
        candidates = [f"{url}.md", f"{url}/index.md"] if url != "." else ["index.md"]
    elif not directory_urls and url.endswith(".html"):
        candidates = [url[:-5] + ".md"]
    else:
        candidates = [url]
    return next((c for c in candidates if c in pages), None)
