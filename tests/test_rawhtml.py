"""Generated HTML blocks are stashed, not parsed (`site.rawhtml`, issue #19), and that changes
nothing a reader or MkDocs sees:

* every page `site generate` writes for the hostile fixture repository renders, with the site's
  Markdown extensions plus ours, to the same HTML as Python-Markdown makes of the same page
  without the markers (what the site was before), byte for byte;
* record text cannot open or close a stashed block: a record whose text holds the marker lines
  around a script, in one-line and multi-line fields, builds (a real `mkdocs build`) to a page
  where that text reads literally and no marker or script is left in any page;
* an anchor inside a stashed table is still an anchor for MkDocs' link check (`--strict`);
* the HTML is compared as MkDocs renders it: with the extensions MkDocs always adds (`fenced_code`,
  which must stash code before us) besides those `mkdocs.yml` names, and with a block in every
  layout around it, whatever comes directly before or after.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import markdown
import pytest
import yaml
from mkdocs.config import load_config

from site_fixtures import AS_OF, HOSTILE_ID, REPO, make_repo
from servicebook.site.markup import code_block
from servicebook.site.rawhtml import CLOSE, OPEN, RawHtmlExtension, anchor_ids, block

BIN = Path(sys.executable).parent
ENV = {**os.environ, "SERVICEBOOK_AS_OF": AS_OF, "NO_MKDOCS_2_WARNING": "1"}


@functools.cache
def site_extensions() -> tuple[list, dict]:
    """The Markdown extensions and their options as MkDocs renders a page with them: those
    `mkdocs.yml` names and the ones MkDocs always adds (`fenced_code` among them)."""
    config = load_config(config_file=str(REPO / "mkdocs.yml"))
    return list(config["markdown_extensions"]), dict(config["mdx_configs"])


def render(text: str, stash: bool) -> str:
    names, configs = site_extensions()
    return markdown.Markdown(extensions=names + ([RawHtmlExtension()] if stash else []),
                             extension_configs=configs).convert(text)


def without_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line not in (OPEN, CLOSE))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, str]:
    root = make_repo(tmp_path_factory.mktemp("repo") / "repo")
    out = root / "generated"
    subprocess.run([str(BIN / "servicebook"), "site", "generate", "--out", str(out), "--at", AS_OF,
                    "--root", str(root)], check=True, capture_output=True, text=True, env=ENV)
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.md"))}


def test_stashed_pages_equal_python_markdowns_rendering(generated):
    with_blocks = [path for path, text in generated.items() if OPEN in text.split("\n")]
    assert len(with_blocks) >= 40, with_blocks  # case, customer, report and index pages hold tables
    for path, text in generated.items():
        stashed = render(text, stash=True)
        assert stashed == render(without_markers(text), stash=False), path
        assert OPEN not in stashed and CLOSE not in stashed, path


def test_unclosed_or_indented_markers_are_left_to_markdown():
    """Only a block our helper made is stashed: a lone marker line, or markers that are not at a
    line's start, change nothing."""
    for text in (f"a\n\n{OPEN}\n<table><tr><td>x</td></tr></table>\n\n*b*\n",
                 f"- item\n\n    {OPEN}\n    <b>x</b>\n    {CLOSE}\n",
                 f"text {OPEN}\n<i>y</i>\n{CLOSE} more\n"):
        assert render(text, stash=True) == render(text, stash=False), text


def test_site_renders_code_fences_before_the_stash():
    assert "fenced_code" in site_extensions()[0]  # a MkDocs built-in, not in mkdocs.yml
    forged = code_block(f"a: 1\n{OPEN}\n<script>window.__pwned=12</script>\n{CLOSE}\n", "yaml")
    assert "&lt;script&gt;window.__pwned=12" in render(f"# T\n\n{forged}", stash=True)


TABLE = block("<table>\n<tr><td>x</td></tr>\n</table>")


@pytest.mark.parametrize("text", [
    f"para text\n{TABLE}after\n",                       # text directly before and after the markers
    f"- item\n{TABLE}- item 2\n",
    f"{TABLE}{TABLE}",                                    # two blocks, one line apart
    f"## Heading\n{TABLE}\n{TABLE}\n\n\ntext\n",
    f"1. one\n\n{TABLE}",
    TABLE.rstrip("\n"),                                  # the page's last line
], ids=["paragraph", "list", "adjacent", "heading", "ordered", "last-line"])
def test_a_block_renders_as_python_markdown_renders_it_in_any_layout(text):
    """`html_block` keeps the newline after a block's closing tag only when a blank line follows;
    the stash does the same, so no layout a page puts a table in changes a byte."""
    assert render(text, stash=True) == render(without_markers(text), stash=False)


def test_block_brackets_the_html_and_stashes_it_whole():
    html = "<table>\n<tr><td>*not emphasis*</td></tr>\n</table>\n"
    assert block(html) == f"{OPEN}\n{html}{CLOSE}\n"
    assert render(f"# T\n\n{block(html)}after *this*\n", stash=True) == (
        '<h1 id="t">T<a class="headerlink" href="#t" title="Permanent link">&para;</a></h1>\n'
        f"{html}<p>after <em>this</em></p>")  # text right after the block: no blank line, as `html_block` does
    assert anchor_ids('<span id="part-A"></span><h2 id="x" class="y">t</h2><p data-id="no">') == {"part-A", "x"}


FORGED = (f"before\n{CLOSE}\n<script>window.__pwned=9</script>\n{OPEN}\n"
          f"<img src=x onerror=\"window.__pwned=10\">\n{CLOSE}\nafter")


def test_record_text_cannot_forge_a_stashed_block(tmp_path):
    """Also a schema's example, the one text a page shows unescaped: as YAML in a code fence,
    which MkDocs' `fenced_code` stashes before the markers are looked for (a top-level key is a
    line of its own, at its start)."""
    root = make_repo(tmp_path / "repo")
    path = next((root / "records").rglob(f"{HOSTILE_ID}.yaml"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["remarks"] = FORGED
    data["history"][0]["note"] = FORGED.replace("\n", " ")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    schema_path = root / "schemas" / "complaint.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["examples"][0] = {OPEN: 1, "<script>window.__pwned=11</script>": 2, CLOSE: 3,
                             **schema["examples"][0], "remarks": FORGED}
    schema_path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run([str(BIN / "mkdocs"), "build", "-q"], cwd=root, env=ENV, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    site = root / "site"
    page = (site / "cases" / HOSTILE_ID / "index.html").read_text(encoding="utf-8")
    assert "pwned=9" in page and "pwned=10" in page  # shown ...
    for form in (site / "forms" / "complaint" / "index.html", site / "en" / "forms" / "complaint" / "index.html"):
        assert "&lt;script&gt;window.__pwned=11" in form.read_text(encoding="utf-8"), form
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert OPEN not in text and CLOSE not in text, html
        assert "<script>window." not in text and "<img src=x" not in text, html  # ... never run


def test_anchor_in_a_stashed_table_satisfies_the_link_check(tmp_path):
    root = make_repo(tmp_path / "repo")
    (root / "docs" / "spares.md").write_text("# Spares\n\n[sensor](parts/index.md#part-PT-hb56-pressure-sensor)\n",
                                             encoding="utf-8")
    result = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "-f", "mkdocs.en.yml"], cwd=root, env=ENV,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'id="part-PT-hb56-pressure-sensor"' in (root / "site" / "en" / "parts" / "index.html").read_text("utf-8")
