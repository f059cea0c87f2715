"""Escaping at the edge: record text is data, never markup.

Every value interpolated into a generated page goes through `md_escape` (the Jinja2 environment's
`finalize` hook does it for every `{{ }}`), which turns both HTML-significant and
Markdown-significant characters into numeric character references. Python-Markdown leaves
character references alone, so `<script>`, `[x](javascript:...)`, `**`, `|`, `{{ }}` and `{% %}`
all come out as the literal text the record holds. Record text is never used as template source.

Only the helpers in this module (`link`, `code`, `table`, ...) create `Markup`, i.e. trusted markup,
and they escape their text arguments themselves. What they make is HTML, never Markdown syntax: a
table is an HTML block that Python-Markdown passes through without parsing its cells (that halved
its time on our pages: docs/performance.md, "HTML tables"), so a link or code span inside a
cell must already be HTML there, and the same helpers serve for Markdown paragraphs, where inline
HTML passes through as well. MkDocs does not rewrite URLs in raw HTML, so a link carries the URL
the browser resolves from the page's served address (`href`).
"""
from __future__ import annotations

import functools
import html
import posixpath
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from servicebook.load.records import is_id_of, kind_of_id

from .rawhtml import block

TEMPLATES = Path(__file__).parent / "templates"

# Characters that can form markup inline, with the extensions the site enables (tables, attr_list,
# admonition, toc): HTML (& < >), links and images ([ ]), emphasis (* _), code (`), escapes (\\),
# attribute lists ({ }), table cells (|). Others are only special at a line start (handled below)
# or with extensions we do not enable; encoding them too would only slow Markdown down.
_SPECIAL = "&<>\\`*_{}[]|"
_TABLE = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}
# Values are never meant to start a line of Markdown, but some sections place one there; so a value
# whose first character is not a letter or digit is encoded there (a heading, list, quote, rule,
# admonition `!!!`, fence `~~~`, definition or indented code cannot begin), and so is an ordered
# list marker (`1.`).
_ORDERED = re.compile(r"^\d+[.)]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
# Bidirectional embeddings, overrides and isolates reorder the text around them ("Trojan Source"):
# shown as U+FFFD, so a reader sees that something was there and the rest reads in order.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Characters that mean markup in HTML text or attributes, as their full-width look-alikes: a page
# title is printed by the theme both raw and through `striptags` (which decodes entities), so only
# text without these characters is safe in every place it lands.
_LOOKALIKE = str.maketrans({"<": "\uff1c", ">": "\uff1e", "&": "\uff06", '"': "\uff02", "'": "\uff07"})
_NEWLINES = re.compile(r"\r\n|\r|\n")
SAFE_ID = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
# Any character `md_escape` changes anywhere in a text: most values (names, IDs, dates, numbers)
# have none, and skip the splitting and translating (a site build escapes ~15 values per record)
_CHANGED = re.compile("[" + re.escape(_SPECIAL) + _CONTROL.pattern[1:-1] + _BIDI.pattern[1:-1] + "\r\n]")


def md_escape(value) -> Markup:
    """Record text as inert Markdown: HTML and Markdown specials encoded, newlines -> <br>."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    out = str(value)
    if _CHANGED.search(out):
        text = _BIDI.sub("\ufffd", _CONTROL.sub(" ", out))
        out = "<br>".join(line.translate(_TABLE) for line in _NEWLINES.split(text))
    if out and not out.startswith("&#") and (not out[0].isalnum() or _ORDERED.match(out)):
        out = f"&#{ord(out[0])};" + out[1:]
    return Markup(out)


def plain(value) -> str:
    """Text for places where only plain text is allowed (SVG via its own escaping, logs)."""
    return "" if value is None else _BIDI.sub("\ufffd", _CONTROL.sub(" ", str(value)))


def title_text(title: str) -> str:
    """A page title as the theme must get it: plain text that no filter can turn into markup.

    MkDocs hands the theme the first heading's inner HTML with tags stripped and entities kept
    (`&#60;script&#62;`); Material prints it raw in the navigation and through `striptags` in
    `<title>`, and `striptags` decodes the entities back into `<script>`. So the entities are
    decoded here once and every markup character becomes its full-width look-alike (`＜script＞`),
    which reads the same and is inert raw, escaped, unescaped or tag-stripped."""
    return plain(html.unescape(title)).translate(_LOOKALIKE)


def is_safe_id(value) -> bool:
    """Whether ``value`` may become part of a page path or an anchor: a well-formed ID of some
    kind, so an invalid record named `index` (or `satisfaction`) cannot take an index page's place."""
    if not (isinstance(value, str) and SAFE_ID.match(value) and len(value) <= 120):
        return False
    kind = kind_of_id(value)
    return kind is not None and is_id_of(kind, value)


def link(text, url: str | None) -> Markup:
    """An HTML link with escaped text to a URL we built (`href`: relative, from safe IDs)."""
    if not url:
        return md_escape(text)
    return Markup(f'<a href="{html.escape(quote(url, safe="/#.-_~"))}">{md_escape(text)}</a>')


_EXTERNAL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[^\s]*)?$")


