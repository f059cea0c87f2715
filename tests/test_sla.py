"""SLA engine: clocks computed from record histories, with hand-computed durations.

Every test writes real YAML records into a temporary repository (the shipped policies and
calendars copied in) and reads them back. Standard calendar: Mon-Fri 09:00-12:00 and 13:00-18:00,
Beijing time, Chinese holidays and make-up days; VIP: 7x24."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from servicebook.derive.sla.engine import Clock, Engine
from servicebook.derive.sla.policies import check_policies, load_policies
from servicebook.derive.sla.reports import at_risk_queue, breach_list, compliance, ever_breached, last_cycles, report
from servicebook.load.records import Record
from conftest import sb

ROOT = Path(__file__).resolve().parent.parent
H = 3600
M = 60
LIFECYCLE = yaml.safe_load((ROOT / "schemas/lifecycle.yaml").read_text(encoding="utf-8"))
CASE_FOLDERS = {"person", "customer", "product", "policy", "calendar"}


class Repo:
    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(ROOT / "schemas", root / "schemas")
        for kind in ("policy", "calendar"):
            shutil.copytree(ROOT / "records" / kind, root / "records" / kind)
        self.add("customer", "CU-std", {"name": "标准客户", "size": "small", "service_tier": "standard"})
        self.add("customer", "CU-vip", {"name": "VIP 客户", "size": "large", "service_tier": "vip"})
        self.add("person", "P-cs", {"name": "孙丽", "roles": ["customer_service"], "department": "customer_service"})
        self.add("person", "P-eng", {"name": "王强", "roles": ["technical_engineer"], "department": "technical"})
        self.add("person", "P-sales", {"name": "张伟", "roles": ["salesperson"], "department": "sales"})

    def add(self, kind: str, rid: str, data: dict) -> Path:
        data = {"id": rid, "schema_version": 1, **data}
        folder = self.root / "records" / kind
        if kind not in CASE_FOLDERS:
            folder = folder / "2026"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{rid}.yaml"
        # safe_dump quotes instant and date strings, as records must
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def case(self, kind: str, rid: str, history: list[tuple[str, str]], customer="CU-std", by="P-cs",
             form_kind: str | None = None, **fields):
        """A case record; a complaint is a quality complaint unless ``form_kind`` says otherwise
        (its field ``kind``: the policies differ, SLA-complaint and SLA-enquiry)."""
        if kind == "complaint":
            fields = {"kind": form_kind or "quality_complaint", **fields}
        hist = [{"at": at, "by": by, "status": st} for at, st in history]
        return self.add(kind, rid, {"customer": customer, "filled_by": by, "created_at": history[0][0],
                                    "status": history[-1][1], "history": hist, **fields})

    def records(self) -> list[Record]:
        out = []
        for p in sorted((self.root / "records").rglob("*.yaml")):
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
            rel = p.relative_to(self.root)
            out.append(Record(rel.parts[1], p.stem, rel, data))
        return out

    def engine(self) -> Engine:
        return Engine(self.records(), lifecycle=LIFECYCLE)

    def clocks(self, at: str, case: str | None = None, clock: str | None = None):
        cs = self.engine().clocks(at)
        return [c for c in cs if (case is None or c.case == case) and (clock is None or c.clock == clock)]

    def one(self, at: str, case: str, clock: str) -> Clock:
        (c,) = self.clocks(at, case, clock)
        return c


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path)


def iso(c: Clock, field: str):
    return c.to_dict()[field]


# ------------------------------------------------------------------ the hand-computed cases

def test_complaint_friday_evening_fixed_monday(repo):
    """Standard contract; received Fri 20 Nov 17:30, fixed Mon 23 Nov 10:00.
    Working time: Fri 17:30-18:00 + Mon 09:00-10:00 = 1 h 30 min. One working day from Fri 17:30
    is Mon 17:30 (8 working hours)."""
    repo.add("contract", "CT-std", {"customer": "CU-std", "service_tier": "standard"})
    repo.case("complaint", "CP-1", [("2026-11-20T17:30:00+08:00", "open"),
                                    ("2026-11-23T09:05:00+08:00", "in_progress"),
                                    ("2026-11-23T10:00:00+08:00", "resolved")],
              received_at="2026-11-20T17:30:00+08:00", contract="CT-std", assigned_to="P-eng")
    fix = repo.one("2026-11-23T12:00:00+08:00", "CP-1", "fix")
    assert fix.tier == "standard"
    assert fix.state == "met"
    assert fix.elapsed_seconds == 1 * H + 30 * M
    assert fix.target_seconds == 8 * H
    assert fix.remaining_seconds == 6 * H + 30 * M
    assert iso(fix, "deadline") == "2026-11-23T17:30:00+08:00"
    assert iso(fix, "stopped_at") == "2026-11-23T10:00:00+08:00"
    assert fix.owner == "P-eng" and fix.department == "technical"
    assert fix.policy == "SLA-complaint" and fix.policy_version == 2
    # as of Monday 09:30 the same clock was running with 1 h used
    early = repo.one("2026-11-23T09:30:00+08:00", "CP-1", "fix")
    assert (early.state, early.elapsed_seconds, early.stopped_at) == ("running", 1 * H, None)
    # callback clock started at the fix and runs until a callback is done
    cb = repo.one("2026-11-23T12:00:00+08:00", "CP-1", "callback")
    assert (cb.state, cb.elapsed_seconds) == ("running", 2 * H)  # Mon 10:00-12:00
    assert iso(cb, "deadline") == "2026-11-24T10:00:00+08:00"


def test_spring_festival_with_makeup_saturday(repo):
    """Received Fri 13 Feb 2026 16:00. Sat 14 Feb is a make-up working day; 15-23 Feb are off.
    Fix deadline (1 working day): Sat 14 Feb 16:00. Resolved Tue 24 Feb 10:00:
    Fri 2 h + Sat 8 h + Tue 1 h = 11 h, 3 h late. Close (2 working days) by Tue 24 Feb 16:00;
    closed Tue 15:00 after Fri 2 h + Sat 8 h + Tue 5 h = 15 h of 16 h."""
    repo.case("complaint", "CP-2", [("2026-02-13T16:00:00+08:00", "open"),
                                    ("2026-02-24T10:00:00+08:00", "resolved"),
                                    ("2026-02-24T15:00:00+08:00", "closed")],
              received_at="2026-02-13T16:00:00+08:00")
    at = "2026-03-01T00:00:00+08:00"
    fix = repo.one(at, "CP-2", "fix")
    assert iso(fix, "deadline") == "2026-02-14T16:00:00+08:00"
    assert fix.state == "breached"
    assert fix.elapsed_seconds == 11 * H
    assert fix.overdue_seconds == 3 * H
    close = repo.one(at, "CP-2", "close")
    assert iso(close, "deadline") == "2026-02-24T16:00:00+08:00"
    assert (close.state, close.elapsed_seconds, close.target_seconds) == ("met", 15 * H, 16 * H)


def test_vip_case_over_national_day(repo):
    """VIP contract (customer itself standard): 7x24, holidays count. Received Thu 1 Oct 2026
    10:00 (National Day), resolved Fri 2 Oct 08:00 = 22 h of 24 h; closed Sat 3 Oct 12:00 = 50 h
    of 48 h, 2 h late. The same case on a standard contract would not have started counting."""
    repo.add("contract", "CT-vip", {"customer": "CU-std", "service_tier": "vip"})
    hist = [("2026-10-01T10:00:00+08:00", "open"), ("2026-10-02T08:00:00+08:00", "resolved"),
            ("2026-10-03T12:00:00+08:00", "closed")]
    repo.case("complaint", "CP-3", hist, received_at=hist[0][0], contract="CT-vip")
    repo.add("contract", "CT-std", {"customer": "CU-std", "service_tier": "standard"})
    repo.case("complaint", "CP-3s", hist, received_at=hist[0][0], contract="CT-std")
    at = "2026-10-05T00:00:00+08:00"
    fix = repo.one(at, "CP-3", "fix")
    assert fix.tier == "vip" and fix.calendar == "CAL-7x24"
    assert (fix.state, fix.elapsed_seconds, fix.target_seconds) == ("met", 22 * H, 24 * H)
    close = repo.one(at, "CP-3", "close")
    assert (close.state, close.elapsed_seconds, close.overdue_seconds) == ("breached", 50 * H, 2 * H)
    assert iso(close, "deadline") == "2026-10-03T10:00:00+08:00"
    std = repo.one(at, "CP-3s", "fix")
    assert (std.tier, std.state, std.elapsed_seconds) == ("standard", "met", 0)


def test_pause_for_parts(repo):
    """Received Mon 23 Nov 09:00; waiting for parts Mon 11:00 - Wed 25 Nov 14:00; resolved Wed
    16:00. Counted: Mon 09-11 (2 h) + Wed 14-16 (2 h) = 4 h of 8 h. The pause moves the deadline
    from Mon 18:00 to Thu 26 Nov 11:00 (4 h left at Wed 16:00: Wed 16-18, Thu 09-11)."""
    repo.case("complaint", "CP-4", [("2026-11-23T09:00:00+08:00", "open"),
                                    ("2026-11-23T09:30:00+08:00", "in_progress"),
                                    ("2026-11-23T11:00:00+08:00", "waiting_parts"),
                                    ("2026-11-25T14:00:00+08:00", "in_progress"),
                                    ("2026-11-25T16:00:00+08:00", "resolved")],
              received_at="2026-11-23T09:00:00+08:00")
    fix = repo.one("2026-11-30T00:00:00+08:00", "CP-4", "fix")
    assert (fix.state, fix.elapsed_seconds, fix.target_seconds) == ("met", 4 * H, 8 * H)
    assert iso(fix, "deadline") == "2026-11-26T11:00:00+08:00"


def test_at_in_the_middle_of_a_pause(repo):
    """The same history as of Tue 24 Nov 15:00 (parts still awaited): paused, 2 h used, 6 h left,
    no deadline while paused. As of Mon 10:00: running, 1 h used."""
    repo.case("complaint", "CP-4", [("2026-11-23T09:00:00+08:00", "open"),
                                    ("2026-11-23T09:30:00+08:00", "in_progress"),
                                    ("2026-11-23T11:00:00+08:00", "waiting_parts"),
                                    ("2026-11-25T14:00:00+08:00", "in_progress"),
                                    ("2026-11-25T16:00:00+08:00", "resolved")],
              received_at="2026-11-23T09:00:00+08:00")
    fix = repo.one("2026-11-24T15:00:00+08:00", "CP-4", "fix")
    assert (fix.state, fix.elapsed_seconds, fix.remaining_seconds) == ("paused", 2 * H, 6 * H)
    assert fix.deadline is None and fix.open
    assert fix.to_dict()["state"] == "paused"
    before = repo.one("2026-11-23T10:00:00+08:00", "CP-4", "fix")
    assert (before.state, before.elapsed_seconds) == ("running", 1 * H)
    assert iso(before, "deadline") == "2026-11-23T18:00:00+08:00"
    # at the resume instant + 1 h: running again, 3 h used, deadline Thu 11:00
    after = repo.one("2026-11-25T15:00:00+08:00", "CP-4", "fix")
    assert (after.state, after.elapsed_seconds) == ("running", 3 * H)
    assert iso(after, "deadline") == "2026-11-26T11:00:00+08:00"


def test_half_day_deadline_crossing_lunch(repo):
    """Survey opened Wed 18 Nov 10:30; half a working day = 4 h: 10:30-12:00 + 13:00-15:30.
    Handed over 15:00: 3.5 h used, met. As of 14:30: 3 h = 75 % used, at risk with 1 h left."""
    repo.case("survey", "SV-1", [("2026-11-18T10:30:00+08:00", "open"),
                                 ("2026-11-18T15:00:00+08:00", "handed_over")],
              by="P-sales", salesperson="P-sales", survey_date="2026-11-18")
    c = repo.one("2026-11-18T16:00:00+08:00", "SV-1", "handover")
    assert iso(c, "deadline") == "2026-11-18T15:30:00+08:00"
    assert (c.state, c.elapsed_seconds, c.target_seconds) == ("met", 3.5 * H, 4 * H)
    risk = repo.one("2026-11-18T14:30:00+08:00", "SV-1", "handover")
    assert (risk.state, risk.remaining_seconds) == ("at_risk", 1 * H)
    calm = repo.one("2026-11-18T14:00:00+08:00", "SV-1", "handover")
    assert calm.state == "running"
    late = repo.one("2026-11-18T16:00:00+08:00", "SV-1", "proposal")
    # proposal: by the end of the 5th working day counting 18 Nov: Tue 24 Nov 18:00
    assert iso(late, "deadline") == "2026-11-24T18:00:00+08:00"
    assert late.state == "running"


def test_half_day_breached_by_half_an_hour(repo):
    repo.case("survey", "SV-2", [("2026-11-18T10:30:00+08:00", "open"),
                                 ("2026-11-18T16:00:00+08:00", "handed_over")],
              by="P-sales", salesperson="P-sales", survey_date="2026-11-18")
    c = repo.one("2026-11-19T00:00:00+08:00", "SV-2", "handover")
    assert (c.state, c.overdue_seconds) == ("breached", 30 * M)
    # open and overdue: breached while still running
    repo.case("survey", "SV-3", [("2026-11-18T10:30:00+08:00", "open")],
              by="P-sales", salesperson="P-sales", survey_date="2026-11-18")
    c = repo.one("2026-11-18T17:00:00+08:00", "SV-3", "handover")
    assert (c.state, c.overdue_seconds, c.stopped_at, c.open) == ("breached", 1.5 * H, None, True)


def test_reopened_case_starts_a_new_cycle(repo):
    """Cycle 1: received Mon 23 Nov 09:00, resolved 11:00, closed 14:00. Reopened Thu 26 Nov 10:00,
    resolved Fri 27 Nov 11:00: Thu 10-12 and 13-18 (7 h) + Fri 09-11 (2 h) = 9 h of 8: late."""
    repo.case("complaint", "CP-5", [("2026-11-23T09:00:00+08:00", "open"),
                                    ("2026-11-23T11:00:00+08:00", "resolved"),
                                    ("2026-11-23T14:00:00+08:00", "closed"),
                                    ("2026-11-26T10:00:00+08:00", "reopened"),
                                    ("2026-11-27T11:00:00+08:00", "resolved")],
              received_at="2026-11-23T09:00:00+08:00")
    fixes = repo.clocks("2026-11-27T12:00:00+08:00", "CP-5", "fix")
    assert [(c.cycle, c.state, c.elapsed_seconds, c.last_cycle) for c in fixes] == [
        (1, "met", 2 * H, False), (2, "breached", 9 * H, True)]
    assert iso(fixes[1], "started_at") == "2026-11-26T10:00:00+08:00"
    # the first cycle's callback never happened: late (Mon 11:00-18:00, Tue, Wed, Thu 09-10 = 23 h)
    # when the reopening ended that cycle
    cbs = repo.clocks("2026-11-27T12:00:00+08:00", "CP-5", "callback")
    assert [(c.cycle, c.state, c.elapsed_seconds) for c in cbs] == [(1, "breached", 23 * H), (2, "running", 1 * H)]
    clocks = repo.engine().clocks("2026-11-27T12:00:00+08:00")
    assert ("CP-5", "SLA-complaint/fix") in ever_breached(clocks)
    last = {c.key: c.state for c in last_cycles(clocks) if c.case == "CP-5"}
    assert last["SLA-complaint/fix"] == "breached"
    # before the reopening only one cycle exists
    assert len(repo.clocks("2026-11-25T00:00:00+08:00", "CP-5", "fix")) == 1


def test_callback_and_repair_chain(repo):
    """Repair of a complaint on a VIP contract inherits VIP; the callback record stops the
    case's callback clock at its `called_at`."""
    repo.add("contract", "CT-vip", {"customer": "CU-std", "service_tier": "vip"})
    repo.case("complaint", "CP-6", [("2026-12-08T08:00:00+08:00", "open")],
              received_at="2026-12-08T08:00:00+08:00", contract="CT-vip")
    repo.case("repair", "RP-6", [("2026-12-08T08:50:00+08:00", "open"),
                                 ("2026-12-08T17:30:00+08:00", "fixed")],
              by="P-eng", engineer="P-eng", complaint="CP-6", reported_at="2026-12-08T08:45:00+08:00",
              fixed_at="2026-12-08T17:30:00+08:00")
    repo.case("callback", "CB-6", [("2026-12-09T09:00:00+08:00", "scheduled"),
                                   ("2026-12-09T11:00:00+08:00", "done")],
              case="RP-6", called_at="2026-12-09T10:30:00+08:00")
    at = "2026-12-10T00:00:00+08:00"
    fix = repo.one(at, "RP-6", "fix")
    assert (fix.tier, fix.state, fix.elapsed_seconds) == ("vip", "met", 8 * H + 45 * M)
    cb = repo.one(at, "RP-6", "callback")
    assert (cb.state, cb.elapsed_seconds) == ("met", 17 * H)
    assert iso(cb, "stopped_at") == "2026-12-09T10:30:00+08:00"
    # before the callback record existed the clock was still running
    assert repo.one("2026-12-09T10:00:00+08:00", "RP-6", "callback").state == "running"
    # the callback form itself has no clock of its own
    assert repo.clocks(at, "CB-6") == []
    # a callback filed on the repair's complaint also stops the repair's callback clock
    repo.case("callback", "CB-7", [("2026-12-09T09:00:00+08:00", "scheduled"),
                                   ("2026-12-09T11:00:00+08:00", "done")],
              case="CP-6", called_at="2026-12-09T10:30:00+08:00")
    repo.case("repair", "RP-7", [("2026-12-08T08:50:00+08:00", "open"), ("2026-12-08T17:30:00+08:00", "fixed")],
              by="P-eng", engineer="P-eng", complaint="CP-6", reported_at="2026-12-08T08:45:00+08:00")
    cb7 = repo.one(at, "RP-7", "callback")
    assert (cb7.state, iso(cb7, "stopped_at")) == ("met", "2026-12-09T10:30:00+08:00")


