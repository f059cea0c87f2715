"""Small helpers shared by the after-sales figures (kb, inspections, parts, technicians,
value_index, feedback): reading values defensively from records that may not validate, and the
"as of" moment every figure is computed at (never the wall clock)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from servicebook.load.instants import ZONE, date_or_none, parse_date, parse_instant
from servicebook.load.records import get, get_dict, get_list  # noqa: F401 (re-exported for the site and reports)

# Instants and dates of record data: ``load.instants.instant_or_none`` / ``date_or_none`` (None
# for a value that is not one, a time without offset included; a bare date is midnight in the
# company zone ``ZONE``).




def text(value) -> str:
    return value if isinstance(value, str) else ""


def as_datetime(at) -> datetime:
    """The "as of" argument (date, datetime, instant or date text; ``load.instants.parse_instant``,
    InstantError otherwise) as an aware datetime. A date means the end of that day: everything
    recorded on it counts."""
    if isinstance(at, str) and len(at.strip()) == 10 or isinstance(at, date) and not isinstance(at, datetime):
        return datetime.combine(parse_date(at), time.max, ZONE)
    return parse_instant(at)


def as_start(at) -> datetime:
    """The start of a period: a date (or ``YYYY-MM-DD``) means the start of that day."""
    if isinstance(at, str) and len(at.strip()) == 10 or isinstance(at, date) and not isinstance(at, datetime):
        return parse_instant(at)
    return as_datetime(at)


def as_date(at) -> date:
    if isinstance(at, date) and not isinstance(at, datetime):
        return at
    return as_datetime(at).astimezone(ZONE).date()


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (as the SLA engine does)."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    first_next = date(y + (m == 12), m % 12 + 1, 1)
    return date(y, m, min(d.day, (first_next - timedelta(days=1)).day))


def month_key(moment) -> str | None:
    d = date_or_none(moment)
    return f"{d.year:04d}-{d.month:02d}" if d else None


def history(rec) -> list[tuple[datetime, str, str]]:
    """``[(at, status, by)]`` of a record's history entries that have a readable time
    (`load.records.dated_history`)."""
    return [(at, text(h.get("status")), text(h.get("by"))) for at, h in rec.dated_history]


def first_entered(rec, status: str) -> datetime | None:
    """When the record first entered ``status``: its first history entry with that status and a
    readable time, in record order (signed, done, fixed ...)."""
    for at, h in rec.dated_history:
        if h.get("status") == status:
            return at
    return None


def region_of_customer(corpus, customer_id) -> str:
    rec = corpus.records.get(customer_id) if isinstance(customer_id, str) else None
    return text(get(rec.data, "region")) if rec else ""


def merge(base: Mapping, override: Mapping | None) -> dict:
    """Deep merge of configuration: ``override`` wins, nested mappings merged key by key."""
    out = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