def external_link(text, url) -> Markup:
    """A link to an http(s) URL that comes from data (a `Reviewed-on` trailer); anything else,
    e.g. `javascript:`, is shown as escaped text. Characters that could end the attribute or form
    markup in the URL are percent-encoded, and what is left is escaped for the attribute."""
    if not isinstance(url, str) or not _EXTERNAL.match(url.strip()):
        return md_escape(url if url else text)
    safe = quote(url.strip(), safe="/:?#=&%+,;~-.@!$")
    return Markup(f'<a href="{html.escape(safe)}">{md_escape(text)}</a>')


def code(text) -> Markup:
    """Text in a code span, shown literally (HTML, so it works in a table cell as in a paragraph)."""
    return Markup(f"<code>{md_escape(text)}</code>")


def join(items, sep=", ") -> Markup:
    return Markup(md_escape(sep).join(md_escape(i) for i in items))


def relurl(from_path: str, to_path: str) -> str:
    """Relative path from one docs path to another (both docs-relative .md/.svg), for Markdown
    that MkDocs rewrites (an image); HTML links take `href`."""
    base = PurePosixPath(from_path).parent
    target = PurePosixPath(to_path)
    parts_from = [p for p in base.parts if p not in ("", ".")]
    parts_to = list(target.parts)
    i = 0
    while i < len(parts_from) and i < len(parts_to) - 1 and parts_from[i] == parts_to[i]:
        i += 1
    rel = [".."] * (len(parts_from) - i) + parts_to[i:]
    return "/".join(rel)


@functools.lru_cache(maxsize=None)  # pure; asked for every link of every generated page (one per page)
def served_path(path: str, directory_urls: bool = True) -> str:
    """The URL, relative to the site root, at which MkDocs serves the docs path ``path``:
    ``cases/X.md`` at ``cases/X/`` (``cases/X.html`` without directory URLs), ``cases/index.md``
    at ``cases/`` (``cases/index.html``), ``index.md`` at the root (``""``); other files as they are."""
    p = PurePosixPath(path)
    if p.suffix != ".md":
        return path
    if not directory_urls:
        return str(p.with_suffix(".html"))
    if p.stem == "index":
        return "" if str(p.parent) == "." else f"{p.parent}/"
    return f"{p.with_suffix('')}/"


@functools.lru_cache(maxsize=1 << 19)  # a site of 100k records has ~300k (page, target) pairs: no thrashing
def href(here: str, target: str, directory_urls: bool = True) -> str:
    """The relative URL of docs path ``target`` (``x.md``, ``x.md#anchor``, ``chart.svg``) as a
    link on the page generated from ``here`` must carry it: resolved by the browser from the
    page's served URL (`served_path`), since MkDocs leaves URLs in raw HTML as they are."""
    path, sep, anchor = target.partition("#")
    if not path:
        return target  # an anchor on the same page
    page = served_path(here, directory_urls)
    base = page if page.endswith("/") or not page else posixpath.dirname(page)
    to = served_path(path, directory_urls)
    rel = posixpath.relpath(to or ".", base.rstrip("/") or ".")
    if to.endswith("/") or not to:
        rel = "./" if rel == "." else rel + "/"
    return rel + sep + anchor


def _finalize(value):
    return md_escape(value)


def environment() -> Environment:
    """Jinja2 for our own templates only: autoescape + every `{{ }}` escaped for Markdown too."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["esc"] = md_escape
    return env


def cell(value) -> Markup:
    """Escaped text for a table cell ('—' when empty)."""
    if value is None or value == "":
        return Markup("—")
    return md_escape(value)


def table(headers, rows) -> Markup:
    """An HTML table block; every cell is escaped unless it is already `Markup` from a helper.

    Python-Markdown passes an HTML block through as it is, so the cells are not parsed again (the
    numeric character references of `md_escape` read the same in HTML), and Material styles and
    wraps a plain `<table>` as it does a Markdown one. One row a line, no blank line inside;
    bracketed by `rawhtml.block`, so the site's build does not even scan it for its end."""
    if not rows:
        return Markup("")
    head = "<tr>" + "".join(f"<th>{cell(h)}</th>" for h in headers) + "</tr>"
    body = ["<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows]
    return block("\n".join(["<table>", "<thead>", head, "</thead>", "<tbody>", *body, "</tbody>", "</table>"]))


def code_block(text: str, lang: str = "") -> Markup:
    """A fenced code block; its content is shown verbatim (Markdown escapes it as code)."""
    text = str(text)
    fence = "```"
    while fence in text:
        fence += "`"
    return Markup(f"{fence}{lang}\n{text.rstrip()}\n{fence}\n")