def test_presales_chain_clocks(repo):
    """Survey handed over Wed 18 Nov 09:30; appraisal (created later) runs from the hand-over:
    done 12:30 = 2.5 h of 4 h. Solution draft from 12:30 until the solution enters review at
    16:30 = 3.5 h of 4 h. Manager review: returned after 1 h, approved after 9 h (late)."""
    repo.case("survey", "SV-7", [("2026-11-18T09:00:00+08:00", "open"),
                                 ("2026-11-18T09:30:00+08:00", "handed_over")],
              by="P-sales", salesperson="P-sales", survey_date="2026-11-18")
    repo.case("appraisal", "AP-7", [("2026-11-18T10:00:00+08:00", "in_progress"),
                                    ("2026-11-18T12:30:00+08:00", "done")],
              by="P-eng", survey="SV-7")
    repo.case("solution", "SO-7", [("2026-11-18T15:00:00+08:00", "draft"),
                                   ("2026-11-18T16:30:00+08:00", "in_review"),
                                   ("2026-11-18T17:30:00+08:00", "returned"),
                                   ("2026-11-19T09:00:00+08:00", "in_review"),
                                   ("2026-11-20T10:00:00+08:00", "approved"),
                                   ("2026-11-23T10:00:00+08:00", "proposed")],
              by="P-sales", survey="SV-7", appraisal="AP-7")
    at = "2026-11-30T00:00:00+08:00"
    ap = repo.one(at, "AP-7", "appraisal")
    assert (ap.state, ap.elapsed_seconds) == ("met", 2.5 * H)
    assert iso(ap, "started_at") == "2026-11-18T09:30:00+08:00"
    draft = repo.one(at, "AP-7", "solution_draft")
    assert (draft.state, draft.elapsed_seconds, draft.owner) == ("met", 3.5 * H, "P-sales")
    reviews = repo.clocks(at, "SO-7", "manager_review")
    assert [(c.cycle, c.state, c.elapsed_seconds) for c in reviews] == [(1, "met", 1 * H), (2, "breached", 9 * H)]
    prop = repo.one(at, "SV-7", "proposal")
    # day 1 Wed 18 .. day 5 Tue 24; proposed Mon 23 10:00
    assert prop.state == "met"
    assert iso(prop, "deadline") == "2026-11-24T18:00:00+08:00"


