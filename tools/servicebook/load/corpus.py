"""``load(root)``: every record read, checked and indexed. The one entry point for the CLI, the
site, the SLA engine and the audit, so they always agree on what the records say."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import marshal
import os
import sys
from dataclasses import astuple
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from servicebook.load import index as index_mod
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.problems import Problem
from servicebook.load.records import KINDS, SCHEMAS_DIR, ById, Record, find_names, kind_of_path
from servicebook.load.collector import keep_to_exit
from servicebook.load.cache import MISSING, FileCache, content_hash, signature, source_digest
from servicebook.load.schemas import SchemaSet, values_at
from servicebook.load.weights import Weights, read as read_weights
from servicebook.load.yamlload import MAX_BYTES, YamlProblem, Where, decode, parse, parse_path, parse_strict, positions

# A check: the loaded corpus in, its problems out (line 0: locate it from the problem's path).
Check = Callable[["Corpus"], Iterable[Problem]]

# Below this many files one process is faster than starting workers.
PARALLEL_THRESHOLD = 1500


@dataclass(frozen=True)
class Corpus:
    """Everything read from one repository, read-only: later stages derive new values from it and
    never change it (the records are a read-only ``ById``, the problems a tuple). The lazily built
    indexes below are caches of what it holds, not changes to it."""

    root: Path
    schemas: SchemaSet
    lifecycle: Lifecycle
    records: ById
    problems: tuple[Problem, ...]
    files: tuple[str, ...]  # every record file, relative to the root ('records/...'), as text
    index: index_mod.Index = field(repr=False)
    only: frozenset[str] | None = None  # the files asked about (the pull-request path), else all
    weights: Weights = field(default_factory=Weights, repr=False)  # value index, technician appraisal
    _by_kind: dict[str, list[Record]] | None = field(default=None, init=False, repr=False, compare=False)
    _known_ids: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)
    _where: dict[str, dict[tuple, Where]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _contents: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)  # load(contents=)
    # a digest of every file's name and content and of the reader's code (equal keys: equal
    # records), for stores of derived results; None unless the whole repository was read
    content_key: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def known_ids(self) -> dict[str, list[str]]:
        """Every ID that names a record file (parsed or not) -> its files."""
        if self._known_ids is None:
            known: dict[str, list[str]] = {}
            for name in self.files:  # text, not Path, in the loops: Path operations cost seconds at 100k
                known.setdefault(_stem(name), []).append(name)
            object.__setattr__(self, "_known_ids", known)  # a cache (frozen dataclass)
        return self._known_ids

    def where(self, rel: Path | str) -> dict[tuple, Where]:
        """Where each value of a record file sits (line, column), for locating a problem. Read
        when first asked (most files have no problem), then kept with this corpus."""
        key = Path(rel).as_posix()
        if key not in self._where:
            try:
                self._where[key] = positions(decode(self._bytes(key)))
            except (OSError, YamlProblem):
                self._where[key] = {}
        return self._where[key]

    def source(self, rel: Path | str) -> str:
        """A record file as written, comments and all (what `servicebook show` prints)."""
        key = Path(rel).as_posix()
        return decode(self._bytes(key))

    def _bytes(self, key: str) -> bytes:
        """A record file's bytes: the candidate a writing command is checking, else the file's."""
        return self._contents[key] if key in self._contents else (self.root / key).read_bytes()

    def of_kind(self, kind: str) -> list[Record]:
        # Indexed once: reports ask per case (KB matching per repair), which scanning every
        # record each time made quadratic. Records are not changed after loading.
        if self._by_kind is None:
            by_kind: dict[str, list[Record]] = {}
            for r in self.records.values():
                by_kind.setdefault(r.kind, []).append(r)
            object.__setattr__(self, "_by_kind", by_kind)  # a cache (frozen dataclass)
        return list(self._by_kind.get(kind, ()))

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def chain(self, record_id: str) -> list[Record]:
        return self.index.chain(record_id)

    def referrers(self, record_id: str) -> list[Record]:
        return self.index.referrers(record_id)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


# ---------------------------------------------------------------------------------------------
# one file: read, parse, schema-check. Module-level so worker processes can run it; results are
# plain tuples so they cross the process boundary and the cache as marshal (5x cheaper than
# pickle to write, which is the cost that decides whether a second process pays off).

_worker_schemas: SchemaSet | None = None


def _init_worker(schemas_dir: str) -> None:
    global _worker_schemas
    gc.disable()  # see load(): the same reasoning holds in the workers
    _worker_schemas = SchemaSet(Path(schemas_dir))


def _problem(file, line, column, rule, message, path=""):
    return (file, line, column, path, rule, message, "error")


def read_bytes(path: str) -> bytes:
    """A file's bytes with the fewest system calls: ``open()`` also asks for the block size and
    whether the file is a terminal (7 us instead of 13 per file, a second at 100k files)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _read_one(root: str, rel: str, schemas: SchemaSet, max_bytes: int, raw: bytes | None = None):
    """-> (rel, content hash, kind, data or None, problems as tuples). ``raw``: the content to
    check instead of the file's (a writing command's candidate)."""
    kind = kind_of_path(rel)
    try:
        if raw is None:
            raw = read_bytes(os.path.join(root, rel))
    except OSError as err:
        return rel, b"", kind, None, (_problem(rel, 1, 1, "file.read", f"cannot read: {err.strerror}"),)
    digest = content_hash(raw)
    if kind is None:
        parts = Path(rel).parts
        folder = parts[1] if len(parts) > 2 else "(none)"
        return rel, digest, None, None, (_problem(
            rel, 1, 1, "id.folder", f"records/{folder}/ is not a record kind; kinds: " + ", ".join(KINDS)),)
    try:
        data = parse(raw, max_bytes)
    except YamlProblem as p:
        return rel, digest, kind, None, (_problem(rel, p.line, p.column, p.rule, p.message),)
    if not schemas.has(kind) or schemas.fast_valid(kind, data):
        return rel, digest, kind, _shared(data), ()
    text = raw.decode("utf-8")
    try:  # the precise path: the strict reading, explained with positions
        data = parse_strict(text)
    except YamlProblem as p:
        return rel, digest, kind, None, (_problem(rel, p.line, p.column, p.rule, p.message),)
    found = schemas.problems(kind, data, rel, positions(text))
    return rel, digest, kind, _shared(data), tuple(astuple(p) for p in found)


