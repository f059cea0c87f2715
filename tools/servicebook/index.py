"""Cross-record knowledge: references, case chains, and the checks no single file can make.

Runs over the whole corpus after every file has been read and schema-checked. Every check reads
only record data, the lifecycle and the schemas' annotations (``x-ref-kind``), so adding a kind or
a reference field needs no code here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from servicebook.lifecycle import Lifecycle
from servicebook.problems import Problem
from servicebook.records import KINDS, Record, kind_of_id
from servicebook.schemas import SchemaSet, values_at
from servicebook.yamlload import Where, dump_path

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


def parse_instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


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


def check(
    records: dict[str, Record],
    known_ids: dict[str, list[str]],
    schemas: SchemaSet,
    lifecycle: Lifecycle,
    index: Index,
    where_of: Callable[[Path], dict[tuple, Where]],
    only: set[str] | None = None,
) -> list[Problem]:
    """Cross-record problems. ``known_ids`` maps every ID found as a file name (parsed or not)
    to its files, so a reference to a broken record is not reported twice. ``only`` limits the
    report to those files (the pull-request path) while still checking against everything."""
    problems: list[Problem] = []

    def report(rec_path: Path, path: tuple, rule: str, message: str, use_key: bool = False):
        where = where_of(rec_path)
        w = where.get(path)
        probe = path
        while w is None and probe:
            probe = probe[:-1]
            w = where.get(probe)
        line, col = ((w.key_line, w.key_column) if use_key else (w.line, w.column)) if w else (1, 1)
        problems.append(Problem(str(rec_path), line, col, dump_path(path), rule, message))

    for rid, paths in known_ids.items():
        if len(paths) > 1:
            for p in paths:
                if only is None or p in only:
                    others = ", ".join(o for o in paths if o != p)
                    problems.append(Problem(p, 1, 1, "id", "id.duplicate",
                                            f"ID {rid} is also used by {others}"))

    persons = {r.id: r for r in records.values() if r.kind == "person"}
    for rid, rec in records.items():
        if only is not None and rec.path.as_posix() not in only:
            continue
        _check_identity(rec, report)
        for path, target, kinds in index.refs.get(rid, ()):
            if target not in known_ids:
                report(rec.path, path, "ref.missing",
                       f"refers to {target}, but no record has that ID")
            elif kinds and kind_of_id(target) not in kinds:
                report(rec.path, path, "ref.kind",
                       f"refers to {target}, a {kind_of_id(target)} record, but must refer to "
                       f"a {' or '.join(kinds)} record")
        if lifecycle.has(rec.kind):
            _check_history(rec, lifecycle, persons, report)
            _check_process_order(rec, index, records, report)
    return problems


def _check_identity(rec: Record, report) -> None:
    stem = rec.path.stem
    declared = rec.data.get("id")
    if isinstance(declared, str) and declared != stem:
        report(rec.path, ("id",), "id.filename",
               f"ID {declared} does not match the file name {rec.path.name}; the file name is "
               "the ID (rename the file or fix the ID, never both)")
    prefix_kind = kind_of_id(stem)
    if prefix_kind != rec.kind:
        report(rec.path, ("id",), "id.folder",
               f"{stem} is in records/{rec.kind}/, but its prefix "
               + (f"is that of a {prefix_kind} record" if prefix_kind else "names no record kind")
               + f" ({KINDS[rec.kind].prefix}-... expected)")


def _check_history(rec: Record, lifecycle: Lifecycle, persons: dict[str, Record], report) -> None:
    history = rec.data.get("history")
    if not isinstance(history, list) or not history or not all(isinstance(h, dict) for h in history):
        return  # the schema already said what is wrong
    kind = rec.kind
    first = history[0].get("status")
    if first not in lifecycle.initial(kind):
        report(rec.path, ("history", 0, "status"), "lifecycle.initial",
               f"a {kind} cannot start in status '{first}'; it starts in "
               + " or ".join(f"'{s}'" for s in lifecycle.initial(kind)))
    created = parse_instant(rec.data.get("created_at"))
    first_at = parse_instant(history[0].get("at"))
    if created and first_at and first_at < created:
        report(rec.path, ("history", 0, "at"), "history.order",
               f"the first history entry ({history[0].get('at')}) is before the form was filled "
               f"({rec.data.get('created_at')})")
    previous_at = None
    for i, entry in enumerate(history):
        at = parse_instant(entry.get("at"))
        if at and previous_at and at < previous_at:
            report(rec.path, ("history", i, "at"), "history.order",
                   f"entry {i + 1} ({entry.get('at')}) is earlier than the entry before it; "
                   "history is kept in time order")
        previous_at = at or previous_at
        status = entry.get("status")
        if i > 0:
            before = history[i - 1].get("status")
            if before in lifecycle.statuses(kind) and status not in lifecycle.allowed(kind, before):
                allowed = lifecycle.allowed(kind, before)
                report(rec.path, ("history", i, "status"), "lifecycle.transition",
                       f"a {kind} cannot move from '{before}' to '{status}'; from '{before}' it "
                       "may move to " + (", ".join(f"'{s}'" for s in allowed) or "nothing (final)"))
        role = lifecycle.approval_role(kind, status) if isinstance(status, str) else None
        by = entry.get("by")
        if role and isinstance(by, str):
            person = persons.get(by)
            if person is not None and role not in (person.data.get("roles") or []):
                report(rec.path, ("history", i, "by"), "approval.role",
                       f"'{status}' is an approval by a {role}; {by} does not hold that role")
            if by == rec.data.get("filled_by"):
                report(rec.path, ("history", i, "by"), "approval.self",
                       f"{by} filled this form and cannot also approve it ('{status}')")
    last = history[-1].get("status")
    if rec.data.get("status") != last:
        report(rec.path, ("status",), "history.status",
               f"status is '{rec.data.get('status')}' but the last history entry says '{last}'")


def _check_process_order(rec: Record, index: Index, records: dict[str, Record], report) -> None:
    created = parse_instant(rec.data.get("created_at"))
    if created is None or rec.kind not in PROCESS_ORDER:
        return
    for path, target, _ in index.refs.get(rec.id, ()):
        other = records.get(target)
        if other is None or other.kind not in PROCESS_ORDER or len(path) != 1:
            continue
        if PROCESS_ORDER.index(other.kind) > PROCESS_ORDER.index(rec.kind):
            continue  # a back-reference (complaint -> contract is forward; this is the reverse)
        before = parse_instant(other.data.get("created_at"))
        if before and created < before:
            report(rec.path, ("created_at",), "process.order",
                   f"filled at {rec.data.get('created_at')}, before {target} it follows "
                   f"({other.data.get('created_at')})")


def iter_case_records(records: Iterable[Record]) -> Iterable[Record]:
    return (r for r in records if KINDS.get(r.kind) and KINDS[r.kind].case)