def test_dropped_survey_cancels_its_clocks(repo):
    repo.case("survey", "SV-8", [("2026-11-18T09:00:00+08:00", "open"),
                                 ("2026-11-18T10:00:00+08:00", "dropped")],
              by="P-sales", salesperson="P-sales", survey_date="2026-11-18")
    states = {c.clock: c.state for c in repo.clocks("2026-11-30T00:00:00+08:00", "SV-8")}
    assert states == {"handover": "cancelled", "proposal": "cancelled"}


def test_inspection_schedule_per_product_plan(repo):
    """Handed over 26 Nov 2026; the product plans inspections at months 1 and 3. The month-1
    inspection, done 20 Dec, is met; as of 20 Feb 2027 the month-3 one (due 26 Feb) is at risk."""
    repo.add("product", "PD-gw", {"name": "网关", "line": "telecom", "category": "voip_gateway",
                                  "strategic_weight": "core",
                                  "service_plan": {"preventive": True, "inspection_months": [1, 3]}})
    repo.case("installation", "IN-1", [("2026-11-19T09:30:00+08:00", "ordered"),
                                       ("2026-11-26T10:00:00+08:00", "handed_over")],
              contract="CT-x", devices=[{"brand": "b", "model": "m", "product": "PD-gw"}],
              handed_over_on="2026-11-26")
    repo.case("inspection", "IS-1", [("2026-12-15T09:00:00+08:00", "planned"),
                                     ("2026-12-20T10:00:00+08:00", "done")], installation="IN-1")
    cs = repo.clocks("2027-02-20T00:00:00+08:00", "IN-1")
    got = {c.clock: (c.state, iso(c, "deadline")) for c in cs}
    assert got == {"inspection_1m": ("met", "2026-12-27T00:00:00+08:00"),
                   "inspection_3m": ("at_risk", "2027-02-27T00:00:00+08:00")}
    later = {c.clock: c.state for c in repo.clocks("2027-03-01T00:00:00+08:00", "IN-1")}
    assert later["inspection_3m"] == "breached"


