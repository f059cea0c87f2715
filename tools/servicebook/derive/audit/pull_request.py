"""The pull-request check: whether the author of a change may make it. Per changed record file:
who may move a record into which status (``Rules.may_enter``: the rules' transitions and the
lifecycle's approval steps, approvals not by the form's filler), who may fill which part of a
form (``x-filled-by`` of the kind's schema and ``parts`` of the rules), who may change or delete
reference data; and warnings about personal data written into free text (``privacy``).

People and their roles are read as they are at the merge base, so a pull request cannot grant
itself a role. The rules are :mod:`servicebook.derive.audit.codeowners`'s (``Rules``, read from
``.github/review-rules.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servicebook.check import approvals as approval_rules
from servicebook.derive import privacy
from servicebook.derive.audit.codeowners import Rules
from servicebook.derive.audit.trail import People, Person, load_lifecycle, load_records, parse_record
from servicebook.derive.personal import Known
from servicebook.load.problems import Problem
from servicebook.load.records import RECORDS_DIR, SCHEMAS_DIR, kind_of_path
from servicebook.load.schemas import SchemaSet
from servicebook.load.yamlload import positions

__all__ = [
    "FileChange", "changed_paths", "check_changes", "check_pr", "diff_records", "dotted",
    "form_parts", "known_values", "part_of", "records_at",
]

# -- form parts ---------------------------------------------------------------------------------


def form_parts(root: Path | str, kind: str, rules: Rules | None = None) -> list[tuple[tuple, list[str]]]:
    """(path pattern, roles) of every part of a form a role fills: ``x-filled-by`` of the kind's
    schema, plus ``parts`` of the rules. List items appear as ``*`` in a pattern."""
    out: list[tuple[tuple, list[str]]] = []
    try:
        from servicebook.load.schemas import SchemaSet

        schemas = SchemaSet(Path(root) / SCHEMAS_DIR)
        if schemas.has(kind):
            out.extend((p, list(v)) for p, v in schemas.marked_paths(kind, "x-filled-by"))
    except (ImportError, OSError, ValueError, KeyError):
        pass
    rules = rules or Rules.load(root)
    for dotted, roles in (rules.parts.get(kind) or {}).items():
        out.append((tuple(dotted.split(".")), list(roles)))
    return out


def part_of(parts: list[tuple[tuple, list[str]]], path: tuple) -> tuple[tuple, list[str]] | None:
    """The most specific part containing the concrete ``path`` (indexes match ``*``)."""
    best = None
    for pattern, roles in parts:
        if len(pattern) <= len(path) and all(
            p == "*" and isinstance(q, int) or p == q for p, q in zip(pattern, path)
        ):
            if best is None or len(pattern) > len(best[0]):
                best = (pattern, roles)
    return best


def changed_paths(old: Any, new: Any, prefix: tuple = ()) -> list[tuple]:
    """Concrete paths (tuples, list indexes as ints) whose values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple] = []
        for key in list(old) + [k for k in new if k not in old]:
            if key in old and key in new:
                out.extend(changed_paths(old[key], new[key], prefix + (key,)))
            elif key in new:
                out.extend(changed_paths(_empty(new[key]), new[key], prefix + (key,)))
            else:
                out.append(prefix + (key,))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            if i < len(old) and i < len(new):
                out.extend(changed_paths(old[i], new[i], prefix + (i,)))
            elif i < len(new):
                out.extend(changed_paths(_empty(new[i]), new[i], prefix + (i,)))
            else:
                out.append(prefix + (i,))
        return out
    return [] if old == new else [prefix]


def _empty(value: Any) -> Any:
    """What an added value is compared with, so additions are listed down to their leaves."""
    return {} if isinstance(value, dict) else [] if isinstance(value, list) else object()


def dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


# -- the pull-request check -------------------------------------------------------------------


@dataclass
class FileChange:
    path: str
    kind: str
    id: str
    old: Any  # data at base (None: added)
    new: Any  # data at head (None: deleted)
    text: str | None = None  # the file at head, to locate findings by line

    def line_of(self, path: tuple) -> tuple[int, int]:
        """(line, column) of the value at ``path`` in the file at head; (1, 1) if unknown."""
        if self.text is None:
            return 1, 1
        if "_where" not in self.__dict__:
            self.__dict__["_where"] = positions(self.text)
        where = self.__dict__["_where"]
        while path and path not in where:
            path = path[:-1]
        w = where.get(path)
        return (w.line, w.column) if w else (1, 1)


