"""Business calendar: working time between instants and deadlines in working hours and days.

A calendar answers two questions fast and exactly:

* how much working time lies between two instants (`working_seconds`, `working_time`);
* which instant comes after adding working time to an instant (`add_working_time`,
  `add_working_hours`, `add_working_days`, `half_working_day`, `end_of_working_day`).

Where the time comes from:

* working hours per weekday, several intervals a day (a lunch break is the gap between them),
  in one time zone (the calendar record's ``timezone``, by default the company zone
  ``servicebook.load.instants.ZONE_NAME``, via :mod:`zoneinfo`);
* Chinese public holidays **and make-up working days** (调休: weekend days that are working days)
  from the ``chinese-calendar`` package; a make-up day uses the hours of ``makeup_day_hours``
  (Monday by default);
* a calendar record (``records/calendar/CAL-*.yaml``, schema ``schemas/calendar.schema.json``)
  adds company closures, extra working days or special hours for a date, and may declare
  ``covered_years`` whose holidays it lists itself. Precedence for a date: the record's
  ``working_days`` entry, then its ``closures``, then the statutory data, then the weekday hours.

The statutory data only covers some years (``chinese-calendar`` 1.11: 2004-2026). Any computation
touching a date of a year that neither the package nor the record covers raises
:class:`CalendarError` naming the date and the way out, instead of guessing.

A 7x24 calendar (``around_the_clock: true``, or :func:`around_the_clock`) counts every second; its
"working day" is 24 hours. It covers every year.

Implementation: per-day working intervals are precomputed once as absolute epoch seconds, with the
cumulative working seconds before every day. A *working coordinate* ``w(t)`` (working seconds since
the calendar's first day) then costs one bisection; ``working_seconds(a, b) = w(b) - w(a)`` and adding
working time is the inverse, again one bisection over the cumulative array. No minute loops.

Conventions: adding working time returns the *earliest* instant that reaches the target, so four
working hours from 08:00 on a 09-12/13-18 day end at 14:00, and a deadline falling exactly on the
lunch break is 12:00, not 13:00. ``add_working_days(t, n)`` keeps ``t``'s position inside its
working day (working time already done that day), clamped to the target day's length; a start
outside working hours counts from the next working instant (Friday 19:00 + 1 day = Monday 18:00).
A fractional day adds that fraction of the *start* day's working time (half a working day is
exactly half that day's hours).
"""

from __future__ import annotations

import bisect
import datetime as _dt
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from servicebook.load import instants

__all__ = [
    "CalendarError",
    "BusinessCalendar",
    "AroundTheClockCalendar",
    "DEFAULT_TIMEZONE",
    "DEFAULT_HOURS",
    "WEEKDAYS",
    "to_timestamp",
    "statutory_years",
    "china_standard",
    "around_the_clock",
    "from_record",
]

# The company zone (one setting, in load/instants.py): the zone of a calendar that names none.
# A calendar record's own ``timezone`` field, when given, is the zone of its working hours and dates.
DEFAULT_TIMEZONE = instants.ZONE_NAME
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# 5 x 8: 09:00-12:00 and 13:00-18:00, Monday to Friday.
DEFAULT_HOURS: dict[str, list[tuple[str, str]]] = {
    d: [("09:00", "12:00"), ("13:00", "18:00")] for d in WEEKDAYS[:5]
} | {d: [] for d in WEEKDAYS[5:]}

_DAY = 86400
_SEEN_MAX = 1 << 19  # answers a calendar keeps per question (``BusinessCalendar._wd_seen``): ~80 MB each at most
_INF_TS = float("inf")


class CalendarError(ValueError):
    """A computation the calendar refuses: a date outside covered years, a bad instant or record."""


# --------------------------------------------------------------------------- instants


def to_timestamp(value, tz: _dt.tzinfo | None = None) -> float:
    """Epoch seconds of an instant, by the one parser (:func:`servicebook.load.instants.to_timestamp`;
    numbers pass through, a bare date is midnight in ``tz``, a calendar's own zone), refused with a
    :class:`CalendarError` (the SLA engine turns that into an error clock). The calendar's methods
    and the SLA engine read their instants here."""
    try:
        return instants.to_timestamp(value, tz)
    except instants.InstantError as exc:
        raise CalendarError(str(exc)) from None