def test_inspection_counts_for_the_month_it_names(repo):
    """Handed over 10 Jul 2026; the plan has months 1, 2 and 3 (due 10 Aug, 10 Sep, 10 Oct).
    IS-a names month 3, dated 8 Aug (marked done the next morning): month 3 is met, early, by the
    end of 8 Aug, and month 1 is not fulfilled by it. IS-b names month 2 and was recorded missed on
    12 Sep: breached and closed then. IS-c names month 1 but was done before the hand-over: it
    counts for nothing, so month 1 is breached and still open as of 20 Sep."""
    repo.add("product", "PD-gw", {"name": "网关", "line": "telecom", "category": "voip_gateway",
                                  "strategic_weight": "core",
                                  "service_plan": {"preventive": True, "inspection_months": [1, 2, 3]}})
    repo.case("installation", "IN-2", [("2026-06-22T09:30:00+08:00", "ordered"),
                                       ("2026-07-10T10:00:00+08:00", "handed_over")],
              contract="CT-x", devices=[{"brand": "b", "model": "m", "product": "PD-gw"}],
              handed_over_on="2026-07-10")
    repo.case("inspection", "IS-a", [("2026-08-01T09:00:00+08:00", "planned"),
                                     ("2026-08-09T10:00:00+08:00", "done")],
              installation="IN-2", schedule_month=3, done_on="2026-08-08")
    repo.case("inspection", "IS-b", [("2026-09-01T09:00:00+08:00", "planned"),
                                     ("2026-09-12T09:00:00+08:00", "missed")],
              installation="IN-2", schedule_month=2)
    repo.case("inspection", "IS-c", [("2026-07-01T09:00:00+08:00", "planned"),
                                     ("2026-07-05T09:00:00+08:00", "done")],
              installation="IN-2", schedule_month=1, done_on="2026-07-05")
    got = {c.clock: (c.state, c.open, iso(c, "deadline"), iso(c, "stopped_at"))
           for c in repo.clocks("2026-09-20T12:00:00+08:00", "IN-2")}
    assert got == {
        "inspection_1m": ("breached", True, "2026-08-11T00:00:00+08:00", None),
        "inspection_2m": ("breached", False, "2026-09-11T00:00:00+08:00", "2026-09-12T09:00:00+08:00"),
        "inspection_3m": ("met", False, "2026-10-11T00:00:00+08:00", "2026-08-09T00:00:00+08:00"),
    }
    (c,) = repo.clocks("2026-09-20T12:00:00+08:00", "IN-2", "inspection_1m")
    assert c.policy_version == 2


