"""Missing records are late too (issue #16): a clock belongs to the event that starts it. A
survey handed over with no appraisal record runs the appraisal clock on the survey; a signed
contract with no requirements confirmation runs the 72-hour clock on the contract; each until
the record is filed (its own clock then measures it from the same start) or the starting
record is dropped / cancelled.

Standard calendar: Mon-Fri 09:00-12:00, 13:00-18:00 Beijing time (8 working hours a day),
Chinese holidays and make-up days."""
from __future__ import annotations

import pytest

from test_sla import H, M, Repo, iso


@pytest.fixture
def repo(tmp_path):
    r = Repo(tmp_path)
    r.add("person", "P-tm", {"name": "魏东", "roles": ["technical_manager"], "department": "technical"})
    r.add("person", "P-owner", {"name": "朱婷", "roles": ["in_sales_specialist"], "department": "sales"})
    return r


def handed_over(repo, rid, at, by="P-sales", **more):
    repo.case("survey", rid, [(at.replace("T16", "T09").replace("T17", "T09"), "open"), (at, "handed_over")],
              by=by, salesperson="P-sales", **more)


def test_a_survey_handed_over_without_appraisal_is_late(repo):
    """Handed over Fri 20 Nov 2026 16:00. Appraisal within half a working day: half of Friday's
    8 h = 4 h; Friday has 2 h left (16-18), so 2 h more on Monday: due Mon 23 Nov 11:00.
    As of Mon 10:00: 2 + 1 = 3 h of 4 h used (0.75): at risk, on the survey, owned by the
    technical manager. As of Mon 12:00: 2 + 3 = 5 h: breached, 1 h late."""
    handed_over(repo, "SV-1", "2026-11-20T16:00:00+08:00")
    early = repo.one("2026-11-23T10:00:00+08:00", "SV-1", "appraisal")
    assert (early.state, early.kind, early.missing, early.owner) == ("at_risk", "appraisal", "appraisal", "P-tm")
    assert early.elapsed_seconds == 3 * H and iso(early, "deadline") == "2026-11-23T11:00:00+08:00"
    late = repo.one("2026-11-23T12:00:00+08:00", "SV-1", "appraisal")
    assert (late.state, late.elapsed_seconds, late.overdue_seconds, late.policy) == ("breached", 5 * H, 1 * H, "SLA-appraisal")
    assert late.to_dict()["missing"] == "appraisal"
    # the survey's own clocks are still there, and --kind appraisal finds the unrecorded one
    assert {c.clock for c in repo.clocks("2026-11-23T12:00:00+08:00", "SV-1")} == {"handover", "proposal", "appraisal"}
    assert [c.case for c in repo.engine().clocks("2026-11-23T12:00:00+08:00", ["appraisal"])] == ["SV-1"]


def test_the_appraisal_filed_takes_over_from_the_same_start(repo):
    """The appraisal is filed Mon 10:30 and done 10:45: from then on no clock on the survey;
    the appraisal's own clock counts from the hand-over: Fri 2 h + Mon 1 h 45 min = 3 h 45 min
    of 4 h: met. Before the filing (as of Mon 10:00) the survey's clock was the one running."""
    handed_over(repo, "SV-2", "2026-11-20T16:00:00+08:00")
    repo.case("appraisal", "AP-2", [("2026-11-23T10:30:00+08:00", "in_progress"),
                                    ("2026-11-23T10:45:00+08:00", "done")], by="P-eng", survey="SV-2")
    at = "2026-11-23T12:00:00+08:00"
    assert [c for c in repo.clocks(at, "SV-2") if c.clock == "appraisal"] == []
    ap = repo.one(at, "AP-2", "appraisal")
    assert (ap.state, ap.elapsed_seconds, ap.missing) == ("met", 3 * H + 45 * M, None)
    assert iso(ap, "started_at") == "2026-11-20T16:00:00+08:00"
    assert repo.one("2026-11-23T10:00:00+08:00", "SV-2", "appraisal").state == "at_risk"


def test_across_the_national_day_holiday(repo):
    """Handed over Wed 30 Sep 2026 17:00: 1 h left that day; 1-7 Oct are public holidays (Sat 10
    Oct is a make-up working day, after the deadline). Half a day = 4 h: 1 h on Wed + 3 h on
    Thu 8 Oct: due Thu 8 Oct 12:00. As of Thu 8 Oct 14:00: 1 + 3 + 1 = 5 h: 1 h late."""
    handed_over(repo, "SV-3", "2026-09-30T17:00:00+08:00")
    c = repo.one("2026-10-08T14:00:00+08:00", "SV-3", "appraisal")
    assert (c.state, c.elapsed_seconds, c.overdue_seconds) == ("breached", 5 * H, 1 * H)
    assert iso(c, "deadline") == "2026-10-08T12:00:00+08:00"


