"""Case chains and open cases, as of an instant: which records form a case, whether it is open, how
many cases are open by kind and status, and which records wait for an approval (by which role).

A *case record* is a record of a case kind (``load.records.KINDS[kind].case``: survey ... problem).
Reference data (person, customer, product, policy, calendar), the knowledge base (kb) and the parts
list (part) are not cases, however their records move through statuses. A *case* is a chain of case
records (``corpus.index``): a deal from its survey, a service case from its complaint or from a
repair reported without one, any other chain (a bid without its survey, ...) a case of its own.

Every figure is of the records as they stood at ``at``: a record created after ``at`` does not exist
yet, and a record's status is the status of its last history entry at or before ``at``.

A case record is *open* when its kind has a lifecycle, its status is not final there, and it
decides its chain: in a deal an earlier stage is handed on once a later stage exists (a survey
stays ``handed_over``, which is not final, for ever), so of the deal stages only the furthest one
decides; every record outside the stages (bids, inspections, callbacks ...) decides too. A chain is
open when one of its records is open.

The site's home, cases, customer, approvals and weekly pages and ``servicebook report cases`` show
what these functions give; ``tests/test_agreement_cases.py`` holds them to one count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from servicebook.check.approvals import judge
from servicebook.load.instants import ZONE, instant_or_none, parse_instant
from servicebook.load.records import KINDS, get

CASE_KINDS: tuple[str, ...] = tuple(k for k, spec in KINDS.items() if spec.case)
CHAIN_KINDS = ("deal", "service", "other")
DEAL_ROOTS = ("survey",)
SERVICE_ROOTS = ("complaint", "repair")
# The stages of a deal, in order. An earlier stage has been handed on once a later one exists.
DEAL_STAGES = ("survey", "appraisal", "solution", "feasibility", "contract", "installation")

_EARLIEST = datetime.min.replace(tzinfo=ZONE)


def is_case_kind(kind: str) -> bool:
    return kind in _CASE_KIND_SET


_CASE_KIND_SET = frozenset(CASE_KINDS)


# --- one record as of an instant ------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One history entry of one record. ``note`` is the record's own text: whoever shows it masks
    it (the site does)."""
    at: datetime
    at_text: str
    record: Any
    status: str
    by: str
    note: str


def history(rec, at: datetime | None = None) -> list[Entry]:
    """The dated history entries of ``rec`` (at or before ``at`` when given), in record order. An
    entry whose time is not an instant (a broken record, reported by the schema check) is left out."""
    out = []
    for when, h in rec.dated_history:
        if at is not None and when > at:
            continue
        note = h.get("note")
        out.append(Entry(when, str(h.get("at")), rec, str(h.get("status") or ""), str(h.get("by") or ""),
                         note if isinstance(note, str) else ""))
    return out


def created(rec) -> datetime | None:
    """When the record was created: ``created_at``, else its first dated history entry."""
    when = instant_or_none(get(rec.data, "created_at"))
    if when is not None:
        return when
    dated = rec.dated_history
    return dated[0][0] if dated else None


def exists(rec, at: datetime) -> bool:
    """Whether the record existed at ``at`` (one without any date is taken to)."""
    when = created(rec)
    return when is None or when <= at


def status_at(rec, at: datetime):
    """The record's status at ``at``: that of its last history entry at or before ``at``; a record
    without a dated history entry has its ``status`` field; one whose entries are all later has its
    first entry's. A status that is not text (a broken record) is None."""
    return _state_at(rec, at)[0]


def _state_at(rec, at: datetime) -> tuple[str | None, datetime | None]:
    """(`status_at`, the time of its latest history entry at or before ``at``): one pass for chains.

    Kept on a loaded record for the last instant asked, as its `dated_history` is: a site build asks
    for its one moment from the chains, the approvals and the activity lists (1.4 s at 100k)."""
    memo = getattr(rec, "__dict__", None)  # None: a view over a record (a masked one)
    if memo is not None:
        hit = memo.get("_state_at")
        if hit is not None and hit[0] == at:  # equal instants: every answer compares with the instant only
            return hit[1]
    dated = rec.dated_history
    status = latest = None
    for when, h in dated:
        if when <= at:
            status = h.get("status")
            if latest is None or when > latest:
                latest = when
    if status is None:
        status = dated[0][1].get("status") if dated else get(rec.data, "status")
    state = (status if isinstance(status, str) else None), latest
    if memo is not None:
        memo["_state_at"] = (at, state)
    return state


