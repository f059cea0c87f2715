"""The corpus's personal values found and masked inside free text (`servicebook.derive.personal`), and the
site's Masker applying it to every free-text value of a record."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicebook.load import corpus as corpus_mod
from servicebook.derive.personal import Known, mask_value, values
from servicebook.load.schemas import SchemaSet
from servicebook.site.mask import Masker, MaskedCorpus
from servicebook.site.schemaview import SchemaView

REPO = Path(__file__).resolve().parents[1]

KNOWN = Known({
    "林国栋": "name", "国栋": "name", "杨师傅": "name", "王磊": "name", "Li": "name", "Ann Lee": "name",
    "许": "name",                                   # one character: never matched
    "wang_lei+sb@example.com": "email", "li.na@example.com": "email",
    "13800138001": "phone", "025-5210 8831": "phone", "52108": "phone",
    "上海市松江区荣乐东路 2399 号": "address", "北京": "address",   # too short for an address
})


def test_names_inside_chinese_text_have_no_word_boundaries():
    assert KNOWN.mask("到场后与泵车机长杨师傅核对故障") == "到场后与泵车机长杨**核对故障"
    assert KNOWN.mask("王磊说明天到") == "王*说明天到"  # masked as in its own field: 王*
    assert KNOWN.mask("允许文件") == "允许文件"          # `许` alone is too short to match


def test_longest_match_wins_and_overlaps_are_masked_whole():
    assert KNOWN.mask("我和林国栋说") == "我和林**说"       # not 林 + 国*
    assert KNOWN.mask("国栋好") == "国*好"
    overlapping = Known({"王磊": "name", "磊明": "name"})
    assert overlapping.mask("王磊明天到") == "******天到"  # neither name survives in part
    assert [(h.start, h.end, h.kind) for h in KNOWN.find("林国栋和杨师傅")] == [(0, 3, "name"), (4, 7, "name")]


def test_latin_names_only_as_whole_words():
    assert KNOWN.mask("Link to Li.") == "Link to L.***."
    assert KNOWN.mask("Lin Li") == "Lin L.***"
    assert KNOWN.mask("Call Ann Lee today") == "Call A.*** today"
    assert KNOWN.mask("Leeds") == "Leeds"


def test_emails_with_underscore_and_plus_any_case():
    assert KNOWN.mask("写信到 wang_lei+sb@example.com 吧") == "写信到 w***@example.com 吧"
    assert KNOWN.mask("Mail LI.NA@Example.com") == "Mail L***@Example.com"
    assert KNOWN.mask("xli.na@example.com") == "x" + mask_value("email", "li.na@example.com")


@pytest.mark.parametrize("written", [
    "13800138001", "138-0013-8001", "138 0013 8001", "138.0013.8001", "(138) 0013-8001",
    "+86 138 0013 8001", "+8613800138001", "１３８００１３８００１",
])
def test_phone_numbers_in_any_grouping(written):
    masked = KNOWN.mask(f"请回电 {written} 谢谢")
    assert "0013" not in masked and "００１３" not in masked
    assert masked.endswith("01 谢谢") or masked.endswith("０１ 谢谢")
    assert "****" in masked


def test_landline_and_short_numbers():
    assert KNOWN.mask("座机 025 52108831 转 12") == "座机 ****31 转 12"
    assert KNOWN.mask("分机 52108") == "分机 ****"
    assert KNOWN.mask("订单 521080 与 1521084") == "订单 521080 与 1521084"   # a short number only as itself
    assert KNOWN.mask("订单 20261123 型号 HB48C-6RZ") == "订单 20261123 型号 HB48C-6RZ"
    # a field holding more than the number: each run of digits is known on its own
    assert Known({"139 5188 2046 转 8": "phone"}).mask("请拨 13951882046 转 8") == "请拨 ****46 转 8"


def test_addresses_and_non_text():
    assert KNOWN.mask("送至上海市松江区荣乐东路 2399 号 3 号门") == "送至上海市****** 3 号门"
    assert KNOWN.mask("北京分公司") == "北京分公司"
    assert KNOWN.mask("") == "" and KNOWN.mask(None) is None and KNOWN.mask(12) == 12
    assert len(Known({})) == 0 and Known({}).mask("林国栋") == "林国栋"


def test_masked_text_never_holds_a_known_value():
    text = "林国栋 13800138001 wang_lei+sb@example.com 上海市松江区荣乐东路 2399 号 杨师傅"
    masked = KNOWN.mask(text)
    for value in ("林国栋", "国栋", "杨师傅", "wang_lei+sb@example.com", "13800138001", "荣乐东路"):
        assert value not in masked
    assert KNOWN.mask(masked) == masked  # masking twice changes nothing


def test_values_are_collected_by_the_schemas_markers():
    demo = corpus_mod.load(REPO)
    found = values(demo.schemas, demo.records.values())
    assert found["杨师傅"] == "name"            # a complaint caller and a repair contact
    assert found["luo.yongfu@example.com"] == "email"
    assert found["13800138092"] == "phone"
    assert found["上海市松江区荣乐东路 2399 号"] == "address"
    assert "许文" in found and not [v for v, k in found.items() if k == "name" and len(v) < 2]


def test_masker_masks_free_text_but_not_ids_enums_or_dates():
    view = SchemaView.from_dir(REPO / "schemas")
    known = Known({"杨师傅": "name", "13800138092": "phone"})
    masker = Masker(view, True, known)
    data = {"id": "RP-20261123-5PFRGQ", "status": "on_site", "customer": "CU-shuncheng-concrete",
            "created_at": "2026-11-23T08:40:00+08:00",
            "history": [{"at": "2026-11-23T10:30:00+08:00", "by": "P-chen-gang", "status": "on_site",
                         "note": "与机长杨师傅核对,手机 138-0013-8092"}],
            "customer_block": {"name": "顺成", "contact": {"name": "杨师傅", "phone": "13800138092"}},
            "symptom": "杨师傅说臂架无动作", "no_such_field": {"x": ["杨师傅"]}}
    out = masker.record("repair", data)
    assert out["history"][0]["note"] == "与机长杨**核对,手机 ****92"
    assert out["customer_block"]["contact"] == {"name": "杨**", "phone": "****92"}
    assert out["symptom"] == "杨**说臂架无动作" and out["no_such_field"] == {"x": ["杨**"]}
    assert (out["id"], out["status"], out["customer"], out["created_at"]) == \
        (data["id"], data["status"], data["customer"], data["created_at"])
    assert data["symptom"] == "杨师傅说臂架无动作"  # the record itself is untouched
    off = Masker(view, False, known)
    assert off.record("repair", data) is data and off.text("杨师傅") == "杨师傅"


def test_masked_corpus_gives_masked_copies_through_every_door():
    demo = corpus_mod.load(REPO)
    view = SchemaView.from_dir(REPO / "schemas")
    masker = Masker(view, True, Known(values(demo.schemas, demo.records.values())))
    read = []
    masked = MaskedCorpus(demo, lambda rec: read.append(rec.id) or masker.record(rec.kind, rec.data))
    assert {r.kind for r in masked.records.values()} >= {"repair", "customer"} and not read  # by need
    rid = "RP-20261123-5PFRGQ"
    for rec in (masked.records[rid], masked.get(rid), next(r for r in masked.of_kind("repair") if r.id == rid),
                next(r for r in masked.chain(rid) if r.id == rid), next(r for r in masked.index.chain(rid) if r.id == rid)):
        assert "杨师傅" not in str(rec.data) and "杨**" in str(rec.data)
    assert masked.records[rid] is masked.get(rid) and read == [rid]  # masked once
    assert masked.records[rid].status == demo.records[rid].data["status"]
    assert "杨师傅" in str(demo.records[rid].data)       # the corpus keeps its data
    assert masked.schemas is demo.schemas and len(masked.records) == len(demo.records)
    assert isinstance(masked.index.root(rid), str)


def test_schema_set_and_view_agree_on_what_is_personal():
    schemas = SchemaSet(REPO / "schemas")
    marked = {(k, p) for k in schemas.kinds() for p, _ in schemas.marked_paths(k, "x-personal")}
    assert ("person", ("name",)) not in marked  # staff names are not personal data here
    assert any(k == "repair" for k, _ in marked)


# -- F2: personal data in pattern-checked fields ------------------------------------------------

def test_masker_masks_known_values_in_pattern_checked_strings():
    """An attachment path is checked by a pattern that admits any text without spaces: a file
    named after the contact is personal data like a note naming them. Only IDs, references,
    enum/const values and dates/instants are left alone (they cannot hold a name)."""
    view = SchemaView.from_dir(REPO / "schemas")
    masker = Masker(view, True, Known({"孙立伟": "name", "13800138061": "phone"}))
    data = {"id": "CP-20261105-7KQ2XM", "status": "open", "customer": "CU-hengda-logistics",
            "filled_by": "P-sun-li", "created_at": "2026-11-05T09:12:00+08:00",
            "attachments": [{"title": "身份证", "path": "uploads/孙立伟-身份证-13800138061.jpg"}]}
    out = masker.record("complaint", data)
    assert out["attachments"][0]["path"] == "uploads/孙**-身份证-****61.jpg"
    assert {k: out[k] for k in ("id", "status", "customer", "filled_by", "created_at")} == \
        {k: data[k] for k in ("id", "status", "customer", "filled_by", "created_at")}
