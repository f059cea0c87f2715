"""The published site: real `mkdocs build --strict` of a fixture repository (both languages), and of
the real repository once it has records; escaping, masking, bounded page count, catalogue."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from site_fixtures import AS_OF, EMAIL, HOSTILE_ID, HOSTILE_TEXT, PHONE, REPO, make_repo  # noqa: E402

from servicebook import corpus as corpus_mod
from servicebook.schemas import values_at  # noqa: E402
from servicebook.site import i18n, pages  # noqa: E402
from servicebook.site.markup import md_escape  # noqa: E402
from servicebook.site.mask import mask_value  # noqa: E402
from servicebook.site.model import parse_instant  # noqa: E402

MKDOCS = str(Path(sys.executable).with_name("mkdocs"))


def mkdocs_build(root: Path, *extra: str, as_of: str = AS_OF) -> subprocess.CompletedProcess:
    env = {**os.environ, "SERVICEBOOK_AS_OF": as_of, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([MKDOCS, "build", "--strict", *extra], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def site_text(site: Path, unescape: bool = True) -> str:
    """Every text file of the built site; with character references decoded (what a reader sees)."""
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in site.rglob("*") if p.is_file() and p.suffix in (".html", ".svg", ".json", ".xml"))
    return html.unescape(text) if unescape else text


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_repo(tmp_path_factory.mktemp("site") / "repo")
    docs_before = sorted(str(p.relative_to(root)) for p in (root / "docs").rglob("*"))
    result = mkdocs_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, docs_before, result


# --- the real build ------------------------------------------------------------------------------

def test_strict_build_gives_both_languages(built):
    root, _, result = built
    site = root / "site"
    for lang_root in (site, site / "en"):
        for page in ("index.html", "cases/index.html", "customers/index.html", "sla/index.html",
                     "weekly/index.html", "kb/index.html", "forms/index.html", "forms/complaint/index.html",
                     "guide/submit/index.html", "guide/approve/index.html", "problems/index.html",
                     "search/search_index.json"):
            assert (lang_root / page).is_file(), f"missing {lang_root / page}"
    home_zh = (site / "index.html").read_text(encoding="utf-8")
    home_en = (site / "en" / "index.html").read_text(encoding="utf-8")
    assert "服务看板" in home_zh and 'lang="zh"' in home_zh
    assert "Service dashboard" in home_en and 'lang="en"' in home_en
    # the guides come in the build's language
    assert "如何提交记录" in (site / "guide/submit/index.html").read_text(encoding="utf-8")
    assert "How to submit a record" in (site / "en/guide/submit/index.html").read_text(encoding="utf-8")
    # progress is logged
    assert "servicebook: rendered" in result.stderr


def test_nothing_generated_is_written_to_docs(built):
    root, docs_before, _ = built
    assert sorted(str(p.relative_to(root)) for p in (root / "docs").rglob("*")) == docs_before


def test_case_customer_and_chain_pages(built):
    root, _, _ = built
    site = root / "site"
    cases = sorted(p.parent.name for p in (site / "cases").glob("*/index.html"))
    assert "SV-20261103-4M8QZA" in cases          # the deal, rooted at the survey
    assert HOSTILE_ID in cases                    # an open service case
    deal = (site / "cases/SV-20261103-4M8QZA/index.html").read_text(encoding="utf-8")
    for rid in ("AP-20261104-9TX3KD", "SO-20261104-2HVN6P", "FS-20261105-6WRB1C", "CT-20261116-8FJ4QE"):
        assert f'id="rec-{rid}"' in deal          # every form of the chain laid out on the page
    assert "通讯状况调查表" in deal
    customer = (site / "customers/CU-hengda-logistics/index.html").read_text(encoding="utf-8")
    assert "恒达物流" in customer and "SV-20261103-4M8QZA" in customer


def test_record_text_is_escaped_everywhere(built):
    root, _, _ = built
    text = site_text(root / "site", unescape=False)
    assert HOSTILE_ID in text
    assert "<script>window.__pwned" not in text
    assert "<img src=x onerror" not in text
    assert not re.search(r"""href=["']?javascript:""", text)
    assert "<strong>bold</strong>" not in text
    page = (root / "site/cases" / HOSTILE_ID / "index.html").read_text(encoding="utf-8")
    # shown as text: the escaped form of the literal characters is on the page
    assert "&#60;script&#62;window.&#95;&#95;pwned=1&#60;/script&#62;" in page
    assert "&#123;&#123; 7&#42;7 &#125;&#125;" in page      # {{ 7*7 }} is never evaluated


