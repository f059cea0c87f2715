"""Deal stages from the fixture deal's histories, as of instants along its way (hand-computed in
the 5x8 Chinese business calendar: 09:00-12:00, 13:00-18:00; 2026-11-03 is a Tuesday)."""
from __future__ import annotations

import json

import pytest

from conftest import REPO, make_repo, sb
from servicebook.load import corpus
from servicebook.derive import pipeline
from servicebook.derive.sla.engine import Engine

SV = "SV-20261103-4M8QZA"
SO = "SO-20261104-2HVN6P"


def with_sales_policies(repo, target: str | None = None):
    """The shipped pre-sales policies, whose clocks set every stage's deadline (the solution's
    ``negotiation`` clock is the limit of a negotiation), and the calendar they count in;
    ``target`` replaces the negotiation clock's 10 working days."""
    for rel in ("policy/SLA-survey.yaml", "policy/SLA-appraisal.yaml", "policy/SLA-solution.yaml",
                "calendar/CAL-cn-standard.yaml"):
        text = (REPO / "records" / rel).read_text(encoding="utf-8")
        if target and rel == "policy/SLA-solution.yaml":
            ten = "{amount: 10, unit: working_days}"
            assert text.count(ten) == 2
            text = text.replace(ten, target)
        dest = repo.root / "records" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    return repo


@pytest.fixture(scope="module")
def fixture_corpus(tmp_path_factory):
    repo = with_sales_policies(make_repo(tmp_path_factory.mktemp("pipe") / "repo"))
    return corpus.load(repo.root)


def at(text):
    return f"2026-{text}:00+08:00"


@pytest.mark.parametrize("when, stage, since, days, deadline, state", [
    # survey open since 11-03 15:20; hand-over due half a working day (4 h) later: 2h40 that day + 1h20
    ("11-03T16:00", "survey", "11-03T15:20", 0.08, "11-04T10:20", "on_time"),
    ("11-04T11:00", "appraisal", "11-04T09:10", 0.23, "11-04T14:10", "on_time"),
    # appraisal done 13:30: solution draft due 17:30
    ("11-04T16:50", "solution", "11-04T13:30", 0.42, "11-04T17:30", "on_time"),
    ("11-04T17:45", "manager_review", "11-04T17:00", 0.09, "11-05T17:00", "on_time"),
    # review one working day from 11-04 17:00 (7 h into the day) = 11-05 17:00
    ("11-05T17:30", "gm_approval", "11-05T16:30", 0.12, None, "no_deadline"),
    ("11-05T15:00", "feasibility", "11-05T11:00", 0.38, None, "no_deadline"),
    # GM approved 11-06 09:15: proposal due at the end of the 5th working day from 11-03 (Tue):
    # 03, 04, 05, 06, 09 -> 11-09 18:00
    ("11-06T10:00", "proposal", "11-06T09:15", 0.09, "11-09T18:00", "on_time"),
    # proposed 11-09 10:30, before the deadline: stays on time while with the customer
    # 11-06 09:15-18:00 (7h45) + 11-09 (8 h) + 11-10 09:00-17:00 (7 h) = 22h45 = 2.84 days
    ("11-10T17:00", "proposal", "11-06T09:15", 2.84, "11-09T18:00", "on_time"),
    # negotiating from 11-11 15:00: long after 10 working days = 11-25 15:00; 3 h so far
    ("11-12T09:00", "negotiation", "11-11T15:00", 0.38, "11-25T15:00", "on_time"),
    ("11-17T09:00", "contract", "11-16T17:20", 0.08, None, "no_deadline"),
    ("11-18T12:00", "won", "11-18T10:00", None, None, "closed"),
])
def test_stage_as_of(fixture_corpus, when, stage, since, days, deadline, state):
    d = pipeline.deal(fixture_corpus, SV, at(when))
    assert d.stage == stage
    assert d.stage_since.isoformat() == at(since)
    assert d.days_in_stage == days
    assert (d.deadline.isoformat() if d.deadline else None) == (at(deadline) if deadline else None)
    assert d.state == state
    # the sales manager who approved the solution (11-05 11:00); nobody before that
    assert d.manager == ("P-li-na" if when >= "11-05T11:00" else None)
    assert d.salesperson == "P-zhang-wei"


