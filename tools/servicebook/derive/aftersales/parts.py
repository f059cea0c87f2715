"""Spare parts (配件, source 004): the sources say about half of after-sales problems come from
parts supply. Three figures, all as of a date:

``stock``        every ledger line as of a moment: the pieces on hand are the last count
                 (``actual_stock`` at the end of ``stock_counted_on``) less every piece issued
                 after it (``issued.quantity`` at ``issued.at``) -- or, before the count, plus
                 every piece issued between then and the count; ``reserved`` are approved requests
                 not issued yet, ``on_loan`` pieces lent because the customer had none (``borrowed``)
                 whose loan is not settled by the old part's return. A line without a count date
                 is taken as typed (no movement can be placed before or after it).
``below_plan``   ledger lines whose stock on hand is below the planned stock, the shortfall and
                 its value; parts of priority products (``service_plan.parts_priority``) and core
                 parts first.
``consumption``  pieces used per product and month: issued part requests (``issued.quantity`` in
                 the month of ``issued.at``), plus parts replaced in repairs that have no part
                 request for that part number (one piece each, in the month the repair was
                 fixed).
``waits``        every interval a repair spent in ``waiting_parts`` (from entering the status to
                 the next history entry, or to the as-of moment while still waiting), in calendar
                 days; ``wait_summary`` says how many repairs waited and how long.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from servicebook.derive.aftersales.common import (as_date, as_datetime, as_start, first_entered, get, get_list,
                                                  history, month_key, region_of_customer, text)
from servicebook.load.instants import date_or_none, instant_or_none

GRADE_ORDER = {"core": 0, "emergency": 1, "non_core": 2}


@dataclass
class Stock:
    part: str
    part_number: str
    name: str
    grade: str
    planned: int
    actual: int
    shortfall: int
    shortfall_value: float | None
    products: list[str]
    planned_by: str
    location: str
    lead_time_days: int | None
    priority: bool
    counted: int = 0                 # at the last count
    counted_on: str | None = None
    issued_since: int = 0            # pieces issued after the count, up to the moment
    reserved: int = 0                # approved requests not issued yet
    on_loan: int = 0                 # lent, the old part not returned yet

    @property
    def available(self) -> int:
        """On hand and not promised to an approved request."""
        return max(0, self.actual - self.reserved)


def _priority(corpus, products) -> bool:
    for pid in products:
        prod = corpus.records.get(pid)
        if prod is not None and get(prod.data, "service_plan.parts_priority") is True:
            return True
    return False


def _movements(corpus, at: datetime) -> dict[str, list[tuple[datetime | None, int, str]]]:
    """part ID -> [(issued at, pieces, state)] of its requests as of ``at``: state ``issued``,
    ``lent`` (issued, borrowed, old part not returned), or ``reserved`` (approved, not issued)."""
    out: dict[str, list] = defaultdict(list)
    for rec in corpus.of_kind("part-request"):
        d = rec.data
        part_id = get(d, "part")
        entries = [e for e in history(rec) if e[0] <= at]
        if not isinstance(part_id, str) or not entries or entries[-1][1] == "cancelled":
            continue
        issued_at, qty = instant_or_none(get(d, "issued.at")), get(d, "issued.quantity")
        if issued_at is not None and issued_at <= at and isinstance(qty, int):
            returned_at = instant_or_none(get(d, "returned.at"))
            lent = get(d, "borrowed") is True and (returned_at is None or returned_at > at)
            out[part_id].append((issued_at, qty, "lent" if lent else "issued"))
        elif entries[-1][1] == "approved" and isinstance(get(d, "quantity"), int):
            out[part_id].append((None, d["quantity"], "reserved"))
    return out


def _issues(corpus) -> dict[str, list[tuple[datetime, int]]]:
    """part ID -> every (issued at, pieces) of its requests that were not cancelled."""
    out: dict[str, list] = defaultdict(list)
    for rec in corpus.of_kind("part-request"):
        d = rec.data
        issued_at, qty = instant_or_none(get(d, "issued.at")), get(d, "issued.quantity")
        if isinstance(get(d, "part"), str) and issued_at is not None and isinstance(qty, int) \
                and get(d, "status") != "cancelled":
            out[d["part"]].append((issued_at, qty))
    return out


def stock(corpus, at) -> list[Stock]:
    """Every ledger line as of ``at`` (see the module text)."""
    at = as_datetime(at)
    moves = _movements(corpus, at)
    issues = _issues(corpus)
    out = []
    for rec in corpus.of_kind("part"):
        d = rec.data
        planned, counted = get(d, "planned_stock"), get(d, "actual_stock")
        if not isinstance(planned, int) or not isinstance(counted, int):
            continue
        counted_on = date_or_none(get(d, "stock_counted_on"))
        after = as_start(counted_on + timedelta(days=1)) if counted_on else None  # a count closes its day
        mine = moves.get(rec.id, ())
        issued = sum(q for t, q, state in mine if state != "reserved" and after and after <= t)
        if after is not None and at < after:  # before the count: what was issued since comes back
            actual = counted + sum(q for t, q in issues.get(rec.id, ()) if at < t < after)
        else:
            actual = max(0, counted - issued)
        reserved = sum(q for _t, q, state in mine if state == "reserved")
        on_loan = sum(q for _t, q, state in mine if state == "lent")
        products = [p for p in get_list(d, "products") if isinstance(p, str)]
        short = max(0, planned - actual)
        unit = get(d, "unit_value.amount")
        out.append(Stock(rec.id, text(get(d, "part_number")), text(get(d, "name")), text(get(d, "grade")),
                         planned, actual, short,
                         round(short * float(unit), 2) if isinstance(unit, (int, float)) else None,
                         products, text(get(d, "planned_by")), text(get(d, "warehouse_location")),
                         get(d, "lead_time_days") if isinstance(get(d, "lead_time_days"), int) else None,
                         _priority(corpus, products), counted, counted_on.isoformat() if counted_on else None,
                         issued, reserved, on_loan))
    return out


def month_ends(at, months: int = 6) -> list[date]:
    """The last ``months`` month ends that are over by ``at``, oldest first."""
    first_of_month = as_date(at).replace(day=1)
    ends = []
    for _ in range(months):
        ends.append(first_of_month - timedelta(days=1))
        first_of_month = ends[-1].replace(day=1)
    return ends[::-1]


def month_end_stock(corpus, at, months: int = 6) -> dict[str, list[int]]:
    """part ID -> pieces on hand at the end of each of ``month_ends(at, months)`` (the month-end
    stock seed 004's monthly parts plan starts from)."""
    out: dict[str, list[int]] = defaultdict(list)
    for end in month_ends(at, months):
        for s in stock(corpus, as_start(end + timedelta(days=1)) - timedelta(microseconds=1)):
            out[s.part].append(s.actual)
    return dict(out)


def below_plan(corpus, at) -> list[Stock]:
    """Ledger lines with stock on hand below plan as of ``at``: priority products first, then
    core, emergency, non-core parts, then the largest shortfall."""
    rows = [s for s in stock(corpus, at) if s.actual < s.planned]
    return sorted(rows, key=lambda s: (not s.priority, GRADE_ORDER.get(s.grade, 9), -s.shortfall, s.part))


def by_number(corpus) -> dict[str, object]:
    """part number -> part record."""
    return {get(r.data, "part_number"): r for r in corpus.of_kind("part")
            if isinstance(get(r.data, "part_number"), str)}


# --------------------------------------------------------------------------- consumption

@dataclass
class Use:
    product: str | None
    month: str
    part_number: str
    quantity: int
    source: str                  # part-request or repair ID


def uses(corpus, at, since=None) -> list[Use]:
    """Every use of a part up to ``at`` (and from ``since``), see the module text."""
    end = as_datetime(at)
    start = as_start(since) if since is not None else None
    part_number_of = {r.id: get(r.data, "part_number") for r in corpus.of_kind("part")}
    out: list[Use] = []
    requested: set[tuple[str, str]] = set()   # (repair, part number) covered by a request
    for rec in corpus.of_kind("part-request"):
        d = rec.data
        repair = corpus.records.get(get(d, "repair")) if isinstance(get(d, "repair"), str) else None
        number = part_number_of.get(get(d, "part")) if isinstance(get(d, "part"), str) else None
        if repair is not None and isinstance(number, str):
            requested.add((repair.id, number))
        issued_at = instant_or_none(get(d, "issued.at"))
        qty = get(d, "issued.quantity")
        if issued_at is None or not isinstance(qty, int) or issued_at > end or (start and issued_at < start):
            continue
        if get(d, "status") == "cancelled":
            continue
        product = get(repair.data, "product") if repair is not None else None
        if not isinstance(product, str):
            part = corpus.records.get(get(d, "part"))
            products = get(part.data, "products") if part is not None else None
            product = products[0] if isinstance(products, list) and products else None
        out.append(Use(product, month_key(issued_at), number if isinstance(number, str) else text(get(d, "part")),
                       qty, rec.id))
    for rec in corpus.of_kind("repair"):
        d = rec.data
        when = instant_or_none(get(d, "fixed_at")) or first_entered(rec, "fixed")
        if when is None or when > end or (start and when < start):
            continue
        for p in get_list(d, "parts_replaced"):
            number = p.get("part_number") if isinstance(p, dict) else None
            if not isinstance(number, str) or (rec.id, number) in requested:
                continue
            out.append(Use(get(d, "product") if isinstance(get(d, "product"), str) else None,
                           month_key(when), number, 1, rec.id))
    return sorted(out, key=lambda u: (u.month, str(u.product), u.part_number, u.source))


def consumption(corpus, at, since=None) -> dict[str, dict[str, int]]:
    """product -> month (YYYY-MM) -> pieces used."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for u in uses(corpus, at, since):
        out[u.product or ""][u.month] += u.quantity
    return {p: dict(sorted(m.items())) for p, m in sorted(out.items())}


def consumption_by_product(corpus, at, since=None) -> dict[str, int]:
    """product -> pieces used in all (the row totals of ``consumption``)."""
    out: dict[str, int] = defaultdict(int)
    for u in uses(corpus, at, since):
        out[u.product or ""] += u.quantity
    return dict(sorted(out.items()))


def consumption_by_part(corpus, at, since=None) -> dict[str, int]:
    """part number -> pieces used."""
    out: dict[str, int] = defaultdict(int)
    for u in uses(corpus, at, since):
        out[u.part_number] += u.quantity
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- waiting for parts

@dataclass
class Wait:
    repair: str
    product: str | None
    customer: str | None
    region: str
    start: datetime
    end: datetime
    open: bool                   # still waiting at the as-of moment

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def waits(corpus, at) -> list[Wait]:
    """Every waiting-for-parts interval of every repair, as of ``at``."""
    end = as_datetime(at)
    out: list[Wait] = []
    for rec in corpus.of_kind("repair"):
        hist = [h for h in history(rec) if h[0] <= end]
        for i, (when, status, _) in enumerate(hist):
            if status != "waiting_parts":
                continue
            nxt = hist[i + 1][0] if i + 1 < len(hist) else None
            customer = get(rec.data, "customer")
            out.append(Wait(rec.id, get(rec.data, "product"), customer, region_of_customer(corpus, customer),
                            when, nxt or end, nxt is None))
    return sorted(out, key=lambda w: (w.start, w.repair))


@dataclass
class WaitSummary:
    repairs: int                 # repairs reported by the as-of moment
    waited: int                  # of them, repairs that waited for parts at least once
    still_waiting: int
    total_days: float
    mean_days: float             # per repair that waited (all its intervals together)
    max_days: float
    by_product: dict = field(default_factory=dict)   # product -> {"waited", "days"}

    @property
    def share(self) -> float:
        return self.waited / self.repairs if self.repairs else 0.0


def wait_summary(corpus, at) -> WaitSummary:
    end = as_datetime(at)
    reported = [r for r in corpus.of_kind("repair")
                if (instant_or_none(get(r.data, "created_at")) or end) <= end]
    per_repair: dict[str, float] = defaultdict(float)
    product_of: dict[str, str | None] = {}
    open_ = set()
    for w in waits(corpus, at):
        per_repair[w.repair] += w.days
        product_of[w.repair] = w.product
        if w.open:
            open_.add(w.repair)
    by_product: dict[str, dict] = defaultdict(lambda: {"waited": 0, "days": 0.0})
    for rid, days in per_repair.items():
        row = by_product[product_of[rid] or ""]
        row["waited"] += 1
        row["days"] += days
    total = sum(per_repair.values())
    return WaitSummary(len(reported), len(per_repair), len(open_), total,
                       total / len(per_repair) if per_repair else 0.0,
                       max(per_repair.values(), default=0.0),
                       {k: dict(v) for k, v in sorted(by_product.items())})
