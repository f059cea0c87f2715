"""SLA policies: the policy and calendar records parsed into typed policies, which version of
which policy measures a record, and the check that every open case has exactly one.

Policies are records (``records/policy/SLA-*.yaml``, schema ``schemas/policy.schema.json``). A policy
measures one record kind (``applies_to.kind``, optionally restricted to tiers, to records whose
fields hold given values (``match``) and to cases created in an effective date window: a new
version of a policy is a record effective from the day the old one stops) and names its clocks.
Each clock has

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
How the clocks run is :mod:`servicebook.derive.sla.engine`'s.

Tier of a case (``PolicyMatcher.tier_of``): ``service_tier`` of the contract it (or its chain:
repair -> complaint -> contract, callback -> case, requirements/installation -> contract)
references, else the customer's, else standard. Time counts in the tier's calendar
(``policy.calendars``; VIP normally 7x24).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping  # typing's aliases make isinstance slow
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from servicebook.derive.sla import calendar as bc
from servicebook.derive.sla.calendar import CalendarError
from servicebook.load.problems import Problem
from servicebook.load.records import KINDS

__all__ = [
    "UNITS",
    "WORKING_UNITS",
    "CALENDAR_UNITS",
    "TIERS",
    "DEFAULT_AT_RISK",
    "REFERENCE_KINDS",
    "PolicyError",
    "Event",
    "Target",
    "ClockDef",
    "Unrecorded",
    "Policy",
    "StatusSets",
    "PolicyMatcher",
    "parse_policy",
    "load_policies",
    "load_calendars",
    "records_list",
    "field_of",
    "tier_of",
    "check_policies",
]

WORKING_UNITS = ("working_hours", "working_days", "working_day_end")
CALENDAR_UNITS = ("hours", "days", "months")
UNITS = WORKING_UNITS + CALENDAR_UNITS
TIERS = ("standard", "vip")
DEFAULT_AT_RISK = 0.75
REFERENCE_KINDS = frozenset({"person", "customer", "product", "policy", "calendar"})  # never measured


class PolicyError(ValueError):
    """A policy record the engine cannot use."""


# --------------------------------------------------------------------------- the policy model


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
    unrecorded: "Unrecorded | None" = None
    match: tuple[tuple[str, tuple], ...] = ()  # this clock only for records whose fields match

    def measures(self, data: Mapping) -> bool:
        """Whether a record with ``data`` has this clock (its ``match`` conditions hold)."""
        return all(field_of(data, fld) in values for fld, values in self.match)


@dataclass(frozen=True)
class Unrecorded:
    """A clock that starts on another record (``ref``) runs before the measured record exists:
    on the starting record, of kind ``kind`` (``survey``), named by the measured kind's field
    ``ref`` (an appraisal's ``survey``). ``owner``: who answers for it there (field specs of the
    starting record, or ``role:<role>``: the first person holding it); ``cancel``: statuses of the
    starting record that make it moot (a dropped survey)."""
    kind: str
    ref: str
    owner: tuple[str, ...] = ()
    cancel: frozenset = frozenset()


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
            if field_of(data or {}, fld) not in values:
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
    for key in ("field", "ref"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise PolicyError(f"{where}.{key}: a field name")
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


def _unrecorded(clock: Mapping, where: str) -> Unrecorded | None:
    spec = clock.get("unrecorded")
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or not spec.get("kind"):
        raise PolicyError(f"{where}: needs the `kind` of the starting record")
    refs = [e.get("ref") for e in (clock.get("start") or []) if isinstance(e, Mapping) and e.get("ref")
            and not e.get("referrer")]
    if not refs or len(set(refs)) != 1:
        raise PolicyError(f"{where}: the clock must start on the record one field names (`ref`)")
    return Unrecorded(str(spec["kind"]), refs[0], _strs(spec.get("owner"), f"{where}.owner"),
                      frozenset(_strs(spec.get("cancel"), f"{where}.cancel")))


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
        unrecorded = _unrecorded(c, f"{where}.unrecorded")
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
            match=tuple((str(m["field"]), tuple(m["values"])) for m in c.get("match") or ()),
            schedule_months=tuple(sorted(set(schedule["months"]))) if schedule else None,
            schedule_products=schedule.get("from_products") if schedule else None,
            schedule_occurrence=schedule.get("occurrence_field") if schedule else None,
            step=c.get("step"),
            unrecorded=unrecorded,
        ))
        if not clocks[-1].start or not clocks[-1].stop:
            raise PolicyError(f"{where}: start and stop need at least one event")
    tiers = frozenset(applies.get("tiers") or TIERS)
    calendars = data.get("calendars") or {}
    if not isinstance(calendars, Mapping) or not all(isinstance(v, str) for v in calendars.values()):
        raise PolicyError(f"{pid}: calendars: a calendar ID per tier")
    return Policy(
        id=pid,
        version=int(data.get("version", 1)),
        name=str(data.get("name", pid)),
        kind=str(kind),
        clocks=tuple(clocks),
        tiers=tiers,
        effective_from=str(applies["effective_from"]) if applies.get("effective_from") else None,
        effective_until=str(applies["effective_until"]) if applies.get("effective_until") else None,
        calendars=dict(calendars),
        new_cycle_on=frozenset(_strs(data.get("new_cycle_on"), f"{pid} new_cycle_on")),
        path=path,
        match=tuple((str(m["field"]), tuple(m["values"])) for m in applies.get("match") or ()),
    )


def field_of(data, path: str):
    """The value at a dotted ``path`` of a record's data (``contract``, ``service.level``), None
    when any step is missing."""
    if "." not in path:
        return data.get(path) if isinstance(data, dict) else None
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


# --------------------------------------------------------------------------- reading records


def records_list(records) -> list:
    """The records of a Corpus, a mapping id -> record or an iterable of records, as a list."""
    if isinstance(records, Mapping):
        return list(records.values())
    if hasattr(records, "records") and isinstance(records.records, Mapping):  # a Corpus
        return list(records.records.values())
    return list(records)


def load_policies(records) -> tuple[list[Policy], list[tuple[Any, str]]]:
    """Parse every policy record: ``(policies, [(record, error message), ...])``."""
    out, errors = [], []
    for r in records_list(records):
        if r.kind != "policy":
            continue
        try:
            out.append(parse_policy(r.data, str(getattr(r, "path", "") or "")))
        except (PolicyError, KeyError, TypeError, ValueError, AttributeError) as exc:  # of a shape it has not
            errors.append((r, str(exc)))
    out.sort(key=lambda p: p.id)
    return out, errors


def load_calendars(records) -> tuple[dict[str, Any], list[tuple[Any, str]]]:
    """Build every calendar record (the calendars policies name per tier): ``({id: calendar},
    [(record, error message), ...])``."""
    out, errors = {}, []
    for r in records_list(records):
        if r.kind != "calendar":
            continue
        try:
            out[r.id] = bc.from_record(r.data)
        except (CalendarError, KeyError, TypeError, ValueError, AttributeError) as exc:
            errors.append((r, str(exc)))
    return out, errors


class StatusSets:
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


# --------------------------------------------------------------------------- matching a record


class PolicyMatcher:
    """Which policies measure a record: those of its kind, covering its service tier, whose
    ``match`` conditions its fields meet and whose effective window holds its creation day (the
    version in force when the case was created). Exactly one is expected for an open case.

    ``records``: mapping id -> record, where the chain of a case (its contract, its customer) is
    looked up; tiers are worked out once per record."""

    def __init__(self, records: Mapping[str, Any], policies: Iterable[Policy]):
        self.records = records
        self.by_kind: dict[str, list[Policy]] = {}
        for p in policies:
            self.by_kind.setdefault(p.kind, []).append(p)
        self._tier: dict[str, str] = {}

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
        ref = rec.data.get("customer")
        cu = self.records.get(ref) if isinstance(ref, str) else None  # not an ID: a broken record, reported by its check
        t = cu.data.get("service_tier") if cu is not None else None
        return t if t in TIERS else None

    def policies_for(self, rec, tier: str | None = None) -> list[Policy]:
        """Policies applying to a record (exactly one is expected for an open case); ``tier``:
        the record's, when known."""
        cands = self.by_kind.get(rec.kind)
        if not cands:
            return []
        if tier is None:
            tier = self.tier_of(rec)
        created = rec.data.get("created_at")
        created = str(created) if created is not None else None
        return [p for p in cands if p.applies(rec.kind, tier, created, rec.data)]


