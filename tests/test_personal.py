"""The corpus's personal values found and masked inside free text (`servicebook.derive.personal`), and the
site's Masker applying it to every free-text value of a record."""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

import pytest

from servicebook.load import corpus as corpus_mod
from servicebook.derive import personal
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
    # known values that the IDs, references, status and instants below do hold
    masker = Masker(view, True, Known({"孙立伟": "name", "13800138061": "phone", "Sun": "name",
                                       "open": "name", "20261105": "phone"}))
    data = {"id": "CP-20261105-SUN", "status": "open", "customer": "CU-sun-trading",
            "filled_by": "P-sun-li", "created_at": "2026-11-05T09:12:00+08:00",
            "received_at": "2026-11-05T09:10:00+08:00",
            "attachments": [{"title": "身份证", "path": "uploads/孙立伟-身份证-13800138061.jpg"}]}
    out = masker.record("complaint", data)
    assert out["attachments"][0]["path"] == "uploads/孙**-身份证-****61.jpg"
    kept = ("id", "status", "customer", "filled_by", "created_at", "received_at")
    assert {k: out[k] for k in kept} == {k: data[k] for k in kept}


# -- F1: look-alike writing -------------------------------------------------------------------------

SUN = Known({"孙立伟": "name", "13800138061": "phone", "sun.liwei@example.com": "email"})


@pytest.mark.parametrize("written", [
    "孙 立伟", "孙\u200b立伟", "孙\u00ad立伟", "孙\u2060立伟", "孙\u3000立伟", "孙\ufeff立伟", "孙 \u200b\n立伟",
    "孙\ufe0f立伟",
])
def test_a_name_with_white_space_or_invisible_characters_inside(written):
    assert SUN.mask(f"客户{written}来电") == "客户孙**来电"
    assert SUN.mask(f"客户 {written} 来电") == "客户 孙** 来电"


@pytest.mark.parametrize("written", [
    "138·0013·8061", "138\u200b0013\u200b8061", "138_0013_8061", "138,0013,8061", "138~0013~8061",
    "138 。0013。8061", "138\u00ad0013\u00ad8061", "138—0013—8061", "１３８・００１３・８０６１", "138 -- 0013 -- 8061",
])
def test_a_phone_number_with_any_separators_between_its_groups(written):
    masked = SUN.mask(f"请回 {written} 谢谢")
    assert masked.startswith("请回 ****") and masked.endswith(" 谢谢")
    assert not any(group in masked for group in ("138", "0013", "８０６", "806"))


@pytest.mark.parametrize("written", [
    "sun.liwei＠example.com", "ｓｕｎ．ｌｉｗｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "sun.li\u200bwei@example.com",
    "Sun.Liwei＠Example.com", "sun\u00ad.liwei@example.com",
])
def test_an_email_address_in_full_width_or_with_invisible_characters(written):
    assert SUN.mask(f"邮件 {written} 收").lower() == "邮件 s***@example.com 收"


def test_look_alike_writing_already_found_stays_found():
    assert SUN.mask("SUN.LIWEI@EXAMPLE.COM") == "S***@EXAMPLE.COM"
    assert SUN.mask("请回 １３８００１３８０６１") == "请回 ****61"
    assert SUN.mask("+86 138 0013 8061") == "+86 ****61"


def test_look_alike_values_are_found_in_plain_text_too():
    odd = Known({"孙 立伟": "name", "138·0013·8061": "phone", "ｓｕｎ．ｌｉｗｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ": "email"})
    assert odd.mask("孙立伟 13800138061 sun.liwei@example.com") == "孙** ****61 s***@example.com"


def test_separators_do_not_make_a_short_number_match_inside_a_longer_one():
    known = Known({"52108": "phone"})
    assert known.mask("分机 52108, 共 3 台") == "分机 ****, 共 3 台"
    assert known.mask("分机 52108,3 台; 52·108") == "分机 ****,3 台; ****"
    assert known.mask("订单 521080 与 1521084") == "订单 521080 与 1521084"
    assert known.mask("型号 HB48C-52108") == "型号 HB48C-****"


def test_the_normal_form_maps_back_to_the_original_text():
    n = personal.normalise("孙 \u200b 立伟 ＡＢ ﬁx e\u0301")
    assert n.norm == "孙立伟 ab fix é"
    assert n.span(0, 3) == (0, 6)          # 孙 ... 伟, the dropped characters inside
    assert n.span(4, 6) == (7, 9)          # ＡＢ, full width: one character each
    assert n.span(8, 9) == (10, 11)        # half of the ligature ﬁ is the whole ligature
    assert n.span(11, 12) == (13, 15)      # é written as e and a combining accent
    plain = personal.normalise("Call ANN today")
    assert plain.norm == "call ann today" and plain.span(5, 8) == (5, 8)
    assert personal.normalise("订单 521080").norm == "订单 521080"


def test_odd_characters_around_a_value_keep_the_offsets_right():
    text = "①号机……孙\u200b立伟说 ℃ 很高，电话：１３８ 0013\u00ad8061。e\u0301té ﬁn\n\n孙立伟 \U00020000 孙 立伟"
    hits = SUN.find(text)
    assert [text[h.start:h.end] for h in hits] == ["孙\u200b立伟", "１３８ 0013\u00ad8061", "孙立伟", "孙 立伟"]
    assert SUN.mask(text) == "①号机……孙**说 ℃ 很高，电话：****61。e\u0301té ﬁn\n\n孙** \U00020000 孙**"


