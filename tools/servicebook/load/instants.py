"""Instants and dates: the one parser and the one time-zone setting (issue #14).

Every module that reads a time from record data, an option or git goes through here; nothing else
names a time zone or an offset (``tests/test_instants.py`` greps for it).

The company time zone
    ``ZONE_NAME`` / ``ZONE`` (today ``Asia/Shanghai``). It is *the* setting for: a bare date read
    as an instant, the local date of an instant (``local_date``), epoch seconds turned into a
    datetime, and ``now()``. A calendar record (``records/calendar/*.yaml``) has its own
    ``timezone`` field for its working hours and dates; it defaults to this one
    (``derive.sla.calendar``), and such a calendar passes ``zone=`` to read bare dates in it.

What is an instant (``parse_instant``, strict; ``instant_or_none``, lenient)
    * text ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` with an offset ``+08:00`` / ``-05:00`` or ``Z``
      (``T`` or a space between date and time; seconds optional when *reading* — a record must
      have them, the schema says so; surrounding white space ignored);
    * text ``YYYY-MM-DD``, or a ``date``: 00:00 of that day in the company zone (``zone=``);
    * an aware ``datetime`` (returned as it is);
    * epoch seconds (``int``/``float``, not ``bool``), as a datetime in the company zone.

    Refused (``InstantError``, a ``ValueError``; the lenient parser returns None):
    * a time without offset (text or naive ``datetime``): record data may not have one (the
      schema rejects it) and neither may an option. Its zone is never guessed. (The one place a
      time without offset is read as local time is ``write.migrations``, which upgrades the
      version-0 spreadsheet format that was defined that way: ``localize``.)
    * anything else: other ISO 8601 forms (week dates, basic ``20261120T1730``), garbage, ``None``.

    ``to_timestamp`` is epoch seconds of the same (numbers pass through). The strict parser is for
    options and arguments (a bad ``--at`` is a usage error with its message); the lenient one for
    record data, which may not validate (the schema check reports it, located).

Dates (``parse_date``, strict; ``date_or_none``, lenient)
    text ``YYYY-MM-DD`` or a ``date`` as they are; an instant (text, ``datetime`` or epoch
    seconds) is its local date in the company zone.

Speed: the SLA engine and the site read hundreds of thousands of instants. Text goes straight to
``datetime.fromisoformat`` behind a few character tests (``bench``: within a few percent of
``fromisoformat`` alone).

``now()`` is the wall clock, for the command line only (``commands/_common.py`` and the MkDocs
plugin's default ``as_of``): every derivation takes its "as of" instant as an argument.
"""

from __future__ import annotations

import datetime as _dt
import re
from zoneinfo import ZoneInfo

__all__ = [
    "ZONE_NAME", "ZONE", "EXAMPLE", "InstantError",
    "parse_instant", "instant_or_none", "to_timestamp", "parse_date", "date_or_none",
    "is_instant_text", "is_date_text", "local_date", "start_of_day", "localize",
    "format_instant", "now",
]

ZONE_NAME = "Asia/Shanghai"
ZONE = ZoneInfo(ZONE_NAME)
EXAMPLE = "2026-11-20T17:30:00+08:00"

_datetime = _dt.datetime
_date = _dt.date
_fromiso = _dt.datetime.fromisoformat
_date_fromiso = _dt.date.fromisoformat
# characters 4, 7, 10 and 13 of instant text: the dashes of the date, T (or a space), the colon
_SHAPES = frozenset(("--T:", "-- :"))
_NAIVE = object()  # _text_instant's answer for a time without offset


class InstantError(ValueError):
    """A value that is not an instant (or not a date): the message says which and why."""