def _hhmm(text) -> int:
    """Seconds after midnight for ``HH:MM`` (``24:00`` allowed)."""
    try:
        h, m = str(text).split(":")
        h, m = int(h), int(m)
    except ValueError as exc:
        raise CalendarError(f"not a time of day HH:MM: {text!r}") from exc
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise CalendarError(f"not a time of day HH:MM: {text!r}")
    return h * 3600 + m * 60


def _intervals(spec) -> tuple[tuple[int, int], ...]:
    """Normalise a list of ``(from, to)`` or ``{from, to}`` into sorted second offsets."""
    out = []
    for item in spec or ():
        if isinstance(item, Mapping):
            a, b = item.get("from"), item.get("to")
        else:
            a, b = item
        sa, sb = _hhmm(a), _hhmm(b)
        if sb <= sa:
            raise CalendarError(f"working interval {a}-{b} ends before it starts")
        out.append((sa, sb))
    out.sort()
    for (a1, b1), (a2, _) in zip(out, out[1:]):
        if a2 < b1:
            raise CalendarError("working intervals of a day overlap")
    return tuple(out)


def statutory_years() -> tuple[int, int]:
    """First and last year the installed ``chinese-calendar`` package covers."""
    import chinese_calendar.constants as cc

    return min(cc.holidays).year, max(max(cc.holidays), max(cc.workdays)).year


def _statutory_tables():
    import chinese_calendar.constants as cc

    return cc.holidays, cc.workdays


# --------------------------------------------------------------------------- calendars



def _zone(calendar_id: str, timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"{calendar_id}: unknown time zone {timezone!r}") from exc


def zone_named(timezone: str) -> ZoneInfo:
    """A calendar's zone by its name (how kept clocks store it); CalendarError when unknown."""
    return _zone("", timezone)

