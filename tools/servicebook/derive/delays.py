"""Why was it late? Breached SLA clocks with and without a recorded reason, per person (seed 001:
每单业务在无特殊原因的情况下结单期限最长不得超出两天;对于无故超期延误者,要予以严厉追究).

A case record says why one of its deadlines was missed in its optional ``delay_reasons`` list
(``common.schema.json#/definitions/delay_reason``: ``clock``, ``reason``, ``by``, ``at``, optional
``category``). The clocks are the SLA engine's (:mod:`servicebook.derive.sla.engine`), as of ``at``:

* one row per clock of a record that is breached, in its newest cycle or any earlier one
  (``reports.select(clocks, "ever")``: the newest cycle, or the last breached one of a clock ever
  breached): stopped late, or still open past its deadline;
* the row is *explained* when the record (``Clock.case``) has a reason for that clock name given
  at or after the start of that cycle (a reason from an earlier cycle or occurrence does not
  excuse a new breach) and at or before ``at`` (a reason written later does not exist yet);
  ``by`` and ``category`` of the newest such reason are kept;
* per person: the clock's ``owner`` (who is pursued), with the breaches, explained,
  unexplained, and the overdue time of the unexplained ones (in the clock's own units:
  working seconds for working targets), most unexplained first.

``delays(corpus, at, clocks=None)``: pass the engine's clocks when already computed (the site
does), else they are computed here.

``check(corpus)`` (run by ``servicebook validate`` through ``derive.checked``): a reason must name
a clock of the SLA policy that measures its record (rule ``delay.clock``, a warning: the record is
valid, the reason explains nothing; a schedule clock by its month, ``inspection_3m``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from servicebook.derive.aftersales.common import as_datetime, get, text
from servicebook.derive.sla import reports
from servicebook.derive.sla.engine import Engine
from servicebook.load.instants import instant_or_none
from servicebook.load.problems import Problem

RULE = "delay.clock"


@dataclass(frozen=True)
class Reason:
    clock: str
    reason: str
    by: str
    at: datetime
    category: str | None


@dataclass
class Delay:
    """One breached clock of one record."""
    case: str
    kind: str
    clock: str                    # the clock's name in its policy
    key: str                      # policy/clock
    title: str
    title_zh: str
    owner: str | None
    customer: str | None
    deadline: str | None          # instant text, in the clock's zone
    stopped: bool                 # stopped late (True) or still open past the deadline
    overdue_seconds: float
    reason: Reason | None

    @property
    def explained(self) -> bool:
        return self.reason is not None


@dataclass
class PersonDelays:
    owner: str | None
    breached: int = 0
    explained: int = 0
    unexplained: int = 0
    unexplained_overdue_seconds: float = 0.0
    cases: list[str] = field(default_factory=list)   # records with an unexplained breach


def reasons_of(rec) -> list[Reason]:
    """The readable entries of a record's ``delay_reasons`` (a wrong type is the schema check's
    located problem; here it is no reason)."""
    out = []
    entries = get(rec.data, "delay_reasons")
    for item in entries if isinstance(entries, list) else []:
        if not isinstance(item, dict):
            continue
        clock, reason, by = item.get("clock"), item.get("reason"), item.get("by")
        at = instant_or_none(item.get("at"))
        if not isinstance(clock, str) or not text(reason).strip() or at is None:
            continue
        category = item.get("category") if isinstance(item.get("category"), str) else None
        out.append(Reason(clock, reason, text(by), at, category))
    return out


def _explaining(reasons: list[Reason], clock, at: datetime) -> Reason | None:
    started = clock.started_at
    found = [r for r in reasons if r.clock == clock.clock and r.at <= at
             and (started is None or r.at.timestamp() >= started)]
    return max(found, key=lambda r: r.at) if found else None


def delays(corpus, at, clocks=None) -> list[Delay]:
    """Every breached clock as of ``at``, most overdue first, with its reason if one explains it."""
    as_of = as_datetime(at)
    if clocks is None:
        clocks = Engine(corpus).clocks(as_of)
    out = []
    cache: dict[str, list[Reason]] = {}
    for c in reports.select(clocks, "ever"):
        if c.state != "breached":
            continue
        rec = corpus.records.get(c.case)
        if c.case not in cache:
            cache[c.case] = reasons_of(rec) if rec is not None else []
        out.append(Delay(c.case, c.kind, c.clock, c.key, c.title, c.title_zh, c.owner, c.customer,
                         c.instant(c.deadline), c.stopped_at is not None, c.overdue_seconds,
                         _explaining(cache[c.case], c, as_of)))
    return sorted(out, key=lambda d: (-d.overdue_seconds, d.case, d.clock))


def by_person(found: list[Delay]) -> list[PersonDelays]:
    """Per owner: breaches, explained, unexplained and their overdue time; most unexplained
    first (then the longest unexplained overdue time)."""
    rows: dict[str | None, PersonDelays] = {}
    for d in found:
        row = rows.setdefault(d.owner, PersonDelays(d.owner))
        row.breached += 1
        if d.explained:
            row.explained += 1
        else:
            row.unexplained += 1
            row.unexplained_overdue_seconds += d.overdue_seconds
            if d.case not in row.cases:
                row.cases.append(d.case)
    return sorted(rows.values(), key=lambda r: (-r.unexplained, -r.unexplained_overdue_seconds,
                                                r.owner is None, r.owner or ""))


def _clock_names(policy) -> tuple[set[str], list[str]]:
    """The names a reason may give for a policy's clocks: plain names, and for a schedule clock
    its prefix (``inspection`` -> ``inspection_<month>m``); and the names shown in a message."""
    plain, prefixes, shown = set(), [], []
    for cd in policy.clocks:
        if cd.schedule_months is not None or cd.schedule_products is not None:
            prefixes.append(cd.name)
            shown.append(f"{cd.name}_<month>m")
        else:
            plain.add(cd.name)
            shown.append(cd.name)
    return plain | {f"{p}_" for p in prefixes}, shown


def check(corpus) -> list[Problem]:
    """A ``delay_reasons`` entry whose ``clock`` is no clock of its record's SLA policy (or whose
    record no policy measures) explains nothing: a warning at the entry's ``clock``."""
    from servicebook.derive.sla.policies import PolicyMatcher, load_policies

    with_reasons = [r for r in corpus.records.values()
                    if isinstance(r.data, dict) and isinstance(r.data.get("delay_reasons"), list) and r.data["delay_reasons"]]
    if not with_reasons:
        return []
    policies, _ = load_policies(list(corpus.of_kind("policy")))  # unusable ones: sla.policy says so
    matcher = PolicyMatcher(corpus.records, policies)
    out = []
    for rec in with_reasons:
        pols = matcher.policies_for(rec)
        names: set[str] = set()
        shown: list[str] = []
        for pol in pols:
            n, s = _clock_names(pol)
            names |= n
            shown += s
        for i, item in enumerate(rec.data["delay_reasons"]):
            clock = item.get("clock") if isinstance(item, dict) else None
            if not isinstance(clock, str):
                continue  # the schema check reports it
            if clock in names or any(clock.startswith(p) and clock[len(p):-1].isdigit() and clock.endswith("m")
                                     for p in names if p.endswith("_")):
                continue
            where = f"delay_reasons[{i}].clock"
            if not pols:
                message = (f"{clock!r}: no SLA policy measures this {rec.kind}, so no deadline of it can be "
                           f"late; remove the reason")
            else:
                message = (f"{clock!r} is no clock of this {rec.kind}'s SLA policy "
                           f"({', '.join(p.id for p in pols)}: {', '.join(dict.fromkeys(shown)) or 'no clocks'}); "
                           f"the reason explains nothing until it names one")
            out.append(Problem(str(rec.path), 0, 0, where, RULE, message, severity="warning"))
    return out
