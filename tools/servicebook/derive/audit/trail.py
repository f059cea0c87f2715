"""The audit trail of every record, read from git history alone.

One ``git log`` call (through GitPython's command wrapper) reads the whole history: every commit
with its parents, author, dates, trailers and the raw diff of ``records/`` (status letter and blob
ids). Walking commit objects one by one is about a hundred times slower; this module never does.
Record contents at a commit are read only for the records that need them (those with approval
steps, or the ones asked about), through GitPython's persistent ``git cat-file --batch``.

Evidence of an approval (see ``docs/approvals.md``): the commit that lands an approval-state
history entry on the main line (squash, merge, or the direct commit written by
``servicebook approve``) carries the trailers::

    Approved-by: Name <email>
    Approved-role: general_manager
    Reviewed-on: https://example.invalid/pulls/12
    Approved-record: FS-20261120-7KQ2XM       (optional; required for an approval commit that
                                                touches no file)

    Approved-blob: 3f2a...                    (the git blob of the record as approved; one per
                                                Approved-record, in the same order)

The approver is matched to a person record by ``git.email``; the commit carrying the evidence
must be signed (git's SSH signing) with one of that person's ``signing_keys``, or by a platform
key named in ``.github/review-rules.yaml`` together with a ``Reviewed-on``. People, roles, keys,
the lifecycle and the rules are read from git history as they stood on the main line before the
commit that landed the evidence, never from the working tree. Records up to the ``baseline`` of
the rules are the legacy import. Audit derives; it never writes (but its signature cache).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

from servicebook.check import approvals as approval_rules
from servicebook.derive.audit import openpgp, signatures, sshsig, store
from servicebook.derive.audit.history import (  # noqa: F401 (re-exported: the audit's names)
    APPROVED_RECORD, CONFIG_PATHS, LIFECYCLE_PATH, RULES_PATH, Commit, History, Touch, _record_id,
    git_log, parse_log, parse_trailers, read_history,
)
from servicebook.load import yamlload
from servicebook.load.instants import instant_or_none
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.records import KINDS, SCHEMAS_DIR, find_files, kind_of_path

APPROVED_BY = "approved-by"
APPROVED_ROLE = "approved-role"
REVIEWED_ON = "reviewed-on"
APPROVED_BLOB = "approved-blob"
EVIDENCE = frozenset({APPROVED_BY, APPROVED_ROLE, REVIEWED_ON, APPROVED_RECORD, APPROVED_BLOB})
_ZERO = "0" * 40

# Entries dated a little after their commit are clock skew, not forgery.
SKEW = timedelta(minutes=5)
# Fields whose change after an approval is the lifecycle moving on, not an edit of the approved form.
LIFECYCLE_FIELDS = frozenset({"status", "history"})


# -- people, records, rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    roles: tuple[str, ...]
    email: str
    handle: str
    git_name: str
    # signing keys: (base64 key blob, valid from, valid until) -- instants as text, "" when open
    keys: tuple[tuple[str, str, str], ...] = ()

    def key_valid(self, blob: str, at: datetime | None) -> tuple[bool, str]:
        """Whether the key ``blob`` is this person's and valid at ``at``; else why not."""
        for key, start, end in self.keys:
            if key != blob:
                continue
            lo, hi = instant_or_none(start), instant_or_none(end)
            if at is not None and lo is not None and at < lo:
                return False, f"the key is valid from {start}, the commit is of {at.isoformat()}"
            if at is not None and hi is not None and at > hi:
                return False, f"the key was valid until {end}, the commit is of {at.isoformat()}"
            return True, ""
        return False, ""


def person_of(rid: str, data: dict) -> Person:
    git = data.get("git") if isinstance(data.get("git"), dict) else {}
    roles = data.get("roles") if isinstance(data.get("roles"), list) else []
    keys = []
    for k in data.get("signing_keys") if isinstance(data.get("signing_keys"), list) else []:
        if isinstance(k, dict) and isinstance(k.get("key"), str):
            blob = sshsig.key_blob(k["key"])
            if blob:
                keys.append((blob, str(k.get("valid_from") or ""), str(k.get("valid_until") or "")))
    return Person(rid, str(data.get("name", rid)), tuple(str(r) for r in roles),
                  str(git.get("email") or ""), str(git.get("handle") or ""),
                  str(git.get("name") or data.get("name_en") or ""), tuple(keys))


class People:
    """Person records indexed by id, e-mail and handle (all case-insensitive but the id)."""

    def __init__(self, persons: Iterable[Person]):
        self.by_id: dict[str, Person] = {}
        self.by_email: dict[str, Person] = {}
        self.by_handle: dict[str, Person] = {}
        for p in persons:
            self.by_id[p.id] = p
            if p.email:
                self.by_email[p.email.lower()] = p
            if p.handle:
                self.by_handle[p.handle.lower()] = p

    @classmethod
    def from_records(cls, records: dict[str, Any]) -> "People":
        return cls(person_of(rid, rec.data) for rid, rec in records.items()
                   if rec.kind == "person" and isinstance(rec.data, dict))

    def by_key(self, blob: str) -> list[Person]:
        return [p for p in self.by_id.values() if any(k[0] == blob for k in p.keys)]

    def find(self, who: str) -> Person | None:
        """A person by id, e-mail, handle (``@`` optional) or ``Name <email>``."""
        who = (who or "").strip()
        m = re.search(r"<([^>]+)>", who)
        if m:
            return self.by_email.get(m.group(1).strip().lower())
        return (self.by_id.get(who) or self.by_email.get(who.lower())
                or self.by_handle.get(who.lstrip("@").lower()))