def test_beyond_calendar_coverage_is_an_error_row(repo):
    repo.case("complaint", "CP-9", [("2026-12-31T17:00:00+08:00", "open")],
              received_at="2026-12-31T17:00:00+08:00")
    c = repo.one("2027-01-02T00:00:00+08:00", "CP-9", "fix")
    assert c.state == "error" and "covered_years" in c.error


# ------------------------------------------------------------------ policies and validation

def test_shipped_policies_cover_every_deadline():
    recs = [Record(p.parent.name, p.stem, p, yaml.safe_load(p.read_text(encoding="utf-8")))
            for p in sorted((ROOT / "records/policy").glob("*.yaml"))]
    pols, errors = load_policies(recs)
    assert not errors
    clocks = {(p.kind, c.name): c for p in pols for c in p.clocks}
    expected = {
        ("survey", "handover"), ("appraisal", "appraisal"), ("appraisal", "solution_draft"),
        ("solution", "manager_review"), ("survey", "proposal"), ("requirements", "confirmation"),
        ("complaint", "fix"), ("complaint", "callback"), ("complaint", "close"),
        ("repair", "fix"), ("repair", "callback"), ("repair", "close"), ("installation", "inspection"),
    }
    assert expected <= set(clocks)
    for key, c in clocks.items():
        assert c.schedule_months or set(c.targets) == {"standard", "vip"}, key
    assert clocks[("installation", "inspection")].schedule_months == (1, 3, 6, 12)
    for p in sorted((ROOT / "records/policy").glob("*.yaml")) + sorted((ROOT / "records/calendar").glob("*.yaml")):
        first = p.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=../../schemas/"), p


