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

The approver is matched to a person record by ``git.email``. Audit derives; it never writes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

from servicebook.load import yamlload
from servicebook.load.instants import instant_or_none
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.records import KINDS, RECORDS_DIR, SCHEMAS_DIR, find_files, kind_of_path

APPROVED_BY = "approved-by"
APPROVED_ROLE = "approved-role"
REVIEWED_ON = "reviewed-on"
APPROVED_RECORD = "approved-record"

_RS, _FS, _TS = "\x1e", "\x1f", "\x1d"
_RECORDS_PREFIX = RECORDS_DIR + "/"
LOG_FORMAT = "%x1e" + "%x1f".join(
    ["%H", "%P", "%an", "%ae", "%aI", "%cI", "%s", "%(trailers:only,unfold,separator=%x1d)"]
) + "%x1f"
# Entries dated a little after their commit are clock skew, not forgery.
SKEW = timedelta(minutes=5)
# Fields whose change after an approval is the lifecycle moving on, not an edit of the approved form.
LIFECYCLE_FIELDS = frozenset({"status", "history"})


# -- reading history ------------------------------------------------------------------------------


@dataclass(slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    authored: str  # ISO 8601 with offset
    committed: str
    subject: str
    trailers: tuple[tuple[str, str], ...]  # (lower-case key, value), in order
    files: list[tuple[str, str, str, str]]  # (status letter, old blob, new blob, path)


@dataclass(slots=True)
class Touch:
    """One commit on the main line that changed one record file."""

    sha: str  # the main-line (landing) commit
    status: str  # A, M, D
    old: str
    new: str
    path: str
    contributors: tuple[str, ...] = ()  # branch commits (merged by `sha`) that touched the file


@dataclass
class History:
    commits: dict[str, Commit]
    mainline: list[str]  # first-parent chain, oldest first
    position: dict[str, int]  # main-line sha -> index in mainline
    touches: dict[str, list[Touch]]  # record id -> its main-line changes, oldest first
    kinds: dict[str, str]  # record id -> kind (from its last path)
    named: dict[str, list[str]]  # record id -> commits naming it in `Approved-record`


def parse_trailers(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in text.split(_TS):
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out.append((key.strip().lower(), value.strip()))
    return tuple(out)


def start_git_log(repo, rev: str = "HEAD"):
    """Start the history read; ``finish_git_log`` collects it. Meanwhile the caller can read the
    working tree (the two use different cores)."""
    import threading

    proc = repo.git.log(*_log_args(rev), as_process=True)
    box: dict[str, bytes] = {}

    def drain(name: str, stream) -> None:  # a full pipe would stall git
        box[name] = stream.read()

    threads = [threading.Thread(target=drain, args=(n, st), daemon=True)
               for n, st in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    return proc, threads, box


def finish_git_log(started) -> str:
    import git

    proc, threads, box = started
    for t in threads:
        t.join()
    status = proc.proc.wait() if getattr(proc, "proc", None) is not None else 0
    if status:
        raise git.GitCommandError(["git", "log"], status, box.get("err", b""))
    return box.get("out", b"").decode("utf-8", "replace")


def _log_args(rev: str) -> list[str]:
    return [rev, f"--format={LOG_FORMAT}", "--raw", "--no-abbrev", "-z", "--no-renames",
            "--diff-merges=first-parent"]


def git_log(repo, rev: str = "HEAD") -> str:
    """The single history read: every commit reachable from ``rev`` with its raw diff (merges
    against their first parent). No pathspec: git matches a pathspec per changed file, which
    costs more than the few non-record lines it saves; other paths are skipped while parsing."""
    return repo.git.log(*_log_args(rev))


def parse_log(output: str) -> dict[str, Commit]:
    commits: dict[str, Commit] = {}
    for chunk in output.split(_RS):
        if not chunk:
            continue
        parts = chunk.split(_FS, 8)
        if len(parts) < 9:
            continue
        sha, parents, author, email, authored, committed, subject, trailers, raw = parts
        files = []
        tokens = raw.split("\0")
        i = 0
        while i < len(tokens):
            meta = tokens[i].strip()
            if meta.startswith(":") and i + 1 < len(tokens):
                path = tokens[i + 1]
                if path.startswith(_RECORDS_PREFIX):
                    fields = meta.split()
                    files.append((fields[4][:1], fields[2], fields[3], path))
                i += 2
            else:
                i += 1
        commits[sha] = Commit(sha, tuple(parents.split()), author, email, authored, committed,
                              subject, parse_trailers(trailers), files)
    return commits


def read_history(repo, rev: str = "HEAD", output: str | None = None) -> History:
    commits = parse_log(git_log(repo, rev) if output is None else output)
    head = repo.git.rev_parse(rev) if commits else None
    # The main line: first parents from the tip.
    mainline: list[str] = []
    sha = head
    while sha and sha in commits:
        mainline.append(sha)
        parents = commits[sha].parents
        sha = parents[0] if parents else None
    mainline.reverse()
    position = {s: i for i, s in enumerate(mainline)}
    # Every other commit is brought in by the first main-line merge that reaches it.
    landing: dict[str, str] = {}
    for m in mainline:
        stack = list(commits[m].parents[1:])
        while stack:
            c = stack.pop()
            if c in position or c in landing or c not in commits:
                continue
            landing[c] = m
            stack.extend(commits[c].parents)
    contributed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c, m in landing.items():
        for _st, _old, _new, path in commits[c].files:
            contributed[(m, _record_id(path))].append(c)
    touches: dict[str, list[Touch]] = defaultdict(list)
    kinds: dict[str, str] = {}
    named: dict[str, list[str]] = defaultdict(list)
    for m in mainline:
        commit = commits[m]
        for st, old, new, path in commit.files:
            rid = _record_id(path)
            parts = path.split("/", 2)
            kind = parts[1] if len(parts) == 3 and parts[1] in KINDS else None
            if not rid or kind is None:
                continue
            kinds[rid] = kind
            touches[rid].append(Touch(m, st, old, new, path, tuple(contributed.get((m, rid), ()))))
        for key, value in commit.trailers:
            if key == APPROVED_RECORD:
                named[value].append(m)
    # Two files with one ID in one commit (a move without rename detection): keep the addition.
    for rid, ts in touches.items():
        merged: list[Touch] = []
        for t in ts:
            if merged and merged[-1].sha == t.sha:
                keep = t if t.status != "D" else merged[-1]
                other = merged[-1] if keep is t else t
                merged[-1] = Touch(t.sha, "M", other.old if other.status == "D" else keep.old,
                                   keep.new, keep.path, keep.contributors or other.contributors)
            else:
                merged.append(t)
        touches[rid] = merged
    return History(commits, mainline, position, dict(touches), kinds, dict(named))


def _record_id(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return ""


# -- people, records, rules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    roles: tuple[str, ...]
    email: str
    handle: str
    git_name: str


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
        out = []
        for rid, rec in records.items():
            if rec.kind != "person" or not isinstance(rec.data, dict):
                continue
            git = rec.data.get("git") if isinstance(rec.data.get("git"), dict) else {}
            roles = rec.data.get("roles") if isinstance(rec.data.get("roles"), list) else []
            out.append(Person(rid, str(rec.data.get("name", rid)), tuple(str(r) for r in roles),
                              str(git.get("email") or ""), str(git.get("handle") or ""),
                              str(git.get("name") or rec.data.get("name_en") or "")))
        return cls(out)

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


def load_records(root: Path, validate: bool = False) -> dict[str, Any]:
    """id -> Record for the working tree.

    Audit needs the data only, so by default each file is parsed with the project's safe loader
    and nothing is schema-checked (``corpus.load`` explains every invalid record in detail, which
    costs seconds per thousand files). ``validate=True`` goes through ``corpus.load``."""
    if validate:
        from servicebook.load import corpus

        return dict(corpus.load(Path(root)).records)
    out: dict[str, Any] = {}
    for rel in find_files(Path(root)):
        kind = kind_of_path(rel)
        if kind is None or rel.stem in out:
            continue
        data = parse_record((Path(root) / rel).read_bytes())
        if isinstance(data, dict):
            out[rel.stem] = _Rec(kind, rel.stem, rel, data)
    return out


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


@dataclass
class Finding:
    record: str
    rule: str
    message: str
    commit: str | None = None
    path: str = ""
    severity: str = "error"


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


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, 1)[0]


class Auditor:
    """Audits records of one repository. ``Auditor(root).run(ids)`` -> list of Trail."""

    def __init__(self, root: Path | str = ".", rev: str = "HEAD", records: dict | None = None):
        import git  # GitPython

        self.root = Path(root)
        self.repo = git.Repo(self.root, search_parent_directories=False)
        self.rev = rev
        proc = start_git_log(self.repo, rev)
        try:
            self.records = records if records is not None else load_records(self.root)
        finally:
            output = finish_git_log(proc)
        self.history = read_history(self.repo, rev, output)
        self.people = People.from_records(self.records)
        self.lifecycle = load_lifecycle(self.root)
        self._blobs: dict[str, Any] = {}
        self._approvals: dict[str, list[Approval]] = {}
        self._needs: dict[str, bool] = {}

    # contents ------------------------------------------------------------------------------
    def prefetch(self, blobs: Iterable[str]) -> None:
        """Read many blobs with one ``git cat-file --batch`` call."""
        import tempfile

        todo = sorted({b for b in blobs if b and b not in self._blobs and set(b) != {"0"}})
        if not todo:
            return
        with tempfile.TemporaryFile() as names:
            names.write("\n".join(todo).encode() + b"\n")
            names.seek(0)
            out = self.repo.git.cat_file("--batch", istream=names, stdout_as_string=False,
                                         strip_newline_in_stdout=False)
        pos = 0
        while pos < len(out):
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            self._blobs[header[0].decode()] = parse_record(out[pos:pos + size])
            pos += size + 1

    def data_at(self, blob: str) -> Any:
        if blob not in self._blobs:
            if not blob or set(blob) == {"0"}:
                self._blobs[blob] = None
            else:
                raw = self.repo.odb.stream(bytes.fromhex(blob)).read()  # git cat-file --batch
                self._blobs[blob] = parse_record(raw)
        return self._blobs[blob]

    # the main entry --------------------------------------------------------------------------
    def run(self, ids: Iterable[str] | None = None, deep: bool = False,
            fields: bool | None = None) -> list[Trail]:
        wanted = list(ids) if ids else None
        if wanted is None:
            wanted = sorted(set(self.history.touches) | set(self.records))
        if fields is None:
            fields = ids is not None
        deep = deep or ids is not None
        need = [rid for rid in wanted if fields or deep or self.needs_contents(rid)]
        self.prefetch(t.new for rid in need for t in self.history.touches.get(rid, ()))
        return [self.trail(rid, deep=deep, fields=fields) for rid in wanted]

    def needs_contents(self, rid: str) -> bool:
        """Whether the record's old versions must be read: it has approval steps, or approval
        trailers name it."""
        if rid not in self._needs:
            self._needs[rid] = self._needs_contents(rid)
        return self._needs[rid]

    def _needs_contents(self, rid: str) -> bool:
        kind = self.history.kinds.get(rid) or getattr(self.records.get(rid), "kind", None)
        if not kind or not self.lifecycle.has(kind):
            return False
        rec = self.records.get(rid)
        hist = rec.data.get("history") if rec is not None and isinstance(rec.data, dict) else None
        if isinstance(hist, list) and any(
            isinstance(h, dict) and self.lifecycle.approval_role(kind, str(h.get("status")))
            for h in hist
        ):
            return True
        commits = self.history.commits

        def signed(sha: str) -> bool:
            return any(k == APPROVED_BY for k, _v in commits[sha].trailers)

        return rid in self.history.named or any(
            signed(t.sha) or any(signed(c) for c in t.contributors)
            for t in self.history.touches.get(rid, ()))

    def approvals_in(self, sha: str) -> list[Approval]:
        """The approvals one commit carries (the same objects on every call)."""
        if sha not in self._approvals:
            self._approvals[sha] = approvals_of(self.history.commits[sha], self.people)
        return self._approvals[sha]

    def _approvals_for(self, touch: Touch) -> list[Approval]:
        out = list(self.approvals_in(touch.sha))
        for c in touch.contributors:
            out.extend(self.approvals_in(c))
        return out

    def trail(self, rid: str, deep: bool = False, fields: bool = False) -> Trail:
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
        deep = deep or self.needs_contents(rid)
        t.deep = deep
        first = touches[0]
        creator = self._creator(first)
        t.created_by, t.created_email, t.created_at = creator.author, creator.email, creator.authored
        versions = [self.data_at(x.new) if (deep or fields) and x.status != "D" else None
                    for x in touches]
        prev_data = None
        for i, x in enumerate(touches):
            c = h.commits[x.sha]
            data = versions[i]
            action = {"A": "created", "D": "deleted"}.get(x.status, "changed")
            if i == 0 and x.status == "A":
                action = "created"
            ch = Change(x.sha, c.committed, *self._author_of(x), action=action, path=x.path,
                        subject=c.subject)
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
        for sha in h.named.get(rid, ()):
            for a in self.approvals_in(sha):
                if all(a is not b for b in t.approvals):
                    t.approvals.append(a)
        if deep:
            self._check_deep(t, touches, versions, rec)
        else:
            self._check_shallow(t, touches, rec)
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
    def _check_shallow(self, t: Trail, touches: list[Touch], rec) -> None:
        """What can be said without reading old versions: the latest history entry is not dated
        after the last commit of the record, and approval trailers name role holders."""
        last = self.history.commits[touches[-1].sha]
        hist = rec.data.get("history") if rec is not None and isinstance(rec.data, dict) else None
        if isinstance(hist, list) and hist and isinstance(hist[-1], dict):
            at, landed = instant_or_none(hist[-1].get("at")), instant_or_none(last.committed)
            if at and landed and at > landed + SKEW:
                t.findings.append(Finding(
                    t.id, "history.future",
                    f"the last history entry is dated {hist[-1].get('at')}, after the commit that "
                    f"holds it ({last.committed}, {last.sha[:10]})", last.sha,
                    f"history[{len(hist) - 1}].at"))

    def _check_deep(self, t: Trail, touches: list[Touch], versions: list[Any], rec) -> None:
        h, lc, kind = self.history, self.lifecycle, t.kind
        prev_hist: list = []
        filled_by: str | None = None
        standing: dict | None = None  # {"role", "status", "data", "commit"} of the approval in force
        creator = self._creator(touches[0])
        for i, x in enumerate(touches):
            data = versions[i]
            c = h.commits[x.sha]
            if x.status == "D" or not isinstance(data, dict):
                prev_hist = []
                continue
            filled_by = data.get("filled_by") if isinstance(data.get("filled_by"), str) else filled_by
            hist = data.get("history") if isinstance(data.get("history"), list) else []
            same = 0
            while same < min(len(prev_hist), len(hist)) and prev_hist[same] == hist[same]:
                same += 1
            if same < len(prev_hist):
                t.findings.append(Finding(
                    t.id, "history.rewritten",
                    f"commit {x.sha[:10]} changes or removes history entries that were already "
                    f"committed (entry {same + 1} onwards); history is append-only", x.sha,
                    f"history[{same}]"))
            landed = instant_or_none(c.committed)
            approvals = self._approvals_for(x)
            later = self._named_approvals(t.id, x, touches[i + 1] if i + 1 < len(touches) else None)
            new_entries = [(j, e) for j, e in enumerate(hist) if j >= same and isinstance(e, dict)]
            reapproved = False
            for j, entry in new_entries:
                at = instant_or_none(entry.get("at"))
                if at and landed and at > landed + SKEW:
                    t.findings.append(Finding(
                        t.id, "history.future",
                        f"history entry {j + 1} is dated {entry.get('at')}, after the commit that "
                        f"introduced it ({c.committed}, {x.sha[:10]})", x.sha, f"history[{j}].at"))
                status = entry.get("status")
                role = lc.approval_role(kind, status) if isinstance(status, str) else None
                if not role:
                    continue
                ok = self._check_approval(t, x, j, entry, role, approvals + later, filled_by,
                                          creator)
                if ok:
                    standing = {"role": role, "status": status, "data": data, "commit": x.sha}
                    reapproved = True
            # an edit that carries a valid approval for the approval in force re-approves it
            if standing and not reapproved and any(
                a.person and a.role in (None, standing["role"])
                and standing["role"] in self.people.by_id[a.person].roles
                and a.person != filled_by
                for a in approvals + later
            ):
                standing = {**standing, "data": data, "commit": x.sha}
                reapproved = True
            if standing and not reapproved:
                edited = [f for f in changed_fields(_strip(standing["data"]), _strip(data))]
                if edited:
                    t.findings.append(Finding(
                        t.id, "approval.changed-after",
                        f"changed after the '{standing['status']}' approval of "
                        f"{standing['commit'][:10]} without a new approval by a "
                        f"{standing['role']}: " + ", ".join(edited[:8])
                        + (" ..." if len(edited) > 8 else ""), x.sha, edited[0]))
                    standing = {**standing, "data": data}  # report each edit once
                cur = data.get("status")
                if (isinstance(cur, str) and cur != standing["status"]
                        and standing["status"] in _reachable(lc, kind, cur)):
                    standing = None  # moved back before the approval step: approval withdrawn
            prev_hist = hist

    def _named_approvals(self, rid: str, touch: Touch, nxt: Touch | None) -> list[Approval]:
        """Approval commits naming the record (``Approved-record``) after ``touch`` and before
        the record's next change: evidence added after the fact for the version in force."""
        pos = self.history.position
        lo, hi = pos[touch.sha], pos[nxt.sha] if nxt else len(self.history.mainline)
        out = []
        for sha in self.history.named.get(rid, ()):
            if lo < pos[sha] < hi:
                out.extend(self.approvals_in(sha))
        return out

    def _check_approval(self, t: Trail, x: Touch, j: int, entry: dict, role: str,
                        approvals: list[Approval], filled_by: str | None, creator: Commit) -> bool:
        status = entry.get("status")
        where = f"history[{j}]"
        if not approvals:
            t.findings.append(Finding(
                t.id, "approval.missing",
                f"'{status}' needs an approval by a {role}, but commit {x.sha[:10]} that brought it "
                "onto the main line carries no Approved-by trailer", x.sha, where))
            return False
        valid = []
        for a in approvals:
            a.status = a.status or status
            person = self.people.by_id.get(a.person) if a.person else None
            if a.role and a.role != role:
                t.findings.append(Finding(
                    t.id, "approval.role",
                    f"'{status}' needs a {role}; {a.name} <{a.email}> approved as {a.role}",
                    a.commit, where))
                continue
            if person is None:
                t.findings.append(Finding(
                    t.id, "approval.unknown-person",
                    f"Approved-by {a.name} <{a.email}> on {x.sha[:10]} matches no person record's "
                    "git e-mail", a.commit, where))
                continue
            if role not in person.roles:
                t.findings.append(Finding(
                    t.id, "approval.role",
                    f"'{status}' needs a {role}; approver {person.id} ({a.name} <{a.email}>) "
                    f"holds {', '.join(person.roles) or 'no role'}", a.commit, where))
                continue
            if person.id == filled_by or (person.email and person.email.lower() == creator.email.lower()):
                t.findings.append(Finding(
                    t.id, "approval.self",
                    f"{person.id} approves '{status}' but "
                    + ("filled the form" if person.id == filled_by else
                       f"committed the form ({creator.sha[:10]})"), a.commit, where))
                continue
            valid.append(person)
        if valid and entry.get("by") not in {p.id for p in valid}:
            t.findings.append(Finding(
                t.id, "history.mismatch",
                f"history entry {j + 1} says '{status}' by {entry.get('by')}, but the approval "
                f"evidence on {x.sha[:10]} is by {', '.join(p.id for p in valid)}", x.sha,
                f"{where}.by"))
        return bool(valid)


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
    lines = [f"{t.id} ({t.kind}) {t.path}",
             f"  created {t.created_at} by {t.created_by} <{t.created_email}>"]
    for ch in t.changes[1:] if t.changes and t.changes[0].action == "created" else t.changes:
        move = (f" {ch.status_from} -> {ch.status_to}"
                if ch.status_from != ch.status_to and (ch.status_from or ch.status_to) else "")
        what = f" fields: {', '.join(ch.fields)}" if ch.fields else ""
        lines.append(f"  {ch.action} {ch.at} by {ch.author} [{ch.commit[:10]}]{move}{what}")
    for a in t.approvals:
        lines.append(f"  approval {a.at} {a.name} <{a.email}> as {a.role or '?'}"
                     f" ({a.person or 'unknown person'}) [{a.commit[:10]}]"
                     + (f" for '{a.status}'" if a.status else "")
                     + (f" {a.reviewed_on}" if a.reviewed_on else ""))
    for f in t.findings:
        lines.append(f"  {f.severity} [{f.rule}] {f.message}")
    return "\n".join(lines)


__all__ = [
    "Approval", "Auditor", "Change", "Commit", "Finding", "History", "People", "Person", "Trail",
    "approvals_of", "audit", "changed_fields", "findings", "format_trail", "git_log",
    "load_records", "parse_log", "parse_trailers", "pending_approvals", "read_history",
    "to_problems", "KINDS",
]