def diff_records(repo, base: str, head: str = "HEAD") -> list[FileChange]:
    """Record files changed between the merge base of ``base`` and ``head``, with both contents."""
    out = repo.git.diff(f"{base}...{head}", "--raw", "--no-abbrev", "-z", "--no-renames",
                        "--", RECORDS_DIR + "/")
    tokens = out.split("\0")
    changes = []
    i = 0
    while i + 1 < len(tokens):
        meta = tokens[i].strip()
        if not meta.startswith(":"):
            i += 1
            continue
        _m1, _m2, old, new, st = meta[1:].split()[:5]
        path = tokens[i + 1]
        i += 2
        kind = kind_of_path(Path(path))
        if kind is None:
            continue

        def read(blob: str) -> bytes | None:
            if set(blob) == {"0"}:
                return None
            return repo.odb.stream(bytes.fromhex(blob)).read()

        before, after = read(old), read(new)
        text = after.decode("utf-8", errors="replace") if after is not None else None
        changes.append(FileChange(path, kind, Path(path).stem, parse_record(before) if before is not None else None,
                                  parse_record(after) if after is not None else None, text))
    return changes


def _is_bot(rules: Rules, author: str) -> bool:
    a = (author or "").strip().lower()
    return a in {b.lower() for b in rules.bots}


def known_values(root: Path | str, changes: list[FileChange], schemas: SchemaSet) -> Known:
    """The personal values of the corpus (the working tree, and the changed files as changed).
    Read through `corpus.load`, whose per-file cache the validation step before has filled (7 s
    instead of 18 s for 100k records)."""
    from servicebook.load import corpus
    from servicebook.derive.audit.trail import _Rec

    recs = list(corpus.load(Path(root)).records.values())
    recs += [_Rec(ch.kind, ch.id, Path(ch.path), ch.new) for ch in changes if isinstance(ch.new, dict)]
    return Known.of(schemas, recs)


def check_changes(root: Path | str, changes: list[FileChange], author: str,
                  records: dict | None = None, known: Known | None = None) -> list[Problem]:
    """Permission problems of a change set made by ``author`` (e-mail, handle or person id),
    and warnings about personal data in its text (``known``: the corpus's personal values,
    read from the working tree when not given)."""
    root = Path(root)
    rules = Rules.load(root)
    lifecycle = load_lifecycle(root)
    records = records if records is not None else load_records(root)
    people = People.from_records(records)
    bot = _is_bot(rules, author)
    actor = None if bot else people.find(author)
    problems: list[Problem] = []

    def report(ch: FileChange, path: str, rule: str, message: str, severity: str = "error",
               line: tuple[int, int] = (1, 1)) -> None:
        problems.append(Problem(ch.path, line[0], line[1], path, rule, message, severity))

    if not bot and actor is None:
        for ch in changes:
            report(ch, "", "author.unknown",
                   f"the author {author!r} matches no person record (git.email, git.handle or id); "
                   "only staff in records/person/ may change records")
        return problems
    parts_cache: dict[str, list] = {}
    schemas = SchemaSet(root / "schemas")
    if known is None and any(isinstance(ch.new, dict) for ch in changes):
        known = known_values(root, changes, schemas)
    for ch in changes:
        if isinstance(ch.new, dict) and schemas.has(ch.kind):
            changed = changed_paths(ch.old if isinstance(ch.old, dict) else {}, ch.new)
            for f in privacy.unmarked(schemas, ch.kind, ch.new, changed, known):
                report(ch, dotted(f.path), f.rule, _privacy_message(f), "warning", ch.line_of(f.path))
        data = ch.new if isinstance(ch.new, dict) else None
        old = ch.old if isinstance(ch.old, dict) else None
        if ch.new is not None and data is None:
            continue  # unreadable: validation reports it
        # who acts for this file
        acting: list[Person] = [actor] if actor else []
        if bot:
            who = _new_history_people(old, data) or (
                [data.get("filled_by")] if data and isinstance(data.get("filled_by"), str) else [])
            acting = [people.by_id[w] for w in who if w in people.by_id]
            if not acting:
                report(ch, "", "author.unknown",
                       "a bot change must name its person: a history entry `by` or `filled_by`")
                continue
        roles = {r for p in acting for r in p.roles}
        names = ", ".join(p.id for p in acting)
        if not lifecycle.has(ch.kind):
            allowed = rules.edit.get(ch.kind, [])
            if "*" not in allowed and not roles & set(allowed):
                report(ch, "", "permission.edit",
                       f"{names} may not change {ch.kind} records; that needs one of: "
                       f"{', '.join(allowed) or 'nobody'}")
            continue
        if data is None:
            report(ch, "", "permission.delete",
                   f"{names} deletes a {ch.kind} record; case records are never deleted "
                   "(move them to a final status instead)")
            continue
        # status moves: every new history entry
        for j, entry in _new_history(old, data):
            status = entry.get("status")
            if not isinstance(status, str):
                continue
            allowed = rules.may_enter(lifecycle, ch.kind, status)
            role = approval_rules.needed_role(lifecycle, ch.kind, status)
            if "*" not in allowed and not roles & set(allowed):
                report(ch, f"history[{j}].status", "permission.transition",
                       f"{names} ({', '.join(sorted(roles)) or 'no role'}) may not move a {ch.kind} "
                       f"into '{status}'; that needs one of: {', '.join(allowed) or 'nobody'}")
            by = people.by_id.get(entry.get("by")) if isinstance(entry.get("by"), str) else None
            if role:
                # the filler before the change counts too: handing filled_by to someone else in
                # the approving change does not make the approval someone else's (issue #15)
                wrong = approval_rules.judge(lifecycle, ch.kind, status, entry.get("by"),
                                             by.roles if by is not None else (),
                                             [data.get("filled_by"), (old or {}).get("filled_by")])
                if wrong:
                    report(ch, f"history[{j}].by", wrong[0].rule, wrong[0].message)
                else:
                    report(ch, f"history[{j}].status", "approval.required",
                           f"'{status}' needs the approving review of {by.id} ({role}); the merge "
                           "commit must carry Approved-by/Approved-role trailers", "notice")
        # form parts
        if ch.kind not in parts_cache:
            parts_cache[ch.kind] = form_parts(root, ch.kind, rules)
        parts = parts_cache[ch.kind]
        if parts:
            seen: set[tuple] = set()
            for path in changed_paths(old or {}, data):
                part = part_of(parts, path)
                if part is None or part[0] in seen:
                    continue
                seen.add(part[0])
                if "*" not in part[1] and not roles & set(part[1]):
                    report(ch, dotted(path), "permission.part",
                           f"{names} ({', '.join(sorted(roles)) or 'no role'}) changes "
                           f"'{'.'.join(str(p) for p in part[0])}', a part filled by "
                           f"{', '.join(part[1])}")
    return problems