def test_shipped_records_validate_against_their_schemas():
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    base = "https://servicebook.local/schemas/"
    raw = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / "schemas").glob("*.schema.json")}
    reg = Registry().with_resources(
        (base + n, Resource.from_contents({**s, "$id": base + n}, default_specification=DRAFT7)) for n, s in raw.items())
    for kind in ("policy", "calendar"):
        v = Draft7Validator({**raw[f"{kind}.schema.json"], "$id": base + f"{kind}.schema.json"}, registry=reg)
        assert not list(v.iter_errors(raw[f"{kind}.schema.json"]["examples"][0]))
        for p in (ROOT / "records" / kind).glob("*.yaml"):
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
            errs = [e.message for e in v.iter_errors(data)]
            assert not errs, (p.name, errs)
            assert data["id"] == p.stem


def test_schema_conventions():
    labels = ("title", "x-title-zh", "description", "x-description-zh")

    def walk(node, path, found, labelled):
        if labelled and set(node) != {"$ref"}:
            found += [f"{path}: {k}" for k in labels if not node.get(k)]
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path
        if "enum" in node:
            assert set(node["x-enum-labels"]) == set(node["enum"]), path
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{path}.{name}", found, True)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", found, True)

    for kind in ("policy", "calendar"):
        schema = json.loads((ROOT / f"schemas/{kind}.schema.json").read_text(encoding="utf-8"))
        assert "$id" not in schema
        assert {"id", "schema_version"} <= set(schema["required"])
        found: list[str] = []
        walk(schema, kind, found, False)
        assert not found, found


def test_check_policies_reports_cases_without_or_with_several_policies(repo):
    repo.case("complaint", "CP-a", [("2026-11-23T09:00:00+08:00", "open")], received_at="2026-11-23T09:00:00+08:00")
    repo.case("complaint", "CP-closed", [("2026-11-23T09:00:00+08:00", "open"),
                                         ("2026-11-23T10:00:00+08:00", "resolved"),
                                         ("2026-11-23T11:00:00+08:00", "closed")],
              received_at="2026-11-23T09:00:00+08:00")
    repo.case("repair", "RP-a", [("2026-11-23T09:00:00+08:00", "open")], reported_at="2026-11-23T09:00:00+08:00")
    (repo.root / "records/policy/SLA-repair.yaml").unlink()
    assert [p for p in check_policies(repo.records(), LIFECYCLE) if "CP-" in p.file] == []
    # a second policy for complaints of either tier: the open complaint matches two
    data = yaml.safe_load((ROOT / "records/policy/SLA-complaint.yaml").read_text(encoding="utf-8"))
    data["id"] = "SLA-complaint-copy"
    repo.add("policy", "SLA-complaint-copy", {k: v for k, v in data.items() if k not in ("id", "schema_version")})
    problems = check_policies(repo.records(), LIFECYCLE)
    msgs = {Path(p.file).stem: p.message for p in problems}
    assert all(p.rule == "sla.policy" for p in problems)
    assert "several SLA policies" in msgs["CP-a"] and "SLA-complaint-copy" in msgs["CP-a"]
    assert "CP-closed" not in msgs  # closed cases need no policy
    assert "no SLA policy applies" in msgs["RP-a"]


def test_check_policies_reports_unknown_statuses(repo):
    data = yaml.safe_load((ROOT / "records/policy/SLA-complaint.yaml").read_text(encoding="utf-8"))
    data["clocks"][0]["stop"] = [{"status": ["fixed"]}]
    data["applies_to"]["effective_from"] = "2030-01-01"
    repo.add("policy", "SLA-complaint-2030", {k: v for k, v in data.items() if k not in ("id", "schema_version")})
    problems = check_policies(repo.records(), LIFECYCLE)
    assert any(p.path == "clocks[0].stop[0].status" and "'fixed'" in p.message for p in problems)


