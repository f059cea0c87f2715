"""Customer value index 用户价值指标 (source 003).

When service resources are short the higher-value customer is served first. The index combines
economics (maintenance fees, receivables paid on time), loyalty (repurchase, proactive contact,
referrals), service effect (ease of coordination, rating against resources spent) and traits
(size, market influence). Each factor is scaled to 0..1 and weighted (``schemas/value-weights.yaml``, on ``corpus.weights.value``):

    index = 100 x sum(weight x factor) / sum(weight)            (0..100)

A factor comes from the records where they hold the data, else from the customer's
``value_inputs`` (and ``size``); a factor with neither counts 0. From records, as of the date:

* repurchase: 5 when the customer has two or more contracts signed, else the latest purchase
  intent recorded at a done inspection (none 0, low 1.5, medium 3, high 4.5);
* rating vs resources: the mean of every rating the customer gave (repair ``customer_rating``,
  callback and inspection ``satisfaction``; 1..5 mapped to 0..5 as (r - 1) x 5 / 4), less
  ``penalty_per_visit`` for every repair in the 12 months to the date beyond ``visit_allowance``.

This module is the only place the index is computed; every consumer asks it, as of an explicit
moment (the figure moves with the records):

* ``ranked(corpus, at)``: every customer, highest first (``servicebook report value``, the
  after-sales value page ``customers/value.md``);
* ``value_of(corpus, customer, at)`` / ``ValueIndex(corpus, at).score(customer)``: one customer
  (the customer page);
* ``scorer(corpus, at)``: the ``priority`` callable the SLA at-risk queue takes
  (``servicebook.derive.sla.reports.at_risk_queue(clocks, priority=...)``): the higher customer
  class first, then the earliest deadline, then the higher index (the home page, the SLA page and
  ``servicebook sla --at-risk``);
* ``shown(index)``: the index as text, the same two decimals on every page and report.

Bad data never raises here: a value of the wrong type (the schema check reports it, located)
counts as no data for its factor. The "no value" state is explicit: ``value_of`` and ``score``
give None for an ID that is not a customer; a customer without any data scores 0 with coverage 0.
tests/test_agreement_value.py holds every consumer to the same figure.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from servicebook.derive.aftersales.common import as_datetime, first_entered, get, merge
from servicebook.load.instants import instant_or_none

FACTORS = ("maintenance_fees", "receivables_on_time", "repurchase", "proactive_contact", "referrals",
           "coordination_ease", "rating_vs_resources", "size", "influence")
DIMENSIONS = {
    "economics": ("maintenance_fees", "receivables_on_time"),
    "loyalty": ("repurchase", "proactive_contact", "referrals"),
    "service_effect": ("coordination_ease", "rating_vs_resources"),
    "traits": ("size", "influence"),
}


def config(corpus, override: dict | None = None) -> dict:
    """The repository's weights (``corpus.weights.value``), with ``override`` merged over them."""
    return merge(corpus.weights.value, override)


@dataclass
class Factor:
    name: str
    value: float | None          # 0..1, None without data
    source: str | None           # "records" | "customer" | None
    raw: object = None           # what it was computed from, for the page


