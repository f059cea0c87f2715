"""2027 and after: the SLA engine past the end of the holiday data, a calendar record carrying a
new year's official schedule, and validate's warning before the data runs out (issue #16).

The chinese-calendar package covers 2004-2026. Standard calendar (CAL-cn-standard): Mon-Fri
09:00-12:00 and 13:00-18:00 Beijing time, 8 working hours a day; 31 Dec 2026 is a Thursday,
1 Jan 2027 a Friday."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from servicebook.derive.sla import calendar as bc
from test_sla import H, Repo, iso

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path)


STANDARD = yaml.safe_load((ROOT / "records/calendar/CAL-cn-standard.yaml").read_text(encoding="utf-8"))

# A hand-made 2027 (not the official schedule): New Year's Day Fri 1 Jan off, Sat 2 Jan a
# make-up working day (Monday's hours).
HANDMADE_2027 = {
    **STANDARD,
    "closures": [{"from": "2027-01-01", "note": "元旦"}],
    "working_days": [{"date": "2027-01-02", "note": "调休上班"}],
    "covered_years": [2027],
}


def test_breached_in_2026_stays_breached_in_2027(repo):
    """Received Tue 29 Dec 2026 10:00, never resolved; as of Tue 5 Jan 2027 12:00.
    fix (1 working day): due Wed 30 Dec 10:00. Counted to the end of the data (Thu 31 Dec 24:00):
    Tue 10-12 + 13-18 = 7 h, Wed 8 h, Thu 8 h = 23 h; late at least 23 - 8 = 15 h.
    close (2 working days): due Thu 31 Dec 10:00; late at least 23 - 16 = 7 h.
    The callback clock has not started (never resolved): no row, and no error anywhere."""
    repo.case("complaint", "CP-1", [("2026-12-29T10:00:00+08:00", "open")],
              received_at="2026-12-29T10:00:00+08:00")
    at = "2027-01-05T12:00:00+08:00"
    fix = repo.one(at, "CP-1", "fix")
    assert (fix.state, fix.at_least, fix.open) == ("breached", True, True)
    assert iso(fix, "deadline") == "2026-12-30T10:00:00+08:00"
    assert fix.elapsed_seconds == 23 * H and fix.overdue_seconds == 15 * H
    close = repo.one(at, "CP-1", "close")
    assert (close.state, close.at_least, close.overdue_seconds) == ("breached", True, 7 * H)
    assert iso(close, "deadline") == "2026-12-31T10:00:00+08:00"
    assert fix.to_dict()["at_least"] is True
    assert not [c for c in repo.clocks(at) if c.state == "error"]
    # resolved Mon 4 Jan 2027: still late at least 15 h (the stop lies past the data)
    repo.case("complaint", "CP-1", [("2026-12-29T10:00:00+08:00", "open"),
                                    ("2027-01-04T10:00:00+08:00", "resolved")],
              received_at="2026-12-29T10:00:00+08:00")
    fix = repo.one(at, "CP-1", "fix")
    assert (fix.state, fix.at_least, fix.overdue_seconds, fix.open) == ("breached", True, 15 * H, False)
    assert iso(fix, "stopped_at") == "2027-01-04T10:00:00+08:00"


def test_only_what_cannot_be_known_is_an_error(repo):
    """Received Thu 31 Dec 2026 16:00, resolved 17:00, closed 17:30; no callback yet.
    fix: 1 h used; its deadline (one working day later) lies in 2027, past the data, but at
    least the 2 h to Thu 18:00 were available: met, target at least 2 h, deadline unknown.
    close: 1 h 30 min, met likewise. callback: started 17:00 and still waiting in 2027 with
    1 h counted and its deadline past the data: on time or late cannot be told: an error
    naming covered_years."""
    repo.case("complaint", "CP-2", [("2026-12-31T16:00:00+08:00", "open"),
                                    ("2026-12-31T17:00:00+08:00", "resolved"),
                                    ("2026-12-31T17:30:00+08:00", "closed")],
              received_at="2026-12-31T16:00:00+08:00")
    at = "2027-01-10T12:00:00+08:00"
    fix = repo.one(at, "CP-2", "fix")
    assert (fix.state, fix.at_least, fix.deadline, fix.elapsed_seconds, fix.target_seconds) == \
        ("met", True, None, 1 * H, 2 * H)
    close = repo.one(at, "CP-2", "close")
    assert (close.state, close.elapsed_seconds) == ("met", 1.5 * H)
    cb = repo.one(at, "CP-2", "callback")
    assert cb.state == "error" and "covered_years" in cb.error
    # a case started in 2027 cannot be measured at all
    repo.case("complaint", "CP-3", [("2027-01-05T09:00:00+08:00", "open")],
              received_at="2027-01-05T09:00:00+08:00")
    assert {c.state for c in repo.clocks(at, "CP-3")} == {"error"}


def test_a_2027_schedule_in_the_calendar_record_is_used(repo):
    """The calendar record gives 2027: Fri 1 Jan off, Sat 2 Jan worked (Monday's hours).
    Received Thu 31 Dec 2026 16:00 (6 h of the day done), resolved Mon 4 Jan 2027 10:00.
    fix (1 working day): the next working day is the make-up Saturday: due Sat 2 Jan 16:00.
    Worked: Thu 16-18 = 2 h, Fri 0 (holiday), Sat 8 h, Sun 0, Mon 09-10 1 h = 11 h: late 3 h.
    close (2 working days): due Mon 4 Jan 16:00; closed Mon 15:00 after 2 + 8 + 5 = 15 h: met.
    Without the make-up Saturday the fix would have been due Mon 4 Jan 16:00 and met."""
    repo.add("calendar", "CAL-cn-standard", {k: v for k, v in HANDMADE_2027.items() if k not in ("id", "schema_version")})
    cal = bc.from_record(HANDMADE_2027)
    assert 2027 in cal.covered_years and cal.data_ends().isoformat() == "2027-12-31"
    assert not cal.is_working_day(bc._dt.date(2027, 1, 1)) and cal.is_working_day(bc._dt.date(2027, 1, 2))
    repo.case("complaint", "CP-4", [("2026-12-31T16:00:00+08:00", "open"),
                                    ("2027-01-04T10:00:00+08:00", "resolved"),
                                    ("2027-01-04T15:00:00+08:00", "closed")],
              received_at="2026-12-31T16:00:00+08:00")
    at = "2027-01-05T12:00:00+08:00"
    fix = repo.one(at, "CP-4", "fix")
    assert (fix.state, fix.at_least, fix.elapsed_seconds, fix.overdue_seconds) == ("breached", False, 11 * H, 3 * H)
    assert iso(fix, "deadline") == "2027-01-02T16:00:00+08:00"
    close = repo.one(at, "CP-4", "close")
    assert (close.state, close.elapsed_seconds) == ("met", 15 * H)
    assert iso(close, "deadline") == "2027-01-04T16:00:00+08:00"
    # the same record without the make-up Saturday: due Mon 4 Jan 16:00 (Fri-Sun off), met
    repo.add("calendar", "CAL-cn-standard", {**{k: v for k, v in HANDMADE_2027.items()
                                                if k not in ("id", "schema_version")}, "working_days": []})
    fix = repo.one(at, "CP-4", "fix")
    assert (fix.state, fix.elapsed_seconds, iso(fix, "deadline")) == ("met", 3 * H, "2027-01-04T16:00:00+08:00")


def _validate(root: Path, *args: str):
    proc = subprocess.run([sys.executable, "-m", "servicebook", "validate", "--format", "json",
                           "--root", str(root), *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"})
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else []


def test_validate_warns_60_days_before_the_data_runs_out(repo):
    """Data to 31 Dec 2026: on 1 Dec (30 days left) and on 2 Nov (59 days) a warning located at
    the record's covered_years; on 1 Oct (91 days) none. A warning never fails validate. With
    2027 in the record, none until 2 Nov 2027."""
    rc, problems = _validate(repo.root, "--at", "2026-12-01T10:00:00+08:00")
    warnings = [p for p in problems if p["rule"] == "calendar.coverage"]
    assert rc == 0 and [p["severity"] for p in warnings] == ["warning"]
    (w,) = warnings
    assert w["file"] == "records/calendar/CAL-cn-standard.yaml" and w["path"] == "covered_years"
    line = next(n for n, text in enumerate((repo.root / w["file"]).read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith("covered_years"))
    assert w["line"] == line and "2026-12-31" in w["message"] and "2027" in w["message"]
    assert [p["rule"] for p in _validate(repo.root, "--at", "2026-11-02")[1]] == ["calendar.coverage"]
    assert _validate(repo.root, "--at", "2026-10-01") == (0, [])
    repo.add("calendar", "CAL-cn-standard", {k: v for k, v in HANDMADE_2027.items() if k not in ("id", "schema_version")})
    assert _validate(repo.root, "--at", "2026-12-01") == (0, [])
    assert [p["rule"] for p in _validate(repo.root, "--at", "2027-11-02")[1]] == ["calendar.coverage"]


def test_working_seconds_at_least_past_the_data():
    """Standard calendar, data to 31 Dec 2026. Tue 29 Dec 10:00 -> Thu 31 Dec 12:00: 7 + 8 + 3 =
    18 h, exact. -> Tue 5 Jan 2027: 7 + 8 + 8 = 23 h, at least. 7x24: plain seconds, exact."""
    cal = bc.china_standard()
    assert cal.working_seconds_at_least("2026-12-29T10:00:00+08:00", "2026-12-31T12:00:00+08:00") == (18 * H, True)
    assert cal.working_seconds_at_least("2026-12-29T10:00:00+08:00", "2027-01-05T12:00:00+08:00") == (23 * H, False)
    with pytest.raises(bc.CalendarError, match="covered_years"):
        cal.working_seconds_at_least("2027-01-05T10:00:00+08:00", "2027-01-06T10:00:00+08:00")
    assert bc.around_the_clock().working_seconds_at_least("2026-12-31T12:00:00+08:00",
                                                          "2027-01-01T12:00:00+08:00") == (24 * H, True)
