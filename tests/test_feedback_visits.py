"""Periodic visits of customers in stable use (seed 001 N): a callback with ``purpose:
periodic_visit`` names the customer and no case; a follow-up (the default) must name its case.
Every consumer takes a callback without a case: validate, the SLA engine, the customer figures,
the value index, the technician appraisal and the site."""
from __future__ import annotations

import pytest

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.derive.aftersales import feedback, technicians, value_index
from servicebook.derive.sla.engine import Engine

# the repair's callback clock (24 hours around the clock), stopped by a done callback naming the
# repair -- a policy of the test's own; callbacks themselves are measured by no clock
POLICIES = [
    {"id": "SLA-test-repair", "schema_version": 1, "version": 1, "name": "测试维修时限",
     "applies_to": {"kind": "repair"}, "calendars": {"standard": "CAL-7x24", "vip": "CAL-7x24"},
     "clocks": [{"name": "callback", "title": "Called back", "title_zh": "回访",
                 "start": [{"status": ["fixed"]}],
                 "stop": [{"referrer": {"kind": "callback", "field": "case"}, "status": ["done"], "field": "called_at"}],
                 "owner": ["filled_by"], "target": {"standard": {"amount": 24, "unit": "hours"},
                                                    "vip": {"amount": 24, "unit": "hours"}}}]},
    {"id": "SLA-test-callback", "schema_version": 1, "version": 1, "name": "回访记录",
     "applies_to": {"kind": "callback"}, "calendars": {"standard": "CAL-7x24", "vip": "CAL-7x24"}, "clocks": []},
]


def callback(cid, entries, case=None, purpose=None, **extra):
    d = {"id": cid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs", "created_at": T(entries[0][0]),
         "status": entries[-1][2], "history": hist(*entries), "scheduled_for": T(entries[0][0])}
    if case is not None:
        d["case"] = case
    if purpose is not None:
        d["purpose"] = purpose
    d.update(extra)
    return d


REPAIR = {"id": "RP-20260601-AAAAAA", "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs",
          "created_at": T("06-01 09:00"), "status": "fixed",
          "history": hist(("06-01 09:00", "P-cs", "open"), ("06-01 15:00", "P-e", "fixed")), "product": "PD-a",
          "device": {"brand": "X", "model": "M"}, "reported_at": T("06-01 09:00"), "fault_description": "故障",
          "engineer": "P-e"}


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, [
        person("P-e"), person("P-cs", roles=("customer_service",), region="总部"), customer("CU-a"), product("PD-a"),
        *POLICIES, REPAIR,
        # a periodic visit done on 06-02 (the day after the fix): rated 5, no problem reported
        callback("CB-20260602-AAAAAA", [("06-02 09:00", "P-cs", "scheduled"), ("06-02 11:00", "P-cs", "done")],
                 purpose="periodic_visit", called_at=T("06-02 10:30"), satisfaction=5, problem_reported=False,
                 opinion="运行稳定,希望增加培训。"),
        # a second visit: the customer reports a problem, rated 3
        callback("CB-20260615-BBBBBB", [("06-15 09:00", "P-cs", "scheduled"), ("06-15 11:00", "P-cs", "done")],
                 purpose="periodic_visit", called_at=T("06-15 10:00"), satisfaction=3, problem_reported=True),
        # a visit still scheduled
        callback("CB-20260620-CCCCCC", [("06-20 09:00", "P-cs", "scheduled")], purpose="periodic_visit"),
        # the follow-up of the repair, done 06-03 (late), solved, rated 4
        callback("CB-20260603-DDDDDD", [("06-03 09:00", "P-cs", "scheduled"), ("06-03 10:00", "P-cs", "done")],
                 case="RP-20260601-AAAAAA", called_at=T("06-03 10:00"), solved=True, satisfaction=4),
    ], shipped=("calendar",))