class BusinessCalendar:
    """Working hours per weekday + statutory holidays/make-up days + a record's overrides.

    Public methods take instants as aware datetimes, instant text or epoch seconds and return
    aware datetimes in the calendar's zone. The ``w``/``instant_at_w``/``w_*`` methods are the
    fast epoch-seconds layer the SLA engine uses.
    """

    around_the_clock = False

    def __init__(
        self,
        *,
        id: str = "CAL-default",
        timezone: str = DEFAULT_TIMEZONE,
        working_hours: Mapping[str, Sequence] | None = None,
        makeup_day_hours: str = "mon",
        statutory: str = "cn",
        closures: Iterable[_dt.date | tuple[_dt.date, _dt.date]] = (),
        working_days: Mapping[_dt.date, Sequence | None] | None = None,
        covered_years: Iterable[int] = (),
    ):
        self.id = id
        self.tz = _zone(id, timezone)
        self.timezone = timezone
        hours = DEFAULT_HOURS if working_hours is None else working_hours
        self.weekday_hours = tuple(_intervals(hours.get(d, ())) for d in WEEKDAYS)
        if makeup_day_hours not in WEEKDAYS:
            raise CalendarError(f"{id}: makeup_day_hours must be one of {', '.join(WEEKDAYS)}")
        self.makeup_hours = self.weekday_hours[WEEKDAYS.index(makeup_day_hours)]
        if statutory not in ("cn", "none"):
            raise CalendarError(f"{id}: statutory holidays must be 'cn' or 'none', not {statutory!r}")
        self.statutory = statutory
        closed: set[_dt.date] = set()
        for c in closures:
            if isinstance(c, tuple):
                a, b = c
                d = a
                while d <= b:
                    closed.add(d)
                    d += _dt.timedelta(days=1)
            else:
                closed.add(c)
        self.closures = frozenset(closed)
        self.extra_days: dict[_dt.date, tuple[tuple[int, int], ...]] = {}
        for d, spec in (working_days or {}).items():
            self.extra_days[d] = self.makeup_hours if spec is None else _intervals(spec)
        covered = set(covered_years)
        if statutory == "cn":
            lo, hi = statutory_years()
            covered |= set(range(lo, hi + 1))
        elif not covered:
            covered = set(range(2000, 2061))
        if not covered:
            raise CalendarError(f"{id}: the calendar covers no year")
        self.covered_years = frozenset(covered)
        self._built = False
        # answers of ``wd`` and ``instant_at_w`` by their instant or coordinate: a case's clocks
        # share their starts and stops, every open clock is measured to the same as-of instant
        # and projected from it (100k complaints: 530k instants, 200k distinct)
        self._wd_seen: dict[float, tuple[float, int]] = {}
        self._at_w_seen: dict[float, tuple[float, int]] = {}

    # ---------------------------------------------------------------- precomputation

    def _build(self) -> None:
        y0, y1 = min(self.covered_years), max(self.covered_years)
        first = _dt.date(y0, 1, 1)
        ndays = (_dt.date(y1 + 1, 1, 1) - first).days
        hol, mk = _statutory_tables() if self.statutory == "cn" else ({}, {})
        tz = self.tz
        starts = []  # epoch seconds of each local midnight, plus one past the end
        ivs = []  # per day: tuple of (abs_start, abs_end)
        totals = []
        cum = [0.0]  # cumulative working seconds before each day
        working = []  # day indices of working days
        uncovered = [0]  # prefix count of uncovered days
        covered = self.covered_years
        one = _dt.timedelta(days=1)
        d = first
        midnight = _dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()
        for i in range(ndays):
            nxt = d + one
            next_midnight = _dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()
            if d in self.extra_days:
                spec = self.extra_days[d]
            elif d in self.closures or d in hol:
                spec = ()
            elif d in mk:
                spec = self.makeup_hours
            else:
                spec = self.weekday_hours[d.weekday()]
            if d.year not in covered:
                spec = ()
                uncovered.append(uncovered[-1] + 1)
            else:
                uncovered.append(uncovered[-1])
            if spec:
                if next_midnight - midnight == _DAY:
                    day = tuple((midnight + a, midnight + b) for a, b in spec)
                else:  # a day with a UTC offset change: convert each boundary
                    day = tuple((self._local(d, a), self._local(d, b)) for a, b in spec)
                tot = sum(b - a for a, b in day)
            else:
                day, tot = (), 0.0
            starts.append(midnight)
            ivs.append(day)
            totals.append(tot)
            cum.append(cum[-1] + tot)
            if tot > 0:
                working.append(i)
            d, midnight = nxt, next_midnight
        starts.append(midnight)
        self._ndays = ndays
        # per day: True when its year is not covered (the hot paths test one flag, not two sums)
        self._gap = [uncovered[i + 1] != uncovered[i] for i in range(ndays)]
        self._first = first
        self._starts = starts
        self._ivs = ivs
        self._totals = totals
        self._cum = cum
        self._working = working
        # per day: how many working days come before it (bisect_left(working, day), looked up)
        before = []
        k = 0
        for i in range(ndays):
            before.append(k)
            if totals[i] > 0:
                k += 1
        self._before = before
        self._uncovered = uncovered
        self._built = True

    def _local(self, d: _dt.date, secs: int) -> float:
        base = _dt.datetime(d.year, d.month, d.day, tzinfo=self.tz)
        if secs >= _DAY:
            nxt = d + _dt.timedelta(days=1)
            return _dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz).timestamp()
        h, rem = divmod(secs, 3600)
        return base.replace(hour=h, minute=rem // 60).timestamp()

    def _coverage_error(self, when) -> CalendarError:
        lo, hi = (statutory_years() if self.statutory == "cn" else (min(self.covered_years), max(self.covered_years)))
        extra = sorted(set(self.covered_years) - set(range(lo, hi + 1)))
        years = f"{lo}-{hi}" + (f" and {', '.join(map(str, extra))}" if extra else "")
        return CalendarError(
            f"{self.id}: refusing to compute working time beyond the covered years ({when}): "
            f"holiday data covers {years} only; "
            f"list that year's holidays and make-up days in the calendar record and add the year to "
            f"its covered_years"
        )

    def _day_index(self, ts: float) -> int:
        return self.wd(ts)[1]

    def _outside(self, ts: float, i: int) -> CalendarError:
        if i < 0 or i >= self._ndays:
            return self._coverage_error(_dt.datetime.fromtimestamp(ts, self.tz).isoformat())
        return self._coverage_error((self._first + _dt.timedelta(days=i)).isoformat())

    def _check_span(self, i: int, j: int) -> None:
        """Raise unless the days ``i`` to ``j`` are all covered (the hot paths test
        ``j >= self._ndays or self._uncovered[j + 1] != self._uncovered[i]`` before calling)."""
        if j >= self._ndays:
            raise self._coverage_error("a date after " + (self._first + _dt.timedelta(days=len(self._ivs) - 1)).isoformat())
        if self._uncovered[j + 1] != self._uncovered[i]:
            k = i
            while self._uncovered[k + 1] == self._uncovered[k]:
                k += 1
            raise self._coverage_error((self._first + _dt.timedelta(days=k)).isoformat())

    # ---------------------------------------------------------------- fast layer (epoch seconds)

    def prepare(self) -> None:
        """Precompute the day tables now rather than on first use (before forking workers)."""
        if not self._built:
            self._build()

    def w(self, ts: float) -> float:
        """Working coordinate of an epoch instant: working seconds since the calendar's first day."""
        return self.wd(ts)[0]

    def wd(self, ts: float) -> tuple[float, int]:
        """``w(ts)`` and the index of the day holding ``ts`` (``day_of(ts)``), found together: the
        SLA engine needs both for most instants it measures."""
        found = self._wd_seen.get(ts)
        if found is not None:
            return found
        if not self._built:
            self._build()
        i = bisect.bisect_right(self._starts, ts) - 1
        if i < 0 or i >= self._ndays or self._gap[i]:
            raise self._outside(ts, i)
        acc = self._cum[i]
        for a, b in self._ivs[i]:
            if ts >= b:
                acc += b - a
            else:
                if ts > a:
                    acc += ts - a
                break
        found = acc, i
        if len(self._wd_seen) < _SEEN_MAX:
            self._wd_seen[ts] = found
        return found

    def instant_at_w(self, wc: float, not_before_day: int = 0) -> float:
        """Earliest epoch instant whose working coordinate is ``wc``."""
        if not self._built:
            self._build()
        seen = self._at_w_seen.get(wc)
        if seen is not None:
            t, j = seen
        else:
            cum = self._cum
            if wc <= 0:
                return self._starts[0] if not self._working else self._ivs[self._working[0]][0][0]
            # first day whose end-cumulative reaches wc
            j = bisect.bisect_left(cum, wc, 1) - 1
            t = None
        # covered from ``not_before_day`` to the answer's day (asked each time: the day differs)
        i = not_before_day if not_before_day < j else j
        if j >= self._ndays or self._uncovered[j + 1] != self._uncovered[i]:
            self._check_span(i, j)
        if t is None:
            rest = wc - cum[j]
            for a, b in self._ivs[j]:
                if rest <= b - a:
                    t = a + rest
                    break
                rest -= b - a
            else:
                t = self._ivs[j][-1][1]  # float rounding guard
            if len(self._at_w_seen) < _SEEN_MAX:
                self._at_w_seen[wc] = (t, j)
        return t

    def _next_working_day(self, i: int) -> int:
        """The first working day after day ``i``, a day off."""
        k = self._before[i]
        if k >= len(self._working):
            raise self._coverage_error("a working day after " + (self._first + _dt.timedelta(days=i)).isoformat())
        j = self._working[k]
        self._check_span(i, j)
        return j

    def w_add_days(self, ts: float, days: float, known: tuple[float, int] | None = None) -> float:
        """Working coordinate of ``ts`` plus ``days`` working days (fraction: of the start day).
        ``known``: ``wd(ts)`` when the caller has it already."""
        if days < 0:
            raise CalendarError("cannot add a negative number of working days")
        n = int(days)
        frac = days - n
        wts, i = known or self.wd(ts)
        if self._totals[i] > 0:
            pos = wts - self._cum[i]  # working time already done that day
        else:
            i, pos = self._next_working_day(i), 0.0
        k = self._before[i] + n
        if k >= len(self._working):
            raise self._coverage_error(f"{n} working days after " + (self._first + _dt.timedelta(days=i)).isoformat())
        j = self._working[k]
        if self._uncovered[j + 1] != self._uncovered[i]:
            self._check_span(i, j)
        # min() and max() of two floats cost more than the rest of this line: written out
        tj = self._totals[j]
        target = self._cum[j] + (tj if tj < pos else pos)
        if frac:
            target += frac * self._totals[i]
        return wts if wts > target else target

    def w_end_of_day(self, ts: float, n: int) -> float:
        """Working coordinate of the end of the ``n``-th working day, the day of ``ts`` being the
        first (or the next working day when ``ts`` falls on a day without working hours)."""
        if n < 1:
            raise CalendarError("the working day number starts at 1")
        i = self._day_index(ts)
        k = self._before[i] + n - 1
        if k >= len(self._working):
            raise self._coverage_error(f"working day {n} after " + (self._first + _dt.timedelta(days=i)).isoformat())
        j = self._working[k]
        self._check_span(i, j)
        return self._cum[j + 1]

    def day_of(self, ts: float) -> int:
        return self._day_index(ts)

    def covered_until(self, ts: float) -> tuple[float, float, int] | None:
        """Where the covered data holding ``ts`` ends: ``(instant, working coordinate there, index
        of its last covered day)``, the instant being the start of the first day after ``ts`` whose
        year is not covered (or the end of the tables). None when ``ts`` itself is not covered.
        The SLA engine measures up to there what it cannot measure past it: working time
        counted to that instant is a lower bound of the working time to any later instant."""
        if not self._built:
            self._build()
        i = bisect.bisect_right(self._starts, ts) - 1
        if i < 0 or i >= self._ndays or self._gap[i]:
            return None
        k = bisect.bisect_right(self._uncovered, self._uncovered[i]) - 1  # first uncovered day
        k = min(k, self._ndays)
        return self._starts[k], self._cum[k], k - 1

    def data_ends(self) -> _dt.date | None:
        """The last day of the last covered year (the day after which every computation is
        refused), or None for a calendar whose statutory data is not used."""
        return _dt.date(max(self.covered_years), 12, 31)

    # ---------------------------------------------------------------- public API

    def _ts(self, instant) -> float:
        return to_timestamp(instant, self.tz)

    def _dt(self, ts: float) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(ts, self.tz)

    def _date_index(self, day: _dt.date) -> int:
        if not self._built:
            self._build()
        i = (day - self._first).days
        if i < 0 or i >= len(self._ivs) or day.year not in self.covered_years:
            raise self._coverage_error(day.isoformat())
        return i

    def is_working_day(self, day: _dt.date) -> bool:
        """True when ``day`` has working hours (after holidays, make-up days and overrides)."""
        i = self._date_index(day)
        return self._totals[i] > 0

    def working_intervals(self, day: _dt.date) -> list[tuple[_dt.datetime, _dt.datetime]]:
        """The working intervals of ``day`` as aware datetimes."""
        i = self._date_index(day)
        return [(self._dt(a), self._dt(b)) for a, b in self._ivs[i]]

    def day_working_seconds(self, day: _dt.date) -> float:
        """Working seconds of ``day``."""
        i = self._date_index(day)
        return self._totals[i]

    def working_seconds(self, start, end) -> float:
        """Working seconds between two instants (negative when ``end`` is before ``start``)."""
        return self.w(self._ts(end)) - self.w(self._ts(start))

    def working_time(self, start, end) -> _dt.timedelta:
        """Working time between two instants as a timedelta."""
        return _dt.timedelta(seconds=self.working_seconds(start, end))

    def working_seconds_at_least(self, start, end) -> tuple[float, bool]:
        """``(seconds, exact)``: the working seconds between two instants when the calendar covers
        them (``exact`` True), else those up to where its data ends after ``start``, a lower bound
        of the real figure (``exact`` False): what a report past the end of the holiday data can
        still say ("at least 12 working days in this stage"). Raises :class:`CalendarError` only
        when ``start`` itself is not covered."""
        a, b = self._ts(start), self._ts(end)
        if b < a:
            raise CalendarError("working_seconds_at_least: end before start")
        cover = self.covered_until(a)
        if cover is None:
            raise self._coverage_error(self._dt(a).date().isoformat())
        limit, w_limit, _ = cover
        if b < limit:
            return self.w(b) - self.w(a), True
        return w_limit - self.w(a), False

    def add_working_time(self, start, amount: _dt.timedelta | float) -> _dt.datetime:
        """Earliest instant at which ``amount`` (timedelta or seconds) of working time has passed."""
        secs = amount.total_seconds() if isinstance(amount, _dt.timedelta) else float(amount)
        if secs < 0:
            raise CalendarError("cannot add negative working time")
        ts = self._ts(start)
        if secs == 0:
            return self._dt(ts)
        return self._dt(self.instant_at_w(self.w(ts) + secs, self._day_index(ts)))

    def add_working_hours(self, start, hours: float) -> _dt.datetime:
        return self.add_working_time(start, hours * 3600.0)

    def add_working_days(self, start, days: float) -> _dt.datetime:
        """Instant ``days`` working days after ``start`` (see the module notes for the rule)."""
        ts = self._ts(start)
        if days == 0:
            return self._dt(ts)
        return self._dt(self.instant_at_w(self.w_add_days(ts, days), self._day_index(ts)))

    def half_working_day(self, start) -> _dt.datetime:
        """Deadline half a working day after ``start``: half of the start day's working hours."""
        return self.add_working_days(start, 0.5)

    def end_of_working_day(self, start, n: int = 1) -> _dt.datetime:
        """End of the ``n``-th working day counting the day of ``start`` as the first."""
        ts = self._ts(start)
        return self._dt(self.instant_at_w(self.w_end_of_day(ts, n), self._day_index(ts)))

    def next_working_instant(self, start) -> _dt.datetime:
        """``start`` if it is inside working hours, else the next start of working hours."""
        ts = self._ts(start)
        i = self._day_index(ts)
        for a, b in self._ivs[i]:
            if ts < b:
                return self._dt(max(a, ts))
        k = bisect.bisect_right(self._working, i)
        if k >= len(self._working):
            raise self._coverage_error("a working day after " + self._dt(ts).date().isoformat())
        j = self._working[k]
        self._check_span(i, j)
        return self._dt(self._ivs[j][0][0])

    def __repr__(self) -> str:
        return f"<BusinessCalendar {self.id} {self.timezone}>"


class AroundTheClockCalendar:
    """7x24x365: every second is working time; a working day is 24 hours; every year is covered."""

    around_the_clock = True

    def __init__(self, *, id: str = "CAL-7x24", timezone: str = DEFAULT_TIMEZONE):
        self.id = id
        self.tz = _zone(id, timezone)
        self.timezone = timezone

    # fast layer
    def prepare(self) -> None:
        pass

    def w(self, ts: float) -> float:
        return ts

    def wd(self, ts: float) -> tuple[float, int]:
        return ts, 0

    def instant_at_w(self, wc: float, not_before_day: int = 0) -> float:
        return wc

    def day_of(self, ts: float) -> int:
        return 0

    def covered_until(self, ts: float) -> tuple[float, float, int] | None:
        return (_INF_TS, _INF_TS, 0)

    def data_ends(self) -> _dt.date | None:
        return None

    def w_add_days(self, ts: float, days: float, known: tuple[float, int] | None = None) -> float:
        if days < 0:
            raise CalendarError("cannot add a negative number of working days")
        return ts + days * _DAY

    def w_end_of_day(self, ts: float, n: int) -> float:
        if n < 1:
            raise CalendarError("the working day number starts at 1")
        d = _dt.datetime.fromtimestamp(ts, self.tz).date() + _dt.timedelta(days=n)
        return _dt.datetime(d.year, d.month, d.day, tzinfo=self.tz).timestamp()

    # public API (same as BusinessCalendar)
    def _ts(self, instant) -> float:
        return to_timestamp(instant, self.tz)

    def _dt(self, ts: float) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(ts, self.tz)

    def is_working_day(self, day: _dt.date) -> bool:
        return True

    def working_intervals(self, day: _dt.date):
        a = _dt.datetime(day.year, day.month, day.day, tzinfo=self.tz)
        n = day + _dt.timedelta(days=1)
        return [(a, _dt.datetime(n.year, n.month, n.day, tzinfo=self.tz))]

    def day_working_seconds(self, day: _dt.date) -> float:
        (a, b), = self.working_intervals(day)
        return b.timestamp() - a.timestamp()

    def working_seconds(self, start, end) -> float:
        return self._ts(end) - self._ts(start)

    def working_time(self, start, end) -> _dt.timedelta:
        return _dt.timedelta(seconds=self.working_seconds(start, end))

    def working_seconds_at_least(self, start, end) -> tuple[float, bool]:
        return self.working_seconds(start, end), True

    def add_working_time(self, start, amount) -> _dt.datetime:
        secs = amount.total_seconds() if isinstance(amount, _dt.timedelta) else float(amount)
        if secs < 0:
            raise CalendarError("cannot add negative working time")
        return self._dt(self._ts(start) + secs)

    def add_working_hours(self, start, hours: float) -> _dt.datetime:
        return self.add_working_time(start, hours * 3600.0)

    def add_working_days(self, start, days: float) -> _dt.datetime:
        return self._dt(self.w_add_days(self._ts(start), days))

    def half_working_day(self, start) -> _dt.datetime:
        return self.add_working_days(start, 0.5)

    def end_of_working_day(self, start, n: int = 1) -> _dt.datetime:
        return self._dt(self.w_end_of_day(self._ts(start), n))

    def next_working_instant(self, start) -> _dt.datetime:
        return self._dt(self._ts(start))

    def __repr__(self) -> str:
        return f"<AroundTheClockCalendar {self.id} {self.timezone}>"


# --------------------------------------------------------------------------- constructors

_CACHE: dict = {}


def china_standard(timezone: str = DEFAULT_TIMEZONE) -> BusinessCalendar:
    """The built-in 5x8 calendar: Mon-Fri 09:00-12:00 and 13:00-18:00, Chinese holidays and
    make-up days. Cached: build cost is paid once per process."""
    key = ("cn", timezone)
    if key not in _CACHE:
        _CACHE[key] = BusinessCalendar(id="CAL-builtin-standard", timezone=timezone)
    return _CACHE[key]


def around_the_clock(timezone: str = DEFAULT_TIMEZONE, id: str = "CAL-7x24") -> AroundTheClockCalendar:
    """A 7x24 calendar in ``timezone``."""
    return AroundTheClockCalendar(id=id, timezone=timezone)


def _date(value, where: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    day = instants.date_or_none(value) if isinstance(value, str) and len(value.strip()) == 10 else None
    if day is None:
        raise CalendarError(f"{where}: not a date: {value!r}")
    return day


def from_record(data: Mapping) -> BusinessCalendar | AroundTheClockCalendar:
    """Build a calendar from a calendar record's data (see ``schemas/calendar.schema.json``).
    Calendars are immutable; identical record data returns the same (already built) calendar."""
    import json

    try:
        key = ("record", json.dumps(data, sort_keys=True, default=str))
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    cal = _from_record(data)
    if key is not None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = cal
    return cal


def _from_record(data: Mapping) -> BusinessCalendar | AroundTheClockCalendar:
    cid = str(data.get("id", "CAL-unnamed"))
    tzname = data.get("timezone", DEFAULT_TIMEZONE)
    if data.get("around_the_clock"):
        return AroundTheClockCalendar(id=cid, timezone=tzname)
    hours = data.get("working_hours")
    if hours is not None:
        unknown = set(hours) - set(WEEKDAYS)
        if unknown:
            raise CalendarError(f"{cid}: unknown weekday(s) in working_hours: {', '.join(sorted(unknown))}")
        hours = {d: hours.get(d, []) for d in WEEKDAYS}
    closures = []
    for n, c in enumerate(data.get("closures") or []):
        a = _date(c.get("from") if isinstance(c, Mapping) else c, f"{cid} closures[{n}]")
        b = _date(c.get("to"), f"{cid} closures[{n}]") if isinstance(c, Mapping) and c.get("to") else a
        if b < a:
            raise CalendarError(f"{cid} closures[{n}]: 'to' is before 'from'")
        closures.append((a, b))
    working_days = {}
    for n, w in enumerate(data.get("working_days") or []):
        d = _date(w.get("date"), f"{cid} working_days[{n}]")
        working_days[d] = w.get("hours")
    return BusinessCalendar(
        id=cid,
        timezone=tzname,
        working_hours=hours,
        makeup_day_hours=data.get("makeup_day_hours", "mon"),
        statutory=data.get("statutory_holidays", "cn"),
        closures=closures,
        working_days=working_days,
        covered_years=[int(y) for y in data.get("covered_years") or []],
    )