# Keys and short values (statuses, IDs, dates) repeat across 100k records. Interned, each is one
# object that marshal writes once and refers back to: the cache file and the time to load it
# halve (132 -> 67 MB at 100k), and the loaded records share their strings.
_SHARED_MAX = 24


def _shared(value):
    """``value`` with every mapping key and every text of up to ``_SHARED_MAX`` characters
    interned: equal values, same order, fewer objects."""
    if value.__class__ is dict:
        return {(sys.intern(k) if k.__class__ is str else k): _shared(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_shared(v) for v in value]
    if value.__class__ is str and len(value) <= _SHARED_MAX:
        return sys.intern(value)
    return value


def _read_chunk(args) -> bytes:
    root, rels, max_bytes = args
    return marshal.dumps([_read_one(root, rel, _worker_schemas, max_bytes) for rel in rels])


def _read_many(root: Path, rels: list[str], schemas: SchemaSet, jobs: int, max_bytes: int, contents=None) -> list:
    if contents or jobs <= 1 or len(rels) < PARALLEL_THRESHOLD:
        contents = contents or {}
        return [_read_one(str(root), rel, schemas, max_bytes, contents.get(rel)) for rel in rels]
    # ``jobs`` processes read: this one and jobs - 1 workers. Workers take chunks from the front,
    # this process from the back, each a chunk no worker has started (a cancelled future): its
    # results need no marshal round trip, and no third process competes for the cores.
    size = max(200, len(rels) // (jobs * 24))
    chunks = [(str(root), rels[i:i + size], max_bytes) for i in range(0, len(rels), size)]
    root_text = str(root)
    with ProcessPoolExecutor(jobs - 1, initializer=_init_worker,
                             initargs=(str(root / SCHEMAS_DIR),)) as pool:
        futures = [pool.submit(_read_chunk, chunk) for chunk in chunks]
        done: dict[int, list] = {}
        received = 0  # the workers' chunks before this one are unpacked
        for i in range(len(chunks) - 1, -1, -1):
            if not futures[i].cancel():
                break  # taken by a worker, and so is every chunk before it (taken in order)
            done[i] = [_read_one(root_text, rel, schemas, max_bytes) for rel in chunks[i][1]]
            while received < i and futures[received].done():  # unpacked while the workers read on
                done[received] = marshal.loads(futures[received].result())
                received += 1
        for j in range(received, len(chunks)):
            if j not in done:
                done[j] = marshal.loads(futures[j].result())
        return [item for j in range(len(chunks)) for item in done[j]]


def _read_with_cache(root: Path, rels: list[str], schemas, jobs, max_bytes, cache: FileCache, contents=None):
    """Results for ``rels``, from the cache where the content is unchanged."""
    hits, misses = _cached(root, rels, cache)
    return _complete(root, hits, misses, schemas, jobs, max_bytes, cache, contents)


def _cached(root: Path, rels: list[str], cache: FileCache) -> tuple[list, list[str]]:
    """([(rel, digest, kind, problems)] the cache's index knows unchanged, [rel] it does not)."""
    if not cache.entries:  # cold: the workers read, hash and check everything
        return [], list(rels)
    hits, others = cache.unchanged_files(root, rels)
    misses, rehashed = [], False
    for rel, sig in others:
        try:
            hit = cache.get(rel, content_hash(read_bytes(os.path.join(root, rel))))
        except OSError:
            hit = None
        if hit is None:
            misses.append(rel)
        else:  # same content, new stat signature (a checkout, a touch)
            cache.put(rel, *hit, sig)
            hits.append((rel, *hit))
            rehashed = True
    if rehashed:  # in the files' order, as the verdict key takes them
        order = {rel: i for i, rel in enumerate(rels)}
        hits.sort(key=lambda h: order[h[0]])
    return hits, misses


def _complete(root: Path, hits: list, misses: list[str], schemas, jobs, max_bytes, cache: FileCache, contents=None):
    """Every result: the hits with their stored data (a file whose data is not stored after all
    is read again), then the misses, read now and stored."""
    results = []
    for rel, digest, kind, problems in hits:
        data = cache.data(kind, rel, digest)
        if data is MISSING:
            misses.append(rel)
        else:
            results.append((rel, digest, kind, data, problems))
    # each file's stat signature before it is read: one saved between the read and a later stat
    # would leave the old content stored under the new signature, trusted until the next change
    before = {rel: signature(os.path.join(root, rel)) for rel in misses} if cache.enabled else {}
    fresh = _read_many(root, misses, schemas, jobs, max_bytes, contents)
    results.extend(fresh)
    for rel, digest, kind, data, problems in fresh:  # only what was read now: hits are stored
        if not cache.enabled:
            break
        if contents and rel in contents:
            continue  # a candidate, not what the file holds
        if digest:
            cache.put(rel, digest, kind, problems, before.get(rel), data)
    return results


def _verdict_key(root: Path, cache: FileCache, checks, names: list[str], digests: list[bytes]) -> bytes | None:
    """What the whole repository's problems depend on: every file's name and content hash, the
    whole schemas folder (lifecycle and weights too), the package's source and the checks asked
    for. None when a check is no module-level function (a closure's state is not its source)."""
    if any("<" in getattr(c, "__qualname__", "<") for c in checks):
        return None
    schema_files = sorted(n for n in os.listdir(root / SCHEMAS_DIR) if (root / SCHEMAS_DIR / n).is_file())
    parts = [cache.key.encode(), "|".join(f"{c.__module__}.{c.__qualname__}" for c in checks).encode()]
    parts += [n.encode() + b"\0" + (root / SCHEMAS_DIR / n).read_bytes() for n in schema_files]
    h = hashlib.blake2b(source_digest(*parts), digest_size=16)
    for name, digest in zip(names, digests):
        h.update(name.encode() + b"\0" + digest)
    return h.digest()


# ---------------------------------------------------------------------------------------------

# Records every check needs whatever is being validated: who holds which role, the SLA policies
# and calendars.
ALWAYS_READ = ("person", "policy", "calendar")
REFERENCE_HOPS = 3  # repair -> complaint -> contract -> customer: enough to find a tier


def load(
    root: Path | str,
    only: Iterable[Path | str] | None = None,
    jobs: int | None = None,
    max_bytes: int | None = None,
    use_cache: bool = True,
    checks: Iterable[Check] = (),
    contents: dict[str, bytes] | None = None,
    need_kinds: Iterable[str] | None = None,
) -> Corpus:
    """Read ``root/records`` against ``root/schemas``.

    ``only``: validate these files alone (a pull request's changed records). Only they, the
    records every check needs (people, policies, calendars) and what they refer to are read;
    references are checked against every file name. The corpus then holds that subset.
    Never raises on bad records: what is wrong is in ``corpus.problems``: what reading and the
    schemas found, plus what each of ``checks`` finds in the loaded corpus. The checks are passed
    in by the caller (``servicebook.derive.checked.load`` passes every one), because they belong to
    later stages and this one imports none of them.
    ``contents``: file (relative) -> bytes to check instead of what the file holds, with ``only``
    naming them: what a writing command is about to write, checked as validate would see it.
    ``need_kinds``: the caller reads only the problems, the file list and the records of these
    kinds (validate: the calendars). When no file changed since a run that stored its verdict,
    the corpus then holds just those records and the stored problems, and no check runs.
    """
    # Building 100k records allocates millions of objects and frees none: the cyclic garbage
    # collector would rescan them again and again for nothing (measured: ~2x the load time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return keep_to_exit(_load(Path(root), only, jobs, max_bytes, use_cache, tuple(checks),
                                  dict(contents or {}), frozenset(need_kinds) if need_kinds is not None else None))
    finally:
        gc.freeze()  # the records live as long as the corpus: keep later collections off them
        if was_enabled:
            gc.enable()


