"""SLA clocks of a case: when each clock of its policy started, paused and stopped, its deadline
on the policy's calendar and its state, computed from record histories only.

The policies, and which one measures a record, are :mod:`servicebook.derive.sla.policies`'s; the
reports managers act on (compliance, breaches, the at-risk queue) :mod:`servicebook.derive.sla.reports`'s.

Cycles: entering a status of the policy's ``new_cycle_on`` (``reopened``) starts a new cycle of
every clock; within a cycle, a ``repeat: true`` clock starts again each time a start status is
entered after a stop (each review round). ``Clock.cycle`` numbers cycles from 1; ``last_cycle``
marks the newest; reports take the last cycle or flag any cycle ever breached.

Everything is computed *as of* an instant: history entries, records and referrer events after it
are invisible, so a report for a past instant is reproduced exactly. Time counts in the tier's
calendar (``policy.calendars``; VIP normally 7x24), minus pauses.

A large corpus is measured by as many processes as there are cores (``Engine.clocks``, forked
where the platform allows it, by :mod:`servicebook.derive.sla.parallel`): the clocks and their
order are those of one process.

States (``STATES``): ``running``, ``at_risk`` (running, threshold reached; ``remaining_seconds``
left), ``paused``, ``met``, ``breached`` (stopped late, or still open past the target;
``overdue_seconds`` says how late), ``cancelled`` (moot before the deadline) and ``error`` (could not
be computed, e.g. beyond the calendar's covered years; ``error`` says why). Durations are seconds of
the clock's calendar: working seconds for working targets, plain seconds otherwise.
"""

from __future__ import annotations

import datetime as _dt
import gc
import hashlib
import math
from collections.abc import Iterable, Mapping  # typing's aliases make isinstance slow
from dataclasses import dataclass
from typing import Any

from servicebook.derive import schedules as sched
from servicebook.derive.sla import calendar as bc
from servicebook.derive.sla import parallel
from servicebook.derive.sla import store as store_mod
from servicebook.derive.sla.calendar import CalendarError
from servicebook.load.instants import ZONE
from servicebook.derive.sla.policies import (
    REFERENCE_KINDS,
    TIERS,
    WORKING_UNITS,
    ClockDef,
    Event,
    Policy,
    PolicyError,
    PolicyMatcher,
    StatusSets,
    Target,
    field_of,
    load_calendars,
    load_policies,
    records_list,
)

__all__ = ["STATES", "Clock", "Engine", "compute"]

STATES = ("running", "at_risk", "paused", "met", "breached", "cancelled", "error")
_INF = math.inf
_UNSEEN = object()
_NOTHING: dict = {}  # no fields added (never changed)
_OPEN_STATES = frozenset(("running", "at_risk", "paused"))


# --------------------------------------------------------------------------- clocks


