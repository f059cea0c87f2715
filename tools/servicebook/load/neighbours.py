"""What `servicebook show ID` needs from the rest of the repository, kept between runs in
``.cache/servicebook/`` (outside git): showing one record of 100k then stats the files, reads a
small store, the record and its customer, instead of loading and checking every record (issue
#19: ≤ 1 s at 100k).

Two stores, written with ``load.cache``'s checksummed format, named after a key that holds the
load cache's key (schemas, size bound, the reader's code) and the source of this module and of
``load.index`` (which decides what a reference and a chain are):

* ``neighbours-files-KEY.marshal``: per record file, under its content hash, what the others need
  to know of it: kind, status, creation instant, the values of the fields naming the previous
  step of its case chain, and the IDs it refers to (``index.references``, the index's own
  function). Rebuilt per changed file only, from the load cache's parsed data.
* ``neighbours-view-KEY.marshal``: the repository as of the load cache's last verdict: every
  folder under ``records/`` with its stat signature, every file name, one digest of every file's
  stat signature, per record (the file that wins its ID, as ``load.corpus`` decides) its part as
  one marshal text (file, kind, status, chain links, the records referring to it: only the few
  shown are decoded), and the verdict's problems per file; under a key of everything else the
  verdict depends on (the checks, the schemas folder, the package's source: ``_verdict_key`` of
  no files).

The view is used only while nothing it was built from changed: the same context key, no folder
changed (else the file names are listed again and must be the same) and every file's stat
signature is the one the load cache read its content with (the trust ``load.cache`` already
places in a signature). Otherwise it is built again from the load cache, and only when that holds
the verdict for exactly the current files; when it does not, :func:`around` answers None, the
caller loads the repository (which stores the new verdict) and :func:`keep` builds the view again. A damaged, foreign or
stale store is never trusted: ``read_store`` checks the checksum, every part and every entry read
is checked for its shape (a bad one: built again), every file entry for its file's content hash.
``SERVICEBOOK_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import marshal
import os
from pathlib import Path

from servicebook.load.cache import (CACHE_DIR, MISSING, FileCache, caching, content_hash, drop_other_keys, read_store,
                                    signature, stat_signature, write_store)
from servicebook.load.corpus import _cached, _read_one, _stem, _verdict_key, read_bytes
from servicebook.load.index import CHAIN_PARENT, Index, chain_parent, ref_patterns, references
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.problems import Problem
from servicebook.load.records import RECORDS_DIR, SCHEMAS_DIR, Record, find_names
from servicebook.load.schemas import SchemaSet
from servicebook.load.yamlload import MAX_BYTES, decode

_FORMAT = b"servicebook-neighbours-1"
_NAME = "neighbours"
_HERE = Path(__file__).resolve().parent
_SOURCES = (_HERE / "neighbours.py", _HERE / "index.py")
_VIEW_PARTS = {"context": bytes, "folders": tuple, "names": tuple, "sigs": bytes, "records": dict,
               "problems": dict}
_LOOKUP_ERRORS = (TypeError, ValueError, EOFError, IndexError, KeyError)  # a damaged entry


def _no_gc(function):
    """Run without the cyclic garbage collector: building or reading a view allocates 100k
    objects and frees none, which it would rescan again and again (as in ``corpus.load``)."""
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return wrapped


@_no_gc
def around(root: Path, record_id: str, checks) -> Neighbourhood | None:
    """The record ``record_id`` with what `show` reads around it, from the stores; None when they
    cannot answer for the repository as it is now (no cache, or no stored verdict for these
    files): then load the whole repository. ``checks``: the checks the verdict was stored for."""
    schemas = SchemaSet(root / SCHEMAS_DIR) if caching() else None
    opened = _open(root, schemas, checks) if schemas is not None else None
    if opened is None:
        return None
    context, store = opened
    view = read_store(store.view)
    if _current(root, view, context):
        found = Neighbourhood.of(root, schemas, view, record_id)
        if found is not None:
            return found
    # stale, or damaged where the shape check did not look: built again, never trusted
    view = _rebuild(root, schemas, checks, context, store)
    return Neighbourhood.of(root, schemas, view, record_id) if view is not None else None


@_no_gc
def keep(corpus, checks) -> None:
    """Bring the stores up to date after ``corpus`` (every record, checked with ``checks``) was
    loaded because they could not answer, so that the next `show` is answered from them."""
    if not caching() or corpus.only is not None:
        return
    opened = _open(corpus.root, corpus.schemas, checks)
    if opened is not None:
        _rebuild(corpus.root, corpus.schemas, checks, *opened)


def _open(root: Path, schemas: SchemaSet, checks) -> tuple[bytes, _Stores] | None:
    """(the context key of the verdict, the stores), or None when a check has no stable name."""
    cache = FileCache(root, schemas.digest, MAX_BYTES, enabled=False)  # its key only: nothing read
    context = _verdict_key(root, cache, checks, [], [])
    if context is None:
        return None
    key = hashlib.blake2b(_FORMAT + cache.key.encode(), digest_size=12)
    for src in _SOURCES:
        key.update(src.read_bytes())
    return context, _Stores(root / CACHE_DIR, key.hexdigest())


class _Stores:
    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self.files = folder / f"{_NAME}-files-{key}.marshal"
        self.view = folder / f"{_NAME}-view-{key}.marshal"

    def save(self, files: dict | None, view: dict) -> None:
        try:
            if files is not None:
                write_store(self.files, files)
            write_store(self.view, view)
            drop_other_keys(self.folder, _NAME, self.files, self.view)
        except OSError:
            pass  # a store that cannot be written only costs time


def _current(root: Path, view: dict, context: bytes) -> bool:
    """Whether ``view`` (as read) was built from the repository as it is now."""
    if any(type(view.get(part)) is not kind for part, kind in _VIEW_PARTS.items()):
        return False
    if view["context"] != context:
        return False
    base = str(root)
    try:
        # a signature is None while it cannot vouch for anything (`stat_signature`): never equal
        if any(sig is None or signature(os.path.join(base, rel)) != sig for rel, sig in view["folders"]):
            if tuple(find_names(root)) != view["names"]:  # a folder changed: is the list the same?
                return False
        now = [stat_signature(s) for s in map(os.stat, [f"{base}/{rel}" for rel in view["names"]])]
    except (OSError, TypeError, ValueError):  # a file gone, or a damaged entry
        return False
    return None not in now and _signatures_digest(now) == view["sigs"]


def _signatures_digest(sigs: list) -> bytes:
    """One digest of every file's stat signature (marshal version 0: the same bytes in every
    process), so the view does not hold 100k tuples to load."""
    return content_hash(marshal.dumps(tuple(sigs), 0))


def _folders(root: Path) -> tuple:
    """Every folder ``find_names`` walks, relative, with its stat signature, taken before it is
    listed (a file added after that changes the signature)."""
    out, stack = [], [RECORDS_DIR]
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel)
        out.append((rel, signature(full)))
        try:
            entries = list(os.scandir(full))
        except OSError:
            continue
        stack += [f"{rel}/{e.name}" for e in entries
                  if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
    return tuple(out)


def _entry(kind, rid: str, data, patterns: dict, schemas: SchemaSet):
    """What the others read of one file: None for a file that is no record; else (kind, status,
    creation instant as the chain sorts it, the chain-parent fields' values, the IDs it refers to)."""
    if kind is None or not isinstance(data, dict):
        return None
    kind_patterns = patterns.get(kind)
    if kind_patterns is None:
        kind_patterns = patterns[kind] = ref_patterns(schemas, kind)
    parents = tuple(v if isinstance(v, str) else None for v in (data.get(f) for f in CHAIN_PARENT.get(kind, ())))
    targets = tuple(value for _path, value, _kinds in references(data, kind_patterns) if value != rid)
    return (kind, data.get("status"), str(data.get("created_at", "")), parents, targets)


def _is_entry(entry) -> bool:
    return entry is None or (type(entry) is tuple and len(entry) == 5 and type(entry[0]) is str
                             and type(entry[2]) is str and type(entry[3]) is tuple and type(entry[4]) is tuple)


def _rebuild(root: Path, schemas: SchemaSet, checks, context: bytes, store: _Stores) -> dict | None:
    """The view built from the load cache, when it holds the verdict for the files as they are."""
    folders = _folders(root)
    names = find_names(root)
    cache = FileCache(root, schemas.digest, MAX_BYTES)
    hits, misses = _cached(root, names, cache)
    if misses or not cache.enabled:
        return None
    verdict_key = _verdict_key(root, cache, checks, names, [h[1] for h in hits])
    verdict = cache.verdict(verdict_key) if verdict_key is not None else None
    if verdict is None:
        return None
    files = read_store(store.files)
    changed, patterns = False, {}
    for rel, digest, kind, _problems in hits:
        kept = files.get(rel)
        if type(kept) is tuple and len(kept) == 2 and kept[0] == digest and _is_entry(kept[1]):
            continue
        data = cache.data(kind, rel, digest)  # stored under this very content (a corpus's could be older)
        if data is MISSING:
            return None
        files[rel] = (digest, _entry(kind, _stem(rel), data, patterns, schemas))
        changed = True
    if len(files) != len(names):
        files = {rel: files[rel] for rel in names}
        changed = True
    cache.save()  # new stat signatures (a checkout, a touch) are kept

    records: dict[str, tuple] = {}  # the first file of an ID wins, as in load.corpus
    for rel in names:
        digest, entry = files[rel]
        rid = _stem(rel)
        if entry is not None and rid not in records:
            records[rid] = (rel, *entry)
    referrers: dict[str, set] = {}
    children: dict[str, list] = {}
    parent_of = {}
    for rid, (rel, kind, status, created, parents, targets) in records.items():
        for target in targets:
            referrers.setdefault(target, set()).add(rid)
        parent = parent_of[rid] = chain_parent(rid, parents, records)
        if parent is not None:
            children.setdefault(parent, []).append(rid)
    problems: dict[str, list] = {}
    for p in verdict:
        problems.setdefault(p[0], []).append(p)
    # each record's part in one marshal text of its own: loading 100k texts costs a tenth of
    # loading as many nested tuples, and a run decodes only the few it shows
    try:
        view = {"context": context, "folders": folders, "names": tuple(names),
                "sigs": _signatures_digest([cache.entries[rel][3] for rel in names]),
                "records": {rid: marshal.dumps((rel, kind, status, created, parents, parent_of[rid],
                                                tuple(children.get(rid, ())), tuple(sorted(referrers.get(rid, ())))))
                            for rid, (rel, kind, status, created, parents, _targets) in records.items()},
                "problems": {k: tuple(v) for k, v in problems.items()}}
    except ValueError:  # a value marshal cannot write (none that YAML reads): no view
        return None
    store.save(files if changed else None, view)
    return view


class _Linked:
    """One record's part of the view: (file, kind, status, creation instant, chain-parent field
    values, previous chain step, next chain steps, the records referring to it)."""

    __slots__ = ("rel", "kind", "status", "created", "parents", "parent", "children", "referrers")

    def __init__(self, blob: bytes):
        (self.rel, self.kind, self.status, self.created, self.parents, self.parent, self.children,
         self.referrers) = marshal.loads(blob)
        if not (type(self.rel) is str and type(self.kind) is str and type(self.parents) is tuple
                and type(self.children) is tuple and type(self.referrers) is tuple):
            raise ValueError("damaged entry")


class Neighbourhood:
    """The part of a loaded corpus `show` reads, for one record: ``get``, ``records`` (full records,
    read when asked), ``chain``, ``referrers``, ``schemas``, ``lifecycle``, ``source`` and
    ``problems`` (those of the record's file)."""

    def __init__(self, root: Path, schemas: SchemaSet, view: dict):
        self.root = root
        self.schemas = schemas
        self.lifecycle = Lifecycle.load(root / SCHEMAS_DIR)
        self.problems: tuple[Problem, ...] = ()
        self._blobs = view["records"]
        self._linked: dict[str, _Linked] = {}
        self._stubs: dict[str, Record] = {}
        self._chains: dict[str, list[Record]] = {}
        self._read: dict[str, bytes] = {}  # file -> the bytes its record was read from
        self.records = _FullRecords(root, schemas, self)

    @classmethod
    def of(cls, root: Path, schemas: SchemaSet, view: dict, record_id: str) -> Neighbourhood | None:
        """Everything `show` reads of ``record_id`` is read now: its chain and referrers, its file's
        problems, and the record and its customer, checked against the content hashes the view
        was built with. None when one changed since, or the store is damaged in a way the shape
        check did not see."""
        around = cls(root, schemas, view)
        try:
            if record_id in around.records:
                around.problems = tuple(Problem(*p) for p in view["problems"].get(around.linked(record_id).rel, ()))
                around.chain(record_id)
                around.referrers(record_id)
                rec = around.get(record_id)
                around.records.get(rec.data.get("customer"))
        except (*_LOOKUP_ERRORS, Changed):
            return None
        return around

    def linked(self, rid: str) -> _Linked:
        found = self._linked.get(rid)
        if found is None:
            found = self._linked[rid] = _Linked(self._blobs[rid])
        return found

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def source(self, rel: Path | str) -> str:
        """The file as written: the very bytes its record was read from, when it was (a save
        between two reads would show one version's fields under another's text)."""
        rel = Path(rel).as_posix()
        raw = self._read.get(rel)
        return decode(raw if raw is not None else (self.root / rel).read_bytes())

    def _stub(self, rid: str) -> Record:
        """A record with what a chain or referrer line shows and the chain is sorted by."""
        stub = self._stubs.get(rid)
        if stub is None:
            linked = self.linked(rid)
            data = {f: v for f, v in zip(CHAIN_PARENT.get(linked.kind, ()), linked.parents) if v is not None}
            data.update(status=linked.status, created_at=linked.created)
            stub = self._stubs[rid] = Record(linked.kind, rid, linked.rel, data)
        return stub

    def chain(self, record_id: str) -> list[Record]:
        """``Index.chain`` over the records linked to ``record_id`` by chain steps: every record
        whose chain root could be its own is among them, so the index finds the same chain."""
        if record_id not in self._chains:
            linked, todo = {record_id}, [record_id]
            while todo:
                step = self.linked(todo.pop())
                for other in (*step.children, *((step.parent,) if step.parent is not None else ())):
                    if other not in linked:
                        linked.add(other)
                        todo.append(other)
            stubs = {rid: self._stub(rid) for rid in sorted(linked)}
            self._chains[record_id] = Index(stubs, self.schemas).chain(record_id)
        return list(self._chains[record_id])

    def referrers(self, record_id: str) -> list[Record]:
        return [self._stub(rid) for rid in self.linked(record_id).referrers]


class _FullRecords:
    """ID -> the record as loading reads it, read from its file when first asked."""

    def __init__(self, root: Path, schemas: SchemaSet, around: Neighbourhood):
        self._root, self._schemas, self._around = str(root), schemas, around
        self._read: dict[str, Record] = {}

    def get(self, record_id, default=None):
        """Raises ``Changed`` when the file no longer holds a record of this kind."""
        if record_id not in self:
            return default
        if record_id not in self._read:
            linked = self._around.linked(record_id)
            try:
                raw = read_bytes(os.path.join(self._root, linked.rel))
            except OSError:
                raise Changed(linked.rel) from None
            _rel, _digest, kind, data, _problems = _read_one(self._root, linked.rel, self._schemas, MAX_BYTES, raw)
            if kind != linked.kind or not isinstance(data, dict):
                raise Changed(linked.rel)
            self._around._read[linked.rel] = raw
            self._read[record_id] = Record(kind, record_id, linked.rel, data)
        return self._read[record_id]

    def __contains__(self, record_id) -> bool:
        return isinstance(record_id, str) and record_id in self._around._blobs


class Changed(Exception):
    """A record file changed while it was being shown: show it again."""