def test_without_a_negotiation_clock_a_negotiation_has_no_deadline(tmp_path):
    c = corpus.load(make_repo(tmp_path / "repo").root)  # no policy records at all
    d = pipeline.deal(c, SV, at("11-16T09:00"))
    assert d.stage == "negotiation" and d.state == "no_deadline" and d.deadline is None
    assert pipeline.negotiation_limit(c) is None


def test_stage_deadlines_are_the_policies_and_agree_with_the_sla_clock(tmp_path):
    """No deadline is written in the pipeline's code: give the survey's hand-over clock a whole
    working day and the deal's deadline moves with it, to the instant the SLA engine gives."""
    repo = with_sales_policies(make_repo(tmp_path / "repo"))
    path = repo.root / "records" / "policy" / "SLA-survey.yaml"
    half = "{amount: 0.5, unit: working_days}"
    assert path.read_text(encoding="utf-8").count(half) == 2
    path.write_text(path.read_text(encoding="utf-8").replace(half, "{amount: 1, unit: working_days}"), encoding="utf-8")
    c = corpus.load(repo.root)
    d = pipeline.deal(c, SV, at("11-03T16:00"))
    assert (d.stage, d.deadline.isoformat()) == ("survey", at("11-04T15:20"))  # 15:20 + 8 working hours
    (clock,) = [k for k in Engine(c).clocks(at("11-03T16:00")) if k.case == SV and k.clock == "handover"]
    assert clock.deadline == d.deadline.timestamp()
    without = make_repo(tmp_path / "bare")  # no policies: no deadline, never an invented one
    assert pipeline.deal(corpus.load(without.root), SV, at("11-03T16:00")).state == "no_deadline"


def test_before_first_contact_there_is_no_deal(fixture_corpus):
    assert pipeline.deal(fixture_corpus, SV, at("11-03T15:00")) is None
    assert pipeline.deals(fixture_corpus, at("11-03T15:00")) == []


def test_late_survey_and_proposal(fixture_corpus):
    d = pipeline.deal(fixture_corpus, SV, at("11-03T15:20"))
    assert d.stage == "survey" and d.state == "on_time"
    # proposal rule alone, as if the GM approved but nobody proposed: 11-09 18:00 passed
    d = pipeline.deal(fixture_corpus, SV, at("11-09T10:00"))
    assert d.stage == "proposal" and d.state == "on_time"


def test_negotiation_rounds_and_long_negotiation(fixture_corpus, tmp_path):
    d = pipeline.deal(fixture_corpus, SV, at("11-12T09:00"))
    assert d.negotiation["rounds"] == 1 and d.negotiation["price_cuts"] == 1
    # the limit is the policy's: 2 working days there make the same negotiation long
    short = corpus.load(with_sales_policies(make_repo(tmp_path / "repo"), "{amount: 2, unit: working_days}").root)
    d = pipeline.deal(short, SV, at("11-16T09:00"))
    # 11-11 15:00 + 2 working days = 11-13 15:00
    assert d.state == "long" and d.deadline.isoformat() == at("11-13T15:00")
    assert pipeline.long_negotiation(Engine(short), short.records[SO], at("11-16T09:00"))
    assert not pipeline.long_negotiation(Engine(short), short.records[SO], at("11-13T14:59"))
    assert [x.survey for x in pipeline.long_negotiations(short, at("11-16T09:00"))] == [SV]
    assert pipeline.negotiation_limit(short)["targets"] == {"standard": "2 working_days", "vip": "2 working_days"}
    assert d.negotiation == {**d.negotiation, "rounds": 2, "price_cuts": 1, "contract_changes": 1,
                             "manager_not_informed": 0}
    view = pipeline.manager_view([d])
    assert [x.survey for x in view["P-li-na"]["long_negotiations"]] == [SV]


def test_referral_share(fixture_corpus):
    # class A = 15% of the commission; commission = contract amount 26 070 x 4% = 1 042.80
    d = pipeline.deal(fixture_corpus, SV, at("11-10T09:00"), commission_rate=0.04)
    assert d.referral["state"] == "pending" and d.referral["amount"] is None
    d = pipeline.deal(fixture_corpus, SV, at("11-17T09:00"), commission_rate=0.04)
    assert d.referral["state"] == "expected"
    assert d.referral["commission"] == 1042.8 and d.referral["amount"] == 156.42
    d = pipeline.deal(fixture_corpus, SV, at("11-18T12:00"), commission_rate=0.04)
    assert d.referral["state"] == "due" and d.referral["person"] == "P-liu-yang"
    assert d.referral["share"] == 0.15 and d.referral["conflict"] is None