@dataclass(slots=True)
class Clock:
    """One clock of one case (one cycle). Instants are epoch seconds; ``to_dict`` renders them."""

    case: str
    kind: str
    customer: str | None
    tier: str
    owner: str | None
    department: str | None
    policy: str
    policy_version: int
    clock: str
    title: str
    title_zh: str
    cycle: int
    last_cycle: bool
    state: str
    started_at: float | None
    stopped_at: float | None
    deadline: float | None
    target: str
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float
    calendar: str
    tz: Any = None
    occurrence: int | None = None
    error: str | None = None
    # True when the clock ran past its calendar's covered data (a year without holiday data):
    # elapsed_seconds and overdue_seconds are then lower bounds ("at least"), and target_seconds
    # and remaining_seconds too when the target itself lies past the data (deadline null)
    at_least: bool = False
    # the kind of the measured record when it does not exist yet (issue #16: missing records are
    # late too): the clock runs on the record that started it (``case``: the handed-over survey)
    missing: str | None = None

    @property
    def open(self) -> bool:
        return self.state in _OPEN_STATES or (
            self.state == "breached" and self.stopped_at is None
        )

    @property
    def overdue_seconds(self) -> float:
        return max(0.0, -self.remaining_seconds) if self.state == "breached" else 0.0

    @property
    def used(self) -> float | None:
        if not self.target_seconds:
            return None
        return self.elapsed_seconds / self.target_seconds

    @property
    def key(self) -> str:
        return f"{self.policy}/{self.clock}"

    def month(self) -> str | None:
        """Month the clock counts in for reports: of its deadline, else of its start."""
        t = self.deadline if self.deadline is not None else self.started_at
        if t is None:
            return None
        return _dt.datetime.fromtimestamp(t, self.tz or _dt.timezone.utc).strftime("%Y-%m")

    def instant(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        return _dt.datetime.fromtimestamp(ts, self.tz or _dt.timezone.utc).isoformat(timespec="seconds")

    def values(self) -> tuple:
        """The field values in order: ``Clock(*c.values()) == c`` (what a forked worker sends
        back). Spelled out: specialised attribute reads take half of operator.attrgetter's time."""
        return (self.case, self.kind, self.customer, self.tier, self.owner, self.department,
                self.policy, self.policy_version, self.clock, self.title, self.title_zh, self.cycle,
                self.last_cycle, self.state, self.started_at, self.stopped_at, self.deadline,
                self.target, self.target_seconds, self.elapsed_seconds, self.remaining_seconds,
                self.calendar, self.tz, self.occurrence, self.error, self.at_least,
                self.missing)

    def to_dict(self, customer_extra: dict = _NOTHING, owner_extra: dict = _NOTHING,
                texts: InstantTexts | None = None) -> dict:
        """The stable JSON shape (documented in ``servicebook.commands.sla``); ``customer_extra``
        and ``owner_extra``: fields a report adds right after ``customer`` and ``owner`` (their
        names); ``texts``: instants already written, shared by the rows of one output (150,000
        rows at 100k records hold 430,000 instants, 195,000 of them distinct)."""
        tz = self.tz or _dt.timezone.utc
        texts = (texts or InstantTexts()).zone(tz)
        started = stopped = deadline = month = None
        if self.started_at is not None:
            started = texts[self.started_at]
        if self.stopped_at is not None:
            stopped = texts[self.stopped_at]
        if self.deadline is not None:
            deadline = texts[self.deadline]
        counted = deadline or started  # the month: of the deadline, else of the start (``month``)
        if counted is not None:
            # "YYYY-MM" of the instant text is strftime("%Y-%m") but for years before 1000
            month = counted[:7] if counted[0] != "0" else self.month()
        state = self.state
        remaining = self.remaining_seconds
        target = self.target_seconds
        return {
            "case": self.case,
            "kind": self.kind,
            "customer": self.customer,
            **customer_extra,
            "tier": self.tier,
            "owner": self.owner,
            **owner_extra,
            "department": self.department,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "clock": self.clock,
            "title": self.title,
            "title_zh": self.title_zh,
            "occurrence": self.occurrence,
            "cycle": self.cycle,
            "last_cycle": self.last_cycle,
            "state": state,
            "open": state in _OPEN_STATES or (state == "breached" and self.stopped_at is None),
            "started_at": started,
            "stopped_at": stopped,
            "deadline": deadline,
            "target": self.target,
            "target_seconds": _secs(target),
            "elapsed_seconds": _secs(self.elapsed_seconds),
            "remaining_seconds": _secs(remaining),
            "overdue_seconds": _secs(max(0.0, -remaining) if state == "breached" else 0.0),
            "used": round(self.elapsed_seconds / target, 4) if target else None,
            "calendar": self.calendar,
            "month": month,
            "error": self.error,
            "at_least": self.at_least,
            "missing": self.missing,
        }


class _Noting(Mapping):
    """The engine's records, noting each ID looked up (found or not) in ``ids``."""

    __slots__ = ("_records", "_ids")

    def __init__(self, records: dict, ids: set):
        self._records = records
        self._ids = ids

    def get(self, key, default=None):
        found = self._records.get(key, default)
        if isinstance(key, str):
            self._ids.add(key)
        return found

    def __getitem__(self, key):
        if isinstance(key, str):
            self._ids.add(key)
        return self._records[key]

    def __contains__(self, key):
        found = key in self._records
        if isinstance(key, str):
            self._ids.add(key)
        return found

    def __iter__(self):
        return iter(self._records)

    def __len__(self):
        return len(self._records)

    def values(self):  # whole scans: referrer indexes (lookups are noted) and role holders (people: the store's key)
        return self._records.values()


def _secs(x: float) -> int | float:
    if type(x) is float and x.is_integer():  # most seconds are whole: round() would format them first
        return int(x)
    r = round(x, 3)
    return int(r) if float(r).is_integer() else r


class InstantTexts:
    """Epoch seconds as instant text per zone (``Clock.instant``), each written once."""

    __slots__ = ("_zones",)

    def __init__(self):
        self._zones: dict = {}

    def zone(self, tz) -> _ZoneTexts:
        texts = self._zones.get(tz)
        if texts is None:
            texts = self._zones[tz] = _ZoneTexts(tz)
        return texts


class _ZoneTexts(dict):
    """ts -> ``Clock.instant(ts)`` text in one zone, filled on first use."""

    __slots__ = ("tz",)

    def __init__(self, tz):
        super().__init__()
        self.tz = tz

    def __missing__(self, ts):
        text = self[ts] = _dt.datetime.fromtimestamp(ts, self.tz).isoformat(timespec="seconds")
        return text


_add_months = sched.add_months


def _day(t: float, tz) -> _dt.date:
    return _dt.datetime.fromtimestamp(t, tz).date()


class _Plan:
    """One clock of one policy for one tier: what every case it measures shares, worked out once
    per engine rather than once per case."""

    __slots__ = ("cd", "target", "wcal", "budget", "pause", "restart", "ident", "text", "key", "starts_like")

    def __init__(self, policy: Policy, cd: ClockDef, tier: str, cal, cal24, pause: frozenset, key: tuple):
        self.key = key  # (policy's index in the engine, tier, clock's index): ``Engine._plan``
        self.cd = cd
        self.target = cd.targets[tier]
        self.wcal = cal if self.target.unit in WORKING_UNITS else cal24
        self.budget = _fixed_budget(self.target)  # None: depends on the start
        self.pause = pause
        self.restart = tuple(e for e in cd.start if e.own_status)  # a repeat clock's next round
        self.ident = (policy.id, policy.version, cd.name, cd.title, cd.title_zh)
        self.text = self.target.text()
        # the first clock of the policy with the same start events (``_cycles``: a case's fix
        # and close clocks start together, found once)
        self.starts_like = next(i for i, other in enumerate(policy.clocks) if other.start == cd.start)


class Engine:
    """Computes clocks for a set of records. Build once, ask for any ``at``.

    ``records``: a Corpus, a mapping id -> record or an iterable of records (anything with
    ``.kind``, ``.id``, ``.data``). Policies and calendars come from the records unless given.
    ``lifecycle``: a ``Lifecycle``, the raw lifecycle mapping, or None (then clocks pause only on
    the statuses their policy lists). ``matcher`` says which policy measures a record, and its
    service tier (``policies.PolicyMatcher``).
    """

    def __init__(self, records, *, policies: Iterable[Policy] | None = None,
                 calendars: Mapping[str, Any] | None = None, lifecycle=None, keep: bool = True):
        if lifecycle is None and hasattr(records, "lifecycle"):
            lifecycle = records.lifecycle
        # the closed clocks are kept in the repository's .cache (``store``) when the records are
        # a whole repository as loaded (not a pull request's subset, not records built in code)
        # and everything else comes from them too
        self._keep_root = (getattr(records, "root", None) if keep and policies is None and calendars is None
                           and getattr(records, "only", True) is None else None)
        # the whole repository's content as loaded vouches for every kept clock's inputs at once;
        # (a masked view has none: its records are not the repository's content)
        self._content_key = getattr(records, "content_key", None) if self._keep_root is not None else None
        recs = records_list(records)
        self.records: dict[str, Any] = {r.id: r for r in recs}
        self.problems: list[tuple[Any, str]] = []
        if policies is None:
            policies, errs = load_policies(recs)
            self.problems += errs
        self.policies: list[Policy] = list(policies)
        if calendars is None:
            calendars, errs = load_calendars(recs)
            self.problems += errs
        self.calendars: dict[str, Any] = dict(calendars)
        self.lifecycle = StatusSets(lifecycle)
        self.matcher = PolicyMatcher(self.records, self.policies)  # tier and policy of a record
        self._by_kind = self.matcher.by_kind  # kinds some policy measures (the same dict)
        # clocks that run before their record exists, by the kind of the record starting them:
        # {starting kind: [(measured kind, clock name, Unrecorded), ...]}
        self._unrecorded: dict[str, list[tuple[str, str, Any]]] = {}
        self._role_holder: dict[str, str | None] = {}
        for p in self.policies:
            for cd in p.clocks:
                u = cd.unrecorded
                if u is not None and cd.schedule_months is None:
                    entry = (p.kind, cd.name, u)
                    if entry not in self._unrecorded.setdefault(u.kind, []):
                        self._unrecorded[u.kind].append(entry)
        self._hist: dict[Any, dict[str, tuple]] = {}  # zone -> id -> ``_history``
        self._fields: dict[tuple, float | None] = {}
        self._refidx: dict[tuple[str, str], dict[str, list]] = {}
        self._cal24: dict[str, Any] = {}
        self._setups: dict[tuple[int, str], tuple] = {}
        self._track: store_mod.Trace | None = None  # what one record's clocks read, while kept
        self.store: store_mod.ClockStore | None = None  # the last clocks() call's, for tests

    # ------------------------------------------------------------------ lookups

    def _history(self, rec, tz) -> tuple[list[float], list[str], float | None]:
        """``(instants, statuses, created)`` of ``rec``'s history read in ``tz`` (a bare date is
        midnight there), once per zone: whoever asks first, each reader sees what it would alone
        (the kept clocks and the forked workers read records in another order)."""
        hists = self._hist.get(tz)
        if hists is None:
            hists = self._hist[tz] = {}
        h = hists.get(rec.id)
        if h is None:
            h = hists[rec.id] = self._read_history(rec, tz)
        if self._track is not None:
            self._track.ids.add(rec.id)
            self._track.instant(max(h[0], default=None))
            self._track.instant(h[2])
        return h

    def _read_history(self, rec, tz) -> tuple[list[float], list[str], float | None]:
        ts, st = [], []
        history = rec.data.get("history")
        for e in history if isinstance(history, list) else ():  # not a list: a broken record, reported by its check
            if type(e) is not dict and not isinstance(e, Mapping):  # the ABC check is slow
                continue
            ts.append(bc.to_timestamp(e.get("at"), tz))
            status = e.get("status")
            st.append(status if isinstance(status, str) else None)  # (not text: no status of any kind)
        if ts:
            created = ts[0]
        elif rec.data.get("created_at") is not None:
            created = bc.to_timestamp(rec.data["created_at"], tz)
        else:
            created = None
        return ts, st, created

    def _instant(self, rec, fld: str, tz) -> float | None:
        """The instant in field ``fld`` of ``rec`` (None when empty), parsed once per engine."""
        key = (rec.id, fld, tz)
        t = self._fields.get(key, _UNSEEN)
        if t is _UNSEEN:
            v = field_of(rec.data, fld)
            t = self._fields[key] = None if v is None else bc.to_timestamp(v, tz)
        if self._track is not None:
            self._track.ids.add(rec.id)
            self._track.instant(t)
        return t

    def _entry_instant(self, rec, ev: Event, at: float, tz) -> float:
        """When an own-status event happened: its history entry's instant, or the instant in the
        record field the event names (e.g. a repair's fixed_at) when that is filled in."""
        if not ev.field:
            return at
        t = self._instant(rec, ev.field, tz)
        return at if t is None else t

    def _referrers(self, kind: str, fld: str) -> dict[str, list]:
        """Records of ``kind`` by the ID their field ``fld`` names."""
        idx = self._refidx.get((kind, fld))
        if idx is None:
            self._index_referrers([(kind, fld)])
            idx = self._refidx[(kind, fld)]
        return idx

    def _referring(self, kind: str, fld: str, target) -> list:
        """The records of ``kind`` whose field ``fld`` names ``target``."""
        if not isinstance(target, str):  # not an ID (a broken record): nothing names it
            return ()
        found = self._referrers(kind, fld).get(target, ())
        if self._track is not None:
            self._track.lookups.append((kind, fld, target))
            self._track.ids.update(r.id for r in found)
        return found

    def _index_referrers(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Build the ``_referrers`` indexes of these ``(kind, field)`` pairs in one pass."""
        fields_of: dict[str, list[str]] = {}
        for kind, fld in pairs:
            if (kind, fld) not in self._refidx:
                self._refidx[(kind, fld)] = {}
                fields_of.setdefault(kind, []).append(fld)
        if not fields_of:
            return
        for r in self.records.values():
            for fld in fields_of.get(r.kind, ()):
                v = field_of(r.data, fld)
                if isinstance(v, str):
                    self._refidx[(r.kind, fld)].setdefault(v, []).append(r)

    def _owner(self, rec, cd: ClockDef) -> str | None:
        for spec in cd.owner:
            v = self._owner_field(rec, spec)
            if v:
                return v
        return None

    def _owner_field(self, rec, spec: str) -> str | None:
        """The person an owner spec names: ``field`` of the record, or ``ref/field`` of the record
        its ``ref`` names; None when empty or not text."""
        if "/" in spec:
            ref, _, fld = spec.partition("/")
            other = self._named(rec, ref)
            v = field_of(other.data, fld) if other is not None else None
        else:
            v = field_of(rec.data, spec)
        return v if isinstance(v, str) and v else None

    def _named(self, rec, fld: str):
        """The record field ``fld`` of ``rec`` names, or None (empty, or not an ID: a broken
        record, reported by its check)."""
        rid = field_of(rec.data, fld)
        return self.records.get(rid) if isinstance(rid, str) else None

    def _department(self, person: str | None) -> str | None:
        p = self.records.get(person) if person else None
        return p.data.get("department") if p is not None else None

    def _calendars_for(self, policy: Policy, tier: str):
        cid = policy.calendars.get(tier)
        if cid is None:
            cal = bc.around_the_clock() if tier == "vip" else bc.china_standard()
        else:
            cal = self.calendars.get(cid)
            if cal is None:
                raise CalendarError(f"calendar {cid} (named by {policy.id} for tier {tier}) not found")
        if cal.around_the_clock:
            return cal, cal
        cal24 = self._cal24.get(cal.timezone)
        if cal24 is None:
            cal24 = self._cal24[cal.timezone] = bc.around_the_clock(cal.timezone, id="CAL-24h")
        return cal, cal24

    def _pause_for(self, kind: str, cd: ClockDef) -> frozenset:
        if cd.pause is not None:
            return cd.pause
        return self.lifecycle.pause.get(kind, frozenset())

    def _setup(self, policy: Policy, tier: str):
        """``(calendar, 7x24 calendar of its zone, plan per clock: None for schedules)`` of a
        policy for a tier, or the message of the CalendarError that makes it unusable."""
        key = (id(policy), tier)
        entry = self._setups.get(key)
        if entry is not None and entry[0] is policy:  # the policy is kept: its id is not reused
            return entry[1]
        try:
            cal, cal24 = self._calendars_for(policy, tier)
        except CalendarError as exc:
            s = str(exc)
        else:
            at = next((i for i, p in enumerate(self.policies) if p is policy), None)
            s = (cal, cal24, tuple(
                None if cd.schedule_months is not None
                else _Plan(policy, cd, tier, cal, cal24, self._pause_for(policy.kind, cd), (at, tier, i))
                for i, cd in enumerate(policy.clocks)))
        self._setups[key] = (policy, s)
        return s

    # ------------------------------------------------------------------ events

    def _event_at(self, rec, ev: Event, A: float, lo: float, hi: float, tz, first: bool) -> float | None:
        """Instant of ``ev`` seen from ``rec`` as of ``A``, within [lo, hi); None if none."""
        if ev.referrer is not None:
            best = None
            target = rec.id
            if ev.ref is not None:  # records referring to the record our field names
                target = field_of(rec.data, ev.ref)
                if not isinstance(target, str):
                    return None
            for other in self._referring(*ev.referrer, target):
                t = self._event_on(other, ev, A, lo, hi, tz)
                if t is not None and (best is None or t < best):
                    best = t
            return best
        if ev.ref is not None:
            if not first:
                return None
            other = self._named(rec, ev.ref)
            return self._event_on(other, ev, A, lo, hi, tz) if other is not None else None
        return self._event_on(rec, ev, A, lo, hi, tz)

    def _event_on(self, rec, ev: Event, A: float, lo: float, hi: float, tz) -> float | None:
        ts, st, created = self._history(rec, tz)
        if created is not None and created > A:
            return None
        if ev.statuses is not None:
            t = None
            for i in range(len(ts)):
                ti = ts[i]
                if ti <= A and st[i] in ev.statuses and lo <= ti < hi:
                    t = ti
                    break
            if t is None:
                return None
            if ev.field:
                v = self._instant(rec, ev.field, tz)
                if v is not None:
                    t = v
            return t
        t = self._instant(rec, ev.field, tz)
        if t is None:
            return None
        if t > A or not (lo <= t < hi):
            return None
        return t

    def _all_events(self, rec, evs, A, lo, tz) -> list[float]:
        """Every instant of these events from ``lo`` on (for schedules)."""
        out = []
        for ev in evs:
            if ev.referrer is not None:
                target = field_of(rec.data, ev.ref) if ev.ref is not None else rec.id
                for other in self._referring(*ev.referrer, target):
                    t = self._event_on(other, ev, A, lo, _INF, tz)
                    if t is not None:
                        out.append(t)
            else:
                t = self._event_at(rec, ev, A, lo, _INF, tz, True)
                if t is not None:
                    out.append(t)
        return sorted(out)

    def due(self, kind: str, tier: str, start, clock: str | None = None) -> float | None:
        """When the ``clock`` (default: the first) of a ``kind`` record falls due for ``tier`` if it starts at ``start``
        (an instant) and never pauses, by the policy in force on the start day: the deadline a
        report shows before the record exists (requirements are due a policy's time after the
        contract is signed). None when no such policy clock covers the tier."""
        t = bc.to_timestamp(start)
        day = _dt.datetime.fromtimestamp(t, ZONE).date().isoformat()
        for policy in self._by_kind.get(kind, ()):
            if not policy.applies(kind, tier, day):  # a policy that matches on fields needs the record
                continue
            setup = self._setup(policy, tier)
            if isinstance(setup, str):
                continue
            for cd, plan in zip(policy.clocks, setup[2]):
                if (clock is None or cd.name == clock) and plan is not None:
                    ws, ds = plan.wcal.wd(t)
                    budget = plan.budget if plan.budget is not None else _budget(plan.wcal, plan.target, t, ws, ds)
                    return plan.wcal.instant_at_w(ws + budget, ds)
        return None

    # ------------------------------------------------------------------ clocks

    def clocks(self, at, kinds: Iterable[str] | None = None, *,
               workers: int | None = None) -> list[Clock]:
        """Every clock of every record as of ``at`` (an instant, always given: only the CLI reads
        the wall clock, once).

        ``workers``: processes sharing the work, forked where the platform allows it (else one);
        the clocks and their order are the same whatever the number. Default: one per available
        core, as long as each gets at least ``parallel.PARALLEL_MIN_RECORDS`` records to measure."""
        A = bc.to_timestamp(at)
        kinds = set(kinds) if kinds else None
        starting = {k for k, entries in self._unrecorded.items()
                    if kinds is None or any(e[0] in kinds for e in entries)}
        recs = [r for r in self.records.values()
                if r.kind not in REFERENCE_KINDS and (r.kind in self._by_kind or r.kind in starting)
                and (kinds is None or r.kind in kinds or r.kind in starting)]
        # Many small objects are created and none form cycles: the cyclic collector would
        # rescan the whole (large) corpus again and again, so it waits until we are done. What
        # is made here lives as long as the clocks and the engine (freed by reference counting):
        # frozen like the loaded records, so no later collection rescans it (1M objects at 100k
        # records: 0.5 s of `sla` in the first collection after the engine).
        gc_was = gc.isenabled()
        gc.disable()
        try:
            store = self.store = self._open_store()
            if store is not None:
                return self._kept_clocks(store, recs, A, kinds, workers)
            workers = min(parallel.workers_for(len(recs)) if workers is None else workers, len(recs))
            if workers > 1 and parallel.can_fork() and self._prepare_fork():
                return parallel.run(lambda chunk: self._clocks_of(chunk, A, kinds), recs, workers,
                                    encode=Clock.values, decode=Clock)
            return self._clocks_of(recs, A, kinds)
        finally:
            gc.freeze()
            if gc_was:
                gc.enable()

    def _open_store(self) -> store_mod.ClockStore | None:
        """The kept clocks of this repository under a key of everything every clock depends on
        (policies, calendars, people, lifecycle), or None: not a whole repository, caching off,
        a record there that cannot be digested, or calendars in several zones (``_prepare_fork``)."""
        if self._keep_root is None or not store_mod.caching():
            return None
        h = hashlib.blake2b(digest_size=16)
        for r in sorted((r for r in self.records.values() if r.kind in store_mod.EVERY_CLOCK_READS),
                        key=lambda r: r.id):
            fp = store_mod.fingerprint(r)
            if fp is None:
                return None
            h.update(r.id.encode() + b"\0" + fp)
        # a kept open clock names its policy by its place in ``self.policies`` (``_Plan.key``):
        # policies of one ID come in their files' order, which no record's content gives
        h.update(repr([p.path for p in self.policies]).encode())
        life = self.lifecycle
        h.update(repr([(k, sorted(v), sorted(life.pause.get(k, ())), sorted(life.final.get(k, ())))
                       for k, v in sorted(life.statuses.items())]).encode())
        zones = set()
        for p in self.policies:
            for tier in TIERS:
                try:
                    zones.update(cal.timezone for cal in self._calendars_for(p, tier))
                except CalendarError:
                    continue
        if len(zones) > 1:
            return None
        return store_mod.ClockStore.for_repository(self._keep_root, h.digest(), self.records, self._referring,
                                                   self._content_key)

    def _kept_clocks(self, store, recs, A: float, kinds, workers: int | None) -> list[Clock]:
        """``_clocks_of(recs)``, the clocks taken from ``store`` where their inputs are unchanged
        (closed ones as kept, open ones measured again as of ``A``); the others computed (traced, shared by ``workers`` processes as ``clocks``
        shares them) and kept if they can be used again."""
        kept: dict[str, list[Clock]] = {}
        todo = []
        for r in recs:
            got = self._from_store(store, r.id, A)
            if got is None:
                todo.append(r)
            else:
                kept[r.id] = got
        workers = min(parallel.workers_for(len(todo)) if workers is None else workers, len(todo))
        if workers > 1 and parallel.can_fork() and self._prepare_fork():
            computed = parallel.run(lambda chunk: [self._traced(r, A) for r in chunk], todo, workers,
                                    encode=lambda row: (row[0], [c.values() for c in row[1]], row[2]),
                                    decode=lambda rid, values, trace: (rid, [Clock(*v) for v in values], trace))
        else:
            computed = [self._traced(r, A) for r in todo]
        fresh = {}
        for rid, clocks, trace in computed:
            store.put(rid, A, trace, clocks)
            fresh[rid] = clocks
        store.keep_only(self.records)
        store.save()
        out: list[Clock] = []
        for r in recs:
            got = fresh.get(r.id)
            out.extend(got if got is not None else kept[r.id])
        if kinds is not None:
            out = [c for c in out if c.kind in kinds]
        return out

    def _from_store(self, store, rid: str, A: float) -> list[Clock] | None:
        """The clocks of ``rid`` the store kept, open ones measured again as of ``A``; None: compute."""
        items = store.get(rid, A)
        if items is None:
            return None
        out = []
        for item in items:
            clock = self.remeasure(item, A) if len(item) == store_mod.OPEN_LEN else Clock(*item)
            if clock is None:
                return None
            out.append(clock)
        store.remeasured += sum(len(item) == store_mod.OPEN_LEN for item in items)
        return out

    def _traced(self, rec, A: float) -> tuple[str, list[Clock], tuple]:
        """``clocks_for(rec, A)`` and what it read (``store.Trace``): every record looked up goes
        through a view that notes it, the tier is worked out again (its cache hides its reads)."""
        trace = self._track = store_mod.Trace(rec.id)
        plain = self.records
        self.records = self.matcher.records = _Noting(plain, trace.ids)
        self.matcher._tier.pop(rec.id, None)
        try:
            clocks = self.clocks_for(rec, A)
        finally:
            self._track = None
            self.records = self.matcher.records = plain
        return rec.id, clocks, trace.plain(clocks)

    def _clocks_of(self, recs, A: float, kinds=None) -> list[Clock]:
        out: list[Clock] = []
        for rec in recs:
            out.extend(self.clocks_for(rec, A))
        if kinds is not None:  # a record of another kind was read for the clocks it starts
            out = [c for c in out if c.kind in kinds]
        return out

    def _prepare_fork(self) -> bool:
        """Before forking (the children share what this engine holds at the fork), the lazy
        work every process would otherwise repeat, done once: calendar tables, referrer
        indexes. False with calendars in several zones, never measured across processes (a
        history is read once per zone, ``_history``, so the order records are read in no longer
        decides; the guard is kept)."""
        zones = set()
        for p in self.policies:
            for tier in TIERS:
                try:
                    cals = self._calendars_for(p, tier)
                except CalendarError:
                    continue
                for cal in cals:
                    cal.prepare()
                    zones.add(cal.timezone)
        self._index_referrers([ev.referrer for p in self.policies for cd in p.clocks
                               for ev in cd.start + cd.stop + cd.cancel if ev.referrer is not None]
                              + [(kind, u.ref) for entries in self._unrecorded.values()
                                 for kind, _, u in entries])
        return len(zones) <= 1

    def clocks_for(self, rec, at) -> list[Clock]:
        """The clocks of one record as of ``at``: its own, then those it started for a record
        that does not exist yet (``Clock.missing``)."""
        A = at if isinstance(at, float) else bc.to_timestamp(at)
        own = self._own_clocks(rec, A)
        if rec.kind in self._unrecorded:
            own += self._unrecorded_clocks(rec, A)
        return own

    def _unrecorded_clocks(self, rec, A: float) -> list[Clock]:
        """Clocks that ``rec`` started for a record of another kind that nobody has filed yet:
        a survey handed over with no appraisal naming it runs the appraisal clock, on the survey,
        until the appraisal is recorded (then the appraisal's own clock, from the same start,
        measures it), the survey is dropped (``cancel``) or the starting record reaches a final
        status (a completed contract never had its confirmation: breached, and closed then).
        The policy is the one the measured kind would
        have for this record's tier on the start day (one whose ``match`` needs the record's own
        fields cannot apply)."""
        out: list[Clock] = []
        tier = None
        for kind, name, u in self._unrecorded[rec.kind]:
            if any(self._filed(o, A) for o in self._referring(kind, u.ref, rec.id)):
                continue  # the record is there: its own clock measures it
            tier = tier or self.matcher.tier_of(rec)
            for policy in self._by_kind.get(kind, ()):
                cd = next((c for c in policy.clocks if c.name == name and c.unrecorded == u), None)
                if cd is None or tier not in policy.tiers:
                    continue
                setup = self._setup(policy, tier)
                if isinstance(setup, str):
                    continue
                cal, _, plans = setup
                plan = plans[policy.clocks.index(cd)]
                tz = cal.tz
                try:
                    start = None
                    for ev in cd.start:
                        if ev.ref == u.ref and ev.referrer is None:
                            start = self._event_on(rec, ev, A, -_INF, _INF, tz)
                            if start is not None:
                                break
                    if start is None:
                        continue
                    day = _dt.datetime.fromtimestamp(start, tz).date().isoformat()
                    if not policy.applies(kind, tier, day):
                        continue
                    # the wait ends when the starting record is dropped (``cancel``) or reaches a
                    # final status of its kind (a completed contract): moot if before the
                    # deadline, else breached and closed, no longer open
                    ending = u.cancel | self.lifecycle.final.get(rec.kind, frozenset())
                    ts, st, _ = self._history(rec, tz)
                    cancel = next((t for t, s in zip(ts, st) if s in ending and start <= t <= A), None)
                    owner = self._unrecorded_owner(rec, u)
                    head = (rec.id, kind, rec.data.get("customer"), tier)
                    clock = self._measured(plan, head, (owner, self._department(owner)), 1, start, None, cancel,
                                           _INF, (), (), 0, A)
                except CalendarError as exc:
                    clock = self._error(rec, tier, policy, cd, str(exc))
                    clock.kind = kind
                clock.missing = kind
                out.append(clock)
                break
        return out

    def _filed(self, rec, A: float) -> bool:
        """Whether ``rec`` was filed as of ``A``; a history that cannot be read (an instant
        without offset) is filed all the same: its own clocks are the error row saying why."""
        try:
            created = self._history(rec, ZONE)[2]
        except CalendarError:
            return True
        return created is not None and created <= A

    def _unrecorded_owner(self, rec, u) -> str | None:
        for spec in u.owner:
            if spec.startswith("role:"):
                role = spec[5:]
                if role not in self._role_holder:
                    self._role_holder[role] = min(
                        (r.id for r in self.records.values() if r.kind == "person"
                         and isinstance(r.data.get("roles"), list) and role in r.data["roles"]), default=None)
                if self._role_holder[role]:
                    return self._role_holder[role]
                continue
            v = self._owner_field(rec, spec)
            if v:
                return v
        return None

    def _own_clocks(self, rec, A: float) -> list[Clock]:
        if rec.kind not in self._by_kind:
            return []
        tier = self.matcher.tier_of(rec)
        pols = self.matcher.policies_for(rec, tier)
        if not pols:
            return []
        if len(pols) > 1:
            return [self._error(rec, tier, pols[0], None,
                                "several SLA policies apply: " + ", ".join(p.id for p in pols))]
        policy = pols[0]
        setup = self._setup(policy, tier)
        if isinstance(setup, str):
            return [self._error(rec, tier, policy, None, setup)]
        cal, cal24, plans = setup
        try:
            ts, st, created = self._history(rec, cal.tz)
        except CalendarError as exc:  # a history instant that is none: a broken record, its check reports it
            return [self._error(rec, tier, policy, None, str(exc))]
        if created is None or created > A:
            return []
        n = 0  # history entries seen as of A
        for t in ts:
            if t > A:
                break
            n += 1
        bounds = [0]  # where cycles begin
        if policy.new_cycle_on:
            bounds += [i for i in range(1, n) if st[i] in policy.new_cycle_on]
        head = (rec.id, rec.kind, rec.data.get("customer"), tier)
        out: list[Clock] = []
        whos: dict[tuple, tuple] = {}  # owner specs -> (owner, department): clocks share them
        starts: dict[tuple, tuple] = {}  # (``_Plan.starts_like``, cycle) -> its first start: shared too
        for cd, plan in zip(policy.clocks, plans):
            if cd.match and not cd.measures(rec.data):
                continue  # a clock of some records only (a product's own published promise)
            try:
                if plan is None:
                    self._schedule(rec, policy, cd, tier, cal24, A, out)
                else:
                    who = whos.get(cd.owner)
                    if who is None:
                        owner = self._owner(rec, cd)
                        who = whos[cd.owner] = (owner, self._department(owner))
                    self._cycles(rec, head, who, plan, cal.tz, ts, st, n, bounds, A, out, starts)
            except CalendarError as exc:
                out.append(self._error(rec, tier, policy, cd, str(exc)))
        return out

    def _error(self, rec, tier, policy, cd, msg) -> Clock:
        return Clock(
            case=rec.id, kind=rec.kind, customer=rec.data.get("customer"), tier=tier,
            owner=None, department=None, policy=policy.id, policy_version=policy.version,
            clock=cd.name if cd else "*", title=cd.title if cd else "", title_zh=cd.title_zh if cd else "",
            cycle=1, last_cycle=True, state="error", started_at=None, stopped_at=None, deadline=None,
            target="", target_seconds=0.0, elapsed_seconds=0.0, remaining_seconds=0.0,
            calendar=policy.calendars.get(tier, ""), error=msg,
        )

    def _cycles(self, rec, head, who, plan, tz, ts, st, n, bounds, A, out, starts: dict) -> None:
        """The clocks of ``plan`` in each cycle (``bounds``) of ``rec``, added to ``out``.
        ``starts``: the first start of each cycle found so far for this record, by the clock whose
        start events these are (``_Plan.starts_like``): the same events in the same cycle start
        at the same instant, so they are looked for once per record."""
        cd = plan.cd
        first_idx = len(out)
        cycle = 0
        for k, i0 in enumerate(bounds):
            i1 = bounds[k + 1] if k + 1 < len(bounds) else n
            t_lo = ts[i0] if k > 0 else -_INF
            t_hi = ts[i1] if i1 < n else _INF
            found = starts.get((plan.starts_like, k))
            if found is None:
                found = starts[(plan.starts_like, k)] = self._find_start(rec, cd.start, ts, st, i0, i1, A, t_lo,
                                                                         t_hi, tz, k == 0)
            start, sidx = found
            while start is not None:
                stop, stop_idx = self._find_first(rec, cd.stop, ts, st, sidx, i1, A, start, t_hi, tz)
                cancel, _ = self._find_first(rec, cd.cancel, ts, st, sidx, i1, A, start, t_hi, tz) if cd.cancel else (None, None)
                cycle += 1
                clock = self._measured(plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A)
                out.append(clock)
                if not cd.repeat or stop is None or stop_idx is None:
                    break
                start, sidx = self._find_start(rec, plan.restart, ts, st, stop_idx + 1, i1, A, t_lo, t_hi, tz, False)
        if cycle > 1:
            for c in out[first_idx:-1]:
                c.last_cycle = False

    def _find_start(self, rec, events, ts, st, i0, i1, A, t_lo, t_hi, tz, first):
        for ev in events:
            if ev.own_status:
                for i in range(i0, i1):
                    if st[i] in ev.statuses:
                        return (self._entry_instant(rec, ev, ts[i], tz) if ev.field else ts[i]), i + 1
                continue
            if not first and ev.referrer is None:
                continue
            t = self._event_at(rec, ev, A, t_lo, t_hi, tz, first)
            if t is not None:
                # own entries from the start instant on may stop the clock
                j = i0
                while j < i1 and ts[j] < t:
                    j += 1
                return t, j
        return None, None

    def _find_first(self, rec, events, ts, st, sidx, i1, A, start, t_hi, tz):
        best, best_idx = None, None
        for ev in events:
            if ev.own_status:
                for i in range(sidx, i1):
                    if st[i] in ev.statuses:
                        t = self._entry_instant(rec, ev, ts[i], tz) if ev.field else ts[i]
                        if best is None or t < best:
                            best, best_idx = t, i
                        break
                continue
            t = self._event_at(rec, ev, A, start, t_hi, tz, True)
            if t is not None and (best is None or t < best):
                best, best_idx = t, None
        return best, best_idx

    def _measured(self, plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A) -> Clock:
        """``_measure``, or past the calendar's data what can still be told (``_measure_bounded``,
        which may raise). While a record's clocks are traced for the store, what the clock was
        measured from is noted (``Trace.measured``): a clock still open is measured again from it
        for a later instant (``remeasure``), its records not read again."""
        try:
            clock = self._measure(plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A)
        except CalendarError as exc:
            clock = self._measure_bounded(exc, plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A)
        if self._track is not None and plan.key[0] is not None:
            self._track.measured[id(clock)] = (plan.key, head, who, cycle, start, stop, cancel, t_hi,
                                               tuple(ts[:n]), tuple(st[:n]), n)
        return clock

    def remeasure(self, kept, A: float) -> Clock | None:
        """The open clock ``kept`` (``store.ClockStore.get``: what it was measured from, its
        ``last_cycle`` and ``missing``) measured again as of ``A``, or None when that cannot be
        told here (the calendar's data ends first, a plan that is no longer there): then the
        record is computed afresh. The store hands out only entries whose inputs are unchanged and
        whose every instant lies at or before ``A``, so the same events are seen as when it was
        noted and only the time counted up to ``A`` differs."""
        try:
            (key, head, who, cycle, start, stop, cancel, t_hi, ts, st, n), last_cycle, missing = kept
            plan = self._plan(*key)
            if plan is None:
                return None
            clock = self._measured(plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A)
        except (CalendarError, TypeError, ValueError, IndexError, KeyError):  # out of data; a damaged entry
            return None
        clock.last_cycle, clock.missing = last_cycle, missing
        return clock

    def _plan(self, at, tier, index) -> _Plan | None:
        """The plan ``_Plan.key`` names, or None."""
        if type(at) is not int or not 0 <= at < len(self.policies) or tier not in TIERS or type(index) is not int:
            return None
        setup = self._setup(self.policies[at], tier)
        if isinstance(setup, str) or not 0 <= index < len(setup[2]):
            return None
        plan = setup[2][index]
        return plan if plan is not None and plan.key == (at, tier, index) else None

    def _measure(self, plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A) -> Clock:
        wcal = plan.wcal
        wd = wcal.wd
        ws, ds = wd(start)
        B = plan.budget if plan.budget is not None else _budget(wcal, plan.target, start, ws, ds)
        ended_by = None
        end = A
        if stop is not None:
            end, ended_by = stop, "stop"
        if cancel is not None and cancel <= end:
            end, ended_by = cancel, "cancel"
        if t_hi <= end:
            end, ended_by = t_hi, "cancel"
        if end < start:
            end = start
        # active segments: [start, end] minus the measured record's pause statuses
        pause = plan.pause
        paused_now = ended_by is None and n > 0 and st[n - 1] in pause
        if pause and not pause.isdisjoint(st[:n]):
            segs = []
            cur = start
            for i in range(n):
                if st[i] in pause:
                    p0 = ts[i]
                    p1 = ts[i + 1] if i + 1 < n else _INF
                    if p1 <= cur or p0 >= end:
                        continue
                    if p0 > cur:
                        segs.append((cur, p0))
                    cur = max(cur, p1)
            if cur < end:
                segs.append((cur, end))
        else:  # never paused (most cases)
            segs = ((start, end),)
        elapsed = 0.0
        deadline = None
        last_w, last_d = ws, ds  # where the clock stands: at the end of the last segment
        for a, b in segs:
            wa, da = (ws, ds) if a == start else wd(a)
            wb, last_d = wd(b)
            if deadline is None and elapsed + (wb - wa) >= B:
                deadline = wcal.instant_at_w(wa + (B - elapsed), da)
            elapsed += wb - wa
            last_w = wb
        remaining = B - elapsed
        if deadline is None and not paused_now:
            # not yet reached: projected from where the clock stands (now, or when it stopped)
            deadline = wcal.instant_at_w(last_w + remaining, last_d)
        if ended_by == "stop":
            state = "met" if elapsed <= B else "breached"
            stopped = end
        elif ended_by == "cancel":
            state = "breached" if elapsed > B else "cancelled"
            stopped = end
        else:
            stopped = None
            cd = plan.cd
            if elapsed > B:
                state = "breached"
            elif paused_now:
                state = "paused"
            elif (remaining <= cd.at_risk_remaining) if cd.at_risk_remaining is not None else (elapsed >= cd.at_risk * B):
                state = "at_risk"
            else:
                state = "running"
        # positional, in field order (case, kind, customer, tier, owner, department, policy,
        # policy_version, clock, title, title_zh, cycle, last_cycle, ...): keywords cost more
        # than the rest of this method
        return Clock(*head, *who, *plan.ident, cycle, True, state, start, stopped, deadline,
                     plan.text, B, elapsed, remaining, wcal.id, wcal.tz)

    def _measure_bounded(self, exc, plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A) -> Clock:
        """``_measure`` for a clock that runs past its calendar's covered data (a year whose
        holidays neither the package nor the calendar record gives). Working time is counted up
        to where the data ends: a lower bound of the real figure, since the days after it have
        some working time or none. What that decides is given:

        * a deadline reached inside the data stays breached, however long after it the clock
          still runs or stopped: ``at_least``, the lateness shown is a lower bound;
        * a clock that stopped (or stands, as of ``A``) inside the data is met, cancelled, running
          or paused exactly; only its projected deadline, past the data, is unknown (None) --
          and when the target itself ends past the data, its size is a lower bound too.

        What it does not decide (the clock ran out of data before its deadline, or started
        outside it) raises ``exc``, the calendar's own message naming the year to add."""
        wcal = plan.wcal
        cover = wcal.covered_until(start)
        if cover is None:
            raise exc
        limit, w_limit, last_day = cover

        def wd(t):
            return (w_limit, last_day) if t >= limit else wcal.wd(t)

        ws, ds = wd(start)
        try:
            B = plan.budget if plan.budget is not None else _budget(wcal, plan.target, start, ws, ds)
        except CalendarError:
            B = None  # the target ends past the data
        ended_by, end = None, A
        if stop is not None:
            end, ended_by = stop, "stop"
        if cancel is not None and cancel <= end:
            end, ended_by = cancel, "cancel"
        if t_hi <= end:
            end, ended_by = t_hi, "cancel"
        if end < start:
            end = start
        exact = end < limit  # measured to an instant inside the data
        pause = plan.pause
        paused_now = ended_by is None and n > 0 and st[n - 1] in pause
        segs, cur = [], start
        for i in range(n):
            if st[i] in pause:
                p0, p1 = ts[i], (ts[i + 1] if i + 1 < n else _INF)
                if p1 <= cur or p0 >= end:
                    continue
                if p0 > cur:
                    segs.append((cur, p0))
                cur = max(cur, p1)
        if cur < end:
            segs.append((cur, end))
        elapsed, deadline = 0.0, None
        for a, b in segs:
            wa, da = wd(a)
            wb, _ = wd(b)
            if B is not None and deadline is None and elapsed + (wb - wa) >= B:
                deadline = wcal.instant_at_w(wa + (B - elapsed), da)
            elapsed += wb - wa
        known = B is not None
        if not known:
            if not exact:
                raise exc
            B = w_limit - ws  # at least the working time left before the data ends
        if not exact and not elapsed > B:
            raise exc  # out of data before the deadline: on time or late is not known
        cd = plan.cd
        if ended_by == "stop":
            state = "met" if elapsed <= B else "breached"
        elif ended_by == "cancel":
            state = "breached" if elapsed > B else "cancelled"
        elif elapsed > B:
            state = "breached"
        elif paused_now:
            state = "paused"
        elif known and (
                (B - elapsed <= cd.at_risk_remaining) if cd.at_risk_remaining is not None
                else (elapsed >= cd.at_risk * B)):
            state = "at_risk"
        else:
            state = "running"
        at_least = not exact or not known
        return Clock(*head, *who, *plan.ident, cycle, True, state, start,
                     end if ended_by else None, deadline, plan.text, B, elapsed, B - elapsed,
                     wcal.id, wcal.tz, None, None, at_least)

    def _schedule(self, rec, policy, cd, tier, cal24, A, out) -> None:
        found = self._slots(rec, cd, cal24.tz, A)
        if found is None:
            return
        start, slots = found
        owner = self._owner(rec, cd)
        dept = self._department(owner)
        tz = cal24.tz
        for s in slots:
            m, deadline = s.month, s.deadline
            B = deadline - start
            if s.closed_at is not None:
                end = stopped = s.closed_at
                state = ("met" if s.outcome == sched.ON_TIME
                         else "cancelled" if s.outcome == sched.CANCELLED else "breached")
            else:
                end, stopped = A, None
                remaining = deadline - A
                if s.overdue(A):
                    state = "breached"
                elif (remaining <= cd.at_risk_remaining) if cd.at_risk_remaining is not None else ((A - start) >= cd.at_risk * B):
                    state = "at_risk"
                else:
                    state = "running"
            elapsed = max(0.0, end - start)
            out.append(Clock(
                case=rec.id, kind=rec.kind, customer=rec.data.get("customer"), tier=tier,
                owner=owner, department=dept, policy=policy.id, policy_version=policy.version,
                clock=f"{cd.name}_{m}m", title=f"{cd.title} (month {m})", title_zh=f"{cd.title_zh}(第 {m} 个月)",
                cycle=1, last_cycle=True, state=state, started_at=start, stopped_at=stopped,
                deadline=deadline, target=f"{m} months", target_seconds=B, elapsed_seconds=elapsed,
                remaining_seconds=B - elapsed, calendar=cal24.id, tz=tz, occurrence=m,
            ))

    def schedules(self, rec, at) -> list[sched.Schedule]:
        """The schedules of one record as of ``at`` (one per schedule clock of the policy that
        measures it): every due month with its due date, deadline, the record that belongs to it
        and its outcome (``servicebook.derive.schedules``). The clocks of ``clocks_for`` are these; where
        it gives an error row for a date or instant that is none, the schedule has that
        ``error``. Empty when no single policy measures the record, its calendar is unusable
        (``clocks_for`` gives an error row, the policy check a problem) or it has not started."""
        A = at if isinstance(at, float) else bc.to_timestamp(at)
        if rec.kind not in self._by_kind:
            return []
        tier = self.matcher.tier_of(rec)
        pols = self.matcher.policies_for(rec, tier)
        if len(pols) != 1:
            return []
        policy = pols[0]
        setup = self._setup(policy, tier)
        if isinstance(setup, str):
            return []
        cal, cal24, _ = setup
        out = []
        for cd in policy.clocks:
            if cd.schedule_months is None:
                continue
            kinds = {ev.referrer[0] for ev in cd.stop if ev.referrer is not None}
            kind = kinds.pop() if len(kinds) == 1 else None
            try:
                _, _, created = self._history(rec, cal.tz)  # read in the zone clocks_for reads it in
                if created is None or created > A:
                    return []
                found = self._slots(rec, cd, cal24.tz, A)
            except CalendarError as exc:
                out.append(sched.Schedule(rec.id, policy.id, cd.name, kind, None, cal24.tz, (), str(exc)))
                continue
            if found is not None:
                out.append(sched.Schedule(rec.id, policy.id, cd.name, kind, found[0], cal24.tz, found[1]))
        return out

    def _slots(self, rec, cd, tz, A) -> tuple[float, tuple[sched.Slot, ...]] | None:
        """``(start, slots)`` of a schedule clock as of ``A``, None before it starts."""
        ts, st, _ = self._history(rec, tz)
        start, _ = self._find_start(rec, cd.start, ts, st, 0, sum(1 for t in ts if t <= A),
                                    A, -_INF, _INF, tz, True)
        if start is None:
            return None
        cancel = min(self._all_events(rec, cd.cancel, A, start, tz), default=None) if cd.cancel else None
        base = _dt.datetime.fromtimestamp(start, tz).date()
        return start, sched.match(base, self._due_months(rec, cd), tz,
                                  self._visits(rec, cd, A, start, tz), cancel)

    def _visits(self, rec, cd, A: float, start: float, tz) -> list[sched.Visit]:
        """What may fulfil a schedule's months, as of ``A``: every record a stop event with a
        ``referrer`` looks at (done when the event happened on it; missed when it entered a final
        status of its kind that is no stop -- final per the lifecycle, so without one none is
        missed; else planned), and the stop events on the measured record itself. Records done
        or missed before ``start`` count for nothing."""
        found: dict[str, sched.Visit] = {}
        anonymous: list[sched.Visit] = []
        label_field = cd.schedule_occurrence
        for ev in cd.stop:
            if ev.referrer is None:
                t = self._event_at(rec, ev, A, start, _INF, tz, True)
                if t is not None:
                    anonymous.append(sched.Visit(None, None, sched.DONE, t))
                continue
            target = field_of(rec.data, ev.ref) if ev.ref is not None else rec.id
            if not isinstance(target, str):
                continue
            closing = self.lifecycle.final.get(ev.referrer[0], frozenset()) - (ev.statuses or frozenset())
            for other in self._referring(*ev.referrer, target):
                label = field_of(other.data, label_field) if label_field else None
                label = label if type(label) is int else None
                t = self._event_on(other, ev, A, -_INF, _INF, tz)  # None too if created after A
                if t is not None and t <= A:
                    day = None
                    if ev.field:
                        raw = field_of(other.data, ev.field)
                        if isinstance(raw, str) and len(raw) == 10:  # a date: done by its end, as due
                            day = _day(t, tz)
                            end = sched.end_of_day(day, tz)
                            if self._track is not None:
                                self._track.instant(end)
                            t = min(end, A)
                    v = sched.Visit(other.id, label, sched.DONE, t, day) if t >= start else None
                else:
                    ts, st, created = self._history(other, tz)
                    if created is None or created > A:
                        continue
                    status, entered = None, created
                    for ti, si in zip(ts, st):
                        if ti > A:
                            break
                        if si != status:
                            status, entered = si, ti
                    if status in closing:
                        v = sched.Visit(other.id, label, sched.MISSED, entered) if entered >= start else None
                    else:
                        v = sched.Visit(other.id, label, sched.PLANNED, created)
                old = found.get(other.id, _UNSEEN)
                if old is _UNSEEN or (v is not None and (old is None or (v.status == sched.DONE and (
                        old.status != sched.DONE or v.at < old.at)))):
                    found[other.id] = v
        return [v for v in found.values() if v is not None] + anonymous

    def _due_months(self, rec, cd) -> tuple[int, ...]:
        if not cd.schedule_products:
            return cd.schedule_months
        items = field_of(rec.data, cd.schedule_products)
        plans = []
        for item in items if isinstance(items, list) else ():
            pid = item.get("product") if isinstance(item, Mapping) else item
            prod = self.records.get(pid) if isinstance(pid, str) else None
            if prod is not None:
                plans.append(sched.with_new_product_months(prod.data, cd.schedule_months))
        return sched.due_months(plans, cd.schedule_months)