@dataclass
class Score:
    customer: str
    name: str
    index: float                 # 0..100
    coverage: float              # share of the weight that had data, 0..1
    factors: dict[str, Factor] = field(default_factory=dict)
    customer_class: str | None = None  # A, B, C... by the thresholds of value-weights.yaml

    def dimension(self, dim: str, weights: dict[str, float]) -> float:
        """A dimension's share of the index points (0..100 scale)."""
        total = sum(weights.values()) or 1.0
        return 100 * sum(weights[f] * (self.factors[f].value or 0.0) for f in DIMENSIONS[dim]) / total


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _num(value) -> float | None:
    """A finite number, else None (text, booleans, NaN and infinities are not data)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def shown(index: float | None) -> str:
    """The index as every page and report shows it: the two decimals it is rounded to."""
    return "—" if index is None else f"{index:.2f}"


class ValueIndex:
    """The index of every customer as of ``at``; build once, ask per customer."""

    def __init__(self, corpus, at, weights_override: dict | None = None):
        self.corpus = corpus
        self.at = as_datetime(at)
        self.cfg = config(corpus, weights_override)
        self.weights = {f: float((self.cfg.get("weights") or {}).get(f, 0.0)) for f in FACTORS}
        self.scales = self.cfg.get("scales") or {}
        # highest threshold first: a customer is in the highest class its index reaches
        self.classes = sorted(((float(v), str(k)) for k, v in (self.cfg.get("classes") or {}).items()), reverse=True)
        self._scores: dict[str, Score] = {}
        self._evidence = self._collect()

    # ---- records -> evidence per customer
    def _collect(self) -> dict[str, dict]:
        ev: dict[str, dict] = {}

        def slot(cid):
            return ev.setdefault(cid, {"contracts": 0, "intent": None, "ratings": [], "visits": 0})

        at = self.at
        for rec in self.corpus.of_kind("contract"):
            cid = get(rec.data, "customer")
            signed = first_entered(rec, "signed")
            if isinstance(cid, str) and signed is not None and signed <= at:
                slot(cid)["contracts"] += 1
        for rec in self.corpus.of_kind("inspection"):
            cid = get(rec.data, "customer")
            done = first_entered(rec, "done")
            if not isinstance(cid, str) or done is None or done > at:
                continue
            level = get(rec.data, "new_purchase_intent.level")
            if isinstance(level, str):
                current = slot(cid)["intent"]
                if current is None or done >= current[0]:
                    slot(cid)["intent"] = (done, level)
            sat = _num(get(rec.data, "satisfaction"))
            if sat is not None:
                slot(cid)["ratings"].append(sat)
        year_ago = at - timedelta(days=365)
        for rec in self.corpus.of_kind("repair"):
            cid = get(rec.data, "customer")
            created = instant_or_none(get(rec.data, "created_at"))
            if not isinstance(cid, str) or created is None or created > at:
                continue
            if created > year_ago:
                slot(cid)["visits"] += 1
            rating = _num(get(rec.data, "customer_rating"))
            fixed = first_entered(rec, "fixed")
            if rating is not None and (fixed is None or fixed <= at):
                slot(cid)["ratings"].append(rating)
        for rec in self.corpus.of_kind("callback"):
            cid = get(rec.data, "customer")
            done = first_entered(rec, "done")
            sat = _num(get(rec.data, "satisfaction"))
            if isinstance(cid, str) and done is not None and done <= at and sat is not None:
                slot(cid)["ratings"].append(sat)
        return ev

    # ---- factors
    def _factors(self, cust) -> dict[str, Factor]:
        vi = get(cust.data, "value_inputs")
        if not isinstance(vi, dict):       # missing, or the wrong type (a schema problem)
            vi = {}
        ev = self._evidence.get(cust.id, {"contracts": 0, "intent": None, "ratings": [], "visits": 0})
        s = self.scales
        out: dict[str, Factor] = {}

        fee = vi.get("annual_maintenance_fees")
        amount = _num(get(fee, "amount"))
        currency = get(fee, "currency") or "CNY"
        rates = s.get("currency_to_cny") or {}
        # an unknown currency is no data, not yuan at par
        rate = _num(rates.get(currency)) if isinstance(currency, Hashable) else None
        if amount is not None and rate is not None:
            cap = float(s.get("fee_cap", 100000)) or 1.0
            out["maintenance_fees"] = Factor("maintenance_fees", _clamp(amount * rate / cap), "customer", fee)
        pct = _num(vi.get("receivables_on_time_pct"))
        if pct is not None:
            out["receivables_on_time"] = Factor("receivables_on_time", _clamp(pct / 100), "customer", pct)

        if ev["contracts"] >= 2:
            out["repurchase"] = Factor("repurchase", 1.0, "records", f"{ev['contracts']} contracts")
        elif ev["intent"] is not None:
            level = ev["intent"][1]
            points = _num((s.get("intent") or {}).get(level))
            if points is not None:
                out["repurchase"] = Factor("repurchase", _clamp(points / 5), "records", level)
        intent = _num(vi.get("repurchase_intent"))
        if "repurchase" not in out and intent is not None:
            out["repurchase"] = Factor("repurchase", _clamp(intent / 5), "customer", vi["repurchase_intent"])

        for name, key in (("proactive_contact", "proactive_contact"), ("coordination_ease", "coordination_ease"),
                          ("influence", "influence")):
            v = _num(vi.get(key))
            if v is not None:
                out[name] = Factor(name, _clamp(v / 5), "customer", v)
        refs = _num(vi.get("referrals"))
        if refs is not None:
            cap = float(s.get("referral_cap", 3)) or 1.0
            out["referrals"] = Factor("referrals", _clamp(refs / cap), "customer", refs)

        if ev["ratings"]:
            mean = sum(ev["ratings"]) / len(ev["ratings"])
            points = (mean - 1) * 5 / 4
            extra = max(0, ev["visits"] - int(s.get("visit_allowance", 4)))
            points -= extra * float(s.get("penalty_per_visit", 0.25))
            out["rating_vs_resources"] = Factor("rating_vs_resources", _clamp(points / 5), "records",
                                                {"mean_rating": round(mean, 2), "ratings": len(ev["ratings"]),
                                                 "visits": ev["visits"]})
        elif _num(vi.get("rating_vs_resources")) is not None:
            out["rating_vs_resources"] = Factor("rating_vs_resources", _clamp(_num(vi["rating_vs_resources"]) / 5),
                                                "customer", vi["rating_vs_resources"])

        size = get(cust.data, "size")
        size_scale = s.get("size") or {}
        if isinstance(size, str) and size in size_scale:
            out["size"] = Factor("size", _clamp(float(size_scale[size])), "customer", size)

        for f in FACTORS:
            out.setdefault(f, Factor(f, None, None))
        return out

    # ---- results
    def score(self, customer_id: str) -> Score | None:
        if not isinstance(customer_id, str):  # not an ID (a broken record, reported by its check)
            return None
        if customer_id in self._scores:
            return self._scores[customer_id]
        cust = self.corpus.records.get(customer_id)
        if cust is None or cust.kind != "customer":
            return None
        factors = self._factors(cust)
        total = sum(self.weights.values()) or 1.0
        points = sum(self.weights[f] * (factors[f].value or 0.0) for f in FACTORS)
        covered = sum(self.weights[f] for f in FACTORS if factors[f].value is not None)
        name = get(cust.data, "short_name") or get(cust.data, "name") or cust.id
        index = round(100 * points / total, 2)
        sc = Score(cust.id, name, index, round(covered / total, 4), factors, self.class_of(index))
        self._scores[customer_id] = sc
        return sc

    def class_of(self, index: float) -> str | None:
        return next((name for lowest, name in self.classes if index >= lowest), None)

    def priority(self, customer_id: str | None) -> tuple[int, float]:
        """Who is served first when resources are short (source 003): the customer's class (its
        place among the classes, highest first), then the higher index. A customer without an
        index (unknown, or none named) comes after every class."""
        sc = self.score(customer_id) if customer_id else None
        if sc is None:
            return len(self.classes), 0.0
        ranks = [name for _lowest, name in self.classes]
        return (ranks.index(sc.customer_class) if sc.customer_class in ranks else len(ranks)), -sc.index

    def value_of(self, customer_id: str | None) -> float | None:
        """The index of a customer (0..100), None for an unknown one."""
        sc = self.score(customer_id) if customer_id else None
        return sc.index if sc else None

    def ranked(self) -> list[Score]:
        scores = [self.score(c.id) for c in self.corpus.of_kind("customer")]
        return sorted((s for s in scores if s), key=lambda s: (-s.index, s.customer))


def ranked(corpus, at, weights_override: dict | None = None) -> list[Score]:
    return ValueIndex(corpus, at, weights_override).ranked()


def scorer(corpus, at, weights_override: dict | None = None) -> Callable[[str | None], tuple[int, float]]:
    """``priority(customer_id)`` for ``reports.at_risk_queue(..., priority=...)``."""
    return ValueIndex(corpus, at, weights_override).priority


def value_of(corpus, customer_id: str, at, weights_override: dict | None = None) -> float | None:
    return ValueIndex(corpus, at, weights_override).value_of(customer_id)