def _load(root: Path, only, jobs, max_bytes, use_cache, checks, contents, need_kinds) -> Corpus:
    schemas = SchemaSet(root / SCHEMAS_DIR)
    lifecycle = Lifecycle.load(root / SCHEMAS_DIR)
    weights, weight_problems = read_weights(root, SCHEMAS_DIR)
    names = find_names(root)
    if contents:  # a file about to be created is one of the repository's in the check
        names = sorted(set(names) | set(contents))
    jobs = jobs or min(2, os.cpu_count() or 1)
    max_bytes = max_bytes or MAX_BYTES
    only_set = {Path(p).as_posix() for p in only} if only is not None else None
    if contents and (only_set is None or not set(contents) <= only_set):
        raise ValueError("contents= replaces files named by only=")
    # the pull-request path reads a few hundred files: loading the whole cache would cost more
    cache = FileCache(root, schemas.digest, max_bytes, enabled=use_cache and only_set is None)

    verdict_key = stored = None
    if only_set is None:
        hits, misses = _cached(root, names, cache)
        if not misses and cache.enabled:
            verdict_key = _verdict_key(root, cache, checks, names, [h[1] for h in hits])
            stored = cache.verdict(verdict_key) if verdict_key is not None else None
        answered = (_answered(root, schemas, lifecycle, weights, names, hits, cache, need_kinds, stored)
                    if stored is not None and need_kinds is not None else None)
        if answered is not None:
            cache.save()  # new stat signatures (a checkout, a touch) are kept
            return answered
        # in the files' order, as a cold run reads them: the first file of a duplicated ID wins
        results = _in_order(_complete(root, hits, misses, schemas, jobs, max_bytes, cache), names)
        if stored is not None and [r[1] for r in results] != [h[1] for h in hits]:
            stored = None  # a file whose data was not stored changed while it was read again
        cache.keep_only(set(names))
    else:
        changed_kinds = {kind_of_path(Path(f)) for f in only_set}
        results = _read_subset(root, names, only_set, schemas, max_bytes, cache, contents,
                               ALWAYS_READ + lifecycle.followed_by_naming(changed_kinds))

    records = _records(results)
    corpus = Corpus(root, schemas, lifecycle, records, (), tuple(names), index_mod.Index(records, schemas),
                    frozenset(only_set) if only_set is not None else None, weights, _contents=contents,
                    content_key=_content_key(cache, results) if only_set is None else None)
    if stored is not None:  # the checks found these in these very files last time
        problems = [Problem(*p) for p in stored]
    else:
        problems = list(weight_problems)
        for _rel, _digest, _kind, _data, file_problems in results:
            problems.extend(Problem(*p) for p in file_problems)
        problems.extend(_run_checks(corpus, checks, jobs))
        if only_set is not None:
            problems = [p for p in problems if p.file in only_set]
        problems.sort(key=lambda p: (p.file, p.line, p.column, p.rule))
        if only_set is None and cache.enabled and all(r[1] for r in results):  # every file was read
            verdict_key = _verdict_key(root, cache, checks, names, [r[1] for r in results])
            if verdict_key is not None:
                cache.put_verdict(verdict_key, tuple(astuple(p) for p in problems))
    cache.save()
    # the one assignment after construction: the checks needed the corpus before its problems were known
    object.__setattr__(corpus, "problems", tuple(problems))
    return corpus