def last_change(rec, at: datetime) -> datetime | None:
    """The record's last history entry at or before ``at``, else its creation."""
    return _state_at(rec, at)[1] or created(rec)


def customer_of(rec) -> str | None:
    if rec.kind == "customer":
        return rec.id
    value = get(rec.data, "customer")
    return value if isinstance(value, str) else None


# --- chains --------------------------------------------------------------------------------------

@dataclass
class Chain:
    """One case as of ``at``: its records (root first, in process order), and what they say."""
    root: Any
    records: list
    kind: str                       # deal | service | other
    open: bool
    started: datetime | None        # the earliest creation of its records
    last: datetime | None           # its last history entry, else ``started``
    customer: str | None
    at: datetime                    # the instant it is seen at
    status: dict = field(default_factory=dict)        # record id -> status at ``at``
    open_records: list = field(default_factory=list)  # the records that keep it open
    changed: dict = field(default_factory=dict)       # record id -> its last change

    @cached_property
    def entries(self) -> list[Entry]:
        """Every history entry of its records by ``at``, by time (made when first read: counts
        and lists of cases never read them)."""
        return sorted((e for r in self.records for e in history(r, self.at)), key=lambda e: e.at)

    @property
    def state_record(self):
        """The record whose status is the chain's state: its most recently changed open record,
        else its most recently changed record."""
        recs = self.open_records or self.records
        return max(recs, key=lambda r: self.changed.get(r.id) or _EARLIEST)


def chain_kind(root) -> str:
    return "deal" if root.kind in DEAL_ROOTS else "service" if root.kind in SERVICE_ROOTS else "other"


def deciding(kind: str, recs: list) -> list:
    """The records whose status says whether a chain is open: all of them, except in a deal the
    stages before its furthest one."""
    if kind != "deal":
        return recs
    furthest = max((DEAL_STAGES.index(r.kind) for r in recs if r.kind in DEAL_STAGES), default=-1)
    return [r for r in recs if r.kind not in DEAL_STAGES or DEAL_STAGES.index(r.kind) >= furthest]


def is_open_status(lifecycle, kind: str, status) -> bool:
    """Whether a record of ``kind`` in ``status`` is open: its kind has a lifecycle and the status
    is not final there (a status that is not text, a broken record, is not final)."""
    return lifecycle.has(kind) and not (isinstance(status, str) and lifecycle.is_final(kind, status))


def chains(corpus, at) -> list[Chain]:
    """Every case chain as of ``at``, the most recently active first (then by root ID)."""
    at = _instant(at)
    lifecycle = corpus.lifecycle
    out = []
    for root_id in corpus.index.roots():   # sorted: ties in activity stay in ID order
        recs, status, changed, started, last = [], {}, {}, None, None
        for r in corpus.chain(root_id):
            if r.kind not in _CASE_KIND_SET:
                continue
            made = created(r)
            if made is not None and made > at:
                continue
            status[r.id], latest = _state_at(r, at)
            recs.append(r)
            changed[r.id] = latest or made
            if made is not None and (started is None or made < started):
                started = made
            if latest is not None and (last is None or latest > last):
                last = latest
        if not recs:
            continue
        kind = chain_kind(recs[0])
        open_recs = [r for r in deciding(kind, recs) if is_open_status(lifecycle, r.kind, status[r.id])]
        customer = next((c for c in map(customer_of, recs) if c), None)
        out.append(Chain(recs[0], recs, kind, bool(open_recs), started, last or started, customer, at,
                         status, open_recs, changed))
    out.sort(key=lambda ch: ch.last or _EARLIEST, reverse=True)
    return out