_WHAT = {"phone": "a phone number", "email": "an e-mail address", "name": "a name", "address": "an address"}


def _privacy_message(f: privacy.Finding) -> str:
    what = _WHAT.get(f.what, "a value")
    if f.rule == privacy.KNOWN:
        return (f"this text repeats {what} the records keep as personal data ({f.shown}); the site "
                "masks it, but write the role instead (the contact, the site foreman) and keep the "
                "value in the contact fields")
    return (f"this text holds {what}, but the field is not marked personal, so the site would "
            "publish it; put it in the contact fields instead")


def _new_history(old: dict | None, new: dict) -> list[tuple[int, dict]]:
    before = old.get("history") if old and isinstance(old.get("history"), list) else []
    after = new.get("history") if isinstance(new.get("history"), list) else []
    same = 0
    while same < min(len(before), len(after)) and before[same] == after[same]:
        same += 1
    return [(j, e) for j, e in enumerate(after) if j >= same and isinstance(e, dict)]


def _new_history_people(old: dict | None, new: dict | None) -> list[str]:
    if not new:
        return []
    return [e.get("by") for _j, e in _new_history(old, new) if isinstance(e.get("by"), str)]


def records_at(repo, rev: str, kind: str) -> dict[str, Any]:
    """id -> Record of one kind as committed at ``rev`` (one ls-tree, blobs by cat-file)."""
    from servicebook.derive.audit.trail import _Rec

    out: dict[str, Any] = {}
    listing = repo.git.ls_tree("-r", "-z", rev, "--", f"{RECORDS_DIR}/{kind}/")
    for item in listing.split("\0"):
        meta, _, path = item.partition("\t")
        parts = meta.split()
        if len(parts) < 3 or parts[1] != "blob" or not path.endswith((".yaml", ".yml")):
            continue
        data = parse_record(repo.odb.stream(bytes.fromhex(parts[2])).read())
        if isinstance(data, dict):
            rid = Path(path).stem
            out[rid] = _Rec(kind, rid, Path(path), data)
    return out


def check_pr(root: Path | str, base: str, head: str = "HEAD", author: str | None = None) -> list[Problem]:
    """The pull-request check: permissions of the changes between ``base`` and ``head``.
    ``author`` defaults to the author e-mail of ``head``. People and their roles are read as
    they are at the merge base, so a pull request cannot grant itself a role."""
    import git

    repo = git.Repo(Path(root))
    if author is None:
        author = repo.git.log("-1", "--format=%ae", head)
    merge_base = repo.git.merge_base(base, head)
    people = records_at(repo, merge_base, "person")
    return check_changes(root, diff_records(repo, base, head), author, records=people)