def _content_key(cache: FileCache, results) -> bytes | None:
    """``Corpus.content_key`` of the whole repository's ``results`` (in the files' order)."""
    digests = [r[1] for r in results]
    if not all(digests):
        return None
    h = hashlib.blake2b(cache.key.encode(), digest_size=16)  # the schemas and the reader's code
    h.update("\0".join(r[0] for r in results).encode())
    h.update(b"".join(digests))
    return h.digest()


def _records(results) -> ById:
    """Each result that parsed as its record; the first file of an ID wins (the duplicate is a
    problem of its own)."""
    records: dict[str, Record] = {}
    for rel, _digest, kind, data, _problems in results:
        if kind and data is not None:
            rid = _stem(rel)
            if rid not in records:
                records[rid] = Record(kind, rid, rel, data)  # the path becomes a Path when read
    return ById(records)


def _in_order(results, names: list[str]) -> list:
    by_rel = {r[0]: r for r in results}
    return [by_rel[n] for n in names]


def _answered(root, schemas, lifecycle, weights, names, hits, cache, need_kinds, stored) -> Corpus | None:
    """The corpus of an unchanged repository from its stored verdict: the stored problems and the
    records of ``need_kinds`` only, no check run; None when their data is not stored after all.
    Which file wins an ID is decided as ``_records`` does over every file: so every file that
    shares an ID with a wanted one is looked at too (rare: it is a problem of its own)."""
    by_stem: dict[str, int] = {}
    for rel, _digest, kind, _problems in hits:
        if kind:
            stem = _stem(rel)
            by_stem[stem] = by_stem.get(stem, 0) + 1
    shared = {_stem(rel) for rel, _d, kind, _p in hits if kind in need_kinds and by_stem[_stem(rel)] > 1}
    candidates = []
    for rel, digest, kind, _problems in hits:
        if kind in need_kinds or (kind and _stem(rel) in shared):
            data = cache.data(kind, rel, digest)
            if data is MISSING:
                return None
            candidates.append((rel, digest, kind, data, ()))
    records = ById({rid: rec for rid, rec in _records(candidates).items() if rec.kind in need_kinds})
    return Corpus(root, schemas, lifecycle, records, tuple(Problem(*p) for p in stored), tuple(names),
                  index_mod.Index(records, schemas), None, weights)