# --- open cases ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusCount:
    kind: str
    status: str | None
    count: int


@dataclass
class OpenCases:
    """The open cases at ``at``: ``total`` chains, by chain kind; their open records by record
    kind and status (lifecycle order); and the open chains themselves."""
    at: datetime
    total: int
    by_kind: dict[str, int]           # deal | service | other -> open chains (every kind, zeros too)
    by_status: list[StatusCount]      # open records per (record kind, status)
    records: int                      # open records in all
    chains: list[Chain]               # the open chains, most recently active first


def open_cases(corpus, at, all_chains: list[Chain] | None = None) -> OpenCases:
    """Open cases as of ``at`` (``all_chains``: ``chains(corpus, at)`` when already computed)."""
    at = _instant(at)
    found = [ch for ch in (all_chains if all_chains is not None else chains(corpus, at)) if ch.open]
    by_kind = {k: sum(1 for ch in found if ch.kind == k) for k in CHAIN_KINDS}
    counts = Counter((r.kind, ch.status[r.id]) for ch in found for r in ch.open_records)
    lifecycle = corpus.lifecycle
    rows = []
    for kind in CASE_KINDS:
        known = list(lifecycle.statuses(kind))
        here = sorted((s for k, s in counts if k == kind), key=lambda s: (s not in known,
                      known.index(s) if s in known else 0, str(s)))
        rows += [StatusCount(kind, s, counts[(kind, s)]) for s in here]
    return OpenCases(at, len(found), by_kind, rows, sum(counts.values()), found)


def by_customer(all_chains: list[Chain]) -> dict[str, list[Chain]]:
    """Chains grouped by customer (open and closed), in the order given."""
    out: dict[str, list[Chain]] = {}
    for ch in all_chains:
        if ch.customer:
            out.setdefault(ch.customer, []).append(ch)
    return out


@dataclass(frozen=True)
class CustomerCases:
    open: int
    all: int


def customer_counts(all_chains: list[Chain]) -> dict[str, CustomerCases]:
    """Per customer: how many of its cases are open, and how many it has in all."""
    return {cid: CustomerCases(sum(1 for ch in chains if ch.open), len(chains))
            for cid, chains in by_customer(all_chains).items()}