def tier_of(records, record) -> str:
    """Service tier of ``record`` among ``records``."""
    return PolicyMatcher({r.id: r for r in records_list(records)}, ()).tier_of(record)


# --------------------------------------------------------------------------- validation hook


def _problem(file, path, message, rule="sla.policy"):
    return Problem(str(file), 0 if path else 1, 0 if path else 1, path, rule, message)


def check_policies(records, lifecycle) -> list:
    """Problems (rule ``sla.policy``): unusable policy/calendar records, policy statuses unknown
    to the lifecycle, and open case records matching no policy or several. ``lifecycle`` is the
    corpus's own (never one found from the working directory)."""
    recs = records_list(records)
    life = StatusSets(lifecycle)
    problems = []
    policies, errors = load_policies(recs)
    errors += load_calendars(recs)[1]
    matcher = PolicyMatcher({r.id: r for r in recs}, policies)
    for r, msg in errors:
        problems.append(_problem(r.path, "", msg))
    for p in policies:
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
        for i, cd in enumerate(p.clocks):
            u = cd.unrecorded
            if u is None:
                continue
            if u.kind not in KINDS:
                problems.append(_problem(p.path, f"clocks[{i}].unrecorded.kind", f"no record kind {u.kind!r}"))
            elif life.known and u.kind in life.statuses:
                for s in sorted(u.cancel - life.statuses[u.kind]):
                    problems.append(_problem(p.path, f"clocks[{i}].unrecorded.cancel",
                                             f"{u.kind} has no status {s!r}"))
    for r in recs:
        if r.kind in REFERENCE_KINDS or not isinstance(r.data, Mapping) or "history" not in r.data:
            continue
        status = r.data.get("status")
        if life.known:
            if r.kind not in life.statuses or (isinstance(status, str) and status in life.final.get(r.kind, ())):
                continue
        pols = matcher.policies_for(r)
        if len(pols) == 1:
            continue
        tier = matcher.tier_of(r)
        if not pols:
            msg = (f"no SLA policy applies to this open {r.kind} (tier {tier}); every open case "
                   f"must match exactly one policy in records/policy/")
        else:
            msg = (f"several SLA policies apply to this open {r.kind} (tier {tier}): "
                   f"{', '.join(p.id for p in pols)}; exactly one must")
        problems.append(_problem(r.path, "", msg))
    return problems