def test_personal_data_is_masked_by_default(built):
    root, _, _ = built
    text = site_text(root / "site")
    corpus = corpus_mod.load(root)
    phones, emails = set(), set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "phone" and isinstance(x, str):
                    phones.add(x)
                elif k == "email" and isinstance(x, str):
                    emails.add(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for rec in corpus.records.values():
        if rec.kind != "person":  # staff git identities are not published anyway
            walk(rec.data)
    assert PHONE in phones and EMAIL in emails
    for value in phones | emails:
        assert value not in text, f"personal data {value!r} published"


def test_internal_build_can_show_personal_data(tmp_path):
    root = make_repo(tmp_path / "repo")
    (root / "mkdocs.internal.yml").write_text(
        "INHERIT: mkdocs.yml\nsite_dir: site-internal\nplugins:\n  servicebook:\n"
        "    show_personal_data: true\n    alternate_config: ''\n", encoding="utf-8")
    result = mkdocs_build(root, "-f", "mkdocs.internal.yml")
    assert result.returncode == 0, result.stderr
    assert PHONE in html.unescape((root / "site-internal/customers/CU-hengda-logistics/index.html").read_text(encoding="utf-8"))


def test_real_repository_builds(tmp_path):
    if not any((REPO / "records").rglob("*.yaml")):
        pytest.skip("no demo records yet")
    result = subprocess.run([MKDOCS, "build", "--strict", "-d", str(tmp_path / "site")], cwd=REPO,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site/index.html").is_file() and (tmp_path / "site/en/index.html").is_file()

    # no personal value of the demo records is published: every phone and e-mail at a path the
    # schemas mark x-personal, searched for in every page of both languages
    demo = corpus_mod.load(REPO)
    personal = set()
    for rec in demo.records.values():
        for pattern, marker in demo.schemas.marked_paths(rec.kind, "x-personal"):
            if marker in ("phone", "email"):
                personal.update(v for _, v in values_at(rec.data, pattern) if isinstance(v, str) and v)
    assert len(personal) > 20
    published = site_text(tmp_path / "site")
    leaked = sorted(v for v in personal if v in published)
    assert not leaked, f"personal data published: {leaked[:5]}"


# --- page generation without MkDocs --------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_corpus(tmp_path_factory):
    root = make_repo(tmp_path_factory.mktemp("gen") / "repo")
    return root, corpus_mod.load(root)


def test_generate_is_engine_independent_and_bilingual(fixture_corpus):
    root, corpus = fixture_corpus
    as_of = parse_instant(AS_OF)
    zh = pages.generate(corpus, {"lang": "zh", "root": str(root), "as_of": as_of})
    en = pages.generate(corpus, {"lang": "en", "root": str(root), "as_of": as_of})
    assert set(zh) == set(en)
    assert {"index.md", "cases/index.md", "customers/index.md", "sla/index.md", "weekly.md", "kb/index.md",
            "forms/index.md", "problems.md"} <= set(zh)
    assert any(p.endswith(".svg") for p in zh)
    assert zh["index.md"] != en["index.md"]


def test_page_count_is_bounded_by_the_window(fixture_corpus):
    root, corpus = fixture_corpus
    late = datetime.fromisoformat("2028-06-01T00:00:00+08:00")  # every closed case is old by then
    out = pages.generate(corpus, {"lang": "en", "root": str(root), "as_of": late,
                                  "detail_window_days": 30, "archive_page_size": 1})
    case_pages = [p for p in out if p.startswith("cases/") and not p.startswith("cases/archive") and p != "cases/index.md"]
    archive = [p for p in out if p.startswith("cases/archive/")]
    # only the still-open chains keep a page; closed ones are rows of the paged archive
    assert f"cases/{HOSTILE_ID}.md" in case_pages
    assert "cases/SV-20261103-4M8QZA.md" in case_pages     # the contract is signed, not completed
    assert "cases/CP-20261202-7KQ2XM.md" not in case_pages  # closed long ago
    assert len(archive) >= 2 and "cases/archive/page-1.md" in archive
    assert "CP-20261202-7KQ2XM" in "".join(out[p] for p in archive)
    recent = pages.generate(corpus, {"lang": "en", "root": str(root), "as_of": parse_instant(AS_OF)})
    assert "cases/CP-20261202-7KQ2XM.md" in recent           # closed within the window: own page


# --- helpers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>", "[x](javascript:alert(1))", "{{ 7*7 }}", "{% include 'x' %}",
    "**b** _i_ `c` | d", "# heading", "- item", "1. item", "> quote", "![i](x.png)", "a\nb\r\n<c>",
    "{: onclick=alert(1) }", "&amp; &lt;", "<!-- c -->",
])
def test_md_escape_leaves_no_markup(text):
    import markdown

    out = markdown.markdown(f"| a |\n| --- |\n| {md_escape(text)} |\n\nx {md_escape(text)}",
                             extensions=["tables", "attr_list", "admonition"])
    for bad in ("<script", "<a ", "<strong", "<em", "<code", "<h1", "<li", "<blockquote", "<img", "<!--"):
        assert bad not in out, (text, out)
    assert not re.search(r"<[^>]*onclick", out), (text, out)


