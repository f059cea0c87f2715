"""Small helpers shared by the after-sales figures (kb, inspections, parts, technicians,
value_index, feedback): reading values defensively from records that may not validate, and the
"as of" moment every figure is computed at (never the wall clock)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import yaml

from servicebook.load.records import get  # noqa: F401 (re-exported for the site and reports)

CST = timezone(timedelta(hours=8))




def text(value) -> str:
    return value if isinstance(value, str) else ""


def parse_instant(value) -> datetime | None:
    """An RFC 3339 instant (or a bare date, read as midnight China time) -> aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CST)
    if isinstance(value, date):
        return datetime.combine(value, time(), CST)
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), CST)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(CST).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def as_datetime(at) -> datetime:
    """The "as of" argument (date, datetime or text) as an aware datetime. A date means the end
    of that day: everything recorded on it counts."""
    if isinstance(at, str):
        parsed = parse_instant(at)
        if parsed is None:
            raise ValueError(f"not a date or instant: {at!r}")
        if len(at) == 10:
            parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
        return parsed
    if isinstance(at, datetime):
        return at if at.tzinfo else at.replace(tzinfo=CST)
    if isinstance(at, date):
        return datetime.combine(at, time.max, CST)
    raise TypeError(f"as-of must be a date or datetime, not {type(at).__name__}")


def as_start(at) -> datetime:
    """The start of a period: a date (or ``YYYY-MM-DD``) means the start of that day."""
    if isinstance(at, str) and len(at) == 10:
        at = parse_date(at)
    if isinstance(at, date) and not isinstance(at, datetime):
        return datetime.combine(at, time(), CST)
    return as_datetime(at)


def as_date(at) -> date:
    if isinstance(at, date) and not isinstance(at, datetime):
        return at
    return as_datetime(at).astimezone(CST).date()


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (as the SLA engine does)."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    first_next = date(y + (m == 12), m % 12 + 1, 1)
    return date(y, m, min(d.day, (first_next - timedelta(days=1)).day))


def month_key(moment) -> str | None:
    d = parse_date(moment.astimezone(CST) if isinstance(moment, datetime) else moment)
    return f"{d.year:04d}-{d.month:02d}" if d else None


def history(rec) -> list[tuple[datetime, str, str]]:
    """``[(at, status, by)]`` of a record's history entries that have a readable time; none when
    ``history`` is not a list (the schema check reports that, located)."""
    out = []
    entries = get(rec.data, "history")
    for h in entries if isinstance(entries, list) else []:
        if isinstance(h, dict):
            at = parse_instant(h.get("at"))
            if at is not None:
                out.append((at, text(h.get("status")), text(h.get("by"))))
    return out


def region_of_customer(corpus, customer_id) -> str:
    rec = corpus.records.get(customer_id) if isinstance(customer_id, str) else None
    return text(get(rec.data, "region")) if rec else ""


def load_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return data if isinstance(data, dict) else {}


def merge(base: dict, override: dict | None) -> dict:
    """Deep merge of configuration: ``override`` wins, nested mappings merged key by key."""
    out = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