def test_a_dropped_survey_cancels_the_unrecorded_appraisal(repo):
    """Handed over Fri 16:00, dropped Mon 09:30 (2.5 h used of 4): cancelled, never late."""
    repo.case("survey", "SV-4", [("2026-11-20T09:00:00+08:00", "open"),
                                 ("2026-11-20T16:00:00+08:00", "handed_over"),
                                 ("2026-11-23T09:30:00+08:00", "dropped")], by="P-sales", salesperson="P-sales")
    c = repo.one("2026-11-24T12:00:00+08:00", "SV-4", "appraisal")
    assert (c.state, c.elapsed_seconds) == ("cancelled", 2.5 * H)


def test_a_signed_contract_without_requirements_confirmation_is_late(repo):
    """Signed Fri 20 Nov 2026 17:00; requirements confirmed within 72 calendar hours: due Mon 23
    Nov 17:00 over the weekend. As of Mon 18:00 no confirmation is filed: breached by 1 h, on the
    contract, owned by the delivery owner. Filed and confirmed Mon 16:00 instead: met (71 h)."""
    repo.case("contract", "CT-1", [("2026-11-18T10:00:00+08:00", "draft"),
                                   ("2026-11-20T17:00:00+08:00", "signed")],
              by="P-sales", service_tier="standard", delivery_team={"owner": "P-owner"})
    c = repo.one("2026-11-23T18:00:00+08:00", "CT-1", "confirmation")
    assert (c.state, c.kind, c.missing, c.owner) == ("breached", "requirements", "requirements", "P-owner")
    assert c.overdue_seconds == 1 * H and iso(c, "deadline") == "2026-11-23T17:00:00+08:00"
    repo.case("requirements", "RQ-1", [("2026-11-23T09:00:00+08:00", "draft"),
                                       ("2026-11-23T16:00:00+08:00", "confirmed")],
              by="P-owner", contract="CT-1", owner="P-owner")
    assert [x for x in repo.clocks("2026-11-23T18:00:00+08:00", "CT-1") if x.clock == "confirmation"] == []
    rq = repo.one("2026-11-23T18:00:00+08:00", "RQ-1", "confirmation")
    assert (rq.state, rq.elapsed_seconds) == ("met", 71 * H)


def test_a_wrong_unrecorded_setting_is_a_policy_problem(repo):
    """A starting kind that does not exist, or a cancel status its kind does not have, is a
    located sla.policy problem of the policy record."""
    import yaml

    from test_sla import LIFECYCLE, ROOT
    from servicebook.derive.sla.policies import check_policies

    data = yaml.safe_load((ROOT / "records/policy/SLA-appraisal.yaml").read_text(encoding="utf-8"))
    data["clocks"][0]["unrecorded"]["cancel"] = ["dropped", "vanished"]
    repo.add("policy", "SLA-appraisal", {k: v for k, v in data.items() if k not in ("id", "schema_version")})
    problems = check_policies(repo.records(), LIFECYCLE)
    assert [(p.path, p.message) for p in problems if "SLA-appraisal" in p.file] == \
        [("clocks[0].unrecorded.cancel", "survey has no status 'vanished'")]
    data["clocks"][0]["unrecorded"] = {"kind": "questionnaire"}
    repo.add("policy", "SLA-appraisal", {k: v for k, v in data.items() if k not in ("id", "schema_version")})
    problems = check_policies(repo.records(), LIFECYCLE)
    assert [(p.path, p.message) for p in problems if "SLA-appraisal" in p.file] == \
        [("clocks[0].unrecorded.kind", "no record kind 'questionnaire'")]


def test_a_contract_completed_without_confirmation_is_breached_and_closed(repo):
    """Signed Fri 20 Nov 2026 17:00, completed Fri 27 Nov 10:00 with no requirements confirmation
    ever filed: the 72-hour clock (due Mon 23 Nov 17:00) ends at completion, breached by
    7 days - 7 h - 72 h = 161 h - 72 h = 89 h, and no longer open."""
    repo.case("contract", "CT-2", [("2026-11-18T10:00:00+08:00", "draft"),
                                   ("2026-11-20T17:00:00+08:00", "signed"),
                                   ("2026-11-27T10:00:00+08:00", "completed")],
              by="P-sales", service_tier="standard", delivery_team={"owner": "P-owner"})
    c = repo.one("2026-12-01T10:00:00+08:00", "CT-2", "confirmation")
    assert (c.state, c.open, c.overdue_seconds) == ("breached", False, 89 * H)
    assert iso(c, "stopped_at") == "2026-11-27T10:00:00+08:00"


def test_an_appraisal_with_an_unreadable_history_is_filed_all_the_same(repo):
    """An appraisal whose history instant has no UTC offset (validate reports it): its own clocks
    are an error row saying so; the survey it names runs no clock of a missing appraisal (it is
    filed) and the other clocks are measured, instead of the whole computation failing."""
    handed_over(repo, "SV-5", "2026-11-20T16:00:00+08:00")
    repo.case("appraisal", "AP-5", [("2026-11-23T10:30:00", "in_progress")], by="P-eng", survey="SV-5")
    at = "2026-11-23T12:00:00+08:00"
    assert [c.clock for c in repo.clocks(at, "SV-5")] == ["handover", "proposal"]
    (row,) = repo.clocks(at, "AP-5")
    assert row.state == "error" and "no UTC offset" in row.error
