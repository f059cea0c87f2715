"""SLA policies, clocks and the reports managers act on, computed from record histories only.

Policies are records (``records/policy/SLA-*.yaml``, schema ``schemas/policy.schema.json``). A policy
measures one record kind (``applies_to.kind``, optionally restricted to tiers and to cases created in
an effective date window) and names its clocks. Each clock has

* ``start``: events in order of preference, the first that happened starts the clock;
* ``stop``: the earliest of these events after the start stops it;
* ``cancel``: events that make it moot (a dropped survey, a lost deal);
* ``pause``: statuses of the measured record during which it does not run (default: the statuses
  marked ``pause: true`` in ``schemas/lifecycle.yaml``);
* ``target`` per tier: ``working_hours``, ``working_days`` (0.5 = half the start day's hours),
  ``working_day_end`` (by the end of the N-th working day, the start day being the first) in the
  tier's calendar; ``hours``, ``days``, ``months`` in calendar time;
* ``at_risk``: share of the target used from which it is at risk (default 0.75), or
  ``at_risk_remaining``: at risk once no more than this is left;
* or ``schedule``: one clock per due month after the start (inspections at months 1, 3, 6, 12 after
  hand-over, per product plan), each due at the end of its due date. Which record fulfils which
  month, and the months and due dates themselves, come from ``servicebook.derive.schedules`` (the rule is
  there), which the inspection report uses too: ``Engine.schedules`` gives them.

An event is entering a status (first history entry into one of ``status``) or an instant/date
``field``; on the measured record, on the record one of its fields names (``ref``), or on records of
a kind that name it (``referrer: {kind, field}``; the earliest counts), or on records naming the
record it references (``ref`` and ``referrer`` together: a callback filed on a repair's complaint).

Cycles: entering a status of the policy's ``new_cycle_on`` (``reopened``) starts a new cycle of
every clock; within a cycle, a ``repeat: true`` clock starts again each time a start status is
entered after a stop (each review round). ``Clock.cycle`` numbers cycles from 1; ``last_cycle``
marks the newest; reports take the last cycle or flag any cycle ever breached.

Everything is computed *as of* an instant: history entries, records and referrer events after it
are invisible, so a report for a past instant is reproduced exactly. Time counts in the tier's
calendar (``policy.calendars``; VIP normally 7x24), minus pauses.

A large corpus is measured by as many processes as there are cores (``Engine.clocks``, forked
where the platform allows it): the clocks and their order are those of one process.

States (``STATES``): ``running``, ``at_risk`` (running, threshold reached; ``remaining_seconds``
left), ``paused``, ``met``, ``breached`` (stopped late, or still open past the target;
``overdue_seconds`` says how late), ``cancelled`` (moot before the deadline) and ``error`` (could not
be computed, e.g. beyond the calendar's covered years; ``error`` says why). Durations are seconds of
the clock's calendar: working seconds for working targets, plain seconds otherwise.

Tier of a case: ``service_tier`` of the contract it (or its chain: repair -> complaint -> contract,
callback -> case, requirements/installation -> contract) references, else the customer's, else
standard.
"""

from __future__ import annotations

import datetime as _dt
import gc
import itertools
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping  # typing's aliases make isinstance slow
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from servicebook.derive.sla import calendar as bc
from servicebook.derive import schedules as sched
from servicebook.load.problems import Problem
from servicebook.load.records import KINDS
from servicebook.derive.sla.calendar import CalendarError

__all__ = [
    "STATES",
    "UNITS",
    "PolicyError",
    "Event",
    "Target",
    "ClockDef",
    "Policy",
    "Clock",
    "Engine",
    "parse_policy",
    "load_policies",
    "load_calendars",
    "compute",
    "check_policies",
    "tier_of",
    "compliance",
    "breach_list",
    "at_risk_queue",
    "last_cycles",
    "ever_breached",
    "report",
    "format_duration",
]

STATES = ("running", "at_risk", "paused", "met", "breached", "cancelled", "error")
WORKING_UNITS = ("working_hours", "working_days", "working_day_end")
CALENDAR_UNITS = ("hours", "days", "months")
UNITS = WORKING_UNITS + CALENDAR_UNITS
TIERS = ("standard", "vip")
DEFAULT_AT_RISK = 0.75
REFERENCE_KINDS = frozenset({"person", "customer", "product", "policy", "calendar"})
_INF = math.inf
_UNSEEN = object()
# Records of clocked kinds per process from which Engine.clocks forks workers: below this, forking
# and sending the clocks back cost more than the second core saves.
PARALLEL_MIN_RECORDS = 10_000
_CHUNK = 1000  # records per share of the work between processes: the last one may wait on one
_MAX_CHUNKS = 1024  # their numbers fill at most 4 KiB of a pipe: written at once, before any read


class PolicyError(ValueError):
    """A policy record the engine cannot use."""


# --------------------------------------------------------------------------- policy model


