"""Cross-record knowledge: references and case chains, found from the schemas' annotations
(``x-ref-kind``), so adding a kind or a reference field needs no code here. The checks that use
them are in ``servicebook.check.cross``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from servicebook.load.records import KINDS, Record
from servicebook.load.schemas import SchemaSet, values_at

# How case chains hang together: the reference fields that point to the previous step.
# A deal starts at a survey, a service case at a complaint (or a repair reported without one).
CHAIN_PARENT: dict[str, tuple[str, ...]] = {
    "appraisal": ("survey",),
    "solution": ("appraisal", "survey"),
    "feasibility": ("solution",),
    "contract": ("feasibility", "solution"),
    "installation": ("contract",),
    "repair": ("complaint",),
    "callback": ("case",),
    "part-request": ("repair",),
    "inspection": ("installation",),
    "bid": ("survey",),
    "communication": ("deal",),
    "requirements": ("contract",),
    "change": ("contract",),
    "progress": ("contract",),
    "risk": ("contract",),
    "problem": ("contract",),
}
PROCESS_ORDER = [k for k, spec in KINDS.items() if spec.case]
_PROCESS_PLACE = {k: i for i, k in enumerate(PROCESS_ORDER)}


class Index:
    """References and chains over loaded records. Each part is built when first asked for: the
    SLA clocks and most reports need neither (building both costs seconds at 100k records)."""

    def __init__(self, records: dict[str, Record], schemas: SchemaSet):
        self.records = records
        self.schemas = schemas
        self._refs: dict[str, list[tuple[tuple, str, tuple[str, ...]]]] | None = None
        self._referrers: dict[str, list[str]] = {}
        self._chains: tuple[dict[str, str], dict[str, list[str]]] | None = None

    @property
    def refs(self) -> dict[str, list[tuple[tuple, str, tuple[str, ...]]]]:
        """id -> [(path, target id, kinds the target may be)]"""
        if self._refs is None:
            self._build_refs()
        return self._refs

    def _build_refs(self) -> None:
        refs: dict[str, list] = {}
        referrers: dict[str, list[str]] = defaultdict(list)
        patterns: dict[str, tuple] = {}  # kind -> ref_patterns(kind)
        for rid, rec in self.records.items():
            kind_patterns = patterns.get(rec.kind)
            if kind_patterns is None:
                kind_patterns = patterns[rec.kind] = ref_patterns(self.schemas, rec.kind)
            out = refs[rid] = references(rec.data, kind_patterns)
            for _path, value, _kinds in out:
                if value != rid:
                    referrers[value].append(rid)
        self._referrers = referrers
        self._refs = refs

    def _chain_maps(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """(record -> the previous step of its chain, chain root -> its members)"""
        if self._chains is None:
            records = self.records
            parent: dict[str, str] = {}
            for rid, rec in records.items():
                fields = CHAIN_PARENT.get(rec.kind)
                if fields:
                    found = chain_parent(rid, [rec.data.get(f) for f in fields], records)
                    if found is not None:
                        parent[rid] = found
            self._chains = (parent, {})
            members: dict[str, list[str]] = defaultdict(list)
            for rid, rec in records.items():
                if KINDS.get(rec.kind) and KINDS[rec.kind].case:
                    members[self.root(rid)].append(rid)
            self._chains = (parent, members)
        return self._chains

    def referrers(self, record_id: str) -> list[Record]:
        if self._refs is None:
            self._build_refs()
        return [self.records[r] for r in sorted(set(self._referrers.get(record_id, ())))]

    def parent(self, record_id: str) -> str | None:
        return self._chain_maps()[0].get(record_id)

    def root(self, record_id: str) -> str:
        parent = self._chain_maps()[0]
        seen = {record_id}
        while record_id in parent and parent[record_id] not in seen:
            record_id = parent[record_id]
            seen.add(record_id)
        return record_id

    def chain(self, record_id: str) -> list[Record]:
        """Every case record of the chain ``record_id`` belongs to, root first, then in
        process order and time."""
        root = self.root(record_id)
        members = self._chain_maps()[1].get(root, [record_id])
        recs = [self.records[m] for m in members if m in self.records]
        return sorted(recs, key=lambda r: (r.id != root, _PROCESS_PLACE.get(r.kind, 99),
                                           str(r.data.get("created_at", "")), r.id))

    def roots(self) -> list[str]:
        return sorted(self._chain_maps()[1])


def chain_parent(rid: str, values, known) -> str | None:
    """The previous step of ``rid``'s chain: the first of its chain-parent field values
    (``CHAIN_PARENT`` order) naming another record in ``known``. One rule for the index and for
    ``load.neighbours``."""
    for target in values:
        if isinstance(target, str) and target != rid and target in known:
            return target
    return None


def ref_patterns(schemas: SchemaSet, kind: str) -> tuple:
    """The reference fields of ``kind``: ((pattern, kinds the target may be, its shape), ...)."""
    return tuple((pattern, kinds, _shape(pattern)) for pattern, kinds in schemas.ref_kinds(kind).items())


def references(data, kind_patterns: tuple) -> list[tuple[tuple, str, tuple[str, ...]]]:
    """A record's outgoing references: [(path, target id, kinds the target may be)]. One
    function for the index and for what ``load.neighbours`` keeps per file."""
    if not isinstance(data, dict):
        return []
    out = []
    for pattern, kinds, shape in kind_patterns:
        # most references are a top-level field or a field of each item of a top-level
        # list (history[].by): read directly, no general walk
        if shape == 1:
            value = data.get(pattern[0])
            found = ((pattern, value),) if type(value) is str else ()
        elif shape == 3:
            items, key = data.get(pattern[0]), pattern[2]
            found = [((pattern[0], i, key), item[key]) for i, item in enumerate(items)
                     if isinstance(item, dict) and key in item] if isinstance(items, list) else ()
        else:
            found = values_at(data, pattern)
        for path, value in found:
            if type(value) is str:
                out.append((path, value, kinds))
    return out


def _shape(pattern: tuple) -> int:
    """1 for ``(field,)``, 3 for ``(field, "*", key)``, 0 for any other pattern."""
    if len(pattern) == 1 and pattern[0] != "*":
        return 1
    if len(pattern) == 3 and pattern[0] != "*" and pattern[1] == "*" and pattern[2] != "*":
        return 3
    return 0


def iter_case_records(records: Iterable[Record]) -> Iterable[Record]:
    return (r for r in records if KINDS.get(r.kind) and KINDS[r.kind].case)
