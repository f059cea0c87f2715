"""Why was it late (seed 001: 无故超期延误者要予以严厉追究): breached SLA clocks with and without
a recorded ``delay_reasons`` entry, per person, against hand-computed figures; the report command
and the site's SLA page show them."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.derive import delays

# A policy of our own (not the shipped one, which the SLA owners may change): repairs must be
# fixed within 24 hours on the around-the-clock calendar, owned by the repair's engineer.
POLICY = {"id": "SLA-test-repair", "schema_version": 1, "version": 1, "name": "测试维修时限",
          "applies_to": {"kind": "repair"}, "calendars": {"standard": "CAL-7x24", "vip": "CAL-7x24"},
          "clocks": [{"name": "fix", "title": "Fault fixed", "title_zh": "故障排除",
                      "start": [{"field": "reported_at"}, {"status": ["open"]}], "stop": [{"status": ["fixed"]}],
                      "owner": ["engineer"], "target": {"standard": {"amount": 24, "unit": "hours"},
                                                       "vip": {"amount": 24, "unit": "hours"}}}]}


def repair(rid, entries, engineer, reasons=None):
    d = {"id": rid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs", "created_at": T(entries[0][0]),
         "status": entries[-1][2], "history": hist(*entries), "product": "PD-a", "device": {"brand": "X", "model": "M"},
         "reported_at": T(entries[0][0]), "fault_description": "故障", "engineer": engineer}
    if reasons is not None:
        d["delay_reasons"] = reasons
    return d


def reason(at, text, by="P-m", clock="fix", category=None):
    r = {"clock": clock, "reason": text, "by": by, "at": T(at)}
    if category:
        r["category"] = category
    return r


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, [
        person("P-e"), person("P-f"), person("P-m", roles=("technical_manager",)),
        person("P-cs", roles=("customer_service",), region="总部"), customer("CU-a"), product("PD-a"), POLICY,
        # P-e: reported 06-01 09:00, due 06-02 09:00, fixed 06-03 15:00 -> 30 h late; reason given
        # 06-02 10:00 (after the start): explained
        repair("RP-20260601-AAAAAA", [("06-01 09:00", "P-cs", "open"), ("06-03 15:00", "P-e", "fixed")], "P-e",
               [reason("06-02 10:00", "配件未到", category="parts")]),
        # P-e: reported 06-05 08:00, still open on 06-10 12:00 -> 4 d 4 h past 06-06 08:00 = 100 h;
        # its reason names another clock, and one for fix is written after the as-of instant
        repair("RP-20260605-BBBBBB", [("06-05 08:00", "P-cs", "open")], "P-e",
               [reason("06-06 09:00", "客户要求延后", clock="close"), reason("06-11 09:00", "事后补写")]),
        # P-f: reported 06-08 10:00, fixed 06-09 12:00 -> 2 h late; a reason written before the
        # clock started (06-07) does not explain it
        repair("RP-20260608-CCCCCC", [("06-08 10:00", "P-cs", "open"), ("06-09 12:00", "P-f", "fixed")], "P-f",
               [reason("06-07 09:00", "预先说明")]),
        # P-f: fixed on time (06-09 10:00 -> 06-09 20:00): no delay
        repair("RP-20260609-DDDDDD", [("06-09 10:00", "P-cs", "open"), ("06-09 20:00", "P-f", "fixed")], "P-f"),
    ], shipped=("calendar",))


AT = "2026-06-10T12:00:00+08:00"


def test_breaches_with_and_without_a_reason(repo):
    found = delays.delays(repo, AT)
    assert [(d.case, d.owner, d.stopped, d.overdue_seconds / 3600, d.explained) for d in found] == [
        ("RP-20260605-BBBBBB", "P-e", False, 100.0, False),   # 06-06 08:00 -> 06-10 12:00
        ("RP-20260601-AAAAAA", "P-e", True, 30.0, True),      # 06-02 09:00 -> 06-03 15:00
        ("RP-20260608-CCCCCC", "P-f", True, 2.0, False)]      # 06-09 10:00 -> 06-09 12:00
    explained = found[1].reason
    assert (explained.reason, explained.by, explained.category) == ("配件未到", "P-m", "parts")
    rows = {r.owner: r for r in delays.by_person(found)}
    # P-e: 2 breached, 1 explained, 1 unexplained (100 h); P-f: 1 breached, unexplained (2 h)
    assert (rows["P-e"].breached, rows["P-e"].explained, rows["P-e"].unexplained) == (2, 1, 1)
    assert rows["P-e"].unexplained_overdue_seconds == 100 * 3600
    assert (rows["P-f"].breached, rows["P-f"].unexplained, rows["P-f"].unexplained_overdue_seconds) == (1, 1, 2 * 3600)
    assert rows["P-f"].cases == ["RP-20260608-CCCCCC"]
    # order: most unexplained, then the longest unexplained overdue time: P-e (1, 100 h), P-f (1, 2 h)
    assert [r.owner for r in delays.by_person(found)] == ["P-e", "P-f"]


def test_a_reason_written_later_counts_from_then(repo):
    # on 06-11 10:00 the late reason for RP-...BBBBBB exists: 122 h overdue (06-06 08:00 -> 06-11 10:00), explained
    found = {d.case: d for d in delays.delays(repo, "2026-06-11T10:00:00+08:00")}
    assert found["RP-20260605-BBBBBB"].explained and found["RP-20260605-BBBBBB"].overdue_seconds == 122 * 3600
    rows = {r.owner: r for r in delays.by_person(list(found.values()))}
    assert (rows["P-e"].explained, rows["P-e"].unexplained) == (2, 0)


def test_wrong_types_are_no_reason():
    for bad in (None, "text", [1, "x", {"clock": 3}], {"clock": "fix"},
                [{"clock": "fix", "reason": "", "by": "P-m", "at": T("06-02 10:00")}],
                [{"clock": "fix", "reason": "r", "by": "P-m", "at": "2026-06-02T10:00:00"}]):
        assert delays.reasons_of(SimpleNamespace(data={"delay_reasons": bad})) == []


def test_report_command(repo, capsys):
    from servicebook import cli
    assert cli.main(["report", "delays", "--at", AT, "--format", "json", "--root", str(repo.root)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["breached"], data["explained"], data["unexplained"]) == (3, 1, 2)
    assert [(r["owner"], r["unexplained"]) for r in data["by_person"]] == [("P-e", 1), ("P-f", 1)]
    assert data["delays"][1]["reason"]["reason"] == "配件未到"
    assert cli.main(["report", "delays", "--at", AT, "--root", str(repo.root), "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert "3, 1 with a reason, 2 without" in text and "No reason given".upper() in text


def test_site_sla_page_shows_the_delays(repo):
    from servicebook.site import pages
    for lang, word in (("en", "No reason given"), ("zh", "未说明原因")):
        out = pages.generate(repo, {"lang": lang, "root": str(repo.root), "as_of": AT})["sla/index.md"]
        section = out[out.index("delay&#95;reasons"):]
        assert word in section and "配件未到" in section
        # per person: P-e 2 breached, 1 with a reason, 1 without, 100 h overdue without a reason
        assert "<td>2</td><td>1</td><td>1</td><td>4d04h</td>" in section


def test_validate_warns_about_a_reason_naming_no_clock(tmp_path):
    from servicebook.derive import checked

    bad = repair("RP-20260601-AAAAAA", [("06-01 09:00", "P-cs", "open")], "P-e",
                 [reason("06-02 10:00", "配件未到"), reason("06-02 11:00", "笔误", clock="fixing")])
    build(tmp_path, [person("P-e"), person("P-m", roles=("technical_manager",)),
                     person("P-cs", roles=("customer_service",), region="总部"), customer("CU-a"), product("PD-a"),
                     POLICY, bad], shipped=("calendar",))
    c = checked.load(tmp_path / "repo")
    got = [(p.path, p.rule, p.severity, p.line > 0) for p in c.problems if p.rule == "delay.clock"]
    assert got == [("delay_reasons[1].clock", "delay.clock", "warning", True)]
    msg = next(p.message for p in c.problems if p.rule == "delay.clock")
    assert "'fixing' is no clock" in msg and "SLA-test-repair: fix" in msg