@dataclass(frozen=True)
class Event:
    statuses: frozenset | None = None
    field: str | None = None
    ref: str | None = None
    referrer: tuple[str, str] | None = None  # (kind, field)

    @cached_property  # asked for every event of every clock of every case
    def own_status(self) -> bool:
        return self.statuses is not None and self.ref is None and self.referrer is None


@dataclass(frozen=True)
class Target:
    amount: float
    unit: str

    def text(self) -> str:
        t = _TARGET_TEXT.get(self)
        if t is None:
            a = int(self.amount) if float(self.amount).is_integer() else self.amount
            t = _TARGET_TEXT[self] = f"{a} {self.unit}"
        return t


_TARGET_TEXT: dict = {}


@dataclass(frozen=True)
class ClockDef:
    name: str
    title: str
    title_zh: str
    start: tuple[Event, ...]
    stop: tuple[Event, ...]
    cancel: tuple[Event, ...] = ()
    pause: frozenset | None = None
    repeat: bool = False
    owner: tuple[str, ...] = ("filled_by",)
    targets: Mapping[str, Target] = field(default_factory=dict)
    at_risk: float = DEFAULT_AT_RISK
    at_risk_remaining: float | None = None  # seconds
    schedule_months: tuple[int, ...] | None = None
    schedule_products: str | None = None
    schedule_occurrence: str | None = None  # field of a stop event's record naming its due month
    step: str | None = None


@dataclass(frozen=True)
class Policy:
    id: str
    version: int
    name: str
    kind: str
    clocks: tuple[ClockDef, ...]
    tiers: frozenset = frozenset(TIERS)
    effective_from: str | None = None
    effective_until: str | None = None
    calendars: Mapping[str, str] = field(default_factory=dict)
    new_cycle_on: frozenset = frozenset()
    path: str | None = None
    match: tuple[tuple[str, tuple], ...] = ()

    def applies(self, kind: str, tier: str, created: str | None, data: Mapping | None = None) -> bool:
        if kind != self.kind or tier not in self.tiers:
            return False
        for fld, values in self.match:
            if _get(data or {}, fld) not in values:
                return False
        day = (created or "")[:10]
        if self.effective_from and day and day < self.effective_from:
            return False
        if self.effective_until and day and day >= self.effective_until:
            return False
        return True