def test_effective_window_selects_the_policy_version(repo):
    data = yaml.safe_load((ROOT / "records/policy/SLA-complaint.yaml").read_text(encoding="utf-8"))
    shipped = data["version"]
    data["version"] = shipped + 1
    data["applies_to"]["effective_from"] = "2026-12-01"
    data["clocks"][0]["target"]["standard"] = {"amount": 4, "unit": "working_hours"}
    repo.add("policy", "SLA-complaint-v2", {k: v for k, v in data.items() if k not in ("id", "schema_version")})
    old = yaml.safe_load((ROOT / "records/policy/SLA-complaint.yaml").read_text(encoding="utf-8"))
    old["applies_to"]["effective_until"] = "2026-12-01"
    repo.add("policy", "SLA-complaint", {k: v for k, v in old.items() if k not in ("id", "schema_version")})
    repo.case("complaint", "CP-old", [("2026-11-30T09:00:00+08:00", "open")], received_at="2026-11-30T09:00:00+08:00")
    repo.case("complaint", "CP-new", [("2026-12-01T09:00:00+08:00", "open")], received_at="2026-12-01T09:00:00+08:00")
    a = repo.one("2026-12-01T10:00:00+08:00", "CP-old", "fix")
    b = repo.one("2026-12-01T10:00:00+08:00", "CP-new", "fix")
    assert (a.policy, a.policy_version, a.target_seconds) == ("SLA-complaint", shipped, 8 * H)
    assert (b.policy, b.policy_version, b.target_seconds) == ("SLA-complaint-v2", shipped + 1, 4 * H)
    assert not [p for p in check_policies(repo.records(), LIFECYCLE) if "CP-" in p.file]


# ------------------------------------------------------------------ reports

def test_reports(repo):
    repo.add("contract", "CT-vip", {"customer": "CU-vip", "service_tier": "vip"})
    repo.case("complaint", "CP-met", [("2026-11-23T09:00:00+08:00", "open"), ("2026-11-23T10:00:00+08:00", "resolved")],
              received_at="2026-11-23T09:00:00+08:00", assigned_to="P-eng")
    repo.case("complaint", "CP-late", [("2026-11-02T09:00:00+08:00", "open"), ("2026-11-04T10:00:00+08:00", "resolved")],
              received_at="2026-11-02T09:00:00+08:00", assigned_to="P-eng")
    repo.case("complaint", "CP-risk", [("2026-11-24T09:00:00+08:00", "open")],
              received_at="2026-11-24T09:00:00+08:00", assigned_to="P-cs")
    repo.case("complaint", "CP-risk-vip", [("2026-11-24T09:00:00+08:00", "open")], customer="CU-vip",
              received_at="2026-11-24T09:00:00+08:00", assigned_to="P-cs")
    repo.case("complaint", "CP-risk2", [("2026-11-24T09:00:00+08:00", "open")], customer="CU-vip",
              received_at="2026-11-24T09:00:00+08:00", assigned_to="P-cs", contract="CT-std-missing")
    eng = repo.engine()
    at = "2026-11-24T16:00:00+08:00"  # 6 h of 8 used on the standard ones: at risk
    clocks = eng.clocks(at)
    fixes = [c for c in clocks if c.clock == "fix"]
    by_clock = {r["key"]: r for r in compliance(fixes, "clock")}
    assert by_clock["SLA-complaint/fix"] == {"key": "SLA-complaint/fix", "met": 1, "breached": 1, "open": 3,
                                            "decided": 2, "compliance": 50.0}
    by_month = {r["key"]: r["compliance"] for r in compliance(fixes, "month")}
    assert by_month["2026-11"] == 50.0
    by_person = {r["key"]: (r["met"], r["breached"]) for r in compliance(fixes, "person")}
    assert by_person["P-eng"] == (1, 1)
    by_dept = {r["key"]: r["decided"] for r in compliance(fixes, "department")}
    assert by_dept["technical"] == 2
    by_tier = {r["key"]: r["open"] for r in compliance(fixes, "tier")}
    assert by_tier == {"standard": 1, "vip": 2}
    breaches = breach_list(fixes)
    assert [c.case for c in breaches] == ["CP-late"]
    assert breaches[0].overdue_seconds == 9 * H  # due Mon 2 Nov 18:00; Tue 8 h + Wed 1 h late
    queue = at_risk_queue(fixes)
    # VIP: 7 h of 24 used -> running; standard 6 h of 8 -> at risk
    assert [c.case for c in queue] == ["CP-risk"]
    # among equal deadlines, the higher customer value first
    at_vip = "2026-11-25T04:00:00+08:00"  # 19 h of 24 on both VIP complaints
    q = at_risk_queue([c for c in eng.clocks(at_vip) if c.clock == "fix" and c.tier == "vip"],
                      priority=lambda cu: (0, -{"CU-vip": 9.0}.get(cu, 1.0)))
    assert {c.case for c in q} == {"CP-risk-vip", "CP-risk2"}
    full = report(eng, at)
    assert set(full) >= {"as_of", "policies", "counts", "clocks", "compliance", "breaches", "at_risk"}
    assert set(full["compliance"]) == {"clock", "month", "tier", "department", "person"}
    json.dumps(full)


