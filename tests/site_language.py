"""One language per page: what a built page says in the other language.

A page's words are the text nodes of its article (HTML) or chart (SVG). A text node that is a
catalogue label of the other language (placeholders match anything), or that names a role by its
key (``cs_manager``), is a word the reader of this page was not meant to see. Record free text is
data, not a label: it is only ever a whole text node by chance, and the labels compared are those
that differ between the two languages."""
from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from servicebook.site.i18n import catalogue

REPO = Path(__file__).resolve().parents[1]
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


@lru_cache(maxsize=None)
def role_keys() -> tuple[str, ...]:
    common = json.loads((REPO / "schemas" / "common.schema.json").read_text(encoding="utf-8"))
    return tuple(common["definitions"]["role"]["enum"])


def _pattern(label: str) -> re.Pattern:
    # a placeholder stands for one value (a number, a name, an instant's parts): no spaces
    parts = re.split(r"\{[a-z_]+(?::[^}]*)?\}", label)
    return re.compile(r"\s*" + r"\S+?".join(re.escape(p) for p in parts) + r"\s*$")


@lru_cache(maxsize=None)
def foreign_labels(lang: str) -> tuple[tuple[str, str, re.Pattern], ...]:
    """(key, label, pattern) of every catalogue label of the language that is not `lang`, that
    could not be a word of a `lang` page: an English label with a Latin word on the Chinese site,
    a Chinese label with a CJK character on the English site."""
    other = "en" if lang == "zh" else "zh"
    out = []
    for key, entry in catalogue().items():
        label = entry[other].strip()
        if not label or label == entry[lang].strip():
            continue
        if other == "en" and not _LATIN_WORD.search(re.sub(r"\{[^}]*\}", "", label)):
            continue
        if other == "zh" and not _CJK.search(label):
            continue
        out.append((key, label, _pattern(label)))
    return tuple(out)


class _Text(HTMLParser):
    """Text nodes of the page's article (Material's `article` element) or of an SVG, outside
    `code` (field paths and status keys of the form reference are code, meant literally)."""

    SKIP = {"script", "style", "code", "title"}

    def __init__(self, whole: bool):
        super().__init__(convert_charrefs=True)
        self.inside = 1 if whole else 0
        self.skip = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.inside += 1
        elif tag in self.SKIP:
            self.skip += 1

    def handle_endtag(self, tag):
        if tag == "article":
            self.inside -= 1
        elif tag in self.SKIP:
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data):
        text = " ".join(data.split())
        if self.inside > 0 and not self.skip and text:
            self.nodes.append(text)


def text_nodes(path: Path) -> list[str]:
    parser = _Text(whole=path.suffix == ".svg")
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.nodes


def record_texts(corpus) -> frozenset[str]:
    """Every text value of every record (whitespace normalised): data, which a page shows as
    written in either language."""
    out: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            out.add(" ".join(value.split()))

    for rec in corpus.records.values():
        walk(rec.data)
    return frozenset(out)


def foreign_words(path: Path, lang: str, data: frozenset[str] = frozenset(), labels: bool = True) -> list[str]:
    """What the page at `path` (of the `lang` site) says in the other language: catalogue labels
    (unless `labels` is false) and role keys, in text nodes that are not record text (`data`)."""
    keys = role_keys()
    # a role key with an underscore is never an English word; one without it is foreign on zh pages
    role = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys if "_" in k or lang == "zh") + r")\b")
    found = []
    for node in text_nodes(path):
        if node in data:
            continue
        if labels:
            for key, _label, pattern in foreign_labels(lang):
                if pattern.match(node):
                    found.append(f"{node!r} is catalogue {key!r}")
                    break
        for m in role.finditer(node):
            found.append(f"role key {m.group(1)!r} in {node!r}")
    return found


def site_pages(site: Path, lang: str):
    """(path, lang) of every page and chart of one language of a built site (zh at the root,
    en under en/)."""
    root = site / "en" if lang == "en" else site
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".html", ".svg"):
            continue
        rel = path.relative_to(site)
        if lang == "zh" and rel.parts[0] in ("en", "assets"):
            continue
        if lang == "en" and rel.parts[1] == "assets":
            continue
        yield path
