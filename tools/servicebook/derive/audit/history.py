"""Reading git history for the audit: one ``git log`` call, parsed into commits, the main line,
and every record's changes on it.

One call (through GitPython's command wrapper) reads the whole history: every commit with its
parents, author, dates, trailers and the raw diff of ``records/`` and the configuration files
(status letter and blob ids). Walking commit objects one by one is about a hundred times slower.
``history_store`` keeps what this reads between runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping, MutableMapping

from servicebook.load.records import KINDS, RECORDS_DIR, SCHEMAS_DIR

APPROVED_RECORD = "approved-record"
LIFECYCLE_PATH = SCHEMAS_DIR + "/lifecycle.yaml"
RULES_PATH = ".github/review-rules.yaml"
CONFIG_PATHS = (LIFECYCLE_PATH, RULES_PATH)

_RS, _FS, _TS = "\x1e", "\x1f", "\x1d"
_RECORDS_PREFIX = RECORDS_DIR + "/"
LOG_FORMAT = "%x1e" + "%x1f".join(
    ["%H", "%P", "%an", "%ae", "%aI", "%cI", "%s", "%(trailers:only,unfold,separator=%x1d)"]
) + "%x1f"


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
    """Dicts when read from git; the mappings are read row by row when kept (``store``)."""
    commits: Mapping[str, Commit]
    mainline: list[str]  # first-parent chain, oldest first
    position: dict[str, int]  # main-line sha -> index in mainline
    touches: MutableMapping[str, list[Touch]]  # record id -> its main-line changes, oldest first
    kinds: MutableMapping[str, str]  # record id -> kind (from its last path)
    named: MutableMapping[str, list[str]]  # record id -> commits naming it in `Approved-record`
    landing: MutableMapping[str, str] = field(default_factory=dict)  # branch commit -> main-line merge
    config: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # path -> (pos, blob)

    def pos_of(self, sha: str) -> int:
        """The main-line position of the commit that landed ``sha``."""
        return self.position[sha] if sha in self.position else self.position[self.landing[sha]]


def parse_trailers(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in text.split(_TS):
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out.append((key.strip().lower(), value.strip()))
    return tuple(out)


def _log_args(rev: str) -> list[str]:
    return [rev, f"--format={LOG_FORMAT}", "--raw", "--no-abbrev", "-z", "--no-renames",
            "--diff-merges=first-parent"]


def git_log(repo, rev: str = "HEAD", since: str | None = None) -> str:
    """The single history read: every commit reachable from ``rev`` (and not from ``since``) with
    its raw diff (merges against their first parent). No pathspec: git matches a pathspec per
    changed file, which costs more than the few non-record lines it saves; other paths are
    skipped while parsing.

    Each of git's output streams is read to its end by a thread of its own in one blocking read:
    ``communicate`` polls the pipe, and git writes 23-36 MB at 100k commits a few hundred bytes
    at a time (150,000 wake-ups: 0.5 s of this process's CPU against 0.35 s this way)."""
    import threading

    import git

    proc = repo.git.log(*_log_args(rev), *([f"^{since}"] if since else []), as_process=True)
    box: dict[str, bytes] = {}

    def drain(name: str, stream) -> None:  # both at once: a full pipe would stall git
        box[name] = stream.read()

    threads = [threading.Thread(target=drain, args=(n, st), daemon=True)
               for n, st in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    status = proc.proc.wait() if getattr(proc, "proc", None) is not None else 0
    if status:
        raise git.GitCommandError(["git", "log"], status, box.get("err", b""))
    return box.get("out", b"").decode("utf-8", "replace")


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
                if path.startswith(_RECORDS_PREFIX) or path in CONFIG_PATHS:
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
    h = History(commits, [], {}, {}, {}, {}, {}, {})
    grow(h, commits, repo.git.rev_parse(rev) if commits else None)
    return h


def grow(h: History, new: Mapping[str, Commit], head: str | None, stop: str | None = None) -> bool:
    """Add to ``h`` the main line from ``head`` back to ``stop`` (the tip ``h`` ends at; None: the
    whole history), the branch commits it lands and every record change on it, from ``new``: the
    commits read since ``stop``. False (``h`` unchanged) when ``stop`` is not on ``head``'s
    first-parent line: the history was rewritten and must be read again."""
    chain: list[str] = []
    sha = head
    while sha != stop:
        if sha is None or sha not in new:
            if stop is None:
                break  # the root (or the edge of a shallow clone)
            return False
        chain.append(sha)
        parents = new[sha].parents
        sha = parents[0] if parents else None
    chain.reverse()
    first = len(h.mainline)
    h.mainline.extend(chain)
    for i, m in enumerate(chain):
        h.position[m] = first + i
    # Every other commit is brought in by the first main-line merge that reaches it.
    landing: dict[str, str] = {}
    for m in chain:
        stack = list(new[m].parents[1:])
        while stack:
            c = stack.pop()
            if c in h.position or c in landing or c not in new:
                continue
            landing[c] = m
            stack.extend(new[c].parents)
    contributed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c, m in landing.items():
        h.landing[c] = m
        for _st, _old, _new, path in new[c].files:
            if path.startswith(_RECORDS_PREFIX):
                contributed[(m, _record_id(path))].append(c)
    touches: dict[str, list[Touch]] = defaultdict(list)
    named: dict[str, list[str]] = defaultdict(list)
    for pos, m in enumerate(chain, first):
        commit = new[m]
        for st, old, blob, path in commit.files:
            if path in CONFIG_PATHS:
                h.config.setdefault(path, []).append((pos, blob))
                continue
            rid = _record_id(path)
            parts = path.split("/", 2)
            kind = parts[1] if len(parts) == 3 and parts[1] in KINDS else None
            if not rid or kind is None:
                continue
            h.kinds[rid] = kind
            touches[rid].append(Touch(m, st, old, blob, path, tuple(contributed.get((m, rid), ()))))
        for key, value in commit.trailers:
            if key == APPROVED_RECORD:
                named[value].append(m)
    for c in landing:  # evidence on a branch commit that changes no file (`approve` on a branch)
        for key, value in new[c].trailers:
            if key == APPROVED_RECORD:
                named[value].append(c)
    for rid, ts in touches.items():
        h.touches[rid] = _one_per_commit([*h.touches.get(rid, ()), *ts])
    for rid, shas in named.items():
        h.named[rid] = [*h.named.get(rid, ()), *shas]
    return True


def _one_per_commit(ts: list[Touch]) -> list[Touch]:
    """Two files with one ID in one commit (a move without rename detection): keep the addition."""
    merged: list[Touch] = []
    for t in ts:
        if merged and merged[-1].sha == t.sha:
            keep = t if t.status != "D" else merged[-1]
            other = merged[-1] if keep is t else t
            merged[-1] = Touch(t.sha, "M", other.old if other.status == "D" else keep.old,
                               keep.new, keep.path, keep.contributors or other.contributors)
        else:
            merged.append(t)
    return merged


def _record_id(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return ""