def _stem(rel: str) -> str:
    return rel[rel.rfind("/") + 1:].rsplit(".", 1)[0]


def _read_subset(root, files, only_set, schemas, max_bytes, cache, contents, always_kinds):
    """The pull-request path: the named files, what every check needs (``always_kinds``: people,
    policies, calendars, and the kinds the process rules look up by what names a record), and
    what they refer to."""
    by_id = {_stem(f): f for f in files}
    always = tuple(f"records/{kind}/" for kind in always_kinds)
    wanted = set(only_set) | {f for f in files if f.startswith(always)}
    results, done = [], set()
    for _hop in range(REFERENCE_HOPS + 1):
        batch = sorted(wanted - done)
        if not batch:
            break
        done.update(batch)
        found = _read_with_cache(root, batch, schemas, 1, max_bytes, cache, contents)
        results.extend(found)
        wanted = set()
        for _rel, _d, kind, data, _p in found:
            if kind and isinstance(data, dict):
                for pattern in schemas.ref_kinds(kind):
                    for _path, value in values_at(data, pattern):
                        if isinstance(value, str) and value in by_id:
                            wanted.add(by_id[value])
    return results


# ---------------------------------------------------------------------------------------------
# the checks over a whole repository, in parallel: a check that reports every problem on the
# record it is looking at and honours ``corpus.only`` (it reads every record, reports on those
# files only) says so with ``by_file = True``; each worker process runs it on one part of the
# files. The workers are forked after loading, so they share the loaded records instead of
# receiving them; only their problems come back.