def _text_instant(value: str):
    """Aware datetime, ``_NAIVE`` (a time without offset), a ``date`` (bare date text) or None."""
    if value[4:14:3] in _SHAPES:
        try:
            moment = _fromiso(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else _NAIVE
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return _date_fromiso(value)
        except ValueError:
            return None
    if value and (value[0].isspace() or value[-1].isspace()):
        return _text_instant(value.strip())
    return None


def _midnight(day: _dt.date, zone) -> _dt.datetime:
    return _datetime(day.year, day.month, day.day, tzinfo=zone or ZONE)


def _epoch(value, zone):
    try:
        return _datetime.fromtimestamp(value, zone or ZONE)
    except (ValueError, OverflowError, OSError):
        return None


def _refuse(value, what: str = "an instant") -> InstantError:
    if isinstance(value, str) and _text_instant(str(value)) is _NAIVE or \
            isinstance(value, _datetime) and value.tzinfo is None:
        shown = value.isoformat() if isinstance(value, _datetime) else str(value)
        return InstantError(f"{shown!r} has no UTC offset: write it with one, e.g. {EXAMPLE}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return InstantError(f"not {what}: {value!r} (epoch seconds out of range)")
    return InstantError(f"not {what}: {value!r} (expected e.g. {EXAMPLE}, or a date {EXAMPLE[:10]})")


def instant_or_none(value, zone: _dt.tzinfo | None = None) -> _dt.datetime | None:
    """The aware datetime of an instant (see the module notes), None when ``value`` is not one
    (a time without offset included): for record data. ``zone``: where a bare date's midnight is
    and epoch seconds are shown (default: the company zone)."""
    if value.__class__ is str:
        if value[4:14:3] in _SHAPES:  # the fast path: instant text
            try:
                moment = _fromiso(value)
            except ValueError:
                return None
            return moment if moment.tzinfo is not None else None
        found = _text_instant(value)
        if found.__class__ is _date:
            return _midnight(found, zone)
        return found if found.__class__ is _datetime else None
    if isinstance(value, _datetime):
        return value if value.utcoffset() is not None else None
    if isinstance(value, _date):
        return _midnight(value, zone)
    if isinstance(value, str):  # a str subclass (ruamel's scalars)
        return instant_or_none(str(value), zone)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _epoch(value, zone)
    return None


def parse_instant(value, zone: _dt.tzinfo | None = None) -> _dt.datetime:
    """``instant_or_none`` that raises ``InstantError`` (saying why) instead of returning None:
    for options and arguments."""
    moment = instant_or_none(value, zone)
    if moment is None:
        raise _refuse(value)
    return moment


def to_timestamp(value, zone: _dt.tzinfo | None = None) -> float:
    """Epoch seconds of anything ``parse_instant`` accepts (numbers pass through); InstantError."""
    if value.__class__ is str and value[4:14:3] in _SHAPES:  # the fast path: instant text
        try:
            moment = _fromiso(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.timestamp()
    elif value.__class__ is float or value.__class__ is int:
        try:
            return float(value)
        except OverflowError:  # an integer no float holds
            raise _refuse(value) from None
    moment = instant_or_none(value, zone)
    if moment is None:
        raise _refuse(value)
    return moment.timestamp()


def date_or_none(value) -> _dt.date | None:
    """A date from ``YYYY-MM-DD`` text or a ``date``; an instant's local date in the company zone;
    None for anything else (record data)."""
    if value.__class__ is str:
        found = _text_instant(value)
        if found.__class__ is _date:
            return found
        return found.astimezone(ZONE).date() if found.__class__ is _datetime else None
    if isinstance(value, _date) and not isinstance(value, _datetime):
        return value
    if isinstance(value, str):
        return date_or_none(str(value))
    moment = instant_or_none(value)
    return moment.astimezone(ZONE).date() if moment is not None else None


def parse_date(value) -> _dt.date:
    """``date_or_none`` that raises ``InstantError`` instead of returning None."""
    day = date_or_none(value)
    if day is None:
        raise _refuse(value, "a date")
    return day


# The schema formats (``load.schemas.FORMATS``): exactly RFC 3339 text, seconds and offset required.
_RFC3339_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_RFC3339_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_instant_text(value) -> bool:
    """The schema's ``date-time`` format: ``2026-11-20T17:30:00+08:00`` (seconds and offset)."""
    return isinstance(value, str) and bool(_RFC3339_INSTANT.match(value)) and instant_or_none(str(value)) is not None


def is_date_text(value) -> bool:
    """The schema's ``date`` format: ``YYYY-MM-DD``."""
    return isinstance(value, str) and bool(_RFC3339_DATE.match(value)) and date_or_none(str(value)) is not None


def local_date(moment: _dt.datetime) -> _dt.date:
    """The date of an aware datetime in the company zone."""
    return moment.astimezone(ZONE).date()


def start_of_day(day: _dt.date, zone: _dt.tzinfo | None = None) -> _dt.datetime:
    """00:00 of ``day`` in the company zone (``zone``): a bare date as an instant."""
    return _midnight(day, zone)


def localize(naive: _dt.datetime) -> _dt.datetime:
    """A wall-clock time without offset as company time. Only for formats defined that way (the
    version-0 records ``write.migrations`` upgrades); record data and options never are."""
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZONE)


def format_instant(moment: _dt.datetime) -> str:
    """Instant text as records hold it: ``2026-11-20T17:30:00+08:00`` (fractions only if any)."""
    return moment.isoformat()


def now() -> _dt.datetime:
    """The wall clock in the company zone, to the second. The command line's default ``--at``
    (and the MkDocs plugin's default ``as_of``) only."""
    return _datetime.now(ZONE).replace(microsecond=0)