@dataclass
class _Rec:  # the loader's Record shape, for the fallback path
    kind: str
    id: str
    path: Path
    data: Any


def parse_record(data: bytes) -> Any:
    """The one place audit parses YAML: the project's safe loader; None if unreadable."""
    try:
        return yamlload.parse(data)
    except yamlload.YamlProblem:
        return None


def load_records(root: Path, validate: bool = False, only: Iterable[str] | None = None,
                 history: History | None = None) -> dict[str, Any]:
    """id -> Record for the working tree.

    Audit needs the data only, so by default each file is parsed with the project's safe loader
    and nothing is schema-checked (``corpus.load`` explains every invalid record in detail, which
    costs seconds per thousand files). ``validate=True`` goes through ``corpus.load``. ``only``:
    just these records and the people (found where ``history`` last saw them), not every file."""
    if validate:
        from servicebook.load import corpus

        return dict(corpus.load(Path(root)).records)
    out: dict[str, Any] = {}
    for rel in find_files(Path(root)) if only is None else _files_of(Path(root), set(only), history):
        kind = kind_of_path(rel)
        if kind is None or rel.stem in out:
            continue
        data = parse_record((Path(root) / rel).read_bytes())
        if isinstance(data, dict):
            out[rel.stem] = _Rec(kind, rel.stem, rel, data)
    return out


def _files_of(root: Path, ids: set[str], history: History | None) -> list[Path]:
    """The files of ``ids`` and of every person, without walking 100,000 files when the history
    says where each record is (a record moved or not yet committed: the walk finds it)."""
    found = sorted(p.relative_to(root) for p in (root / "records" / "person").rglob("*.y*ml"))
    for rid in sorted(ids):
        ts = history.touches.get(rid, ()) if history is not None else ()
        if ts and ts[-1].status != "D" and (root / ts[-1].path).is_file():
            found.append(Path(ts[-1].path))
        else:
            return found + [rel for rel in find_files(root) if rel.stem in ids]
    return found


def load_lifecycle(root: Path) -> Lifecycle:
    return Lifecycle.load(Path(root) / SCHEMAS_DIR)


# -- the trail ------------------------------------------------------------------------------------


@dataclass
class Approval:
    commit: str
    at: str  # when it landed (committer date of the main-line commit)
    name: str
    email: str
    role: str | None  # Approved-role trailer
    person: str | None  # person id matched by e-mail
    reviewed_on: str | None
    status: str | None = None  # the approval status it proves, when it proves one
    signer: str = ""  # who signed the commit: "key of P-..." or "platform github", "" if nobody


@dataclass
class Change:
    commit: str
    at: str
    author: str
    email: str
    action: str  # created, changed, deleted
    path: str
    status_from: str | None = None
    status_to: str | None = None
    fields: list[str] | None = None  # None when not computed
    subject: str = ""
    imported: bool = False  # at or before the rules' baseline: the legacy import, not audited


@dataclass
class Finding:
    record: str
    rule: str
    message: str
    commit: str | None = None
    path: str = ""
    severity: str = "error"
    # what the message says, as data: the site words it in the page's language from the rule
    # (and `variant`) with these (status and role keys, person IDs, commit IDs, entry numbers)
    params: dict = field(default_factory=dict)


@dataclass
class Trail:
    id: str
    kind: str
    path: str
    created_by: str = ""
    created_email: str = ""
    created_at: str = ""
    changes: list[Change] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    deep: bool = False  # contents at every commit were read
    imported: bool = False  # created at or before the baseline (the legacy import)

    def as_dict(self) -> dict:
        return asdict(self)


def approvals_of(commit: Commit, people: People) -> list[Approval]:
    """``Approved-by`` trailers of one commit, each paired with the ``Approved-role`` and
    ``Reviewed-on`` that follow it (or the commit's only one)."""
    out: list[Approval] = []
    if not commit.trailers:
        return out
    roles = [v for k, v in commit.trailers if k == APPROVED_ROLE]
    urls = [v for k, v in commit.trailers if k == REVIEWED_ON]
    current: Approval | None = None
    for key, value in commit.trailers:
        if key == APPROVED_BY:
            m = re.match(r"\s*(.*?)\s*<([^>]*)>\s*$", value)
            name, email = (m.group(1), m.group(2)) if m else (value, "")
            person = people.by_email.get(email.lower()) if email else None
            current = Approval(commit.sha, commit.committed, name, email, None,
                               person.id if person else None, None)
            out.append(current)
        elif key == APPROVED_ROLE and current is not None and current.role is None:
            current.role = value
        elif key == REVIEWED_ON and current is not None and current.reviewed_on is None:
            current.reviewed_on = value
    for a in out:
        if a.role is None and len(roles) == 1:
            a.role = roles[0]
        if a.reviewed_on is None and urls:
            a.reviewed_on = urls[0]
    return out


def approved_blobs(commit: Commit) -> dict[str, str]:
    """record id -> the blob an approval commit names (``Approved-blob`` after each
    ``Approved-record``, in order)."""
    out: dict[str, str] = {}
    current = None
    for key, value in commit.trailers:
        if key == APPROVED_RECORD:
            current = value.strip()
        elif key == APPROVED_BLOB and current:
            blob = value.strip().lower()
            if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", blob):
                out[current] = blob
            current = None
    return out


def changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose value differs (``issues[0].cause``); a changed list item is named
    by its index, a list that only grew by the new indexes."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in new or key not in old:
                out.append(sub)
            else:
                out.extend(changed_fields(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            sub = f"{prefix}[{i}]"
            if i >= len(old) or i >= len(new):
                out.append(sub)
            else:
                out.extend(changed_fields(old[i], new[i], sub))
        return out
    return [] if old == new else [prefix or "(whole record)"]


class Auditor:
    """Audits records of one repository. ``Auditor(root).run(ids)`` -> list of Trail."""

    def __init__(self, root: Path | str = ".", rev: str = "HEAD", records: dict | None = None,
                 ids: Iterable[str] | None = None):
        """``ids``: only these records are asked about (the working tree's others are not read)."""
        import git  # GitPython

        self.root = Path(root)
        self.repo = git.Repo(self.root, search_parent_directories=False)
        self.rev = rev
        with ThreadPoolExecutor(1) as pool:
            # the whole working tree is read while git reads the history (git works on another core)
            tree = pool.submit(load_records, self.root) if records is None and ids is None else None
            self.history = store.open_history(self.repo, self.root, rev)
            self.records = (records if records is not None else tree.result() if tree is not None
                            else load_records(self.root, only=ids, history=self.history))
        # for display (the site, `approve`): people as they are now; every verdict asks people_at
        self.people = People.from_records(self.records)
        self.lifecycle = load_lifecycle(self.root)
        self._blobs: dict[str, Any] = {}
        self._approvals: dict[str, list[Approval]] = {}
        self._people_at: dict[int, People] = {}
        self._lifecycles: dict[str, Lifecycle] = {}
        self._evidence: dict[int, tuple[str, str] | None] = {}  # id(approval) -> problem
        self.verdicts = signatures.Verdicts(self.root, self.repo)
        self._parsed = signatures.Blobs(self.root, Path(yamlload.__file__).read_bytes())
        self._person_events = sorted(
            (self.history.position[t.sha], rid, t.new if t.status != "D" else "")
            for rid in self._ids_of_kind("person") for t in self.history.touches.get(rid, ()))
        self.general: list[Finding] = []  # findings about the rules, not one record
        self.baseline = self._baseline()

    def _ids_of_kind(self, kind: str) -> list[str]:
        kinds = self.history.kinds
        if isinstance(kinds, store.Table):
            return kinds.keys_with(kind)
        return [rid for rid, k in kinds.items() if k == kind]

    # contents ------------------------------------------------------------------------------
    def prefetch(self, blobs: Iterable[str]) -> None:
        """Read many blobs with one ``git cat-file --batch`` call."""
        todo = []
        cached = self._parsed
        wanted = {b for b in blobs if b and b not in self._blobs and b != _ZERO}
        cached.preload(wanted)
        for b in wanted:
            if b in cached:
                self._blobs[b] = cached[b]
            else:
                todo.append(b)
        raws = list(cat_file(self.repo, sorted(todo)))
        job = None
        if len(raws) >= PARSE_FORK_FROM:  # half of a long history is parsed on the other core
            job = signatures.Forked(_parse_all, raws[len(raws) // 2:])
            raws, rest = raws[:len(raws) // 2], raws[len(raws) // 2:]
        for sha, raw in raws:
            self._blobs[sha] = cached[sha] = parse_record(raw)
        if job is not None:
            parsed = job.collect()
            if not (isinstance(parsed, dict) and len(parsed) == len(rest)):
                parsed = _parse_all(rest)  # the worker failed: parse here
            self._blobs.update(parsed)
            cached.update(parsed)

    def data_at(self, blob: str) -> Any:
        if blob not in self._blobs:
            if not blob or set(blob) == {"0"}:
                self._blobs[blob] = None
            else:
                raw = self.repo.odb.stream(bytes.fromhex(blob)).read()  # git cat-file --batch
                self._blobs[blob] = parse_record(raw)
        return self._blobs[blob]

    # as of a main-line position (the state of main before the commit at that position) --------
    def _config_blob(self, path: str, pos: int) -> str | None:
        versions = self.history.config.get(path, [])
        i = bisect_left(versions, (pos, "")) - 1
        return versions[i][1] if i >= 0 else None

    def people_at(self, pos: int) -> People:
        """Person records as they stood on the main line before the commit at ``pos``."""
        k = bisect_left(self._person_events, (pos, "", ""))
        if k not in self._people_at:
            state: dict[str, str] = {}
            for _p, rid, blob in self._person_events[:k]:
                state[rid] = blob
            self.prefetch(state.values())
            self._people_at[k] = People(person_of(rid, d) for rid, b in state.items()
                                        if isinstance(d := self.data_at(b), dict))
        return self._people_at[k]

    def lifecycle_at(self, pos: int) -> Lifecycle:
        """``schemas/lifecycle.yaml`` before the commit at ``pos`` (the working tree's only in a
        history that never held it)."""
        blob = self._config_blob(LIFECYCLE_PATH, pos)
        if blob is None or set(blob) == {"0"}:
            return self.lifecycle
        if blob not in self._lifecycles:
            spec = self.data_at(blob)
            try:
                self._lifecycles[blob] = Lifecycle(spec) if isinstance(spec, dict) else self.lifecycle
            except (KeyError, TypeError, ValueError, AttributeError):
                self._lifecycles[blob] = self.lifecycle
        return self._lifecycles[blob]

    def rules_at(self, pos: int) -> dict:
        """``.github/review-rules.yaml`` before the commit at ``pos`` ({} when there was none)."""
        blob = self._config_blob(RULES_PATH, pos)
        data = self.data_at(blob) if blob else None
        return data if isinstance(data, dict) else {}

    def _baseline(self) -> int:
        """Main-line position of the rules' baseline (-1: none). The baseline is read from the
        rules at the audited tip; once set it may not move (a later version of the rules naming
        another baseline is a finding), so a change cannot import itself."""
        h = self.history
        tip = self.rules_at(len(h.mainline))
        named = tip.get("baseline")
        if not named:
            return -1
        named = str(named).strip()
        first = None
        for pos, blob in h.config.get(RULES_PATH, []):
            data = self.data_at(blob) if set(blob) != {"0"} else None
            value = str(data.get("baseline") or "").strip() if isinstance(data, dict) else ""
            if value and first is None:
                first = (value, pos)
            elif value and first and value != first[0]:
                self.general.append(Finding(
                    "review-rules", "audit.baseline",
                    f"commit {h.mainline[pos][:10]} moves the baseline from {first[0][:10]} to "
                    f"{value[:10]}; the baseline is set once (records up to it are imported "
                    "without evidence)", h.mainline[pos], "baseline",
                    params={"variant": "moved", "commit": h.mainline[pos], "from_commit": first[0], "to_commit": value}))
        match = [i for i, sha in enumerate(h.mainline) if sha.startswith(named.lower())]
        if len(match) != 1:
            self.general.append(Finding(
                "review-rules", "audit.baseline",
                f"baseline {named} is not a commit on the main line of this history; nothing "
                "is treated as imported", None, "baseline", "warning",
                params={"variant": "unknown", "baseline": named}))
            return -1
        return match[0]

    # the main entry --------------------------------------------------------------------------
    def run(self, ids: Iterable[str] | None = None, deep: bool = True,
            fields: bool | None = None) -> list[Trail]:
        """Trails of ``ids`` (every record the history or the tree knows when None). Every
        version of every record is read: history is checked for all of them."""
        h = self.history
        wanted = list(ids) if ids else None
        if wanted is None:
            for kept in (h.touches, h.commits, h.named, h.landing):  # every row: in one query
                if isinstance(kept, store.Table):
                    kept.load_all()
            wanted = sorted(set(h.touches) | set(self.records))
            candidates = h.commits
        else:  # the commits that can carry evidence about these records
            candidates = {s for rid in wanted for t in h.touches.get(rid, ())
                          for s in (t.sha, *t.contributors)} | {s for rid in wanted for s in h.named.get(rid, ())}
        if fields is None:
            fields = ids is not None
        commits = h.commits
        # signatures are verified (by a forked worker on a long history) while versions are read
        self.verdicts.start((sha for sha in candidates
                             if any(k in EVIDENCE for k, _v in commits[sha].trailers)), self._pgp_keys())
        self.prefetch(b for rid in wanted for t in self.history.touches.get(rid, ())
                      for b in [t.new] + [f[k] for c in t.contributors for f in commits[c].files
                                          if _record_id(f[3]) == rid for k in (1, 2)])
        self.verdicts.finish()
        out = [self.trail(rid, deep=True, fields=fields) for rid in wanted]
        self.verdicts.save()
        if ids is None:  # a whole run: keep what it read, drop versions no longer reachable
            self._parsed.save(keep=self._blobs)
        else:
            self._parsed.save()
        return out

    def report(self, ids: Iterable[str] | None = None, *, deep: bool = False, fields: bool = False) -> list[Trail]:
        """What `servicebook audit` reports and the site shows: the trail of each record (every
        one when ``ids`` is None) and, when the review rules have findings of their own (a moved
        baseline), their trail -- those concern every record."""
        trails = self.run(ids, deep=deep, fields=fields)
        rules = self.rules_trail()
        if rules is not None:
            trails.append(rules)
        return trails

    def rules_trail(self) -> Trail | None:
        """The findings about the rules themselves (``audit.baseline``), as a trail of
        ``.github/review-rules.yaml``; None when there are none."""
        if not self.general:
            return None
        t = Trail("review-rules", "rules", RULES_PATH)
        t.findings.extend(self.general)
        return t

    def needs_contents(self, rid: str) -> bool:
        """Kept for callers of the former shallow mode: every record's versions are read now."""
        return True

    def approvals_in(self, sha: str) -> list[Approval]:
        """The approvals one commit carries (the same objects on every call); the approver is
        the person of that e-mail as of main before the commit landed."""
        if sha not in self._approvals:
            people = self.people_at(self.history.pos_of(sha))
            self._approvals[sha] = approvals_of(self.history.commits[sha], people)
        return self._approvals[sha]

    def _approvals_for(self, touch: Touch) -> list[Approval]:
        out = list(self.approvals_in(touch.sha))
        for c in touch.contributors:
            out.extend(self.approvals_in(c))
        return out

    def trail(self, rid: str, deep: bool = True, fields: bool = False) -> Trail:
        h = self.history
        touches = h.touches.get(rid, [])
        rec = self.records.get(rid)
        kind = h.kinds.get(rid) or (rec.kind if rec is not None else "")
        path = touches[-1].path if touches else (str(rec.path) if rec is not None else "")
        t = Trail(rid, kind, path)
        if not touches:
            t.findings.append(Finding(rid, "audit.uncommitted",
                                      "the record is not in the committed history", None, path,
                                      "warning"))
            return t
        t.deep = True
        first = touches[0]
        creator = self._creator(first)
        t.created_by, t.created_email, t.created_at = creator.author, creator.email, creator.authored
        t.imported = h.position[first.sha] <= self.baseline
        versions = [self.data_at(x.new) if x.status != "D" else None for x in touches]
        prev_data = None
        for i, x in enumerate(touches):
            c = h.commits[x.sha]
            data = versions[i]
            action = {"A": "created", "D": "deleted"}.get(x.status, "changed")
            if i == 0 and x.status == "A":
                action = "created"
            ch = Change(x.sha, c.committed, *self._author_of(x), action=action, path=x.path,
                        subject=c.subject, imported=h.position[x.sha] <= self.baseline)
            if isinstance(data, dict) or isinstance(prev_data, dict):
                old_status = prev_data.get("status") if isinstance(prev_data, dict) else None
                new_status = data.get("status") if isinstance(data, dict) else None
                ch.status_from, ch.status_to = old_status, new_status
                if fields and i > 0:
                    ch.fields = changed_fields(prev_data or {}, data or {})
            t.changes.append(ch)
            for a in self._approvals_for(x):
                t.approvals.append(a)
            if x.status != "D":
                prev_data = data
        for sha in sorted(h.named.get(rid, ()), key=h.pos_of):  # in main-line order
            for a in self.approvals_in(sha):
                if all(a is not b for b in t.approvals):
                    t.approvals.append(a)
        self._check_deep(t, touches, versions, rec)
        return t

    def _creator(self, touch: Touch) -> Commit:
        """Who first committed the file: the earliest branch commit merged in, else the commit."""
        cands = [self.history.commits[c] for c in touch.contributors]
        added = [c for c in cands if any(f[0] == "A" for f in c.files)] or cands
        if added:
            return min(added, key=lambda c: instant_or_none(c.authored) or datetime.max.astimezone())
        return self.history.commits[touch.sha]

    def _author_of(self, touch: Touch) -> tuple[str, str]:
        c = self.history.commits[touch.sha]
        if touch.contributors:
            authors = {}
            for s in touch.contributors:
                b = self.history.commits[s]
                authors.setdefault(b.email, b.author)
            return ", ".join(authors.values()), ", ".join(authors)
        return c.author, c.email

    # checks ------------------------------------------------------------------------------------
    def _check_deep(self, t: Trail, touches: list[Touch], versions: list[Any], rec) -> None:
        h, kind = self.history, t.kind
        prev_hist: list = []
        prev_data: dict | None = None
        fillers: set[str] = set()  # every filled_by of any version
        authors: dict[str, str] = {}  # e-mail (lower case) -> commit of a content change
        standing: dict | None = None  # {"role", "status", "data", "commit"} of the approval in force
        for i, x in enumerate(touches):
            data = versions[i]
            c = h.commits[x.sha]
            pos = h.position[x.sha]
            imported = pos <= self.baseline
            if x.status == "D" or not isinstance(data, dict):
                continue  # a deleted record's history goes on when it comes back
            lc = self.lifecycle_at(pos)
            # every version that led here, the branch commits' too, counts for four eyes
            for v in [data] + [self.data_at(f[2]) for s in x.contributors
                               for f in h.commits[s].files if _record_id(f[3]) == t.id]:
                if isinstance(v, dict) and isinstance(v.get("filled_by"), str):
                    fillers.add(v["filled_by"])
            # authors of a content change (not only status and history): each branch commit
            # by its own diff, a main-line commit without branch commits by the record's change
            if x.contributors:
                for s in x.contributors:
                    for f in h.commits[s].files:
                        if _record_id(f[3]) == t.id and f[0] != "D" and _content_changed(
                                self.data_at(f[1]), self.data_at(f[2])):
                            authors.setdefault(h.commits[s].email.lower(), s)
            elif _content_changed(prev_data, data):
                authors.setdefault(c.email.lower(), x.sha)
            hist = data.get("history") if isinstance(data.get("history"), list) else []
            same = 0
            while same < min(len(prev_hist), len(hist)) and prev_hist[same] == hist[same]:
                same += 1
            if same < len(prev_hist) and not imported:
                back = " (the record was deleted and added again)" if i and touches[i - 1].status == "D" else ""
                t.findings.append(Finding(
                    t.id, "history.rewritten",
                    f"commit {x.sha[:10]} changes or removes history entries that were already "
                    f"committed (entry {same + 1} onwards){back}; history is append-only", x.sha,
                    f"history[{same}]", params={"commit": x.sha, "entry": same + 1}))
            landed = instant_or_none(c.committed)
            approvals = self._approvals_for(x)
            later = self._named_approvals(t.id, x, touches[i + 1] if i + 1 < len(touches) else None)
            new_entries = [(j, e) for j, e in enumerate(hist) if j >= same and isinstance(e, dict)]
            reapproved = False
            for j, entry in new_entries:
                at = instant_or_none(entry.get("at"))
                if at and landed and at > landed + SKEW and not imported:
                    t.findings.append(Finding(
                        t.id, "history.future",
                        f"history entry {j + 1} is dated {entry.get('at')}, after the commit that "
                        f"introduced it ({c.committed}, {x.sha[:10]})", x.sha, f"history[{j}].at",
                        params={"entry": j + 1, "at": entry.get("at"), "committed": c.committed, "commit": x.sha}))
                status = entry.get("status")
                role = approval_rules.needed_role(lc, kind, status)
                if not role:
                    continue
                if imported:
                    standing = {"role": role, "status": status, "data": data, "commit": x.sha}
                    reapproved = True
                    continue
                valid = self._check_approval(t, x, j, entry, role, approvals + later, fillers,
                                             authors, lc)
                if valid:
                    standing = {"role": role, "status": status, "commit": x.sha,
                                "data": self._approved_data(valid[0], t.id, x, data)}
                    reapproved = True
            # an edit that carries a valid approval for the approval in force re-approves it
            if standing and not reapproved and not imported:
                valid = self._valid_approvals(t.id, x, standing["role"], approvals + later,
                                              fillers, authors, lc)
                if valid:
                    standing = {**standing, "commit": x.sha,
                                "data": self._approved_data(valid[0], t.id, x, data)}
            if standing and not imported:
                edited = changed_fields(_strip(standing["data"]), _strip(data))
                if edited:
                    t.findings.append(Finding(
                        t.id, "approval.changed-after",
                        f"changed after the '{standing['status']}' approval of "
                        f"{standing['commit'][:10]} without a new approval by a "
                        f"{standing['role']} (commit {x.sha[:10]}): " + ", ".join(edited[:8])
                        + (" ..." if len(edited) > 8 else ""), x.sha, edited[0],
                        params={"status": standing["status"], "approval_commit": standing["commit"],
                                "role": standing["role"], "commit": x.sha, "fields": list(edited)}))
                    standing = {**standing, "data": data}  # report each edit once
            if standing:
                cur = data.get("status")
                if (isinstance(cur, str) and cur != standing["status"]
                        and standing["status"] in _reachable(lc, kind, cur)):
                    standing = None  # moved back before the approval step: approval withdrawn
            prev_hist, prev_data = hist, data

    def _approved_data(self, a: Approval, rid: str, x: Touch, landed: Any) -> Any:
        """The version an approval approved: the blob it names (``Approved-blob``), else the
        version its own commit wrote, else the version in force when it was given."""
        commit = self.history.commits[a.commit]
        blob = approved_blobs(commit).get(rid)
        if blob is None:
            blob = next((f[2] for f in commit.files if _record_id(f[3]) == rid and f[0] != "D"), None)
        if blob is None:
            return landed
        self.prefetch([blob])  # a named blob may be missing from the repository: then {}
        data = self._blobs.get(blob)
        return data if isinstance(data, dict) else {}

    def _named_approvals(self, rid: str, touch: Touch, nxt: Touch | None) -> list[Approval]:
        """Approval commits naming the record (``Approved-record``) after ``touch`` and before
        the record's next change: evidence added after the fact for the version in force."""
        h = self.history
        lo, hi = h.position[touch.sha], h.position[nxt.sha] if nxt else len(h.mainline)
        out = []
        for sha in h.named.get(rid, ()):
            if lo < h.pos_of(sha) < hi or h.landing.get(sha) == touch.sha:
                if sha not in touch.contributors:
                    out.extend(self.approvals_in(sha))
        return out

    def evidence_problem(self, a: Approval) -> tuple[str, str] | None:
        """Why the commit carrying ``a`` does not prove it (``approval.unsigned`` /
        ``approval.signer``), or None: signed by a key of the Approved-by person valid at the
        commit, or by a platform key the rules name, with a ``Reviewed-on``. Keys, people and
        rules as they stood on main before the commit landed."""
        if id(a) in self._evidence:
            return self._evidence[id(a)]
        h = self.history
        commit = h.commits[a.commit]
        pos = h.pos_of(a.commit)
        people = self.people_at(pos)
        v = self.verdicts.get(a.commit)
        problem: tuple[str, str, dict] | None = None
        said = {"commit": a.commit, "name": a.name}
        who = f"{a.name} <{a.email}>"
        if v.status == sshsig.UNSIGNED:
            problem = ("approval.unsigned",
                       f"commit {a.commit[:10]} carries an approval by {who} but is not signed; "
                       "evidence counts only in a commit signed with the approver's SSH key "
                       "(servicebook approve signs it)", said)
        elif v.status == signatures.UNKNOWN_KEY:
            problem = ("approval.signer",
                       f"commit {a.commit[:10]} carries an approval by {who} but is signed by the "
                       f"OpenPGP key {v.key[4:] or '?'}, which no platform of {RULES_PATH} names "
                       "(people sign with SSH keys; a platform's key must be committed there)",
                       {**said, "variant": "unknown_key", "key": v.key[4:] or "?", "rules": RULES_PATH})
        elif v.status != sshsig.GOOD:
            problem = ("approval.signer", f"commit {a.commit[:10]}: the signature does not verify "
                                          f"({v.reason})", {**said, "variant": "bad", "reason": v.reason})
        elif (person := people.by_email.get(a.email.lower()) if a.email else None) is None:
            problem = None  # nobody's approval: approval.unknown-person says so
        else:
            ok, why = person.key_valid(v.key, instant_or_none(commit.committed))
            if ok:
                a.signer = f"key of {person.id} ({sshsig.fingerprint(v.key)})"
            else:
                platform = self._platform(v.key, pos)
                if platform and re.fullmatch(r"https?://\S+", a.reviewed_on or ""):
                    a.signer = f"platform {platform}"
                elif platform:
                    problem = ("approval.signer",
                               f"commit {a.commit[:10]} is signed by the {platform} platform key "
                               "but names no review (Reviewed-on: the review's address); a "
                               "platform signature proves only a review the platform recorded",
                               {**said, "variant": "no_review", "platform": platform})
                else:
                    owners = [p.id for p in people.by_key(v.key)]
                    whose = (f"a key of {', '.join(owners)}" if owners
                             else "a key no person record held on main before the commit")
                    problem = ("approval.signer",
                               f"commit {a.commit[:10]} carries an approval by {who} but is signed "
                               f"with {_key_name(v.key)}, {whose}"
                               + (f"; {why}" if why else ""),
                               {**said, "variant": "wrong_key", "key": _key_name(v.key), "persons": owners})
        self._evidence[id(a)] = problem
        return problem

    def _platform(self, blob: str, pos: int) -> str | None:
        """The platform of the rules (as of ``pos``) whose key made the signature: an SSH key
        (its base64 blob) or an OpenPGP key (``pgp:FINGERPRINT``)."""
        platforms = self.rules_at(pos).get("platforms")
        if not isinstance(platforms, dict):
            return None
        for name, spec in platforms.items():
            keys = spec.get("keys") if isinstance(spec, dict) else None
            if isinstance(keys, list) and any(blob in _platform_key_ids(k) for k in keys):
                return str(name)
        return None

    def _pgp_keys(self) -> list:
        """Every OpenPGP key any version of the rules names for a platform."""
        out = []
        for _pos, blob in self.history.config.get(RULES_PATH, []):
            data = self.data_at(blob) if blob != _ZERO else None
            platforms = data.get("platforms") if isinstance(data, dict) else None
            for spec in platforms.values() if isinstance(platforms, dict) else ():
                for k in spec.get("keys") or [] if isinstance(spec, dict) else ():
                    out.extend(_pgp_public_keys(k))
        return out

    def _valid_approvals(self, rid, x, role, approvals, fillers, authors, lc) -> list[Approval]:
        """The approvals that prove ``role``, quietly (for re-approval of an edit)."""
        out = []
        for a in approvals:
            if a.role not in (None, role) or self.evidence_problem(a):
                continue
            person = self.people_at(self.history.pos_of(a.commit)).by_email.get(a.email.lower())
            if person is None or role not in person.roles:
                continue
            if person.id in fillers or (person.email and person.email.lower() in authors):
                continue
            out.append(a)
        return out

    def _check_approval(self, t: Trail, x: Touch, j: int, entry: dict, role: str,
                        approvals: list[Approval], fillers: set[str], authors: dict[str, str],
                        lc: Lifecycle) -> list[Approval]:
        status = entry.get("status")
        where = f"history[{j}]"
        if not approvals:
            t.findings.append(Finding(
                t.id, "approval.missing",
                f"'{status}' needs an approval by a {role}, but commit {x.sha[:10]} that brought it "
                "onto the main line carries no Approved-by trailer", x.sha, where,
                params={"status": status, "role": role, "commit": x.sha}))
            return []
        valid: list[Approval] = []
        persons: list[Person] = []
        for a in approvals:
            a.status = a.status or status
            problem = self.evidence_problem(a)
            if problem:
                t.findings.append(Finding(t.id, problem[0], problem[1], a.commit, where, params=problem[2]))
                continue
            people = self.people_at(self.history.pos_of(a.commit))
            person = people.by_email.get(a.email.lower()) if a.email else None
            if a.role and a.role != role:
                t.findings.append(Finding(
                    t.id, "approval.role",
                    f"'{status}' needs a {role}; {a.name} <{a.email}> approved as {a.role}",
                    a.commit, where, params={"variant": "claimed", "status": status, "role": role,
                                             "name": a.name, "as_role": a.role}))
                continue
            if person is None:
                t.findings.append(Finding(
                    t.id, "approval.unknown-person",
                    f"Approved-by {a.name} <{a.email}> on {x.sha[:10]} matches no person record's "
                    "git e-mail (as of main before the commit)", a.commit, where,
                    params={"name": a.name, "commit": x.sha}))
                continue
            authored = authors.get(person.email.lower()) if person.email else None
            approved = self._approved_data(a, t.id, x, None)  # the version it approves counts too
            named = approved.get("filled_by") if isinstance(approved, dict) else None
            fillers = fillers | ({named} if isinstance(named, str) else set())
            wrong = approval_rules.judge(lc, t.kind, status, person.id, person.roles,
                                         fillers | ({person.id} if authored else set()))
            if any(p.rule == approval_rules.ROLE for p in wrong):
                t.findings.append(Finding(
                    t.id, "approval.role",
                    f"'{status}' needs a {role}; approver {person.id} ({a.name} <{a.email}>) "
                    f"held {', '.join(person.roles) or 'no role'} on main before the commit",
                    a.commit, where, params={"variant": "held", "status": status, "role": role,
                                             "person": person.id, "held": list(person.roles)}))
                continue
            if wrong:
                t.findings.append(Finding(
                    t.id, "approval.self",
                    f"{person.id} approves '{status}' but "
                    + (f"filled the form (filled_by in a version of it)" if person.id in fillers
                       else f"committed the form ({authored[:10]}: a content change)"),
                    a.commit, where, params={"variant": "filled" if person.id in fillers else "committed",
                                             "person": person.id, "status": status, "authored": authored or ""}))
                continue
            valid.append(a)
            persons.append(person)
        if persons and entry.get("by") not in {p.id for p in persons}:
            t.findings.append(Finding(
                t.id, "history.mismatch",
                f"history entry {j + 1} says '{status}' by {entry.get('by')}, but the approval "
                f"evidence on {x.sha[:10]} is by {', '.join(p.id for p in persons)}", x.sha,
                f"{where}.by", params={"entry": j + 1, "status": status, "by": entry.get("by"), "commit": x.sha,
                                       "persons": [p.id for p in persons]}))
        return valid


def _key_name(key: str) -> str:
    if key.startswith("pgp:"):
        return f"the OpenPGP key {key[4:]}"
    return sshsig.fingerprint(key) if key else "an unreadable key"


def _pgp_public_keys(text) -> list:
    if not isinstance(text, str) or "BEGIN PGP PUBLIC KEY BLOCK" not in text:
        return []
    try:
        return openpgp.public_keys(text)
    except (openpgp.Malformed, IndexError):
        return []


def _platform_key_ids(text) -> set[str]:
    """How verdicts name the key(s) of one ``keys:`` entry of a platform."""
    if not isinstance(text, str):
        return set()
    if "BEGIN PGP PUBLIC KEY BLOCK" in text:
        return {f"pgp:{k.fingerprint}" for k in _pgp_public_keys(text)}
    blob = sshsig.key_blob(text)
    return {blob} if blob else set()


# from this many record versions to parse, half go to a forked worker
PARSE_FORK_FROM = 20000


def _parse_all(raws: list[tuple[str, bytes]]) -> dict[str, Any]:
    return {sha: parse_record(raw) for sha, raw in raws}


def cat_file(repo, shas: list[str]) -> Iterable[tuple[str, bytes]]:
    """(sha, raw object) of many objects with one ``git cat-file --batch`` call."""
    import tempfile

    if not shas:
        return
    with tempfile.TemporaryFile() as names:
        names.write("\n".join(shas).encode() + b"\n")
        names.seek(0)
        out = repo.git.cat_file("--batch", istream=names, stdout_as_string=False,
                                strip_newline_in_stdout=False)
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        yield header[0].decode(), out[pos:pos + size]
        pos += size + 1


def _content_changed(old: Any, new: Any) -> bool:
    """Whether a version changes the form itself (a creation does), not only its lifecycle."""
    if not isinstance(old, dict):
        return isinstance(new, dict)
    return isinstance(new, dict) and _strip(old) != _strip(new)


def _strip(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in LIFECYCLE_FIELDS}


def _reachable(lc: Lifecycle, kind: str, start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        s = stack.pop()
        for n in lc.allowed(kind, s):
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return seen


def audit(root: Path | str = ".", ids: Iterable[str] | None = None, *, deep: bool = False,
          fields: bool | None = None, rev: str = "HEAD") -> list[Trail]:
    """Trails of the records ``ids`` (all records when None)."""
    return Auditor(root, rev).run(ids, deep=deep, fields=fields)


def pending_approvals(records: dict[str, Any], lifecycle: Lifecycle) -> list[tuple[Any, str, str]]:
    """(record, approval status, role) for every record whose next step is an approval."""
    out = []
    for rec in records.values():
        if not lifecycle.has(rec.kind) or not isinstance(rec.data, dict):
            continue
        cur = rec.data.get("status")
        for nxt in lifecycle.allowed(rec.kind, cur) if isinstance(cur, str) else ():
            role = lifecycle.approval_role(rec.kind, nxt)
            if role:
                out.append((rec, nxt, role))
                break
    return out


def findings(trails: Iterable[Trail]) -> list[Finding]:
    return [f for t in trails for f in t.findings]


def violations(trails: Iterable[Trail]) -> list[Finding]:
    """The findings that are violations (errors): what `servicebook audit` counts and fails on,
    and what the site's home and approvals pages count."""
    return [f for f in findings(trails) if f.severity == "error"]


def by_rule(found: Iterable[Finding]) -> list[tuple[str, int]]:
    """How many findings of each rule, the most frequent first."""
    counts: dict[str, int] = {}
    for f in found:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return sorted(counts.items(), key=lambda x: (-x[1], x[0]))


def to_problems(trails: Iterable[Trail]):
    """Findings as ``problems.Problem`` for the shared text/json/github formats."""
    from servicebook.load.problems import Problem

    out = []
    for t in trails:
        for f in t.findings:
            out.append(Problem(t.path or t.id, 1, 1, f.path, f.rule,
                               f.message + (f" [{f.commit[:10]}]" if f.commit else ""), f.severity))
    return out


def format_trail(t: Trail) -> str:
    lines = [f"{t.id} ({t.kind}) {t.path}"]
    if t.created_at:  # the review rules' own trail (their findings) has no creation to show
        lines.append(f"  created {t.created_at} by {t.created_by} <{t.created_email}>"
                     + (" (imported: before the baseline)" if t.imported else ""))
    for ch in t.changes[1:] if t.changes and t.changes[0].action == "created" else t.changes:
        move = (f" {ch.status_from} -> {ch.status_to}"
                if ch.status_from != ch.status_to and (ch.status_from or ch.status_to) else "")
        what = f" fields: {', '.join(ch.fields)}" if ch.fields else ""
        lines.append(f"  {'imported' if ch.imported else ch.action} {ch.at} by {ch.author} "
                     f"[{ch.commit[:10]}]{move}{what}")
    for a in t.approvals:
        lines.append(f"  approval {a.at} {a.name} <{a.email}> as {a.role or '?'}"
                     f" ({a.person or 'unknown person'}) [{a.commit[:10]}]"
                     + (f" for '{a.status}'" if a.status else "")
                     + (f" signed by the {a.signer}" if a.signer else "")
                     + (f" {a.reviewed_on}" if a.reviewed_on else ""))
    for f in t.findings:
        lines.append(f"  {f.severity} [{f.rule}] {f.message}")
    return "\n".join(lines)


__all__ = [
    "Approval", "Auditor", "Change", "Commit", "Finding", "History", "People", "Person", "Trail",
    "approved_blobs", "approvals_of", "audit", "cat_file", "changed_fields", "findings",
    "format_trail", "git_log", "load_records", "parse_log", "parse_trailers", "pending_approvals",
    "person_of", "read_history", "to_problems", "KINDS",
]
