"""Record text is data, never markup, on every page of the site: tried as an attacker would.

The demo records are copied and every free-text field of every kind (the list comes from the
schemas: `hostile.free_text_paths`) gets a payload: `</title><script>`, `<img onerror>`,
`"><svg onload>`, `javascript:` links, Markdown link, image and raw-HTML tricks, `{{ }}` / `{% %}`
and bidi overrides. The records still validate, the repository is committed by a git identity whose
name is a payload too, and the site is built in both languages. Then:

- every built HTML and SVG file is parsed: one `<title>` with no `<` in it, no event-handler
  attribute, `<script>`, `javascript:` URL or frame made of record text;
- both search indexes are parsed the same way (the search page renders their HTML);
- every page is opened in Chromium with a dialog handler: no dialog, no such element in the DOM;
- search results for the payloads are opened the same way;
- the payload is there, as text.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser_kit import Visit, build_site, chromium, search, serve  # noqa: E402
from conftest import demo_site  # noqa: E402
from hostile import MARKERS, free_text_paths, poison_repo  # noqa: E402
from servicebook.site.schemaview import SchemaView  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-12-01T10:00:00+08:00"
GIT_NAME = '</title><script>alert("git")</script><img src=x onerror=alert("gitimg")>'
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory):
    root = demo_site(tmp_path_factory.mktemp("hostile") / "repo")
    poisoner = poison_repo(root)
    env = dict(os.environ, GIT_AUTHOR_NAME=GIT_NAME, GIT_AUTHOR_EMAIL="x@example.com",
               GIT_COMMITTER_NAME=GIT_NAME, GIT_COMMITTER_EMAIL="x@example.com",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["commit", "-q", "-m", '<script>alert("msg")</script> [x](javascript:alert("msg"))']):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return root, poisoner


@pytest.fixture(scope="module")
def published_site(hostile_repo):
    """The site as published: personal data masked."""
    return build_site(hostile_repo[0], AS_OF)


@pytest.fixture(scope="module")
def internal_site(hostile_repo, tmp_path_factory):
    """An internal build (`show_personal_data: true`): every payload, contact names included,
    reaches a page, so this is the build opened in the browser."""
    root = tmp_path_factory.mktemp("internal") / "repo"
    shutil.copytree(hostile_repo[0], root)
    config = root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "show_personal_data: false" in text
    config.write_text(text.replace("show_personal_data: false", "show_personal_data: true"), encoding="utf-8")
    return build_site(root, AS_OF)


@pytest.fixture(scope="module", params=["published", "internal"])
def hostile_site(request):
    return request.getfixturevalue(f"{request.param}_site")


def test_every_free_text_field_of_every_kind_is_attacked_and_still_valid(hostile_repo):
    root, poisoner = hostile_repo
    view = SchemaView.from_dir(root / "schemas")
    missed = {kind: sorted(free_text_paths(view, kind) - poisoner.hit.get(kind, set())) for kind in view.kinds}
    assert not {k: v for k, v in missed.items() if v}, missed
    assert poisoner.count > 1000
    proc = subprocess.run([sys.executable, "-m", "servicebook", "validate", "--root", str(root)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]


class Findings(HTMLParser):
    """Markup in a document that could only have come from record text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self._class_stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._in.append(tag)
        self._class_stack.append(dict(attrs).get("class") or "")
        if tag in ("iframe", "frame", "object", "embed"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRS and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in.pop()
        self._class_stack.pop()

    def handle_endtag(self, tag):
        if tag in self._in:
            while self._in:
                self._class_stack.pop()
                if self._in.pop() == tag:
                    break

    @property
    def _classes(self) -> str:
        return " ".join(self._class_stack)

    def handle_data(self, data):
        # a value at the start of a Markdown line must not open a code block or an admonition
        if "PWN" in data and ("pre" in self._in or "admonition-title" in self._classes):
            self.found.append(f"record text became a code block or an admonition: {data[:60]!r}")
        if self._in and self._in[-1] == "script" and any(m in data for m in MARKERS):
            self.found.append(f"<script>{data[:80]}")
        self.text.append(data)


def parse(text: str) -> Findings:
    finder = Findings()
    finder.feed(text)
    finder.close()
    return finder


def built_files(site: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.suffix in suffixes)


def test_no_built_file_holds_markup_made_of_record_text(hostile_site):
    site = hostile_site
    pages = built_files(site, ".html", ".svg")
    assert len(pages) > 300
    bad, shown, templates = {}, 0, 0
    for path in pages:
        source = path.read_text(encoding="utf-8")
        found = parse(source)
        problems = list(found.found)
        if path.suffix == ".html":
            head = source.partition("</head>")[0]
            head_titles = re.findall(r"<title>(.*?)</title>", head, re.S)
            if len(head_titles) != 1 or "<" in head_titles[0]:
                problems.append(f"page title: {head_titles}")
        # SVG tooltips are <title> elements too: escaped text only
        problems += [f"title: {t[:80]}" for t in re.findall(r"<title>(.*?)</title>", source, re.S) if "<" in t]
        if BIDI.search(source):
            problems.append("a bidi override or isolate reached the page")
        if problems:
            bad[str(path.relative_to(site))] = problems[:5]
        text = "".join(found.text)
        shown += "</title><script>alert(" in text
        templates += "{{ 7*7 }} {% if true %}tpl{% endif %}" in text  # never evaluated as a template
    assert not bad, bad
    assert shown > 10 and templates > 10, "the payloads should be on the pages, as text"


def test_search_indexes_hold_no_markup_made_of_record_text(hostile_site):
    site = hostile_site
    for index in (site / "search" / "search_index.json", site / "en" / "search" / "search_index.json"):
        docs = json.loads(index.read_text(encoding="utf-8"))["docs"]
        assert any("alert(" in d["title"] + d["text"] for d in docs)  # record text is indexed...
        for doc in docs:  # ...and the search page renders title and text as HTML
            for field in ("title", "text"):
                found = parse(doc[field])
                assert not found.found, (index, doc["location"], field, found.found)
                assert not BIDI.search(doc[field]), (index, doc["location"])


# What the page's DOM must not hold once scripts have run: event-handler attributes, scripts made of
# record text, javascript: URLs, frames. (Material itself adds none of these.)
DOM_CHECK = """() => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value.replace(/[\\s\\x00-\\x1f]/g, '').toLowerCase();
      if (a.name.startsWith('on')) out.push(el.tagName + ' ' + a.name);
      if (v.startsWith('javascript:') || v.startsWith('vbscript:')) out.push(el.tagName + ' ' + a.name + '=' + a.value);
    }
    if (['IFRAME', 'FRAME', 'OBJECT', 'EMBED'].includes(el.tagName)) out.push(el.tagName);
    if (el.tagName === 'SCRIPT' && el.textContent.includes('alert(')) out.push('SCRIPT ' + el.textContent.slice(0, 60));
  }
  return out;
}"""


@pytest.fixture(scope="module")
def hostile_visit(internal_site):
    site = internal_site
    with serve(site) as base, chromium() as browser:
        visit = Visit(browser, base)
        yield visit, site
        visit.close()


def test_every_page_in_chromium_runs_no_record_text(hostile_visit):
    visit, site = hostile_visit
    paths = ["/" + str(p.relative_to(site).parent).replace(".", "").strip("/") for p in built_files(site, ".html")
             if p.name == "index.html"]
    bad = {}
    for path in sorted(set(paths)):
        page = visit.open(path.rstrip("/") + "/")
        found = page.evaluate(DOM_CHECK)
        if found:
            bad[path] = found[:5]
    assert not visit.dialogs, visit.dialogs[:10]
    assert not bad, bad
    assert len(paths) > 300
    # a knowledge-base title is a page title: the payload reads as text in the heading and the tab
    kb = sorted((site / "kb").glob("KB-*"))[0].name
    page = visit.open(f"/kb/{kb}/")
    assert "</title><script>alert(" in page.locator("article h1").first.inner_text()
    assert "alert(" in page.title() and "<" not in page.title()


@pytest.mark.parametrize("lang,prefix", [("zh", "/"), ("en", "/en/")])
def test_search_results_for_the_payloads_run_nothing(hostile_visit, lang, prefix):
    visit, _ = hostile_visit
    dialogs_before = len(visit.dialogs)
    for query in ("alert", "script", "onerror", "javascript"):
        page = visit.open(prefix)
        results = search(page, query, lang)
        assert results.count() > 0
        found = page.evaluate(DOM_CHECK)
        assert not found, (query, found)
    assert visit.dialogs[dialogs_before:] == []