def test_schema_periodic_visit_names_no_case(tmp_path):
    c = build(tmp_path, [
        person("P-cs", roles=("customer_service",), region="总部"), customer("CU-a"),
        callback("CB-20260601-AAAAAA", [("06-01 09:00", "P-cs", "scheduled")], purpose="periodic_visit"),   # fine
        callback("CB-20260601-BBBBBB", [("06-01 09:00", "P-cs", "scheduled")]),                             # follow-up, no case
        callback("CB-20260601-CCCCCC", [("06-01 09:00", "P-cs", "scheduled")], purpose="follow_up"),        # the same
        callback("CB-20260601-DDDDDD", [("06-01 09:00", "P-cs", "scheduled")], purpose="periodic_visit",
                 case="CP-20260601-AAAAAA"),                                                                # a visit naming a case
    ])
    got = sorted((p.file.rsplit("/", 1)[-1], p.path, p.rule) for p in c.problems)
    assert got == [("CB-20260601-BBBBBB.yaml", "case", "schema.required"),
                   ("CB-20260601-CCCCCC.yaml", "case", "schema.required"),
                   ("CB-20260601-DDDDDD.yaml", "case", "schema.enum")]
    bad = next(p for p in c.problems if p.rule == "schema.enum")
    assert "periodic visit names no case" in bad.message and bad.line > 1   # at the case line


def test_sla_ignores_visits_and_only_the_follow_up_stops_the_callback_clock(repo):
    clocks = Engine(repo).clocks("2026-06-30T12:00:00+08:00")
    assert [c.case for c in clocks if c.kind == "callback"] == []
    (cb,) = [c for c in clocks if c.case == "RP-20260601-AAAAAA"]
    # started at the fix 06-01 15:00, due 06-02 15:00: the periodic visit at 06-02 10:30 does not
    # stop it; the follow-up called at 06-03 10:00 does, 19 hours late
    assert (cb.state, cb.instant(cb.stopped_at), cb.overdue_seconds) == ("breached", "2026-06-03T10:00:00+08:00", 19 * 3600)


def test_customer_figures_count_visits(repo):
    said = feedback.satisfaction(repo, "2026-06-30")["CU-a"]
    # "solved?" only from the follow-up (1 of 1); satisfaction from all three done: (5 + 3 + 4) / 3 = 4;
    # two visits done (the scheduled one not), a problem reported in one
    assert (said.solved, said.answered, said.mean, said.rated, said.visits, said.problems_reported) == (1, 1, 4.0, 3, 2, 1)
    assert [feedback.purpose(repo.records[i]) for i in ("CB-20260602-AAAAAA", "CB-20260603-DDDDDD")] == [
        "periodic_visit", "follow_up"]
    # the customer's words of a visit reach the weekly summary
    assert [o.record.id for o in feedback.opinions(repo, "2026-06-01", "2026-06-07")] == ["CB-20260602-AAAAAA"]


def test_value_index_and_appraisal_take_a_callback_without_case(repo):
    # the value index reads every rating the customer gave: 5, 3, 4 (visits too)
    assert value_index.ValueIndex(repo, "2026-06-30").score("CU-a") is not None
    (e,) = [a for a in technicians.appraisal(repo, "2026-06-01", "2026-06-30") if a.engineer == "P-e"]
    # the engineer's repair is rated by its follow-up (4) only: a visit names no case
    assert (e.rated, e.mean_rating) == (1, 4.0)


def test_site_shows_visits(repo):
    from servicebook.site import pages
    for lang, label, line in (("en", "Periodic visit", "2 periodic visits done, a problem reported in 1"),
                              ("zh", "定期回访", "已完成定期回访 2 次,其中 1 次反映问题")):
        out = pages.generate(repo, {"lang": lang, "root": str(repo.root), "as_of": "2026-06-30T12:00:00+08:00"})
        page = out["customers/CU-a.md"]
        assert label in page and line in page and "CB-20260602-AAAAAA" in page
        assert "cases/CB-20260620-CCCCCC.md" in out   # a visit is a record of its own