def test_every_format_character_is_invisible():
    """The list of invisible characters in personal.py covers Unicode category Cf of this Python."""
    cf = "".join(chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf")
    assert personal._INVISIBLES.fullmatch(cf)


@pytest.mark.parametrize("hostile", [
    "孙 " * 40_000, "1 " * 40_000, "\u200b" * 80_000, "1" + "·" * 80_000 + "x", "ｓ" * 80_000,
    "孙\u200b" * 40_000, "1\u200b" * 40_000 + "８",
])
def test_masking_stays_linear_on_hostile_text(hostile):
    started = time.perf_counter()
    SUN.mask(hostile)
    SUN.mask(hostile * 2)
    assert time.perf_counter() - started < 3


# -- F3: invalid personal values are still personal data -------------------------------------------

def test_a_phone_read_as_a_number_and_an_address_without_at_are_collected():
    out: dict = {}
    personal._collect(13912345678, "phone", out)
    personal._collect(True, "phone", out)
    personal._collect("ouyang.nana(at)example.com", "email", out)
    personal._collect("暂无", "email", out)
    personal._collect("ouyang nana at example", "email", out)
    assert out == {"13912345678": "phone", "ouyang.nana(at)example.com": "email", "ouyang nana at example": "email"}
    known = Known(out)
    assert known.mask("the unquoted value 13912345678 was read") == "the unquoted value ****78 was read"
    assert known.mask("'ouyang.nana(at)example.com' is not an e-mail") == "'******' is not an e-mail"
    assert known.mask("xouyang.nana(at)example.com") == "xouyang.nana(at)example.com"  # whole words
    assert known.mask("写的是 Ouyang  Nana at example 吧") == "写的是 ****** 吧"


# -- end to end: the generated site ------------------------------------------------------------------

def test_the_masked_site_shows_no_look_alike_pattern_checked_or_invalid_personal_value(mini):
    """F1, F2, F3 on generated pages (both languages, masked): a contact written with invisible
    characters, odd separators and full-width characters in a complaint's remarks and a KB title;
    a file named after the contact in an attachment path; a contact phone read as a number and an
    e-mail typed with (at), which the problems page quotes."""
    import html
    from datetime import datetime

    import yaml

    from servicebook.site import pages

    customer = mini.edit("CU-hengda-logistics", "  phone: 139 5188 2046\n",
                         "  phone: 139 5188 2046\n- name: 孙立伟\n  phone: '13800138061'\n"
                         "  email: sun.liwei@example.com\n- name: 欧阳娜娜\n  phone: 13912345678\n"
                         "  email: ouyang.nana(at)example.com\n")
    assert "13912345678\n" in customer.read_text(encoding="utf-8")  # unquoted: read as a number
    remarks = ("客户孙 立伟、孙\u200b立伟、孙\u00ad立伟、孙\u2060立伟来电,请回 138·0013·8061 / 138\u200b0013\u200b8061 / "
               "138_0013_8061 / 138,0013,8061 / 138~0013~8061 / 138 。0013。8061,邮件 sun.liwei＠example.com 或 "
               "ｓｕｎ．ｌｉｗｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ")
    path = mini.path("CP-20261202-7KQ2XM")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["cs_part"]["remarks"] = remarks
    data["attachments"] = [{"title": "身份证", "path": "uploads/孙立伟-身份证-13800138061.jpg"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    kb = yaml.safe_load((REPO / "records" / "kb" / "KB-20260615-FV4D2W.yaml").read_text(encoding="utf-8"))
    kb.update(title="孙\u200b立伟(138·0013·8061)反映泵送压力跳动", product="PD-hb48-pump")
    kb.pop("also_applies_to", None)
    (mini.root / "records" / "kb").mkdir()
    (mini.root / "records" / "kb" / "KB-20260615-FV4D2W.yaml").write_text(
        yaml.safe_dump(kb, allow_unicode=True, sort_keys=False), encoding="utf-8")

    c = corpus_mod.load(mini.root)
    as_of = datetime.fromisoformat("2026-12-05T12:00:00+08:00")
    assert {p.path for p in c.problems if p.file.endswith("CU-hengda-logistics.yaml")} >= \
        {"contacts[3].phone", "contacts[3].email"}
    for lang in ("zh", "en"):
        out = {name: html.unescape(page) for name, page in
               pages.generate(c, {"lang": lang, "root": str(mini.root), "as_of": as_of}).items()}
        site = "\n".join(out.values())
        assert "****61" in site and "孙**" in site and "s***@example.com" in site  # the masked forms
        for leaked in ("立伟", "0013", "8061", "liwei", "ｌｉｗｅｉ", "１３８", "13912345678", "12345678", "ouyang"):
            assert leaked not in site, (lang, leaked, [name for name, page in out.items() if leaked in page])
        problems = out["problems.md"]
        assert "contacts[3].phone" in problems and "****78" in problems
        assert "contacts[3].email" in problems and "******" in problems
        assert any("****61" in page and "KB-20260615-FV4D2W" in name for name, page in out.items())