# --- approvals -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """A record whose next step is an approval: the approval statuses it may move to (lifecycle
    order of its transitions) and the role of each."""
    record: Any
    status: str
    steps: tuple[tuple[str, str], ...]    # (approval status, role)
    since: datetime | None                # its last change
    approvers: tuple[str, ...] = ()       # active people who may take a step (`check.approvals.judge`)

    @property
    def roles(self) -> list[str]:
        return list(dict.fromkeys(role for _, role in self.steps))


def waiting_approval(corpus, at) -> list[Waiting]:
    """Every record (of any kind with a lifecycle: knowledge-base entries wait for publication too)
    that existed at ``at`` and whose status then allows a move into an approval status; the longest
    waiting first, then by ID."""
    at = _instant(at)
    lifecycle = corpus.lifecycle
    people = sorted((p for p in corpus.of_kind("person") if get(p.data, "active") is not False), key=lambda p: p.id)
    roles = {p.id: person_roles(p) for p in people}
    may_for: dict[tuple, tuple[str, ...]] = {}
    out = []
    for rec in corpus.records.values():
        if not lifecycle.has(rec.kind) or not exists(rec, at):
            continue
        status = status_at(rec, at)
        if status is None:
            continue
        steps = tuple((nxt, lifecycle.approval_role(rec.kind, nxt)) for nxt in lifecycle.allowed(rec.kind, status)
                      if lifecycle.approval_role(rec.kind, nxt))
        if steps:
            filler = get(rec.data, "filled_by")
            # who may approve depends on the kind, the steps and the filler only: asked once per
            # combination (8k waiting records x 400 people at 100k records otherwise)
            key = (rec.kind, steps, filler) if filler is None or isinstance(filler, str) else None
            may = may_for.get(key) if key is not None else None
            if may is None:
                may = tuple(p.id for p in people
                            if any(not judge(lifecycle, rec.kind, nxt, p.id, roles[p.id], (filler,)) for nxt, _ in steps))
                if key is not None:
                    may_for[key] = may
            out.append(Waiting(rec, status, steps, last_change(rec, at), may))
    out.sort(key=lambda w: (w.since or _EARLIEST, w.record.id))
    return out


def approvals_given(corpus, chain: Chain) -> list[tuple[Entry, str]]:
    """The history entries of a chain that entered an approval status, with the role that status
    needs, in time order (a case page's approval steps)."""
    lifecycle = corpus.lifecycle
    return [(e, role) for e in chain.entries if (role := lifecycle.approval_role(e.record.kind, e.status))]


def person_roles(person) -> list[str]:
    """The roles a person record holds (``roles``, or the older single ``role``)."""
    roles = get(person.data, "roles")
    if isinstance(roles, list):
        return [r for r in roles if isinstance(r, str)]
    role = get(person.data, "role")
    return [role] if isinstance(role, str) else []


# --- activity ------------------------------------------------------------------------------------

def activity(corpus, start: datetime, end: datetime) -> list[Entry]:
    """Every history entry of every record with a lifecycle between ``start`` and ``end``
    (inclusive), the newest first."""
    start, end = _instant(start), _instant(end)
    lifecycle = corpus.lifecycle
    found = [e for rec in corpus.records.values() if lifecycle.has(rec.kind)
             for e in history(rec, end) if e.at >= start]
    found.sort(key=lambda e: (e.at, e.record.id), reverse=True)
    return found


def opened(corpus, start: datetime, end: datetime) -> dict[str, int]:
    """Case records created between ``start`` and ``end`` (inclusive), counted by kind (kind order)."""
    start, end = _instant(start), _instant(end)
    counts = Counter(r.kind for r in corpus.records.values()
                     if r.kind in _CASE_KIND_SET and (c := created(r)) is not None and start <= c <= end)
    return {k: counts[k] for k in CASE_KINDS if counts[k]}


def unresolved(corpus, kind: str, at, done: tuple[str, ...] = ()) -> list[tuple[Any, str, datetime | None, int | None]]:
    """(record, status, created, age in whole days) of every ``kind`` record open at ``at`` whose
    status is none of ``done`` (a complaint ``resolved`` waits only for its confirmation), oldest
    first."""
    at = _instant(at)
    lifecycle = corpus.lifecycle
    out = []
    for rec in corpus.of_kind(kind):
        if not exists(rec, at):
            continue
        status = status_at(rec, at)
        if status is None or not is_open_status(lifecycle, kind, status) or status in done:
            continue
        made = created(rec)
        out.append((rec, status, made, (at - made).days if made else None))
    out.sort(key=lambda x: (x[2] or _EARLIEST, x[0].id))
    return out


def entered(corpus, kind: str, status: str, start: datetime, end: datetime) -> list[Entry]:
    """History entries by which a ``kind`` record entered ``status`` between ``start`` and ``end``
    (a solution lost this week), in time order."""
    start, end = _instant(start), _instant(end)
    found = [e for rec in corpus.of_kind(kind) for e in history(rec, end) if e.status == status and e.at >= start]
    found.sort(key=lambda e: (e.at, e.record.id))
    return found


def _instant(at) -> datetime:
    """``at`` as an aware instant (required: a derivation never reads the clock)."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("an instant without an offset is no instant")
        return at
    return parse_instant(at)


__all__ = [
    "CASE_KINDS", "CHAIN_KINDS", "Chain", "DEAL_STAGES", "Entry", "OpenCases", "StatusCount", "Waiting",
    "activity", "approvals_given", "chain_kind", "chains", "created", "customer_of", "deciding", "entered", "exists", "history",
    "is_case_kind", "is_open_status", "last_change", "by_customer", "customer_counts", "CustomerCases", "open_cases", "opened", "person_roles", "status_at",
    "unresolved", "waiting_approval",
]