def _strs(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: expected a list of names")
    return tuple(value)


def _event(spec, where: str) -> Event:
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{where}: an event is a mapping with `status` and/or `field`")
    unknown = set(spec) - {"status", "field", "ref", "referrer"}
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    statuses = frozenset(_strs(spec.get("status"), where)) if spec.get("status") is not None else None
    fld = spec.get("field")
    if statuses is None and not fld:
        raise PolicyError(f"{where}: an event needs `status` or `field`")
    referrer = None
    if spec.get("referrer") is not None:
        r = spec["referrer"]
        if not isinstance(r, Mapping) or not r.get("kind") or not r.get("field"):
            raise PolicyError(f"{where}.referrer: needs `kind` and `field`")
        referrer = (str(r["kind"]), str(r["field"]))
    return Event(statuses, fld, spec.get("ref"), referrer)


def _events(specs, where: str) -> tuple[Event, ...]:
    if specs is None:
        return ()
    if not isinstance(specs, list):
        specs = [specs]
    return tuple(_event(s, f"{where}[{i}]") for i, s in enumerate(specs))


def _target(spec, where: str) -> Target:
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{where}: a target is {{amount, unit}}")
    unit = spec.get("unit")
    amount = spec.get("amount")
    if unit not in UNITS:
        raise PolicyError(f"{where}.unit: one of {', '.join(UNITS)}")
    if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
        raise PolicyError(f"{where}.amount: a positive number")
    if unit == "working_day_end" and not float(amount).is_integer():
        raise PolicyError(f"{where}: working_day_end counts whole days")
    if unit == "months" and not float(amount).is_integer():
        raise PolicyError(f"{where}: months are whole")
    return Target(float(amount), unit)


def parse_policy(data: Mapping, path: str | None = None) -> Policy:
    """A :class:`Policy` from a policy record's data; raises :class:`PolicyError`."""
    pid = str(data.get("id", "SLA-?"))
    applies = data.get("applies_to") or {}
    kind = applies.get("kind")
    if not kind:
        raise PolicyError(f"{pid}: applies_to.kind is required")
    clocks = []
    names = set()
    for i, c in enumerate(data.get("clocks") or []):
        where = f"{pid} clocks[{i}]"
        name = c.get("name")
        if not name:
            raise PolicyError(f"{where}: name is required")
        if name in names:
            raise PolicyError(f"{where}: clock name {name!r} used twice")
        names.add(name)
        schedule = c.get("schedule")
        targets = {}
        if c.get("target") is not None:
            for tier in TIERS:
                if tier not in c["target"]:
                    raise PolicyError(f"{where}.target: no target for tier {tier}")
                targets[tier] = _target(c["target"][tier], f"{where}.target.{tier}")
        elif not schedule:
            raise PolicyError(f"{where}: needs a target or a schedule")
        remaining = None
        if c.get("at_risk_remaining") is not None:
            r = c["at_risk_remaining"]
            remaining = float(r["amount"]) * (86400 if r.get("unit") == "days" else 3600)
        pause = c.get("pause")
        clocks.append(ClockDef(
            name=name,
            title=c.get("title", name),
            title_zh=c.get("title_zh", c.get("title", name)),
            start=_events(c.get("start"), f"{where}.start"),
            stop=_events(c.get("stop"), f"{where}.stop"),
            cancel=_events(c.get("cancel"), f"{where}.cancel"),
            pause=frozenset(_strs(pause, f"{where}.pause")) if pause is not None else None,
            repeat=bool(c.get("repeat", False)),
            owner=_strs(c.get("owner"), f"{where}.owner") or ("filled_by",),
            targets=targets,
            at_risk=float(c.get("at_risk", DEFAULT_AT_RISK)),
            at_risk_remaining=remaining,
            schedule_months=tuple(sorted(set(schedule["months"]))) if schedule else None,
            schedule_products=schedule.get("from_products") if schedule else None,
            schedule_occurrence=schedule.get("occurrence_field") if schedule else None,
            step=c.get("step"),
        ))
        if not clocks[-1].start or not clocks[-1].stop:
            raise PolicyError(f"{where}: start and stop need at least one event")
    tiers = frozenset(applies.get("tiers") or TIERS)
    return Policy(
        id=pid,
        version=int(data.get("version", 1)),
        name=str(data.get("name", pid)),
        kind=str(kind),
        clocks=tuple(clocks),
        tiers=tiers,
        effective_from=str(applies["effective_from"]) if applies.get("effective_from") else None,
        effective_until=str(applies["effective_until"]) if applies.get("effective_until") else None,
        calendars=dict(data.get("calendars") or {}),
        new_cycle_on=frozenset(_strs(data.get("new_cycle_on"), f"{pid} new_cycle_on")),
        path=path,
        match=tuple((str(m["field"]), tuple(m["values"])) for m in applies.get("match") or ()),
    )


def _records_list(records) -> list:
    if isinstance(records, Mapping):
        return list(records.values())
    if hasattr(records, "records") and isinstance(records.records, Mapping):  # a Corpus
        return list(records.records.values())
    return list(records)


def load_policies(records) -> tuple[list[Policy], list[tuple[Any, str]]]:
    """Parse every policy record: ``(policies, [(record, error message), ...])``."""
    out, errors = [], []
    for r in _records_list(records):
        if r.kind != "policy":
            continue
        try:
            out.append(parse_policy(r.data, str(getattr(r, "path", "") or "")))
        except (PolicyError, KeyError, TypeError, ValueError) as exc:
            errors.append((r, str(exc)))
    out.sort(key=lambda p: p.id)
    return out, errors


def load_calendars(records) -> tuple[dict[str, Any], list[tuple[Any, str]]]:
    """Build every calendar record: ``({id: calendar}, [(record, error message), ...])``."""
    out, errors = {}, []
    for r in _records_list(records):
        if r.kind != "calendar":
            continue
        try:
            out[r.id] = bc.from_record(r.data)
        except (CalendarError, KeyError, TypeError, ValueError, AttributeError) as exc:
            errors.append((r, str(exc)))
    return out, errors


class _Lifecycle:
    """Pause and final statuses per kind, from a ``servicebook.load.lifecycle.Lifecycle`` or the raw
    mapping of ``schemas/lifecycle.yaml``."""

    def __init__(self, source=None):
        self.pause: dict[str, frozenset] = {}
        self.final: dict[str, frozenset] = {}
        self.statuses: dict[str, frozenset] = {}
        if source is None:
            return
        if hasattr(source, "kinds") and hasattr(source, "statuses"):
            for kind in source.kinds():
                sts = source.statuses(kind)
                self.statuses[kind] = frozenset(sts)
                self.pause[kind] = frozenset(n for n, s in sts.items() if s.pause)
                self.final[kind] = frozenset(n for n, s in sts.items() if s.final)
        else:
            for kind, body in source.items():
                sts = body.get("statuses", {})
                self.statuses[kind] = frozenset(sts)
                self.pause[kind] = frozenset(n for n, s in sts.items() if (s or {}).get("pause"))
                self.final[kind] = frozenset(n for n, s in sts.items() if (s or {}).get("final"))

    @property
    def known(self) -> bool:
        return bool(self.statuses)


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

    @property
    def open(self) -> bool:
        return self.state in ("running", "at_risk", "paused") or (
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
                self.calendar, self.tz, self.occurrence, self.error)

    def to_dict(self) -> dict:
        """The stable JSON shape (documented in ``servicebook.commands.sla``)."""
        used = self.used
        return {
            "case": self.case,
            "kind": self.kind,
            "customer": self.customer,
            "tier": self.tier,
            "owner": self.owner,
            "department": self.department,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "clock": self.clock,
            "title": self.title,
            "title_zh": self.title_zh,
            "occurrence": self.occurrence,
            "cycle": self.cycle,
            "last_cycle": self.last_cycle,
            "state": self.state,
            "open": self.open,
            "started_at": self.instant(self.started_at),
            "stopped_at": self.instant(self.stopped_at),
            "deadline": self.instant(self.deadline),
            "target": self.target,
            "target_seconds": _secs(self.target_seconds),
            "elapsed_seconds": _secs(self.elapsed_seconds),
            "remaining_seconds": _secs(self.remaining_seconds),
            "overdue_seconds": _secs(self.overdue_seconds),
            "used": None if used is None else round(used, 4),
            "calendar": self.calendar,
            "month": self.month(),
            "error": self.error,
        }


def _secs(x: float) -> int | float:
    r = round(x, 3)
    return int(r) if float(r).is_integer() else r


def _get(data, path: str):
    if "." not in path:
        return data.get(path) if isinstance(data, dict) else None
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _ts(value, tz) -> float:
    if isinstance(value, str):
        if len(value) > 10:
            try:
                d = _dt.datetime.fromisoformat(value)
                if d.tzinfo is not None:
                    return d.timestamp()
            except ValueError:
                pass
    return bc.to_timestamp(value, tz)


_add_months = sched.add_months


def _day(t: float, tz) -> _dt.date:
    return _dt.datetime.fromtimestamp(t, tz).date()


class _Plan:
    """One clock of one policy for one tier: what every case it measures shares, worked out once
    per engine rather than once per case."""

    __slots__ = ("cd", "target", "wcal", "budget", "pause", "restart", "ident", "text")

    def __init__(self, policy: Policy, cd: ClockDef, tier: str, cal, cal24, pause: frozenset):
        self.cd = cd
        self.target = cd.targets[tier]
        self.wcal = cal if self.target.unit in WORKING_UNITS else cal24
        self.budget = _fixed_budget(self.target)  # None: depends on the start
        self.pause = pause
        self.restart = tuple(e for e in cd.start if e.own_status)  # a repeat clock's next round
        self.ident = (policy.id, policy.version, cd.name, cd.title, cd.title_zh)
        self.text = self.target.text()


class Engine:
    """Computes clocks for a set of records. Build once, ask for any ``at``.

    ``records``: a Corpus, a mapping id -> record or an iterable of records (anything with
    ``.kind``, ``.id``, ``.data``). Policies and calendars come from the records unless given.
    ``lifecycle``: a ``Lifecycle``, the raw lifecycle mapping, or None (then clocks pause only on
    the statuses their policy lists).
    """

    def __init__(self, records, *, policies: Iterable[Policy] | None = None,
                 calendars: Mapping[str, Any] | None = None, lifecycle=None):
        if lifecycle is None and hasattr(records, "lifecycle"):
            lifecycle = records.lifecycle
        recs = _records_list(records)
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
        self.lifecycle = _Lifecycle(lifecycle)
        self._by_kind: dict[str, list[Policy]] = {}
        for p in self.policies:
            self._by_kind.setdefault(p.kind, []).append(p)
        self._hist: dict[str, tuple] = {}
        self._fields: dict[tuple, float | None] = {}
        self._refidx: dict[tuple[str, str], dict[str, list]] = {}
        self._tier: dict[str, str] = {}
        self._cal24: dict[str, Any] = {}
        self._setups: dict[tuple[int, str], tuple] = {}

    # ------------------------------------------------------------------ lookups

    def tier_of(self, rec) -> str:
        """``vip`` or ``standard``: the contract's tier through the case chain, else the customer's."""
        t = self._tier.get(rec.id)
        if t is None:
            t = self._contract_tier(rec, 0) or self._customer_tier(rec) or "standard"
            self._tier[rec.id] = t
        return t

    def _contract_tier(self, rec, depth: int) -> str | None:
        if rec is None or depth > 4:
            return None
        data = rec.data
        if rec.kind == "contract":
            t = data.get("service_tier")
            return t if t in TIERS else None
        for f in ("contract", "complaint", "case"):
            ref = data.get(f)
            if isinstance(ref, str):
                t = self._contract_tier(self.records.get(ref), depth + 1)
                if t:
                    return t
        return None

    def _customer_tier(self, rec) -> str | None:
        cu = self.records.get(rec.data.get("customer"))
        t = cu.data.get("service_tier") if cu is not None else None
        return t if t in TIERS else None

    def policies_for(self, rec, tier: str | None = None) -> list[Policy]:
        """Policies applying to a record (exactly one is expected for an open case); ``tier``:
        the record's, when known."""
        cands = self._by_kind.get(rec.kind)
        if not cands:
            return []
        if tier is None:
            tier = self.tier_of(rec)
        created = rec.data.get("created_at")
        created = str(created) if created is not None else None
        return [p for p in cands if p.applies(rec.kind, tier, created, rec.data)]

    def _history(self, rec, tz) -> tuple[list[float], list[str], float | None]:
        h = self._hist.get(rec.id)
        if h is None:
            ts, st = [], []
            for e in rec.data.get("history") or ():
                if type(e) is not dict and not isinstance(e, Mapping):  # the ABC check is slow
                    continue
                ts.append(_ts(e.get("at"), tz))
                st.append(e.get("status"))
            if ts:
                created = ts[0]
            elif rec.data.get("created_at") is not None:
                created = _ts(rec.data["created_at"], tz)
            else:
                created = None
            h = (ts, st, created)
            self._hist[rec.id] = h
        return h

    def _instant(self, rec, fld: str, tz) -> float | None:
        """The instant in field ``fld`` of ``rec`` (None when empty), parsed once per engine."""
        key = (rec.id, fld, tz)
        t = self._fields.get(key, _UNSEEN)
        if t is _UNSEEN:
            v = _get(rec.data, fld)
            t = self._fields[key] = None if v is None else _ts(v, tz)
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
                v = _get(r.data, fld)
                if isinstance(v, str):
                    self._refidx[(r.kind, fld)].setdefault(v, []).append(r)

    def _owner(self, rec, cd: ClockDef) -> str | None:
        for spec in cd.owner:
            if "/" in spec:
                ref, _, fld = spec.partition("/")
                other = self.records.get(_get(rec.data, ref))
                v = _get(other.data, fld) if other is not None else None
            else:
                v = _get(rec.data, spec)
            if isinstance(v, str) and v:
                return v
        return None

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
            s = (cal, cal24, tuple(
                None if cd.schedule_months is not None
                else _Plan(policy, cd, tier, cal, cal24, self._pause_for(policy.kind, cd))
                for cd in policy.clocks))
        self._setups[key] = (policy, s)
        return s

    # ------------------------------------------------------------------ events

    def _event_at(self, rec, ev: Event, A: float, lo: float, hi: float, tz, first: bool) -> float | None:
        """Instant of ``ev`` seen from ``rec`` as of ``A``, within [lo, hi); None if none."""
        if ev.referrer is not None:
            best = None
            target = rec.id
            if ev.ref is not None:  # records referring to the record our field names
                target = _get(rec.data, ev.ref)
                if not isinstance(target, str):
                    return None
            for other in self._referrers(*ev.referrer).get(target, ()):
                t = self._event_on(other, ev, A, lo, hi, tz)
                if t is not None and (best is None or t < best):
                    best = t
            return best
        if ev.ref is not None:
            if not first:
                return None
            other = self.records.get(_get(rec.data, ev.ref))
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
                target = _get(rec.data, ev.ref) if ev.ref is not None else rec.id
                for other in self._referrers(*ev.referrer).get(target, ()):
                    t = self._event_on(other, ev, A, lo, _INF, tz)
                    if t is not None:
                        out.append(t)
            else:
                t = self._event_at(rec, ev, A, lo, _INF, tz, True)
                if t is not None:
                    out.append(t)
        return sorted(out)

    # ------------------------------------------------------------------ clocks

    def clocks(self, at, kinds: Iterable[str] | None = None, *,
               workers: int | None = None) -> list[Clock]:
        """Every clock of every record as of ``at`` (an instant, always given: only the CLI reads
        the wall clock, once).

        ``workers``: processes sharing the work, forked where the platform allows it (else one);
        the clocks and their order are the same whatever the number. Default: one per available
        core, as long as each gets at least ``PARALLEL_MIN_RECORDS`` records to measure."""
        A = bc.to_timestamp(at)
        kinds = set(kinds) if kinds else None
        recs = [r for r in self.records.values()
                if r.kind not in REFERENCE_KINDS and r.kind in self._by_kind
                and (kinds is None or r.kind in kinds)]
        if workers is None:
            workers = min(_cores(), len(recs) // PARALLEL_MIN_RECORDS)
        workers = min(workers, len(recs))
        # Many small objects are created and none form cycles: the cyclic collector would
        # rescan the whole (large) corpus again and again, so it waits until we are done.
        gc_was = gc.isenabled()
        gc.disable()
        try:
            if workers > 1 and _can_fork() and self._prepare_fork():
                return self._clocks_forked(recs, A, workers)
            return self._clocks_of(recs, A)
        finally:
            if gc_was:
                gc.enable()

    def _clocks_of(self, recs, A: float) -> list[Clock]:
        out: list[Clock] = []
        for rec in recs:
            out.extend(self.clocks_for(rec, A))
        return out

    def _prepare_fork(self) -> bool:
        """Before forking, the lazy work every process would otherwise repeat, done once:
        calendar tables, referrer indexes. False when forking could change a result: naive
        history instants are read in the zone of the first calendar asking, so with calendars in
        several zones the answer would depend on which process reads a record first."""
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
        self._index_referrers(ev.referrer for p in self.policies for cd in p.clocks
                              for ev in cd.start + cd.stop + cd.cancel if ev.referrer is not None)
        return len(zones) <= 1

    def _clocks_forked(self, recs, A: float, workers: int) -> list[Clock]:
        """``_clocks_of(recs, A)`` shared with ``workers - 1`` forked children. Every process
        takes chunks of records in turn, so one slowed down takes fewer: the chunks' numbers
        wait in a pipe, 4 bytes each, and reading 4 bytes takes one. A child writes each chunk's
        clocks to its spool file and says where on its own pipe; this process reads them in
        between its own chunks, and measures any chunk a failed child took."""
        ctx = multiprocessing.get_context("fork")
        size = max(_CHUNK, -(-len(recs) // _MAX_CHUNKS))
        chunks = [recs[i:i + size] for i in range(0, len(recs), size)]
        results: list[list[Clock] | None] = [None] * len(chunks)
        tokens, fill = os.pipe()
        os.write(fill, b"".join(k.to_bytes(4, "little") for k in range(len(chunks))))
        os.close(fill)  # once all are taken, reading gives b""
        children = []
        done = False
        try:
            for _ in range(workers - 1):
                receive, send = ctx.Pipe(duplex=False)
                spool = tempfile.TemporaryFile()
                proc = ctx.Process(target=self._work, args=(chunks, A, tokens, send, spool), daemon=True)
                proc.start()
                send.close()
                children.append((receive, spool, proc))
            reports = {receive: spool for receive, spool, _ in children}
            while (k := _take(tokens)) is not None:
                results[k] = self._clocks_of(chunks[k], A)
                _collect(reports, results, wait=False)
            _collect(reports, results, wait=True)
            for k, clocks in enumerate(results):
                if clocks is None:  # taken by a child that failed: measured here, raising what it raised
                    results[k] = self._clocks_of(chunks[k], A)
            done = True
            return list(itertools.chain.from_iterable(results))
        finally:
            os.close(tokens)
            for receive, spool, proc in children:
                receive.close()
                spool.close()
                if not done:
                    proc.terminate()
                proc.join()

    def _work(self, chunks, A: float, tokens: int, conn, spool) -> None:
        """In a forked child: measure the chunks taken from ``tokens``; write each one's clocks
        to ``spool`` as tuples of plain values, pickled (a zone pickles as its key), and send
        ``(chunk, offset, size)`` on ``conn``. A failure is not swallowed: the child ends with
        its traceback on stderr, and the chunk it took and did not report is measured by the
        parent, which raises there too if the failure is the measuring's."""
        try:
            offset = 0
            while (k := _take(tokens)) is not None:
                data = pickle.dumps([c.values() for c in self._clocks_of(chunks[k], A)],
                                    pickle.HIGHEST_PROTOCOL)
                spool.write(data)
                spool.flush()
                conn.send((k, offset, len(data)))
                offset += len(data)
        finally:
            conn.close()

    def clocks_for(self, rec, at) -> list[Clock]:
        """The clocks of one record as of ``at``."""
        A = at if isinstance(at, float) else bc.to_timestamp(at)
        if rec.kind not in self._by_kind:
            return []
        tier = self.tier_of(rec)
        pols = self.policies_for(rec, tier)
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
        ts, st, created = self._history(rec, cal.tz)
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
        for cd, plan in zip(policy.clocks, plans):
            try:
                if plan is None:
                    self._schedule(rec, policy, cd, tier, cal24, A, out)
                else:
                    self._cycles(rec, head, plan, cal.tz, ts, st, n, bounds, A, out)
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

    def _cycles(self, rec, head, plan, tz, ts, st, n, bounds, A, out) -> None:
        cd = plan.cd
        owner = self._owner(rec, cd)
        who = (owner, self._department(owner))
        first_idx = len(out)
        cycle = 0
        for k, i0 in enumerate(bounds):
            i1 = bounds[k + 1] if k + 1 < len(bounds) else n
            t_lo = ts[i0] if k > 0 else -_INF
            t_hi = ts[i1] if i1 < n else _INF
            start, sidx = self._find_start(rec, cd.start, ts, st, i0, i1, A, t_lo, t_hi, tz, k == 0)
            while start is not None:
                stop, stop_idx = self._find_first(rec, cd.stop, ts, st, sidx, i1, A, start, t_hi, tz)
                cancel, _ = self._find_first(rec, cd.cancel, ts, st, sidx, i1, A, start, t_hi, tz) if cd.cancel else (None, None)
                cycle += 1
                out.append(self._measure(plan, head, who, cycle, start, stop, cancel, t_hi, ts, st, n, A))
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
        tier = self.tier_of(rec)
        pols = self.policies_for(rec, tier)
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
            target = _get(rec.data, ev.ref) if ev.ref is not None else rec.id
            if not isinstance(target, str):
                continue
            closing = self.lifecycle.final.get(ev.referrer[0], frozenset()) - (ev.statuses or frozenset())
            for other in self._referrers(*ev.referrer).get(target, ()):
                label = _get(other.data, label_field) if label_field else None
                label = label if type(label) is int else None
                t = self._event_on(other, ev, A, -_INF, _INF, tz)  # None too if created after A
                if t is not None and t <= A:
                    day = None
                    if ev.field:
                        raw = _get(other.data, ev.field)
                        if isinstance(raw, str) and len(raw) == 10:  # a date: done by its end, as due
                            day = _day(t, tz)
                            t = min(sched.end_of_day(day, tz), A)
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
        items = _get(rec.data, cd.schedule_products)
        plans = []
        for item in items if isinstance(items, list) else ():
            pid = item.get("product") if isinstance(item, Mapping) else item
            prod = self.records.get(pid) if isinstance(pid, str) else None
            if prod is not None:
                plans.append(prod.data.get("service_plan") or {})
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


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    """Whether a worker can be forked safely: the platform forks (macOS can, but its system
    libraries do not survive it), this process is no daemonic worker (those may not have
    children), and no other thread runs (the child would inherit the locks it holds)."""
    return ("fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
            and not multiprocessing.current_process().daemon
            and threading.active_count() == 1)


def _take(tokens: int) -> int | None:
    """The next chunk's number from the pipe the processes share, None when all are taken."""
    token = os.read(tokens, 4)
    return int.from_bytes(token, "little") if token else None


def _collect(reports: dict, results: list, wait: bool) -> None:
    """Read into ``results`` the chunks children reported (``reports``: pipe -> spool file);
    with ``wait``, until every child has closed its pipe."""
    while reports:
        ready = multiprocessing.connection.wait(list(reports), timeout=None if wait else 0)
        if not ready:
            return
        for receive in ready:
            try:
                k, offset, size = receive.recv()
            except EOFError:  # that child is done (or failed)
                del reports[receive]
                continue
            data = os.pread(reports[receive].fileno(), size, offset)
            results[k] = [Clock(*row) for row in pickle.loads(data)]


def compute(records, at, kinds: Iterable[str] | None = None, lifecycle=None) -> list[Clock]:
    """Shortcut: ``Engine(records, lifecycle=lifecycle).clocks(at, kinds)``."""
    return Engine(records, lifecycle=lifecycle).clocks(at, kinds)


def tier_of(records, record) -> str:
    """Service tier of ``record`` among ``records``."""
    return Engine(records, policies=[], calendars={}).tier_of(record)


# --------------------------------------------------------------------------- validation hook


def _problem(file, path, message, rule="sla.policy"):
    return Problem(str(file), 0 if path else 1, 0 if path else 1, path, rule, message)


def check_policies(records, lifecycle) -> list:
    """Problems (rule ``sla.policy``): unusable policy/calendar records, policy statuses unknown
    to the lifecycle, and open case records matching no policy or several. ``lifecycle`` is the
    corpus's own (never one found from the working directory)."""
    recs = _records_list(records)
    life = _Lifecycle(lifecycle)
    problems = []
    eng = Engine(recs, lifecycle=lifecycle)
    for r, msg in eng.problems:
        problems.append(_problem(r.path, "", msg))
    for p in eng.policies:
        if p.kind not in KINDS:
            problems.append(_problem(p.path, "applies_to.kind", f"no record kind {p.kind!r}"))
        for ev in (e for cd in p.clocks for e in cd.start + cd.stop + cd.cancel):
            if ev.referrer and ev.referrer[0] not in KINDS:
                problems.append(_problem(p.path, "clocks", f"no record kind {ev.referrer[0]!r}"))
        if life.known and p.kind in life.statuses:
            known = life.statuses[p.kind]
            for s in sorted(p.new_cycle_on - known):
                problems.append(_problem(p.path, "new_cycle_on", f"{p.kind} has no status {s!r}"))
            for i, cd in enumerate(p.clocks):
                for part in ("start", "stop", "cancel"):
                    for j, ev in enumerate(getattr(cd, part)):
                        if ev.own_status:
                            for s in sorted(ev.statuses - known):
                                problems.append(_problem(p.path, f"clocks[{i}].{part}[{j}].status",
                                                         f"{p.kind} has no status {s!r}"))
                        elif ev.referrer and ev.referrer[0] in life.statuses and ev.statuses:
                            for s in sorted(ev.statuses - life.statuses[ev.referrer[0]]):
                                problems.append(_problem(p.path, f"clocks[{i}].{part}[{j}].status",
                                                         f"{ev.referrer[0]} has no status {s!r}"))
                for s in sorted((cd.pause or frozenset()) - known):
                    problems.append(_problem(p.path, f"clocks[{i}].pause", f"{p.kind} has no status {s!r}"))
    for r in recs:
        if r.kind in REFERENCE_KINDS or not isinstance(r.data, Mapping) or "history" not in r.data:
            continue
        status = r.data.get("status")
        if life.known:
            if r.kind not in life.statuses or status in life.final.get(r.kind, ()):
                continue
        pols = eng.policies_for(r)
        if len(pols) == 1:
            continue
        tier = eng.tier_of(r)
        if not pols:
            msg = (f"no SLA policy applies to this open {r.kind} (tier {tier}); every open case "
                   f"must match exactly one policy in records/policy/")
        else:
            msg = (f"several SLA policies apply to this open {r.kind} (tier {tier}): "
                   f"{', '.join(p.id for p in pols)}; exactly one must")
        problems.append(_problem(r.path, "", msg))
    return problems


# --------------------------------------------------------------------------- reports


def last_cycles(clocks: Iterable[Clock]) -> list[Clock]:
    """Only the newest cycle of each clock."""
    return [c for c in clocks if c.last_cycle]


def ever_breached(clocks: Iterable[Clock]) -> set[tuple[str, str]]:
    """``(case, policy/clock)`` pairs with at least one breached cycle."""
    return {(c.case, c.key) for c in clocks if c.state == "breached"}


def _select(clocks, cycles: str) -> list[Clock]:
    clocks = list(clocks)
    if cycles == "all":
        return clocks
    if cycles == "last":
        return last_cycles(clocks)
    if cycles == "ever":
        bad = ever_breached(clocks)
        out = []
        for c in last_cycles(clocks):
            if (c.case, c.key) in bad and c.state != "breached":
                earlier = [x for x in clocks if x.case == c.case and x.key == c.key and x.state == "breached"]
                out.append(earlier[-1])
            else:
                out.append(c)
        return out
    raise ValueError("cycles: 'last', 'all' or 'ever'")


_GROUPS: dict[str, Callable[[Clock], Any]] = {
    "clock": lambda c: c.key,
    "policy": lambda c: c.policy,
    "kind": lambda c: c.kind,
    "month": lambda c: c.month(),
    "tier": lambda c: c.tier,
    "department": lambda c: c.department,
    "person": lambda c: c.owner,
    "customer": lambda c: c.customer,
}


def compliance(clocks: Iterable[Clock], by: str | Callable[[Clock], Any] = "clock",
               cycles: str = "last") -> list[dict]:
    """Compliance per group: ``[{key, met, breached, decided, open, compliance}]`` where
    ``compliance`` = met / (met + breached) in percent (None when nothing was decided yet).
    Breached includes clocks still open past their deadline. ``by``: clock, policy, kind, month,
    tier, department, person, customer, or a function of a clock. ``cycles``: last, all, ever
    (a clock counts as breached when any of its cycles was)."""
    keyf = _GROUPS[by] if isinstance(by, str) else by
    groups: dict[Any, dict] = {}
    for c in _select(clocks, cycles):
        if c.state in ("cancelled", "error"):
            continue
        g = groups.setdefault(keyf(c), {"key": keyf(c), "met": 0, "breached": 0, "open": 0})
        if c.state == "met":
            g["met"] += 1
        elif c.state == "breached":
            g["breached"] += 1
        else:
            g["open"] += 1
    rows = []
    for g in groups.values():
        g["decided"] = g["met"] + g["breached"]
        g["compliance"] = round(100.0 * g["met"] / g["decided"], 1) if g["decided"] else None
        rows.append(g)
    rows.sort(key=lambda g: (g["key"] is None, str(g["key"])))
    return rows


def breach_list(clocks: Iterable[Clock], cycles: str = "all") -> list[Clock]:
    """Breached clocks, most overdue first."""
    return sorted((c for c in _select(clocks, cycles) if c.state == "breached"),
                  key=lambda c: (-c.overdue_seconds, c.case, c.clock))


def at_risk_queue(clocks: Iterable[Clock],
                  value_index: Callable[[str | None], float | None] | None = None) -> list[Clock]:
    """Open clocks at risk, most urgent (earliest deadline) first; among equal deadlines the
    customer with the higher value index (source 003) first when ``value_index`` is given."""
    def key(c: Clock):
        v = value_index(c.customer) if value_index else None
        return (c.deadline if c.deadline is not None else _INF, -(v or 0.0), c.case, c.clock)

    return sorted((c for c in clocks if c.state == "at_risk" and c.last_cycle), key=key)


def report(source, at, value_index=None, kinds: Iterable[str] | None = None) -> dict:
    """Everything the site shows, as plain data: clocks, state counts, compliance per clock,
    month, tier, department and person, the breach list and the at-risk queue."""
    eng = source if isinstance(source, Engine) else Engine(source)
    A = bc.to_timestamp(at)
    clocks = eng.clocks(A, kinds)
    counts = {s: 0 for s in STATES}
    for c in last_cycles(clocks):
        counts[c.state] += 1
    return {
        "as_of": _dt.datetime.fromtimestamp(A, bc.ZoneInfo(bc.DEFAULT_TIMEZONE)).isoformat(timespec="seconds"),
        "policies": [{"id": p.id, "version": p.version, "kind": p.kind, "name": p.name} for p in eng.policies],
        "counts": counts,
        "clocks": [c.to_dict() for c in clocks],
        "compliance": {by: compliance(clocks, by) for by in ("clock", "month", "tier", "department", "person")},
        "compliance_ever": compliance(clocks, "clock", cycles="ever"),
        "breaches": [c.to_dict() for c in breach_list(clocks)],
        "at_risk": [c.to_dict() for c in at_risk_queue(clocks, value_index)],
    }


def format_duration(seconds: float) -> str:
    """``1h30m``, ``-0h15m``, ``3d04h`` (days of 24 h) for long calendar spans."""
    neg = seconds < 0
    s = int(round(abs(seconds)))
    h, rem = divmod(s, 3600)
    m = rem // 60
    text = f"{h // 24}d{h % 24:02d}h" if h >= 100 else f"{h}h{m:02d}m"
    return ("-" if neg else "") + text
