"""The service knowledge base (技术参考资料, source 004): matching entries to a repair or a
complaint, and drafting an entry from an exemplary repair record.

Matching, in this order of precedence:

1. same product (``product`` or ``also_applies_to``) and a shared fault code;
2. same product and the same fault category;
3. same product;
4. then text similarity of the symptom: the Dice coefficient over character bigrams, which needs
   no word segmentation and so works for Chinese as well as for codes and English words.

An entry is offered when it shares a fault code, or is of the same product and fault category, or
its text is at least ``min_similarity`` alike.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from servicebook.derive.aftersales.common import get, get_list, text
from servicebook.derive.aftersales.kbstore import KeptMatches

FAULT_CATEGORIES = ("electrical", "mechanical", "hydraulic", "other")
MIN_SIMILARITY = 0.12

# Runs of letters/digits/CJK; everything else (spaces, punctuation, symbols) separates them.
_SEGMENT = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]+")


# --------------------------------------------------------------------------- text similarity

def bigrams(value: str) -> Counter:
    """Character bigrams of each run of letters, digits and Chinese characters (NFKC-folded,
    lower case); a run of one character counts as itself. ``"E217 压力跳动"`` ->
    ``e2 21 17 压力 力跳 跳动``."""
    folded = unicodedata.normalize("NFKC", value or "").lower()
    grams: Counter = Counter()
    for seg in _SEGMENT.findall(folded):
        if len(seg) == 1:
            grams[seg] += 1
        else:
            grams.update(seg[i:i + 2] for i in range(len(seg) - 1))
    return grams


def similarity(a: str | Counter, b: str | Counter) -> float:
    """Dice coefficient of the two bigram multisets: 2 |A ∩ B| / (|A| + |B|), 0..1."""
    ga = a if isinstance(a, Counter) else bigrams(a)
    gb = b if isinstance(b, Counter) else bigrams(b)
    return _dice(ga, ga.total(), gb, gb.total())


def _dice(ga: Counter, size_a: int, gb: Counter, size_b: int) -> float:
    """`similarity` of bigram multisets whose sizes are known (an entry's, once per run)."""
    total = size_a + size_b
    if not total:
        return 0.0
    small, large = (ga, gb) if len(ga) <= len(gb) else (gb, ga)
    # |A ∩ B| of the multisets, without building the intersection Counter (`ga & gb`): the KB
    # page matches every repair and complaint against every entry
    common = sum(min(n, large[k]) for k, n in small.items() if k in large)
    return 2 * common / total


# --------------------------------------------------------------------------- what a case says

@dataclass
class Facts:
    """What a repair or complaint says about its fault, for matching."""
    product: str | None
    codes: set[str]
    category: str | None
    text: str


def entry_text(data: dict) -> str:
    """The searchable text of a KB entry: title, symptom, causes, codes, keywords."""
    parts = [text(data.get("title")), text(data.get("symptom"))]
    for cause in get_list(data, "possible_causes"):
        if isinstance(cause, dict):
            parts.append(text(cause.get("cause")))
    parts += [c for c in get_list(data, "fault_codes") if isinstance(c, str)]
    parts += [k for k in get_list(data, "keywords") if isinstance(k, str)]
    return "\n".join(p for p in parts if p)


def case_facts(rec) -> Facts:
    """Product, fault codes, fault category and symptom text of a repair or complaint."""
    data = rec.data if isinstance(rec.data, dict) else {}
    product = data.get("product") if isinstance(data.get("product"), str) else None
    codes: set[str] = set()
    category = None
    parts: list[str] = []
    if rec.kind == "repair":
        if isinstance(data.get("fault_code"), str):
            codes.add(data["fault_code"])
        if data.get("fault_category") in FAULT_CATEGORIES:
            category = data["fault_category"]
        parts = [text(data.get(k)) for k in ("fault_description", "symptom", "phone_triage", "root_cause")]
        for step in get_list(data, "steps"):
            if isinstance(step, dict):
                parts.append(text(step.get("diagnosis")))
    elif rec.kind == "complaint":
        for issue in get_list(data, "issues"):
            if isinstance(issue, dict):
                parts += [text(issue.get("problem")), text(issue.get("cause"))]
    elif rec.kind == "kb":
        codes = {c for c in get_list(data, "fault_codes") if isinstance(c, str)}
        category = data.get("fault_category") if data.get("fault_category") in FAULT_CATEGORIES else None
        parts = [entry_text(data)]
    else:
        parts = [text(data.get(k)) for k in ("fault_description", "symptom", "problem", "remarks")]
    return Facts(product, codes, category, "\n".join(p for p in parts if p))


def entry_products(data: dict) -> set[str]:
    out = {data["product"]} if isinstance(data.get("product"), str) else set()
    out.update(p for p in get_list(data, "also_applies_to") if isinstance(p, str))
    return out


# --------------------------------------------------------------------------- matching

@dataclass
class Match:
    entry: Any                  # the kb Record
    same_product: bool
    code: bool                  # a fault code in common
    category: bool              # same fault category
    similarity: float
    reasons: list[str] = field(default_factory=list)

    @property
    def rank(self) -> tuple:
        return (self.same_product and self.code, self.same_product and self.category,
                self.same_product, self.code, round(self.similarity, 6))


@functools.lru_cache(maxsize=4096)
def _entry_grams(entry_text: str) -> Counter:
    """The bigrams of an entry's text, computed once: every case is matched against every entry."""
    return bigrams(entry_text)


def entries(corpus, include_drafts: bool = False) -> list:
    """KB records offered to readers: published ones (drafts too when asked); never retired."""
    wanted = ("published", "draft") if include_drafts else ("published",)  # (a tuple: a status may not be text)
    return sorted((r for r in corpus.of_kind("kb") if get(r.data, "status") in wanted), key=lambda r: r.id)


@dataclass
class _Entry:
    """What matching reads of one KB entry, worked out once per matching run."""
    rec: Any
    products: set
    codes: set
    category: Any
    grams: Counter
    size: int  # of ``grams``


def _prepared(corpus, include_drafts: bool) -> list[_Entry]:
    out = []
    for rec in entries(corpus, include_drafts):
        data = rec.data if isinstance(rec.data, dict) else {}
        out.append(_Entry(rec, entry_products(data), {c for c in get_list(data, "fault_codes") if isinstance(c, str)},
                          data.get("fault_category"), grams := _entry_grams(entry_text(data)), grams.total()))
    return out


def match_facts(corpus, facts: Facts, *, limit: int | None = 5, min_similarity: float = MIN_SIMILARITY,
                include_drafts: bool = False, exclude: Iterable[str] = (), prepared: list | None = None) -> list[Match]:
    """``prepared``: the entries as `_prepared` gives them, when one run matches many cases."""
    grams = bigrams(facts.text)
    size = grams.total()
    skip = set(exclude)
    found: list[Match] = []
    for e in prepared if prepared is not None else _prepared(corpus, include_drafts):
        if e.rec.id in skip:
            continue
        same_product = bool(facts.product) and facts.product in e.products
        code = bool(facts.codes & e.codes)
        category = bool(facts.category) and facts.category == e.category
        sim = _dice(grams, size, e.grams, e.size) if grams else 0.0
        if not (code or (same_product and category) or sim >= min_similarity):
            continue
        reasons = [r for r, ok in (("product", same_product), ("fault_code", code),
                                   ("fault_category", category)) if ok]
        found.append(Match(e.rec, same_product, code, category, sim, reasons))
    found.sort(key=lambda m: (tuple(not x if isinstance(x, bool) else -x for x in m.rank), m.entry.id))
    return found[:limit] if limit else found


def match(corpus, record, prepared: list | None = None, **options) -> list[Match]:
    """KB entries for a repair or complaint (a Record or its ID), best first."""
    rec = corpus.records.get(record) if isinstance(record, str) else record
    if rec is None:
        raise KeyError(f"no record {record}")
    return match_facts(corpus, case_facts(rec), exclude=[rec.id], prepared=prepared, **options)


CASE_KINDS = ("repair", "complaint")   # the records entries are matched to


def case_matches(corpus, limit: int = 3) -> dict[str, list[Match]]:
    """Every repair and complaint (by kind, then ID) -> its best ``limit`` entries (none: an empty
    list): the knowledge base's "which cases match which entries" page."""
    prepared = _prepared(corpus, False)
    store = KeptMatches.for_corpus(corpus, [e.rec for e in prepared], limit, MIN_SIMILARITY)
    out = {}
    for kind in CASE_KINDS:
        for rec in sorted(corpus.of_kind(kind), key=lambda r: r.id):
            kept = store.get(rec) if store is not None else None
            if kept is not None:
                out[rec.id] = [Match(*row) for row in kept]
                continue
            out[rec.id] = match(corpus, rec, prepared=prepared, limit=limit)
            if store is not None:
                store.put(rec, out[rec.id])
    if store is not None:
        store.save(out)
    return out


def cases_of_entries(found: dict[str, list[Match]]) -> dict[str, list[tuple[str, Match]]]:
    """entry ID -> (case ID, match) of the cases ``case_matches`` matched to it, in its order."""
    out: dict[str, list[tuple[str, Match]]] = defaultdict(list)
    for case_id, matches in found.items():
        for m in matches:
            out[m.entry.id].append((case_id, m))
    return dict(out)


def search(corpus, query: str, *, product: str | None = None, limit: int | None = 10,
           min_similarity: float = 0.05, include_drafts: bool = False) -> list[Match]:
    """KB entries whose text is like ``query`` (e.g. a Chinese symptom as a customer words it)."""
    return match_facts(corpus, Facts(product, set(), None, query), limit=limit,
                       min_similarity=min_similarity, include_drafts=include_drafts)


def learned_from_index(corpus) -> dict[str, list[str]]:
    """repair ID -> KB entries learned from it (any status but retired)."""
    out: dict[str, list[str]] = defaultdict(list)
    for rec in corpus.of_kind("kb"):
        if get(rec.data, "status") == "retired":
            continue
        for rid in get_list(rec.data, "learned_from"):
            if isinstance(rid, str):
                out[rid].append(rec.id)
    return dict(out)


def tree(corpus, include_drafts: bool = False) -> dict[str, dict[str, list]]:
    """product -> fault category -> entries (an entry listed under every product it applies to)."""
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for rec in entries(corpus, include_drafts):
        category = get(rec.data, "fault_category")
        category = category if isinstance(category, str) and category else "other"
        for product in sorted(entry_products(rec.data)):
            out[product][category].append(rec)
    return {p: dict(c) for p, c in out.items()}


def by_fault_code(corpus, include_drafts: bool = False) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for rec in entries(corpus, include_drafts):
        for code in get_list(rec.data, "fault_codes"):
            if isinstance(code, str):
                out[code].append(rec)
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- promote

def _short(value: str, size: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= size else value[: size - 1] + "…"


def promote(repair, *, by: str | None = None, at: str | None = None, record_id: str | None = None,
            product_name: str | None = None) -> dict:
    """A draft KB entry from an exemplary repair record: its symptom, fault code and category,
    the root cause as the first possible cause (a replaced part makes it "part damaged, needs
    replacement"), the diagnoses as the diagnosis order and the diagnosis -> action -> result
    steps as the procedure. ``by`` defaults to the repair's engineer, ``at`` to the repair's
    fix time (the command passes now)."""
    data = repair.data if isinstance(repair.data, dict) else {}
    if repair.kind != "repair":
        raise ValueError(f"{repair.id} is a {repair.kind} record; only repair records are promoted")
    symptom = text(data.get("symptom")) or text(data.get("fault_description"))
    if not symptom:
        raise ValueError(f"{repair.id} has no symptom or fault description to learn from")
    steps = [s for s in get_list(data, "steps") if isinstance(s, dict) and text(s.get("action"))]
    procedure = []
    for s in steps:
        step = {}
        for key in ("diagnosis", "action", "result"):
            if text(s.get(key)):
                step[key] = s[key]
        procedure.append(step)
    if not procedure:
        summary = text(get(data, "handling.summary"))
        if not summary:
            raise ValueError(f"{repair.id} has no diagnosis -> action -> result steps and no handling summary")
        procedure = [{"action": summary}]
    part_numbers = []
    for p in get_list(data, "parts_replaced"):
        number = p.get("part_number") if isinstance(p, dict) else None
        if isinstance(number, str) and number not in part_numbers:
            part_numbers.append(number)
    cause_text = text(data.get("root_cause")) or text(get(data, "handling.summary")) or symptom
    cause: dict[str, Any] = {"cause": cause_text,
                             "type": "damaged_part_replace" if part_numbers else "operator_error_repair"}
    if part_numbers:
        cause["part_numbers"] = part_numbers
    causes = [cause]
    before = text(data.get("operation_before_fault"))
    if before and part_numbers:
        causes.append({"cause": f"故障前操作:{before}", "type": "operator_error_repair"})
    by = by or (data.get("engineer") if isinstance(data.get("engineer"), str) else None) or data.get("filled_by")
    at = at or text(data.get("fixed_at")) or text(data.get("created_at"))
    title_head = product_name or text(get(data, "device.model")) or text(data.get("product"))
    out: dict[str, Any] = {}
    if record_id:
        out["id"] = record_id
    out["schema_version"] = 1
    out["title"] = _short(f"{title_head} {symptom}".strip(), 120)
    out["product"] = data.get("product")
    out["fault_category"] = data.get("fault_category") if data.get("fault_category") in FAULT_CATEGORIES else "other"
    out["symptom"] = symptom
    if isinstance(data.get("fault_code"), str):
        out["fault_codes"] = [data["fault_code"]]
    out["possible_causes"] = causes
    diagnoses = [s["diagnosis"] for s in steps if text(s.get("diagnosis"))]
    if diagnoses:
        out["diagnosis_order"] = diagnoses
    out["procedure"] = procedure
    out["learned_from"] = [repair.id]
    out["filled_by"] = by
    out["created_at"] = at
    out["status"] = "draft"
    out["history"] = [{"at": at, "by": by, "status": "draft", "note": f"由维修记录 {repair.id} 提炼,待技术经理审核"}]
    if text(data.get("procedure_followed")):
        out["remarks"] = f"现场依据的技术流程:{data['procedure_followed']}"
    return out
