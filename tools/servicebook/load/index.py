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


class Index:
    """References and chains over loaded records."""

    def __init__(self, records: dict[str, Record], schemas: SchemaSet):
        self.records = records
        self.schemas = schemas
        # id -> [(path, target id, kinds the target may be)]
        self.refs: dict[str, list[tuple[tuple, str, tuple[str, ...]]]] = {}
        self._referrers: dict[str, list[str]] = defaultdict(list)
        for rid, rec in records.items():
            out = []
            for pattern, kinds in schemas.ref_kinds(rec.kind).items():
                for path, value in values_at(rec.data, pattern):
                    if type(value) is str:
                        out.append((path, value, kinds))
                        if value != rid:
                            self._referrers[value].append(rid)
            self.refs[rid] = out
        self._parent: dict[str, str] = {}
        for rid, rec in records.items():
            for field in CHAIN_PARENT.get(rec.kind, ()):
                target = rec.data.get(field)
                if isinstance(target, str) and target in records and target != rid:
                    self._parent[rid] = target
                    break
        self._members: dict[str, list[str]] = defaultdict(list)
        for rid, rec in records.items():
            if KINDS.get(rec.kind) and KINDS[rec.kind].case:
                self._members[self.root(rid)].append(rid)

    def referrers(self, record_id: str) -> list[Record]:
        return [self.records[r] for r in sorted(set(self._referrers.get(record_id, ())))]

    def parent(self, record_id: str) -> str | None:
        return self._parent.get(record_id)

    def root(self, record_id: str) -> str:
        seen = {record_id}
        while record_id in self._parent and self._parent[record_id] not in seen:
            record_id = self._parent[record_id]
            seen.add(record_id)
        return record_id

    def chain(self, record_id: str) -> list[Record]:
        """Every case record of the chain ``record_id`` belongs to, root first, then in
        process order and time."""
        members = self._members.get(self.root(record_id), [record_id])
        recs = [self.records[m] for m in members if m in self.records]
        return sorted(recs, key=lambda r: (
            r.id != self.root(record_id),
            PROCESS_ORDER.index(r.kind) if r.kind in PROCESS_ORDER else 99,
            str(r.data.get("created_at", "")), r.id))

    def roots(self) -> list[str]:
        return sorted(self._members)


def iter_case_records(records: Iterable[Record]) -> Iterable[Record]:
    return (r for r in records if KINDS.get(r.kind) and KINDS[r.kind].case)