def test_mask_value_never_contains_the_original():
    assert PHONE not in mask_value("phone", PHONE)
    assert EMAIL not in mask_value("email", EMAIL) and mask_value("email", EMAIL).endswith("@hengda.example.com")
    assert mask_value("name", "刘建国").startswith("刘") and "建国" not in mask_value("name", "刘建国")
    assert "Alice" not in mask_value("name", "Alice Smith")


def test_catalogue_has_every_label_in_both_languages():
    cat = i18n.catalogue()
    site = REPO / "tools/servicebook/site"
    used = set()
    own = [site / n for n in ("pages.py", "model.py", "plugin.py", "i18n.py", "markup.py", "charts.py", "mask.py",
                              "aftersales.py", "presales.py")]
    for path in own + list((site / "templates").glob("*.j2")):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*f?["']([a-z_]+\.[a-z0-9_.]+)["']""", source))
        # the section modules also name their labels in tuples (`x.t(k) for k in ("presales.col.deal", ...)`)
        used |= set(re.findall(r"""["']((?:aftersales|presales)\.[a-z0-9_.]+)["']""", source))
    dynamic = {k for k in used if "{" in k}
    missing = sorted(k for k in used - dynamic if k not in cat)
    assert not missing, f"labels used but not in the catalogue: {missing}"
    for key, entry in cat.items():
        assert set(entry) >= {"en", "zh"}, key
    # label families the section modules build at run time
    from servicebook import inspections, value_index
    family = ([f"aftersales.state.{s}" for s in inspections.STATES]
              + [f"aftersales.reason.{r}" for r in ("product", "fault_code", "fault_category", "text")]
              + [f"aftersales.dim.{d}" for d in value_index.DIMENSIONS]
              + [f"aftersales.factor.{f}" for fs in value_index.DIMENSIONS.values() for f in fs]
              + [f"presales.level.{lv}" for lv in ("critical", "major", "minor")]
              + [f"sla.unit.{u}" for u in ("working_hours", "working_days", "working_day_end", "hours", "days", "months")])
    assert not [k for k in family if k not in cat], [k for k in family if k not in cat]
    with pytest.raises(i18n.MissingLabel):
        i18n.t("no.such.label", "en")


def test_mkdocs_config_is_offline_and_pruned():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["theme"]["font"] is False
    assert "navigation.prune" in config["theme"]["features"]
    assert "\\u200b" in config["plugins"]["search"]["separator"]
    assert not config.get("extra_javascript")
    assert "servicebook" in config["plugins"]