# Seconds per unit of the targets whose budget does not depend on the start instant.
_UNIT_SECONDS = {"working_hours": 3600.0, "hours": 3600.0, "days": 86400.0}


def _fixed_budget(target: Target) -> float | None:
    secs = _UNIT_SECONDS.get(target.unit)
    return None if secs is None else target.amount * secs


def _budget(wcal, target: Target, start: float, ws: float, ds: int) -> float:
    """The clock's budget in its calendar's seconds, for a start at ``start`` (``ws, ds``: its
    ``wd``). The units whose budget depends on the start come first: the others are worked out
    once per plan."""
    u, a = target.unit, target.amount
    if u == "working_days":
        return wcal.w_add_days(start, a, (ws, ds)) - ws
    if u == "working_day_end":
        return max(0.0, wcal.w_end_of_day(start, int(a)) - ws)
    if u == "months":
        d = _add_months(_dt.datetime.fromtimestamp(start, wcal.tz).date(), int(a)) + _dt.timedelta(days=1)
        return _dt.datetime(d.year, d.month, d.day, tzinfo=wcal.tz).timestamp() - start
    fixed = _fixed_budget(target)
    if fixed is None:
        raise PolicyError(f"unknown unit {u}")
    return fixed


def compute(records, at, kinds: Iterable[str] | None = None, lifecycle=None) -> list[Clock]:
    """Shortcut: ``Engine(records, lifecycle=lifecycle).clocks(at, kinds)``."""
    return Engine(records, lifecycle=lifecycle).clocks(at, kinds)
