"""Knowledge base: bigram similarity, matching order, promote (library and command), and the
after-sales site pages (escaping, links) on a small repository."""
from __future__ import annotations

from collections import Counter

import pytest
import yaml

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.load import corpus as corpus_mod
from servicebook.derive.aftersales import kb
from conftest import sb


def entry(kid, product_id, cat, symptom, codes=(), status="published", title=None):
    h = hist(("06-01 09:00", "P-e", "draft"))
    if status in ("published", "retired"):
        h += hist(("06-02 09:00", "P-tm", "published"))
    if status == "retired":
        h += hist(("06-03 09:00", "P-tm", "retired"))
    return {"id": kid, "schema_version": 1, "title": title or symptom[:10], "product": product_id,
            "fault_category": cat, "symptom": symptom, "fault_codes": list(codes),
            "possible_causes": [{"cause": "原因", "type": "operator_error_repair"}],
            "procedure": [{"action": "处理"}], "filled_by": "P-e", "created_at": T("06-01 09:00"),
            "status": status, "history": h}


REPAIR = {
    "id": "RP-20260610-AAAAAA", "schema_version": 1, "customer": "CU-a", "filled_by": "P-e",
    "created_at": T("06-10 09:00"), "status": "fixed",
    "history": hist(("06-10 09:00", "P-e", "open"), ("06-10 10:00", "P-e", "dispatched"),
                    ("06-10 11:00", "P-e", "on_site"), ("06-10 15:00", "P-e", "fixed")),
    "product": "PD-a", "device": {"brand": "华信", "model": "HB56"}, "reported_at": T("06-10 09:00"),
    "fault_description": "泵送压力跳动后停泵", "symptom": "泵送压力跳动,控制器报 E217", "engineer": "P-e",
    "operation_before_fault": "连续泵送两小时", "procedure_followed": "TP-07",
    "steps": [{"diagnosis": "怀疑油温高", "action": "测油温", "result": "正常"},
              {"diagnosis": "传感器信号异常", "action": "更换压力传感器", "result": "压力稳定"}],
    "root_cause": "传感器插头进水", "fault_category": "electrical", "fault_code": "E217",
    "parts_replaced": [{"part_number": "PS-31", "old": {"brand": "H", "model": "S"}, "new": {"brand": "H", "model": "S"}}],
    "fixed_at": T("06-10 15:00"),
}


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, [
        person("P-e"), person("P-tm", roles=("technical_manager",)), customer("CU-a"),
        product("PD-a"), product("PD-b"), REPAIR,
        entry("KB-20260601-K1AAAA", "PD-a", "electrical", "主油路压力异常", codes=["E217"]),
        entry("KB-20260601-K2AAAA", "PD-a", "electrical", "遥控器无响应", codes=["E300"]),
        entry("KB-20260601-K3AAAA", "PD-b", "hydraulic", "泵送压力跳动"),
        entry("KB-20260601-K4AAAA", "PD-a", "mechanical", "输送链断裂"),
        entry("KB-20260601-K5AAAA", "PD-a", "electrical", "泵送压力跳动", codes=["E217"], status="draft"),
        entry("KB-20260601-K6AAAA", "PD-a", "electrical", "泵送压力跳动", codes=["E217"], status="retired"),
        entry("KB-20260601-K7AAAA", "PD-b", "other", "<script>alert(1)</script> **粗体** | 竖线",
              title="[链接](javascript:alert(1))"),
    ])


def test_bigrams_and_similarity():
    assert kb.bigrams("E217 压力跳动") == Counter({"e2": 1, "21": 1, "17": 1, "压力": 1, "力跳": 1, "跳动": 1})
    assert kb.bigrams("停,泵") == Counter({"停": 1, "泵": 1})           # punctuation separates runs
    assert kb.bigrams("ＥＲＲ") == Counter({"er": 1, "rr": 1})            # full-width folded
    # {压力, 力跳, 跳动} vs {压力, 力波, 波动}: one shared of 3 + 3
    assert kb.similarity("压力跳动", "压力波动") == pytest.approx(2 / 6)
    assert kb.similarity("压力跳动", "压力跳动") == 1.0
    assert kb.similarity("压力", "链条") == 0.0 and kb.similarity("", "") == 0.0


def test_match_order(repo):
    found = kb.match(repo, "RP-20260610-AAAAAA")
    # K1: same product + code; K2: same product + category; K3: other product, similar text.
    # K4 (same product, other category, unrelated text) is not offered; the draft K5 and the
    # retired K6 are not offered to readers.
    assert [m.entry.id[-6:] for m in found] == ["K1AAAA", "K2AAAA", "K3AAAA"]
    assert found[0].reasons == ["product", "fault_code", "fault_category"]
    assert found[1].reasons == ["product", "fault_category"]
    assert found[2].reasons == [] and found[2].similarity >= kb.MIN_SIMILARITY
    with_drafts = kb.match(repo, "RP-20260610-AAAAAA", include_drafts=True)
    assert with_drafts[0].entry.id == "KB-20260601-K5AAAA"   # code + category + identical text
    assert kb.learned_from_index(repo) == {}


