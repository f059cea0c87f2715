"""Published promises and enquiries (issue #16).

* The "four 24-hours" promise (四个24小时, seed 004) is measured: a repair's engineer is on site
  (``arrived_at``) within 24 calendar hours of the report, for every tier (SLA-repair v2).
* An enquiry (complaint ``kind: enquiry``) runs neither the quality-fault fix clock nor the
  callback clock (seed 001 L/M are about technical quality faults), only the two-day close
  (SLA-enquiry)."""
from __future__ import annotations

import pytest

from test_sla import H, M, Repo, iso


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path)


def test_friday_evening_machinery_fault_reached_on_monday_is_late(repo):
    """Standard tier. Pump truck fault reported Fri 20 Nov 2026 19:00; the engineer arrives Mon
    23 Nov 09:30. Arrival promise: 24 calendar hours: due Sat 21 Nov 19:00. Elapsed: Fri 19:00 ->
    Mon 09:30 = 5 h + 24 h + 24 h + 9.5 h = 62 h 30 min: breached, 38 h 30 min late. The
    working-day fix clock (1 working day from Fri 19:00 = Mon 18:00) is not late at Mon 12:00,
    which is why the promise needs its own clock."""
    repo.add("contract", "CT-std", {"customer": "CU-std", "service_tier": "standard"})
    repo.case("repair", "RP-1", [("2026-11-20T19:00:00+08:00", "open"),
                                 ("2026-11-23T09:30:00+08:00", "on_site")],
              by="P-cs", contract="CT-std", engineer="P-eng", reported_at="2026-11-20T19:00:00+08:00",
              arrived_at="2026-11-23T09:30:00+08:00")
    at = "2026-11-23T12:00:00+08:00"
    arrival = repo.one(at, "RP-1", "arrival")
    assert (arrival.state, arrival.tier, arrival.owner) == ("breached", "standard", "P-eng")
    assert arrival.elapsed_seconds == 62 * H + 30 * M and arrival.overdue_seconds == 38 * H + 30 * M
    assert iso(arrival, "deadline") == "2026-11-21T19:00:00+08:00"
    assert iso(arrival, "stopped_at") == "2026-11-23T09:30:00+08:00"
    assert arrival.policy == "SLA-repair" and arrival.policy_version == 3
    fix = repo.one(at, "RP-1", "fix")
    assert fix.state in ("running", "at_risk") and iso(fix, "deadline") == "2026-11-23T18:00:00+08:00"
    # on a VIP contract the same: 24 hours is 24 hours
    repo.add("contract", "CT-std", {"customer": "CU-std", "service_tier": "vip"})
    vip = repo.one(at, "RP-1", "arrival")
    assert (vip.tier, vip.state, vip.overdue_seconds) == ("vip", "breached", 38 * H + 30 * M)


def test_arrival_within_24_hours_and_a_fault_fixed_by_phone(repo):
    """Reported Fri 20 Nov 19:00, on site Sat 21 Nov 10:00: 15 h of 24: met. Another reported Fri
    19:00 and fixed by phone Fri 20:00 before anyone went: the arrival is moot (cancelled).
    A third, still nobody there as of Sat 20:00 (25 h): breached and open."""
    repo.case("repair", "RP-2", [("2026-11-20T19:00:00+08:00", "open")], reported_at="2026-11-20T19:00:00+08:00",
              arrived_at="2026-11-21T10:00:00+08:00")
    repo.case("repair", "RP-3", [("2026-11-20T19:00:00+08:00", "open"), ("2026-11-20T20:00:00+08:00", "fixed")],
              reported_at="2026-11-20T19:00:00+08:00")
    repo.case("repair", "RP-4", [("2026-11-20T19:00:00+08:00", "open")], reported_at="2026-11-20T19:00:00+08:00")
    at = "2026-11-21T20:00:00+08:00"
    met = repo.one(at, "RP-2", "arrival")
    assert (met.state, met.elapsed_seconds) == ("met", 15 * H)
    assert repo.one(at, "RP-3", "arrival").state == "cancelled"
    late = repo.one(at, "RP-4", "arrival")
    assert (late.state, late.open, late.overdue_seconds) == ("breached", True, 1 * H)


def test_an_enquiry_runs_only_the_close_clock(repo):
    """Enquiry received Fri 20 Nov 2026 17:30, answered (resolved) Mon 23 Nov 16:00, no callback,
    closed Tue 24 Nov 10:00. No fix and no callback clock. Close (2 working days) from Fri 17:30:
    due Tue 24 Nov 17:30; worked Fri 0.5 h + Mon 8 h + Tue 1 h = 9 h 30 min: met (SLA-enquiry).
    The same form as a quality complaint runs fix, callback and close (SLA-complaint)."""
    hist = [("2026-11-20T17:30:00+08:00", "open"), ("2026-11-23T16:00:00+08:00", "resolved"),
            ("2026-11-24T10:00:00+08:00", "closed")]
    repo.case("complaint", "CP-E", hist, form_kind="enquiry", received_at="2026-11-20T17:30:00+08:00")
    repo.case("complaint", "CP-Q", hist, received_at="2026-11-20T17:30:00+08:00")
    at = "2026-11-25T12:00:00+08:00"
    enquiry = repo.clocks(at, "CP-E")
    assert [(c.policy, c.clock) for c in enquiry] == [("SLA-enquiry", "close")]
    (close,) = enquiry
    assert (close.state, close.elapsed_seconds) == ("met", 9 * H + 30 * M)
    assert iso(close, "deadline") == "2026-11-24T17:30:00+08:00"
    assert {c.clock for c in repo.clocks(at, "CP-Q")} == {"fix", "callback", "close"}
    assert {c.policy for c in repo.clocks(at, "CP-Q")} == {"SLA-complaint"}


def test_a_products_own_promise_is_a_clock_only_its_repairs_have(repo):
    """The business broadband line's published promise (PD-biz-broadband: 线路中断 4 小时内恢复) is
    the restore clock of SLA-repair v3, for its repairs alone. Reported Sat 21 Nov 22:00 (a
    weekend night: 4 hours are 4 hours), fixed Sun 22 Nov 02:30: 4 h 30 min, 30 min late. A PBX
    repair reported at the same time has no restore clock."""
    repo.case("repair", "RP-bb", [("2026-11-21T22:00:00+08:00", "open"), ("2026-11-22T02:30:00+08:00", "fixed")],
              reported_at="2026-11-21T22:00:00+08:00", fixed_at="2026-11-22T02:30:00+08:00",
              product="PD-biz-broadband")
    repo.case("repair", "RP-pbx", [("2026-11-21T22:00:00+08:00", "open")], reported_at="2026-11-21T22:00:00+08:00",
              product="PD-ipbx-800")
    at = "2026-11-22T12:00:00+08:00"
    restore = repo.one(at, "RP-bb", "restore")
    assert (restore.state, restore.elapsed_seconds, restore.overdue_seconds) == ("breached", 4 * H + 30 * M, 30 * M)
    assert iso(restore, "deadline") == "2026-11-22T02:00:00+08:00" and restore.title_zh == "线路恢复(对外承诺)"
    assert repo.clocks(at, "RP-pbx", "restore") == [] and repo.clocks(at, "RP-pbx", "arrival")
