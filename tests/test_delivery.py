"""Delivery of the fixture contract CT-20261116-8FJ4QE (VIP, signed 2026-11-18 10:00, team P-he-fang
+ P-wang-qiang, P-zhang-wei): the 72-hour requirements confirmation, a change request, milestones,
and a critical problem whose 2-hour response clock (SLA-delivery-problems-critical, run by the SLA
engine) is breached. Real files in a temporary repository, hand-computed expectations."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, make_repo, sb
from servicebook.load import corpus
from servicebook.derive import delivery
from servicebook.site import presales

CT = "CT-20261116-8FJ4QE"
POLICIES = ["SLA-delivery-problems-minor", "SLA-delivery-problems-major", "SLA-delivery-problems-critical",
            "SLA-requirements"]


def at(text):
    return f"2026-{text}:00+08:00"


def put(root: Path, kind: str, rid: str, data: dict) -> Path:
    path = root / "records" / kind / "2026" / f"{rid}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    base = {"id": rid, "schema_version": 1, "customer": "CU-hengda-logistics"}
    path.write_text(yaml.safe_dump({**base, **data}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def hist(*entries):
    return [{"at": at(a), "by": b, "status": s} for a, b, s in entries]


@pytest.fixture
def repo(tmp_path):
    r = make_repo(tmp_path / "repo")
    (r.root / "records" / "policy").mkdir()
    for pid in POLICIES:
        shutil.copy(REPO / "records" / "policy" / f"{pid}.yaml", r.root / "records" / "policy")
    shutil.copytree(REPO / "records" / "calendar", r.root / "records" / "calendar")
    return r


def requirements(root, confirmed: str | None):
    steps = [("11-18T14:00", "P-he-fang", "draft")] + ([(confirmed, "P-he-fang", "confirmed")] if confirmed else [])
    data = {"filled_by": "P-he-fang", "created_at": at("11-18T14:00"), "status": steps[-1][2], "history": hist(*steps),
            "contract": CT, "owner": "P-he-fang",
            "items": [{"requirement": "三地内部互拨免费", "expectation": "四位短号互拨,接通不超过 2 秒",
                       "scenario": "调度台日常通话"}],
            "out_of_scope": ["中心机房 UPS"]}
    if confirmed:
        data["signatures"] = {"ours": {"by": "P-he-fang", "at": at(confirmed)}, "customer": {"name": "刘海涛", "at": at(confirmed)}}
    return put(root, "requirements", "RQ-20261118-5NQ2WB", data)


def critical(root, answered: str | None, owner="P-zhao-lei", title="无锡中心调度台全部无法外呼"):
    steps = [("12-08T21:40", "P-he-fang", "open")] + ([(answered, "P-he-fang", "answered")] if answered else [])
    data = {"filled_by": "P-he-fang", "created_at": at("12-08T21:40"), "status": steps[-1][2], "history": hist(*steps),
            "contract": CT, "level": "critical", "title": title, "raised_at": at("12-08T21:35"), "owner": owner}
    if answered:
        data["answered_at"] = at(answered)
    return put(root, "problem", "PB-20261208-4RZK7N", data)


# ------------------------------------------------------------------ requirements within 72 hours

@pytest.mark.parametrize("confirmed, state, late", [
    ("11-21T09:59", "met", None),          # due 11-18 10:00 + 72 h = 11-21 10:00
    ("11-21T11:00", "late", 3600),          # one hour late
])
def test_requirements_72_hours(repo, confirmed, state, late):
    requirements(repo.root, confirmed)
    rep = delivery.report(corpus.load(repo.root), CT, at("11-25T09:00"))
    r = rep["requirements"]
    assert r["due"] == at("11-21T10:00")
    assert (r["state"], r["late_seconds"]) == (state, late)
    (clock,) = r["records"][0]["clocks"]  # the SLA engine agrees (policy SLA-requirements)
    assert clock["state"] == ("met" if state == "met" else "breached")


def test_missing_requirements_are_late_after_72_hours(repo):
    c = corpus.load(repo.root)
    assert delivery.report(c, CT, at("11-21T09:00"))["requirements"]["state"] == "open"
    r = delivery.report(c, CT, at("11-22T10:00"))["requirements"]
    assert r["state"] == "late" and r["late_seconds"] == 24 * 3600
    assert delivery.report(c, CT, at("11-18T09:00"))["requirements"]["state"] == "not_signed"


def test_the_requirements_deadline_is_the_policys(repo):
    """The deadline lives in SLA-requirements only: a VIP target of 2 working days in the VIP
    calendar (7x24: every day works) moves it to signed 11-18 10:00 + 2 days = 11-20 10:00, and
    without the policy the report says so instead of inventing 72 hours."""
    path = repo.root / "records" / "policy" / "SLA-requirements.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("vip: {amount: 72, unit: hours}", "vip: {amount: 2, unit: working_days}"), encoding="utf-8")
    r = delivery.report(corpus.load(repo.root), CT, at("11-25T09:00"))["requirements"]
    assert (r["due"], r["state"], r["late_seconds"]) == (at("11-20T10:00"), "late", 5 * 24 * 3600 - 3600)
    path.unlink()
    r = delivery.report(corpus.load(repo.root), CT, at("11-25T09:00"))["requirements"]
    assert (r["due"], r["state"], r["late_seconds"]) == (None, "no_policy", None)


# ------------------------------------------------------------------ change request

def test_change_request_with_resource_assessment(repo):
    put(repo.root, "change", "CH-20261125-8KX1MD", {
        "filled_by": "P-he-fang", "created_at": at("11-25T10:00"), "status": "accepted",
        "history": hist(("11-25T10:00", "P-he-fang", "requested"), ("11-26T15:00", "P-he-fang", "assessed"),
                        ("11-27T11:00", "P-he-fang", "accepted")),
        "contract": CT, "change_type": "date", "requested_by": "customer", "description": "提前 15 天上线",
        "dates": {"current": "2026-12-25", "requested": "2026-12-10"},
        "assessment": {"extra_people": 2, "extra_cost": {"amount": 16000, "currency": "CNY"},
                       "deprioritised": ["录音检索界面推迟到二期"], "assessed_by": "P-wang-qiang",
                       "assessed_at": at("11-26T15:00")},
        "decision": {"outcome": "accepted", "at": at("11-27T11:00"), "customer_signature": {"name": "刘海涛"}}})
    code, problems = repo.validate()
    assert not [p for p in problems if "CH-" in p["file"]], problems
    c = corpus.load(repo.root)
    (ch,) = delivery.report(c, CT, at("11-26T16:00"))["changes"]
    assert (ch["status"], ch["decision"], ch["extra_people"]) == ("assessed", None, 2)
    assert ch["deprioritised"] == ["录音检索界面推迟到二期"]
    (ch,) = delivery.report(c, CT, at("11-28T09:00"))["changes"]
    assert (ch["status"], ch["decision"]) == ("accepted", "accepted")


# ------------------------------------------------------------------ three-level problem response

@pytest.mark.parametrize("when, state", [
    ("12-08T23:00", "running"),    # 1h25m of 2 h used
    ("12-08T23:10", "at_risk"),    # 1h35m >= 75 % of 2 h
    ("12-09T00:00", "breached"),   # 2h25m, still unanswered
])
def test_open_critical_problem_clock(repo, when, state):
    critical(repo.root, None)
    rep = delivery.report(corpus.load(repo.root), CT, at(when))
    (p,) = rep["problems"]
    assert p["open"] and p["response"]["state"] == state
    assert p["response"]["deadline"] == at("12-08T23:35")  # raised 21:35 + 2 hours, VIP or not
    assert p["response_target"] == "2 hours"
    assert rep["open_problems_by_level"] == {"critical": [p["id"]], "major": [], "minor": []}


def test_critical_problem_breaches_its_response_clock(repo):
    critical(repo.root, "12-09T00:05")  # answered 2h30m after it was raised
    c = corpus.load(repo.root)
    (p,) = delivery.report(c, CT, at("12-10T09:00"))["problems"]
    clock = p["response"]
    assert clock["policy"] == "SLA-delivery-problems-critical"
    assert clock["state"] == "breached"
    assert clock["stopped_at"] == at("12-09T00:05")
    assert clock["overdue_seconds"] == 30 * 60
    assert clock["owner"] == "P-zhao-lei" and p["owner_fits"]  # technical manager owns critical
    proc = sb("delivery", CT, "--root", str(repo.root), "--at", at("12-10T09:00"), "--format", "json", cwd=repo.root)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["problems"][0]["response"]["state"] == "breached"


def test_answered_in_time_and_owner_levels(repo):
    critical(repo.root, "12-08T22:05", owner="P-zhang-wei")  # a project member may not own a critical
    put(repo.root, "problem", "PB-20261209-7MWQ2C", {
        "filled_by": "P-wang-qiang", "created_at": at("12-09T10:00"), "status": "open",
        "history": hist(("12-09T10:00", "P-wang-qiang", "open")), "contract": CT, "level": "minor",
        "title": "话机铃声音量", "raised_at": at("12-09T10:00"), "owner": "P-wang-qiang"})
    rep = delivery.report(corpus.load(repo.root), CT, at("12-09T12:00"))
    by_level = {p["level"]: p for p in rep["problems"]}
    assert by_level["critical"]["response"]["state"] == "met"
    assert not by_level["critical"]["owner_fits"]
    assert by_level["minor"]["owner_fits"] and by_level["minor"]["response_target"] == "24 hours"  # VIP minor
    assert by_level["minor"]["response"]["state"] == "running"
    assert rep["open_problems_by_level"]["minor"] == ["PB-20261209-7MWQ2C"]


# ------------------------------------------------------------------ milestones, reports, team

def test_milestones_planned_vs_actual(repo):
    put(repo.root, "progress", "PG-20261204-2TVB6C", {
        "filled_by": "P-he-fang", "created_at": at("12-04T17:30"), "contract": CT, "type": "weekly",
        "date": "2026-12-04", "progress": "两中心安装完成", "next_week_plan": "三地联调",
        "milestones": [{"name": "硬件到货", "planned_on": "2026-11-27", "actual_on": "2026-11-27"},
                       {"name": "两中心安装完成", "planned_on": "2026-12-03", "actual_on": "2026-12-04"},
                       {"name": "三地联调完成", "planned_on": "2026-12-05"},
                       {"name": "交付验收", "planned_on": "2026-12-25"}]})
    rep = delivery.report(corpus.load(repo.root), CT, at("12-08T09:00"))
    assert [(m["state"], m["delay_days"]) for m in rep["milestones"]] == [
        ("done", 0), ("done_late", 1), ("overdue", 3), ("planned", 0)]
    assert rep["milestones_overdue"] == 1  # the delivery index shows this count, not its own
    assert rep["reports"][0]["id"] == "PG-20261204-2TVB6C"
    assert rep["team"]["shape"] == "1+2" and rep["team"]["owner"] == "P-he-fang"


# ------------------------------------------------------------------ site pages

def test_delivery_page_escapes_record_text_and_draws_the_timeline(repo):
    critical(repo.root, None, title="<script>alert(1)</script> **bold** [x](javascript:alert(1))")
    put(repo.root, "progress", "PG-20261204-2TVB6C", {
        "filled_by": "P-he-fang", "created_at": at("12-04T17:30"), "contract": CT, "type": "milestone",
        "date": "2026-12-04", "progress": "ok", "milestones": [
            {"name": "<b>硬件</b> & \"到货\"", "planned_on": "2026-11-27", "actual_on": "2026-11-28"}]})
    c = corpus.load(repo.root)
    for lang, heading in (("zh", "未解决问题"), ("en", "Open problems by level")):
        pages = presales.pages(c, lang, at("12-09T00:00"))
        page = pages[f"delivery/{CT}.md"]
        assert heading in page
        assert "<script" not in page and "<b>" not in page
        assert "&#60;script&#62;" in page
        assert page.count("<svg") == 1 and "</svg></div>" in page
        assert "pipeline/index.md" in pages and "delivery/index.md" in pages
        assert "pipeline/managers/P-li-na.md" in pages
        assert "P-liu-yang" in pages["pipeline/index.md"]  # the referrer's share is shown
    import markdown
    html = markdown.markdown(page, extensions=["tables"])
    assert "<script" not in html and "<svg" in html and 'href="javascript' not in html


def test_quiet_contracts_are_listed_without_a_page_of_their_own(repo):
    c = corpus.load(repo.root)
    # signed 2026-11-18 with nothing since: within 180 days it has a page ...
    soon = presales.pages(c, "en", at("12-09T00:00"))
    assert f"delivery/{CT}.md" in soon
    # ... a year later, quiet and with no open problem, it is a row of the index only
    later = presales.pages(c, "en", "2027-12-09T00:00:00+08:00", options={"detail_window_days": 180})
    assert f"delivery/{CT}.md" not in later and CT in later["delivery/index.md"]
    assert f'href="{CT}/"' not in later["delivery/index.md"]
    # an open problem keeps its page however old the contract is
    critical(repo.root, None)
    later = presales.pages(corpus.load(repo.root), "en", "2027-12-09T00:00:00+08:00")
    assert f"delivery/{CT}.md" in later and f'<a href="{CT}/">{CT}</a>' in later["delivery/index.md"]


def test_the_daily_and_weekly_reports_seed_002_promises_are_counted(repo):
    """Signed Wednesday 2026-11-18, handed over Thursday 11-26 10:00 (IN-20261119-3PZK7M): the
    days of delivery that are over are 11-19 to 11-25: working days Thu 19, Fri 20, Mon 23, Tue 24,
    Wed 25 = 5 daily notes due; Friday 20 closes the week of Monday 16 = 1 weekly report due
    (Friday 27 comes after the hand-over)."""
    for rid, day in (("PG-20261119-D1AAAA", "2026-11-19"), ("PG-20261120-D2AAAA", "2026-11-20")):
        put(repo.root, "progress", rid, {"filled_by": "P-he-fang", "created_at": f"{day}T18:00:00+08:00", "contract": CT,
                                         "type": "daily", "date": day, "progress": "进展"})
    rep = delivery.report(corpus.load(repo.root), CT, at("12-01T10:00"))
    daily, weekly = rep["reporting"]["daily"], rep["reporting"]["weekly"]
    assert (daily["expected"], daily["received"], daily["missing"]) == (5, 2, ["2026-11-23", "2026-11-24", "2026-11-25"])
    assert (weekly["expected"], weekly["received"], weekly["missing"]) == (1, 0, ["2026-11-16"])
    # before the hand-over, as of Monday 11-23 09:00: Thu 19 and Fri 20 are over, both noted
    early = delivery.report(corpus.load(repo.root), CT, at("11-23T09:00"))["reporting"]
    assert (early["daily"]["expected"], early["daily"]["received"], early["weekly"]["expected"]) == (2, 2, 1)
    text = sb("delivery", CT, "--at", at("12-01T10:00"), "--root", str(repo.root), cwd=repo.root).stdout
    assert "Reports received: daily 2/5 working days, weekly 0/1 weeks; no weekly report for the weeks of 2026-11-16" in text


def test_kick_off_and_co_design_rounds_are_on_record_or_said_missing(repo):
    """Seed 002: the 1+N team's kick-off, then the outline, demo and final rounds with the customer."""
    for rid, kind, day in (("PG-20261118-K1AAAA", "kickoff", "2026-11-18"), ("PG-20261120-O1AAAA", "design_outline", "2026-11-20")):
        put(repo.root, "progress", rid, {"filled_by": "P-he-fang", "created_at": f"{day}T18:00:00+08:00", "contract": CT,
                                         "type": kind, "date": day, "progress": "与客户确认"})
    c = corpus.load(repo.root)
    assert [p for p in c.problems if "PG-2026" in p.file] == []  # the new report types are valid
    rep = delivery.report(c, CT, at("12-01T10:00"))
    assert [(s["step"], s["on"]) for s in rep["steps"]] == [
        ("kickoff", "2026-11-18"), ("design_outline", "2026-11-20"), ("design_demo", None), ("design_final", None)]
    text = sb("delivery", CT, "--at", at("12-01T10:00"), "--root", str(repo.root), cwd=repo.root).stdout
    assert "Steps: kickoff 2026-11-18, design_outline 2026-11-20, design_demo NOT ON RECORD, design_final NOT ON RECORD" in text
