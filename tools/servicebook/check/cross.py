"""The checks no single file can make: IDs against file names and folders, duplicate IDs,
references that point nowhere or to the wrong kind, history order, lifecycle transitions, approvals
by the wrong role or by the form's filler, and the order of the process. Every rule reads record
data, the lifecycle and the schemas' annotations only, so a new kind or reference needs no code.
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path

from servicebook.check import approvals
from servicebook.load.corpus import Corpus
from servicebook.load.index import PROCESS_ORDER
from servicebook.load.instants import instant_or_none
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.problems import Problem
from servicebook.load.records import KINDS, Record, get_list, kind_of_id
from servicebook.load.yamlload import dump_path


def check(corpus: Corpus) -> list[Problem]:
    """Cross-record problems. Every ID found as a file name counts (parsed or not), so a reference
    to a broken record is not reported twice. ``corpus.only`` limits the report to those files
    (the pull-request path) while still checking against everything."""
    records, known_ids, lifecycle, index = corpus.records, corpus.known_ids, corpus.lifecycle, corpus.index
    where_of, only = corpus.where, corpus.only
    problems: list[Problem] = []

    def report(rec_path: Path, path: tuple, rule: str, message: str, use_key: bool = False, params=None):
        where = where_of(rec_path)
        w = where.get(path)
        probe = path
        while w is None and probe:
            probe = probe[:-1]
            w = where.get(probe)
        line, col = ((w.key_line, w.key_column) if use_key else (w.line, w.column)) if w else (1, 1)
        problems.append(Problem(str(rec_path), line, col, dump_path(path), rule, message, params=params or {}))

    for rid, paths in known_ids.items():
        if len(paths) > 1:
            for p in paths:
                if only is None or p in only:
                    others = ", ".join(o for o in paths if o != p)
                    problems.append(Problem(p, 1, 1, "id", "id.duplicate",
                                            f"ID {rid} is also used by {others}"))

    persons = {r.id: r for r in records.values() if r.kind == "person"}
    # per kind, the statuses that are approval steps: the only ones the approval rule looks at
    approval_steps = {kind: frozenset(name for name in lifecycle.statuses(kind)
                                      if approvals.needed_role(lifecycle, kind, name))
                      for kind in lifecycle.kinds()}
    # per kind, from each status the statuses it may move to (a set: one test per history entry)
    moves = {kind: {name: frozenset(lifecycle.allowed(kind, name)) for name in lifecycle.statuses(kind)}
             for kind in lifecycle.kinds()}
    # per referenced ID, once: its kind (kind_of_id), or _NO_FILE when no file has that ID
    target_kinds: dict[str, object] = {}
    created: dict[str, object] = {}  # created_at instants, once per record
    instants: dict[str, object] = {}  # instant text -> instant_or_none, once per text
    refs = index.refs
    for rid, rec in records.items():
        if only is not None and rec.file not in only:
            continue
        _check_identity(rec, report)
        for path, target, kinds in refs.get(rid, ()):
            target_kind = target_kinds.get(target, _UNSEEN)
            if target_kind is _UNSEEN:
                target_kind = target_kinds[target] = kind_of_id(target) if target in known_ids else _NO_FILE
            if target_kind is _NO_FILE:
                report(rec.path, path, "ref.missing",
                       f"refers to {target}, but no record has that ID")
            elif kinds and target_kind not in kinds:
                report(rec.path, path, "ref.kind",
                       f"refers to {target}, a {target_kind} record, but must refer to "
                       f"a {' or '.join(kinds)} record")
        if rec.kind in moves:
            _check_history(rec, lifecycle, persons, report, approval_steps[rec.kind], created,
                           moves[rec.kind], instants)
            _check_process_order(rec, refs.get(rec.id, ()), records, report, created)
    return problems


check.by_file = True  # each problem is on the record being checked; honours corpus.only (see load.corpus)

_UNSEEN = object()
_NO_FILE = object()
_RANK = {kind: i for i, kind in enumerate(PROCESS_ORDER)}


def _created(rec: Record, memo: dict):
    found = memo.get(rec.id, _UNSEEN)
    if found is _UNSEEN:
        found = memo[rec.id] = instant_or_none(rec.data.get("created_at"))
    return found


def _check_identity(rec: Record, report) -> None:
    stem = rec.id  # a record's ID is its file's stem (Path.stem costs seconds at 100k)
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


def _check_history(rec: Record, lifecycle: Lifecycle, persons: dict[str, Record], report,
                   approval_steps: frozenset[str], memo: dict, moves: dict[str, frozenset[str]],
                   instants: dict) -> None:
    history = rec.data.get("history")
    if not isinstance(history, list) or not history or not all(map(isinstance, history, repeat(dict))):
        return  # the schema already said what is wrong
    kind = rec.kind
    first = history[0].get("status")
    if first not in lifecycle.initial(kind):
        report(rec.path, ("history", 0, "status"), "lifecycle.initial",
               f"a {kind} cannot start in status '{first}'; it starts in "
               + " or ".join(f"'{s}'" for s in lifecycle.initial(kind)))
    created = _created(rec, memo)
    first_at = _instant(history[0].get("at"), instants)
    if created and first_at and first_at < created:
        report(rec.path, ("history", 0, "at"), "history.order",
               f"the first history entry ({history[0].get('at')}) is before the form was filled "
               f"({rec.data.get('created_at')})")
    previous_at = None
    before = None
    for i, entry in enumerate(history):
        at = _instant(entry.get("at"), instants)
        if at and previous_at and at < previous_at:
            report(rec.path, ("history", i, "at"), "history.order",
                   f"entry {i + 1} ({entry.get('at')}) is earlier than the entry before it; "
                   "history is kept in time order")
        previous_at = at or previous_at
        status = entry.get("status")
        if i > 0 and isinstance(before, str) and isinstance(status, str):
            allowed = moves.get(before)  # None: an unknown status, which the schema reports
            if allowed is not None and status not in allowed:
                allowed = lifecycle.allowed(kind, before)  # in the lifecycle's order, for the message
                report(rec.path, ("history", i, "status"), "lifecycle.transition",
                       f"a {kind} cannot move from '{before}' to '{status}'; from '{before}' it "
                       "may move to " + (", ".join(f"'{s}'" for s in allowed) or "nothing (final)"))
        if isinstance(status, str) and status in approval_steps:
            by = entry.get("by")
            if isinstance(by, str):
                person = persons.get(by)
                roles = get_list(person.data, "roles") if person is not None else None
                for p in approvals.judge(lifecycle, kind, status, by, roles, [rec.data.get("filled_by")]):
                    report(rec.path, ("history", i, "by"), p.rule, p.message, params=p.params)
        before = status
    last = history[-1].get("status")
    if rec.data.get("status") != last:
        report(rec.path, ("status",), "history.status",
               f"status is '{rec.data.get('status')}' but the last history entry says '{last}'")


def _instant(value, memo: dict):
    """``instant_or_none`` of a value, text read once (a history's instants repeat the form's)."""
    if value.__class__ is not str:
        return instant_or_none(value)
    found = memo.get(value, _UNSEEN)
    if found is _UNSEEN:
        found = memo[value] = instant_or_none(value)
    return found


def _check_process_order(rec: Record, refs, records: dict[str, Record], report, memo: dict) -> None:
    rank = _RANK.get(rec.kind)
    if rank is None:
        return
    created = _created(rec, memo)
    if created is None:
        return
    for path, target, _ in refs:
        if len(path) != 1:
            continue
        other = dict.get(records, target)  # targets are text (the index keeps only text): no ById.get
        other_rank = _RANK.get(other.kind) if other is not None else None
        if other_rank is None or other_rank > rank:
            continue  # not a case, or a back-reference (complaint -> contract is forward; this is the reverse)
        before = _created(other, memo)
        if before and created < before:
            report(rec.path, ("created_at",), "process.order",
                   f"filled at {rec.data.get('created_at')}, before {target} it follows "
                   f"({other.data.get('created_at')})")
