"""After-sales feedback to sales and product management (source 003: which devices fail, where,
and what cannot be supported must flow back).

Failures are repair records reported in the period (``created_at`` in ``[since, at]``); each
counts once under its product, fault category (``other`` when not yet diagnosed) and region (the
customer's). Per product the failures are also set against the installed base (devices of
installations handed over by the date), with the most frequent fault codes, the repairs that could
not be supported (not fixed, or still waiting for parts) and the customers' suggestions from the
repair records and inspections.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from servicebook.derive import cases
from servicebook.derive.aftersales.common import (as_datetime, as_start, first_entered, get, get_list, history,
                                                  region_of_customer, text)
from servicebook.load.instants import instant_or_none
from servicebook.derive.aftersales.inspections import done_inspections, handed_over_on, status_as_of

CATEGORIES = ("electrical", "mechanical", "hydraulic", "other")


def failures(corpus, at, since=None) -> list:
    """Repair records reported in ``[since, at]``."""
    end = as_datetime(at)
    start = as_start(since) if since is not None else None
    out = []
    for rec in corpus.of_kind("repair"):
        created = instant_or_none(get(rec.data, "created_at"))
        if created is None or created > end or (start and created < start):
            continue
        out.append(rec)
    return sorted(out, key=lambda r: r.id)


def category_of(rec) -> str:
    c = get(rec.data, "fault_category")
    return c if c in CATEGORIES else "other"


def matrix(corpus, at, since=None) -> dict[tuple[str, str, str], int]:
    """(product, fault category, region) -> failures."""
    out: Counter = Counter()
    for rec in failures(corpus, at, since):
        out[(text(get(rec.data, "product")), category_of(rec),
             region_of_customer(corpus, get(rec.data, "customer")))] += 1
    return dict(sorted(out.items()))


def by(corpus, at, key: str, since=None) -> dict[str, int]:
    """Failures per ``product``, ``category`` or ``region``."""
    index = {"product": 0, "category": 1, "region": 2}[key]
    out: Counter = Counter()
    for k, n in matrix(corpus, at, since).items():
        out[k[index]] += n
    return dict(sorted(out.items(), key=lambda x: (-x[1], x[0])))


def installed_by_product(corpus, at) -> dict[str, int]:
    on = as_datetime(at).date()
    out: Counter = Counter()
    for inst in corpus.of_kind("installation"):
        if handed_over_on(inst, on) is None:
            continue
        for d in get_list(inst.data, "devices"):
            if isinstance(d, dict) and isinstance(d.get("product"), str):
                out[d["product"]] += 1
    return dict(out)


@dataclass
class ProductFeedback:
    product: str
    failures: int
    installed: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    top_codes: list[tuple[str, int]]
    unsupported: list[str]        # repairs not fixed or still waiting for parts at the date
    suggestions: list[str] = field(default_factory=list)

    @property
    def per_100_installed(self) -> float | None:
        return round(100 * self.failures / self.installed, 1) if self.installed else None


def products(corpus, at, since=None, top: int = 3) -> list[ProductFeedback]:
    """Per product: failures, installed base, categories, regions, top fault codes, repairs that
    could not be supported, suggestions; most failures first."""
    on = as_datetime(at).date()
    installed = installed_by_product(corpus, at)
    groups: dict[str, list] = defaultdict(list)
    for rec in failures(corpus, at, since):
        groups[text(get(rec.data, "product"))].append(rec)
    suggestions: dict[str, list[str]] = defaultdict(list)
    for rec in failures(corpus, at, since):
        s = text(get(rec.data, "customer_info.suggestions"))
        if s:
            suggestions[text(get(rec.data, "product"))].append(s)
    for rec in done_inspections(corpus, at, since):
        s = text(get(rec.data, "customer_opinion"))
        if s:
            suggestions[text(get(rec.data, "product"))].append(s)
    out = []
    for product in sorted(set(groups) | set(installed)):
        recs = groups.get(product, [])
        cats = Counter(category_of(r) for r in recs)
        regions = Counter(region_of_customer(corpus, get(r.data, "customer")) for r in recs)
        codes = Counter(get(r.data, "fault_code") for r in recs if isinstance(get(r.data, "fault_code"), str))
        unsupported = [r.id for r in recs if status_as_of(r, on) in ("not_fixed", "waiting_parts")]
        out.append(ProductFeedback(product, len(recs), installed.get(product, 0),
                                   {c: cats[c] for c in CATEGORIES if cats[c]}, dict(regions.most_common()),
                                   sorted(codes.items(), key=lambda x: (-x[1], x[0]))[:top], unsupported,
                                   suggestions.get(product, [])))
    return sorted(out, key=lambda p: (-p.failures, p.product))


# A callback is a follow-up of a case (a complaint or repair, seed 001 M) unless it says it is a
# periodic visit of a customer in stable use (seed 001 N), which names the customer and no case.
PERIODIC_VISIT = "periodic_visit"


def purpose(rec) -> str:
    """``periodic_visit`` or ``follow_up`` (also when absent, or not one of the two: the schema
    check reports that, located)."""
    return PERIODIC_VISIT if get(rec.data, "purpose") == PERIODIC_VISIT else "follow_up"


@dataclass(frozen=True)
class Satisfaction:
    """What a customer's callbacks said: how many answered whether the problem was solved, how
    many said it was, and the mean satisfaction (1-5) of those that gave one (follow-ups and
    periodic visits alike: both are the customer's verdict); how many periodic visits were done
    and in how many the customer reported a problem."""
    solved: int
    answered: int
    mean: float | None
    rated: int
    visits: int = 0
    problems_reported: int = 0


@dataclass(frozen=True)
class Answer:
    """One callback done by the moment asked about: what the customer said."""
    record: object
    customer: str
    done: object                 # when it was done (its ``done`` history entry)
    visit: bool                  # a periodic visit (else a follow-up of a case)
    solved: bool | None          # a follow-up's "solved?", when answered
    score: float | None          # satisfaction 1-5, when given
    problem: bool                # a periodic visit where the customer reported a problem


def answers(corpus, at) -> list[Answer]:
    """The callbacks done by ``at`` that name a customer (as the value index reads callbacks),
    by ID: each counted once, wherever its figures are grouped."""
    end = as_datetime(at)
    out = []
    for rec in sorted(corpus.of_kind("callback"), key=lambda r: r.id):
        cid = get(rec.data, "customer")
        done = first_entered(rec, "done")
        if not isinstance(cid, str) or done is None or done > end:
            continue
        visit = purpose(rec) == PERIODIC_VISIT
        solved = get(rec.data, "solved")
        score = get(rec.data, "satisfaction")
        out.append(Answer(rec, cid, done, visit, solved if not visit and isinstance(solved, bool) else None,
                          float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                          visit and get(rec.data, "problem_reported") is True))
    return out


def summary(found) -> Satisfaction:
    """The figures of a group of answers (a customer, a person, a month, all of them)."""
    found = list(found)
    solved = [a.solved for a in found if a.solved is not None]
    scores = [a.score for a in found if a.score is not None]
    visits = [a for a in found if a.visit]
    return Satisfaction(sum(solved), len(solved), sum(scores) / len(scores) if scores else None, len(scores),
                        len(visits), sum(1 for a in visits if a.problem))


def satisfaction(corpus, at) -> dict[str, Satisfaction]:
    """Per customer, from the callbacks done by ``at`` (``answers``): the answers to "solved?", the
    mean satisfaction and the periodic visits -- the figures of the customer pages."""
    groups: dict[str, list[Answer]] = defaultdict(list)
    for a in answers(corpus, at):
        groups[a.customer].append(a)
    return {cid: summary(groups[cid]) for cid in sorted(groups)}


# The customer's own words on a form: a callback's ``opinion``, a repair's ``customer_opinion``.
OPINION_FIELDS = {"callback": "opinion", "repair": "customer_opinion"}


@dataclass(frozen=True)
class Opinion:
    at: object          # the record's last change, in the period
    record: object
    field: str          # where the words are (whoever shows them masks them)


def opinions(corpus, start, end) -> list[Opinion]:
    """Callbacks and repairs with the customer's words whose last change (as of ``end``) falls in
    ``[start, end]``, the newest first: the weekly page's "customer opinions of the week"."""
    start, end = as_start(start), as_datetime(end)
    out = []
    for kind, name in OPINION_FIELDS.items():
        for rec in corpus.of_kind(kind):
            said = get(rec.data, name)
            when = cases.last_change(rec, end)
            if isinstance(said, str) and said.strip() and when is not None and start <= when <= end:
                out.append(Opinion(when, rec, name))
    out.sort(key=lambda o: (o.at, o.record.id), reverse=True)
    return out
