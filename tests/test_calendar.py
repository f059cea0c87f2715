"""Business calendar: hand-computed working times and deadlines across weekends, lunch breaks,
Chinese holidays with their make-up working days (调休), year boundaries, company closures and the
7x24 calendar. Standard hours: Mon-Fri 09:00-12:00 and 13:00-18:00, Beijing time."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
import yaml

from servicebook.derive.sla import calendar as bc

ROOT = Path(__file__).resolve().parent.parent
H = 3600


def T(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + "+08:00")


@pytest.fixture(scope="module")
def cal():
    data = yaml.safe_load((ROOT / "records/calendar/CAL-cn-standard.yaml").read_text(encoding="utf-8"))
    return bc.from_record(data)


# ------------------------------------------------------------------ working time between instants

def test_friday_evening_to_monday_morning(cal):
    # Fri 17:30-18:00 (0.5 h) + Mon 09:00-10:00 (1 h)
    assert cal.working_seconds("2026-11-20T17:30:00+08:00", "2026-11-23T10:00:00+08:00") == 1.5 * H


def test_lunch_break_not_counted(cal):
    assert cal.working_seconds(T("2026-11-18T11:00"), T("2026-11-18T14:00")) == 2 * H
    assert cal.working_seconds(T("2026-11-18T12:10"), T("2026-11-18T12:50")) == 0


def test_full_week(cal):
    assert cal.working_seconds(T("2026-11-16T00:00"), T("2026-11-23T00:00")) == 40 * H


def test_negative_when_reversed(cal):
    assert cal.working_seconds(T("2026-11-18T10:00"), T("2026-11-18T09:00")) == -1 * H


def test_spring_festival_and_makeup_saturdays(cal):
    # 2026: holidays Sun 15 Feb - Mon 23 Feb; Saturdays 14 Feb and 28 Feb are working days.
    assert cal.is_working_day(dt.date(2026, 2, 14))
    assert cal.is_working_day(dt.date(2026, 2, 28))
    assert not cal.is_working_day(dt.date(2026, 2, 16))
    assert not cal.is_working_day(dt.date(2026, 2, 23))  # a Monday inside the holiday
    assert not cal.is_working_day(dt.date(2026, 2, 21))
    # Fri 13 Feb 17:00 -> Tue 24 Feb 10:00: Fri 1 h + make-up Sat 8 h + Tue 1 h
    assert cal.working_seconds(T("2026-02-13T17:00"), T("2026-02-24T10:00")) == 10 * H
    # the make-up day follows Monday's hours, lunch break included
    ivs = cal.working_intervals(dt.date(2026, 2, 14))
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in ivs] == [("09:00", "12:00"), ("13:00", "18:00")]


def test_year_boundary_with_makeup_sunday(cal):
    # New Year 2026: 1-3 Jan off, Sunday 4 Jan worked.
    assert cal.add_working_days(T("2025-12-31T17:00"), 1) == T("2026-01-04T17:00")
    assert cal.working_seconds(T("2025-12-31T17:00"), T("2026-01-05T09:00")) == 9 * H


# ------------------------------------------------------------------ adding working time

def test_add_hours_lands_on_lunch_edge_not_after_it(cal):
    assert cal.add_working_hours(T("2026-11-18T09:00"), 3) == T("2026-11-18T12:00")
    assert cal.add_working_hours(T("2026-11-18T08:00"), 4) == T("2026-11-18T14:00")


def test_add_hours_over_weekend(cal):
    assert cal.add_working_hours(T("2026-11-20T17:00"), 2) == T("2026-11-23T10:00")


def test_one_working_day_keeps_the_position_in_the_day(cal):
    assert cal.add_working_days(T("2026-11-20T17:30"), 1) == T("2026-11-23T17:30")
    # after hours: counts from the next working instant -> end of the next working day
    assert cal.add_working_days(T("2026-11-20T19:00"), 1) == T("2026-11-23T18:00")
    assert cal.add_working_days(T("2026-11-21T10:00"), 1) == T("2026-11-23T18:00")  # Saturday


def test_half_working_day_crossing_lunch(cal):
    # 10:30 + 4 h of working time: 10:30-12:00 (1.5 h) + 13:00-15:30 (2.5 h)
    assert cal.half_working_day(T("2026-11-18T10:30")) == T("2026-11-18T15:30")
    # late afternoon: spills into the next working day
    assert cal.half_working_day(T("2026-11-20T16:00")) == T("2026-11-23T11:00")


def test_half_day_is_half_of_that_days_hours():
    short_friday = bc.BusinessCalendar(working_hours={
        **{d: [("09:00", "12:00"), ("13:00", "18:00")] for d in ("mon", "tue", "wed", "thu")},
        "fri": [("09:00", "13:00")], "sat": [], "sun": []})
    # Friday has 4 h: half a day is 2 h
    assert short_friday.half_working_day(T("2026-11-20T09:00")) == T("2026-11-20T11:00")
    assert short_friday.half_working_day(T("2026-11-19T09:00")) == T("2026-11-19T14:00")


def test_working_day_over_spring_festival(cal):
    # Fri 13 Feb 16:00 + 1 working day = make-up Saturday 14 Feb 16:00; + 2 = Tue 24 Feb 16:00
    assert cal.add_working_days(T("2026-02-13T16:00"), 1) == T("2026-02-14T16:00")
    assert cal.add_working_days(T("2026-02-13T16:00"), 2) == T("2026-02-24T16:00")


def test_end_of_nth_working_day(cal):
    # first contact Wed 18 Nov: day 1 Wed, 2 Thu, 3 Fri, 4 Mon, 5 Tue
    assert cal.end_of_working_day(T("2026-11-18T10:00"), 5) == T("2026-11-24T18:00")
    # first contact on a Saturday: day 1 is Monday
    assert cal.end_of_working_day(T("2026-11-21T10:00"), 1) == T("2026-11-23T18:00")


def test_next_working_instant(cal):
    assert cal.next_working_instant(T("2026-11-18T12:30")) == T("2026-11-18T13:00")
    assert cal.next_working_instant(T("2026-11-18T10:00")) == T("2026-11-18T10:00")
    assert cal.next_working_instant(T("2026-02-13T19:00")) == T("2026-02-14T09:00")


def test_add_is_inverse_of_between(cal):
    rnd = random.Random(7)
    base = T("2026-01-05T00:00").timestamp()
    for _ in range(300):
        start = base + rnd.randrange(0, 300 * 86400, 60)
        secs = rnd.randrange(1, 80 * H, 60)
        end = cal.add_working_time(start, secs)
        assert cal.working_seconds(start, end) == pytest.approx(secs)
        # earliest: a minute earlier is not enough
        assert cal.working_seconds(start, end - dt.timedelta(minutes=1)) < secs


def test_agrees_with_minute_stepping(cal):
    """Cross-check against a naive count, minute by minute, on random spans of 2026."""
    import chinese_calendar

    workday: dict = {}

    def naive(a: dt.datetime, b: dt.datetime) -> int:
        n, t = 0, a
        while t < b:
            d = t.date()
            if d not in workday:
                workday[d] = chinese_calendar.is_workday(d)
            if workday[d]:
                m = t.hour * 60 + t.minute
                if 540 <= m < 720 or 780 <= m < 1080:
                    n += 1
            t += dt.timedelta(minutes=1)
        return n * 60

    rnd = random.Random(3)
    for _ in range(12):
        a = T("2026-01-01T00:00") + dt.timedelta(minutes=rnd.randrange(0, 340 * 1440))
        b = a + dt.timedelta(minutes=rnd.randrange(0, 6 * 1440))
        assert cal.working_seconds(a, b) == naive(a, b), (a, b)


# ------------------------------------------------------------------ coverage and records

def test_refuses_beyond_covered_years(cal):
    with pytest.raises(bc.CalendarError, match="covered_years"):
        cal.add_working_days(T("2026-12-31T17:00"), 1)
    with pytest.raises(bc.CalendarError, match="beyond the covered years"):
        cal.working_seconds(T("2026-12-30T09:00"), T("2027-01-04T09:00"))
    with pytest.raises(bc.CalendarError):
        cal.working_seconds(T("2003-12-30T09:00"), T("2004-01-05T09:00"))


def test_record_covers_a_further_year():
    data = {
        "id": "CAL-test", "schema_version": 1, "name": "t",
        "closures": [{"from": "2027-01-01", "note": "New Year"}],
        "covered_years": [2027],
    }
    c = bc.from_record(data)
    # Thu 31 Dec 2026 17:00 + 1 working day: Fri 1 Jan closed -> Mon 4 Jan 17:00
    assert c.add_working_days(T("2026-12-31T17:00"), 1) == T("2027-01-04T17:00")
    with pytest.raises(bc.CalendarError):
        c.add_working_hours(T("2027-12-31T17:00"), 8)


def test_closures_and_special_days():
    data = {
        "id": "CAL-test", "schema_version": 1, "name": "t",
        "closures": [{"from": "2026-11-24", "to": "2026-11-25", "note": "annual meeting"}],
        "working_days": [
            {"date": "2026-11-28", "note": "stock-taking Saturday"},                       # Monday's hours
            {"date": "2026-11-27", "hours": [{"from": "09:00", "to": "12:00"}]},          # half day
        ],
    }
    c = bc.from_record(data)
    assert not c.is_working_day(dt.date(2026, 11, 24))
    assert c.day_working_seconds(dt.date(2026, 11, 27)) == 3 * H
    assert c.day_working_seconds(dt.date(2026, 11, 28)) == 8 * H
    # Mon 23 Nov 17:00 -> Thu 26 Nov 10:00: Mon 1 h + Thu 1 h (Tue, Wed closed)
    assert c.working_seconds(T("2026-11-23T17:00"), T("2026-11-26T10:00")) == 2 * H
    # half a working day on the short Friday is 1.5 h
    assert c.half_working_day(T("2026-11-27T09:00")) == T("2026-11-27T10:30")


def test_makeup_days_follow_configured_weekday():
    c = bc.BusinessCalendar(working_hours={**bc.DEFAULT_HOURS, "fri": [("09:00", "15:00")]},
                            makeup_day_hours="fri")
    assert c.day_working_seconds(dt.date(2026, 2, 14)) == 6 * H


def test_bad_records_are_refused():
    with pytest.raises(bc.CalendarError, match="time zone"):
        bc.from_record({"id": "CAL-x", "timezone": "Mars/Olympus"})
    with pytest.raises(bc.CalendarError, match="HH:MM"):
        bc.from_record({"id": "CAL-x", "working_hours": {"mon": [{"from": "9", "to": "12:00"}]}})
    with pytest.raises(bc.CalendarError, match="ends before"):
        bc.from_record({"id": "CAL-x", "working_hours": {"mon": [{"from": "12:00", "to": "09:00"}]}})
    with pytest.raises(bc.CalendarError, match="weekday"):
        bc.from_record({"id": "CAL-x", "working_hours": {"monday": []}})
    with pytest.raises(bc.CalendarError, match="offset"):
        bc.china_standard().working_seconds("2026-11-20T17:30:00", "2026-11-20T18:00:00+08:00")


def test_other_time_zone_with_dst():
    c = bc.BusinessCalendar(timezone="Europe/Berlin", statutory="none",
                            working_hours={**{d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
                                           "sat": [], "sun": []})
    # clocks go forward on Sun 29 Mar 2026; Fri 16:00 -> Mon 10:00 is still 2 working hours
    a = dt.datetime(2026, 3, 27, 16, tzinfo=c.tz)
    b = dt.datetime(2026, 3, 30, 10, tzinfo=c.tz)
    assert c.working_seconds(a, b) == 2 * H
    assert c.add_working_hours(a, 2) == b


# ------------------------------------------------------------------ 7x24

def test_around_the_clock():
    data = yaml.safe_load((ROOT / "records/calendar/CAL-7x24.yaml").read_text(encoding="utf-8"))
    c = bc.from_record(data)
    assert c.around_the_clock
    # holidays count: 1 Oct 2026 is National Day
    assert c.working_seconds(T("2026-10-01T10:00"), T("2026-10-02T08:00")) == 22 * H
    assert c.half_working_day(T("2026-10-01T10:00")) == T("2026-10-01T22:00")
    assert c.add_working_days(T("2026-10-01T10:00"), 2) == T("2026-10-03T10:00")
    assert c.end_of_working_day(T("2026-10-01T10:00"), 1) == T("2026-10-02T00:00")
    # any year
    assert c.add_working_hours(T("2031-12-31T23:00"), 2) == T("2032-01-01T01:00")