def test_lost_deal_with_reason_and_stage(tmp_path):
    repo = make_repo(tmp_path / "repo")
    for rid in ("CT-20261116-8FJ4QE", "IN-20261119-3PZK7M", "CB-20261203-0QF5HV", "RP-20261208-5NC8WT",
                "CP-20261202-7KQ2XM"):
        repo.path(rid).unlink()
    text = repo.text(SO).replace("status: won", "status: lost")
    text = text.replace("negotiation_rounds:", "lost_reason: 客户选择了报价更低的竞争对手。\nnegotiation_rounds:")
    repo.path(SO).write_text(text, encoding="utf-8")
    c = corpus.load(repo.root)
    d = pipeline.deal(c, SV, at("11-20T09:00"))
    assert d.stage == "lost" and d.state == "closed"
    assert d.lost_stage == "negotiation"
    assert d.lost_reason == "客户选择了报价更低的竞争对手。"
    assert d.lost_at.isoformat() == at("11-16T17:20")
    assert d.referral["state"] == "none"
    assert [x.survey for x in pipeline.manager_view([d])["P-li-na"]["lost"]] == [SV]
    # before it was lost it was negotiating
    assert pipeline.deal(c, SV, at("11-13T09:00")).stage == "negotiation"


def test_dropped_survey_is_lost_at_survey(tmp_path):
    repo = make_repo(tmp_path / "repo")
    repo.edit(SV, "status: handed_over", "status: dropped", count=2)
    repo.edit(SV, "note: 调查表交技术部鉴定", "note: 客户资金紧张")
    c = corpus.load(repo.root)
    d = pipeline.deal(c, SV, at("11-04T09:30"))
    assert (d.stage, d.lost_stage, d.lost_reason) == ("lost", "survey", "客户资金紧张")


def test_command_json(tmp_path):
    repo = make_repo(tmp_path / "repo")
    proc = sb("pipeline", "--root", str(repo.root), "--at", at("11-12T09:00"), "--format", "json", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (d,) = out["deals"]
    assert d["stage"] == "negotiation" and d["negotiation"]["rounds"] == 1
    assert out["managers"]["P-li-na"]["open"] == [SV]
    text = sb("pipeline", "--root", str(repo.root), "--at", at("11-12T09:00"), "--lang", "en", cwd=repo.root)
    assert "Negotiation (1)" in text.stdout


def test_past_the_holiday_data_days_in_stage_are_a_lower_bound_not_an_error(tmp_path):
    """The shipped calendar's holiday data ends with 2026 (until the 2027 schedule is entered). A
    survey opened Wednesday 30 December 2026 09:00 and still open on 5 January 2027 has been in its
    stage at least the rest of 30 December and all of 31 December: 8 + 8 working hours = 2 working
    days; its half-day hand-over deadline (4 working hours: 09:00-12:00 and 13:00-14:00, so 30
    December 14:00) fell in 2026: late, no error."""
    repo = with_sales_policies(make_repo(tmp_path / "repo"))
    src = repo.path(SV).read_text(encoding="utf-8")
    head = src[:src.index("history:")].replace(SV, "SV-20261230-NEWDEAL").replace("status: handed_over", "status: open") \
        .replace("2026-11-03T15:20:00+08:00", "2026-12-30T09:00:00+08:00")
    rest = src[src.index("survey_date:"):].replace("survey_date: '2026-11-03'", "survey_date: '2026-12-30'")
    history = "history:\n- at: '2026-12-30T09:00:00+08:00'\n  by: P-zhang-wei\n  status: open\n"
    (repo.root / "records" / "survey" / "2026" / "SV-20261230-NEWDEAL.yaml").write_text(head + history + rest, encoding="utf-8")
    d = pipeline.deal(corpus.load(repo.root), "SV-20261230-NEWDEAL", "2027-01-05T10:00:00+08:00")
    assert (d.stage, d.state, d.error) == ("survey", "late", None)
    assert d.days_at_least and d.days_in_stage == 2.0
    assert d.deadline.isoformat() == "2026-12-30T14:00:00+08:00"