def test_many_clocks_compute_fast_enough_in_a_smoke_run(repo):
    """Not a timing test: just that a thousand cases compute without error (see bench/)."""
    recs = repo.records()
    for i in range(1000):
        day = 2 + i % 26
        recs.append(Record("complaint", f"CP-{i}", Path("x"), {
            "customer": "CU-std", "filled_by": "P-cs", "kind": "quality_complaint",
            "received_at": f"2026-11-{day:02d}T10:00:00+08:00",
            "created_at": f"2026-11-{day:02d}T10:00:00+08:00", "status": "resolved",
            "history": [{"at": f"2026-11-{day:02d}T10:00:00+08:00", "by": "P-cs", "status": "open"},
                        {"at": f"2026-11-{day:02d}T15:00:00+08:00", "by": "P-cs", "status": "resolved"}]}))
    clocks = Engine(recs, lifecycle=LIFECYCLE).clocks("2026-12-15T00:00:00+08:00")
    assert len(clocks) == 3000
    assert not [c for c in clocks if c.state == "error"]


# ------------------------------------------------------------------ the command

def test_command_json_and_text(repo, capsys, monkeypatch):
    from servicebook.commands import sla as cmd

    repo.add("contract", "CT-std", {"customer": "CU-std", "service_tier": "standard"})
    repo.case("complaint", "CP-1", [("2026-11-20T17:30:00+08:00", "open"),
                                    ("2026-11-23T10:00:00+08:00", "resolved")],
              received_at="2026-11-20T17:30:00+08:00", contract="CT-std", assigned_to="P-eng")
    import argparse

    parser = argparse.ArgumentParser()
    cmd.configure(parser)
    args = parser.parse_args(["--root", str(repo.root), "--at", "2026-11-23T12:00:00+08:00", "--format", "json"])
    assert cmd.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2026-11-23T12:00:00+08:00"
    rows = {(r["case"], r["clock"]): r for r in out["clocks"]}
    fix = rows[("CP-1", "fix")]
    assert fix["state"] == "met" and fix["elapsed_seconds"] == 5400 and fix["deadline"] == "2026-11-23T17:30:00+08:00"
    documented = cmd.__doc__
    for key in fix:
        assert f"    {key}" in documented or f", {key}" in documented, key
    for key in out:
        assert f'"{key}"' in documented, key
    args = parser.parse_args(["--root", str(repo.root), "--at", "2026-11-23T12:00:00+08:00", "--kind", "complaint"])
    assert cmd.run(args) == 0
    text = capsys.readouterr().out
    assert "CP-1" in text and "met" in text and "1h30m" in text
    args = parser.parse_args(["--root", str(repo.root), "--at", "2026-11-23T12:00:00+08:00", "--breached", "--format", "json"])
    assert cmd.run(args) == 0
    assert json.loads(capsys.readouterr().out)["clocks"] == []
    from servicebook import cli

    assert cli.main(["sla", "--root", str(repo.root), "--at", "yesterday"]) == 2
    assert "--at 'yesterday'" in capsys.readouterr().err


@pytest.mark.parametrize("shape", ["[{id}]", "{{id: {id}}}"])
def test_references_that_are_no_ids_do_not_stop_the_sla_command(demo, shape):
    """A careless edit wraps reference fields in a list or a mapping (validate reports each):
    ``sla`` still measures every clock, the at-risk queue is still ordered, nothing fails with an
    internal error (a lookup by a list or a mapping did, on the way to a referenced record)."""
    for path in sorted((demo / "records").rglob("*.yaml")):
        if path.parts[-3] in ("appraisal", "complaint", "repair", "solution", "contract", "callback"):
            text = path.read_text(encoding="utf-8")
            path.write_text(re.sub(r"^(survey|customer|appraisal|complaint|contract|case): (\S+)$",
                                   lambda m: f"{m.group(1)}: " + shape.format(id=m.group(2)), text, flags=re.M),
                            encoding="utf-8")
    for extra in ((), ("--at-risk",), ("--format", "json")):
        proc = sb("sla", "--at", "2026-11-20T10:00:00+08:00", *extra, cwd=demo)
        assert proc.returncode in (0, 1) and "internal error" not in proc.stderr, (extra, proc.stderr)


@pytest.mark.parametrize("old, new", [
    ("  standard: CAL-cn-standard\n", "  standard: [CAL-cn-standard]\n"),  # a list for a calendar ID
    ("      - field: received_at\n", "      - field: {received_at: 1}\n"),  # a mapping for a field name
    ("  - name: fix\n", "  - fix\n  - name: fix2\n"),  # a clock that is a bare name
])
def test_a_policy_of_the_wrong_shape_is_a_problem_not_an_internal_error(demo, old, new):
    """Careless edits of a policy record (validate reports each against the schema): ``sla``
    names the policy's problem and measures the records of the other policies."""
    path = demo / "records" / "policy" / "SLA-complaint.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    proc = sb("sla", "--at", "2026-11-20T10:00:00+08:00", "--format", "json", cwd=demo)
    assert "internal error" not in proc.stderr and "SLA-complaint" in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["clocks"], "the other policies' clocks"
