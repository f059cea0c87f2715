"""Every open case matches exactly one SLA policy (no silent catch-all); and, as of an instant
the command line gives (``validate --at``, default now), a warning on each calendar record whose
holiday data runs out within ``COVERAGE_WARNING_DAYS`` days (``coverage``)."""

from __future__ import annotations

import datetime as _dt

from servicebook.load.problems import Problem
from servicebook.load.yamlload import parse_path

COVERAGE_RULE = "calendar.coverage"
COVERAGE_WARNING_DAYS = 60


def check(corpus):
    if not corpus.of_kind("policy"):
        return []  # a repository without policies has not configured SLAs: nothing to match
    from servicebook.derive.sla.policies import check_policies

    return check_policies(list(corpus.records.values()), corpus.lifecycle)


def coverage(corpus, at: _dt.datetime, days: int = COVERAGE_WARNING_DAYS) -> list[Problem]:
    """Warnings (severity ``warning``, rule ``calendar.coverage``), located at the calendar
    record's ``covered_years`` (else its first line), for every calendar whose holiday data ends
    within ``days`` days of ``at`` or has ended: from the day after, a clock running in that
    calendar can only be measured as "at least" and a clock started then not at all. ``at`` is
    an aware datetime the caller resolved (the command line reads the clock, nothing here does).
    A 7x24 calendar, or one without statutory holidays, never runs out."""
    from servicebook.derive.sla.policies import load_calendars
    from servicebook.load.instants import local_date

    today = local_date(at)
    calendars, _ = load_calendars(corpus.of_kind("calendar"))  # unusable ones: check_policies says so
    out = []
    for rec in corpus.of_kind("calendar"):
        cal = calendars.get(rec.id)
        ends = cal.data_ends() if cal is not None and getattr(cal, "statutory", None) == "cn" else None
        if ends is None or (ends - today).days > days:
            continue
        year = ends.year + 1
        left = (ends - today).days
        when = (f"ends on {ends.isoformat()}, in {left} day(s)" if left >= 0
                else f"ended on {ends.isoformat()}, {-left} day(s) ago")
        message = (f"{rec.id}: the holiday data of this calendar {when} (chinese-calendar package "
                   f"and this record's covered_years); enter the official {year} schedule: its "
                   f"public holidays under closures, its make-up working days (调休) under "
                   f"working_days, and {year} under covered_years. Until then clocks running past "
                   f"{ends.isoformat()} are shown as 'at least' and clocks starting later cannot "
                   f"be computed / 该日历的节假日数据{'将于' if left >= 0 else '已于'} "
                   f"{ends.isoformat()} 截止:请把 {year} 年官方放假安排录入本记录(节假日写入 "
                   f"closures,调休上班日写入 working_days,并在 covered_years 中加上 {year})")
        path = "covered_years"
        where = corpus.where(rec.path)
        key = parse_path(path)
        line, column = (where[key].line, where[key].column) if key in where else (1, 1)
        out.append(Problem(str(rec.path), line, column, path if key in where else "",
                           COVERAGE_RULE, message, "warning"))
    return out
