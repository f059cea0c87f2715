"""Generated HTML blocks handed to Python-Markdown already parsed: stashed, not scanned.

Our tables are HTML blocks that Python-Markdown passes through unchanged (`markup.table`). Passing
through still costs: to find where a block ends, Python-Markdown's `html_block` preprocessor and
MkDocs' anchor collector each feed the whole page to `html.parser`, which was a third of a full
100k build's CPU (docs/performance.md, "Generated HTML stashed, not parsed"). We know where our
blocks end, because we made them: `block` brackets one between two marker lines, and
`RawHtmlExtension` puts each bracketed block in Markdown's HTML stash before either parser runs.
The stash is Python-Markdown's own mechanism for raw HTML, so the page comes out byte for byte as
it did (`tests/test_rawhtml.py` renders every page of its test repository both ways, with the
extensions MkDocs loads, and a block in each layout a page can put it in).

Only our helpers can make a marker line: record text reaches Markdown through `md_escape`, which
encodes every `<`, and fenced code (`markup.code_block`: a schema's example) is stashed before
this runs by `fenced_code`, which MkDocs always loads. Where the extension is not loaded (another
engine reading `site generate`'s files), the markers are HTML comments on their own lines and the
block is passed through as before.
"""
from __future__ import annotations

import re

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from markupsafe import Markup

OPEN = "<!-- servicebook:html -->"
CLOSE = "<!-- /servicebook:html -->"


def block(html: str) -> Markup:
    """A trusted, complete HTML block (no blank line inside) that Markdown need not parse."""
    return Markup(f"{OPEN}\n{html.rstrip(chr(10))}\n{CLOSE}\n")


class _StashBlocks(Preprocessor):
    def __init__(self, md: Markdown, ext: RawHtmlExtension):
        super().__init__(md)
        self.ext = ext

    def run(self, lines: list[str]) -> list[str]:
        self.ext.ids = set()
        if OPEN not in lines:
            return lines
        out: list[str] = []
        start = None
        for i, line in enumerate(lines):
            if start is None:
                if line == OPEN:
                    start = i + 1
                else:
                    out.append(line)
            elif line == CLOSE:
                # a paragraph of its own, as `html_block` leaves it: the postprocessor puts the block back,
                # and, as `html_block` does, with the newline after its closing tag only when a blank
                # line follows (else the next line is the block's tail): byte for byte the same page
                blank_after = i + 2 < len(lines) and not lines[i + 1].strip(" ")
                html = "\n".join(lines[start:i])
                if ' id="' in html:  # few blocks hold an anchor (the parts page's rows)
                    self.ext.ids.update(anchor_ids(html))
                out += ["", self.md.htmlStash.store(html + ("\n" if blank_after else "")), ""]
                start = None
        if start is not None:  # no closing line (hand-written text?): leave it to Markdown as it was
            out += lines[start - 1:]
        return out


class RawHtmlExtension(Extension):
    """The stash, and the `ids` of the anchors in the blocks it stashed for the last page converted:
    MkDocs' anchor check no longer parses those blocks, so the plugin gives them back to it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.ids: set[str] = set()

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's name)
        # after `fenced_code` (25) and before MkDocs' anchor collector (21) and `html_block` (20)
        md.preprocessors.register(_StashBlocks(md, self), "servicebook_html", 22)


_ID = re.compile(r"""<[a-zA-Z][^>]*?\sid="([^"]+)\"""")


def anchor_ids(html: str) -> set[str]:
    """The `id`s in HTML: what MkDocs' anchor check collects from raw HTML."""
    return set(_ID.findall(html))