_split: tuple | None = None  # (corpus, the by-file checks, the parts) while the forked workers run


def _run_checks(corpus: Corpus, checks: tuple, jobs: int) -> list[Problem]:
    """Every check's problems, located, in the order a single process finds them: check by check,
    and within one check and one file in the check's own order (a file is in one part only)."""
    by_file = [c for c in checks if getattr(c, "by_file", False)]
    if (corpus.only is not None or jobs <= 1 or not by_file or len(corpus.files) < PARALLEL_THRESHOLD
            or "fork" not in get_all_start_methods()):
        return [p for check in checks for p in _located(corpus, check(corpus))]
    _ = corpus.index.refs, corpus.known_ids  # built once before the fork: every part reads them
    parts = [frozenset(corpus.files[i::jobs]) for i in range(jobs)]  # interleaved: kinds cost unlike
    global _split
    _split = (corpus, by_file, parts)
    try:
        with ProcessPoolExecutor(jobs - 1, mp_context=get_context("fork")) as pool:
            others = [pool.submit(_check_part, i) for i in range(1, jobs)]
            whole = {c: _located(corpus, c(corpus)) for c in checks if c not in by_file}
            found = [_check_part(0)] + [f.result() for f in others]
    finally:
        _split = None
    out: list[Problem] = []
    for check in checks:
        if check in whole:
            out.extend(whole[check])
        else:
            i = by_file.index(check)
            for part in found:
                out.extend(part[i])
    return out


def _check_part(i: int) -> list[list[Problem]]:
    """In a forked worker (or the parent, part 0): each by-file check's located problems in part ``i``."""
    corpus, by_file, parts = _split
    view = dataclasses.replace(corpus, only=parts[i])
    object.__setattr__(view, "_known_ids", corpus.known_ids)  # a cache of the same files: not built again
    return [_located(view, check(view)) for check in by_file]


def _located(corpus: Corpus, found: Iterable[Problem]) -> list[Problem]:
    """A check's problems, each located in its file where the check gave only a field path."""
    out = []
    for p in found:
        if p.line == 0:
            w = _locate(corpus.where(p.file), parse_path(p.path))
            p = dataclasses.replace(p, line=w[0], column=w[1])
        out.append(p)
    return out


def _locate(where: dict[tuple, Where], path: tuple) -> tuple[int, int]:
    while path and path not in where:
        path = path[:-1]
    w = where.get(path)
    return (w.line, w.column) if w else (1, 1)
__all__ = ["Corpus", "load"]