def test_search_by_chinese_symptom(repo):
    found = kb.search(repo, "泵送时压力一直跳动")
    assert found[0].entry.id == "KB-20260601-K3AAAA"


def test_tree_and_codes(repo):
    tree = kb.tree(repo)
    assert [r.id[-6:] for r in tree["PD-a"]["electrical"]] == ["K1AAAA", "K2AAAA"]
    assert [r.id[-6:] for r in tree["PD-a"]["mechanical"]] == ["K4AAAA"]
    assert list(kb.by_fault_code(repo)) == ["E217", "E300"]


def test_promote(repo):
    rec = repo.records["RP-20260610-AAAAAA"]
    data = kb.promote(rec, at="2026-06-12T10:00:00+08:00", record_id="KB-20260612-ABCDEF", product_name="HB56 泵车")
    assert data["id"] == "KB-20260612-ABCDEF" and data["status"] == "draft"
    assert data["title"] == "HB56 泵车 泵送压力跳动,控制器报 E217"
    assert (data["product"], data["fault_category"], data["fault_codes"]) == ("PD-a", "electrical", ["E217"])
    assert data["possible_causes"] == [
        {"cause": "传感器插头进水", "type": "damaged_part_replace", "part_numbers": ["PS-31"]},
        {"cause": "故障前操作:连续泵送两小时", "type": "operator_error_repair"}]
    assert data["diagnosis_order"] == ["怀疑油温高", "传感器信号异常"]
    assert data["procedure"] == REPAIR["steps"]
    assert data["learned_from"] == ["RP-20260610-AAAAAA"]
    assert data["filled_by"] == "P-e"                      # the repair's engineer by default
    assert data["history"] == [{"at": "2026-06-12T10:00:00+08:00", "by": "P-e", "status": "draft",
                                "note": "由维修记录 RP-20260610-AAAAAA 提炼,待技术经理审核"}]
    with pytest.raises(ValueError):
        kb.promote(repo.records["KB-20260601-K1AAAA"])


def run_cli(root, *args):
    return sb(*args, "--root", str(root), cwd=root)


def test_promote_command_writes_a_valid_draft(repo):
    root = repo.root
    proc = run_cli(root, "kb", "promote", "RP-20260610-AAAAAA", "--by", "P-e", "--at", "2026-06-12T10:00:00+08:00",
                   "--print")
    assert proc.returncode == 0, proc.stderr
    rel = proc.stdout.strip()
    assert rel.startswith("records/kb/KB-20260612-") and rel.endswith(".yaml")
    data = yaml.safe_load((root / rel).read_text(encoding="utf-8"))
    assert data["status"] == "draft" and data["learned_from"] == ["RP-20260610-AAAAAA"]
    after = corpus_mod.load(root)
    assert [p for p in after.problems if p.file == rel] == []
    # the new draft is learned from the repair; the site index sees it
    assert kb.learned_from_index(after) == {"RP-20260610-AAAAAA": [data["id"]]}
    assert run_cli(root, "kb", "promote", "CU-a").returncode == 2
    assert run_cli(root, "kb", "promote", "RP-20260610-AAAAAA", "--by", "P-nobody").returncode == 2


def test_match_command(repo):
    proc = run_cli(repo.root, "kb", "match", "RP-20260610-AAAAAA", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [m["id"] for m in yaml.safe_load(proc.stdout)][:1] == ["KB-20260601-K1AAAA"]
    assert run_cli(repo.root, "kb", "match", "--text", "完全无关的文字").returncode == 1


def test_site_pages(repo):
    from servicebook.site import aftersales

    for lang in ("zh", "en"):
        out = aftersales.pages(repo, lang, "2026-06-30T12:00:00+08:00")
        for key in ("kb/index.md", "kb/cases.md", "inspections/index.md", "parts/index.md", "technicians/index.md",
                    "customers/value.md", "feedback/index.md", "kb/KB-20260601-K1AAAA.md"):
            assert key in out, key
        page = out["kb/KB-20260601-K7AAAA.md"]
        assert "<script>" not in page and "**粗体**" not in page and "](javascript" not in page and 'href="javascript' not in page
        assert "&#60;script&#62;" in page
        # the repair page links to its case chain page, relative to the KB page's served URL
        # (kb/KB-.../, cases/RP-.../: MkDocs leaves links in HTML as they are)
        assert 'href="../../cases/RP-20260610-AAAAAA/#rec-RP-20260610-AAAAAA"' in out["kb/KB-20260601-K1AAAA.md"]
        assert 'href="../KB-20260601-K1AAAA/"' in out["kb/cases.md"]
    links = aftersales.kb_links(repo, "RP-20260610-AAAAAA", "zh", "cases/RP-20260610-AAAAAA.md")
    assert 'href="../../kb/KB-20260601-K1AAAA/"' in links
    custom = aftersales.pages(repo, "zh", "2026-06-30", where=lambda rid: None)
    assert "cases/RP-20260610" not in custom["kb/cases.md"]
