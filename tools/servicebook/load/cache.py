"""Per-file results of reading and schema-checking a record, and the last whole-repository
verdict, kept between runs outside git.

Keyed on the file's content hash, under a key for everything else the result depends on: the
schemas, the size bound, and the source of the code that reads and checks files. A changed file,
schema or reader simply misses. Like git's index, an entry also remembers the file's stat
signature (size, mtime, ctime, inode): while that is unchanged the file is not even read again.

Two kinds of store, marshal files written atomically (fast to load):

* ``records-KEY.marshal``: per file its content hash, kind, problems and stat signature, plus the
  verdict: every problem the checks found in the repository, under the hash of every file's
  content hash and of everything the checks depend on (:func:`verdict_key`). An unchanged
  repository is then answered without reading any record's data or running a check.
* ``data-KEY-KIND.marshal``: the parsed data of the files of one kind, each under its content
  hash, loaded only when records of that kind are needed and rewritten only when one changed.

A damaged, foreign or stale store is ignored, never trusted: every entry is checked for its shape
and every datum for the content hash the index gives its file.

Every store's checksum is keyed with a secret of this user on this machine (`seal`, kept in
``~/.cache/servicebook/``, outside every repository), and so are the names of the audit's SQLite
stores (`sealed_name`). ``.cache/`` is ignored by git, but a pull request can still commit files
there; a store made anywhere else — committed, copied in, hand-written — fails its check and is
rebuilt, so a verdict, a kept clock, page or signature verdict is only ever one this machine made.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
import sys
import tempfile
import time
from pathlib import Path

CACHE_DIR = Path(".cache") / "servicebook"
_FORMAT = b"servicebook-cache-3"
_READER_SOURCES = ("yamlload.py", "schemas.py", "instants.py", "corpus.py", "records.py", "cache.py")
_PACKAGE = Path(__file__).resolve().parent.parent  # servicebook/
_SUM = 16  # bytes of the checksum that starts every store
MISSING = object()  # no stored data (None is data: a file that did not parse)


def _reader_digest() -> str:
    h = hashlib.blake2b(_FORMAT, digest_size=16)
    here = Path(__file__).resolve().parent
    for name in _READER_SOURCES:
        h.update((here / name).read_bytes())
    h.update(installed())
    return h.hexdigest()


def installed() -> bytes:
    """The Python version and every installed distribution with its version (the names of the
    ``*.dist-info`` folders): the YAML parser, the validators and the holiday data are code too."""
    names = [sys.version]
    for folder in sys.path:
        if folder.endswith("site-packages") and os.path.isdir(folder):
            names += sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))
    return "\n".join(names).encode()


def read_store(path: Path) -> dict:
    """A cache file's dict, or an empty one when it is missing, unreadable, fails its checksum or
    is not a dict: a cache only ever saves work, so a bad one is rebuilt, never trusted."""
    try:
        raw = path.read_bytes()
        if raw[:_SUM] != seal(memoryview(raw)[_SUM:]):
            return {}
        loaded = marshal.loads(memoryview(raw)[_SUM:])
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_store(path: Path, value) -> None:
    """Write a cache file atomically: a checksum, then ``value`` as marshal (`read_store` reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        payload = marshal.dumps(value)
        with os.fdopen(fd, "wb") as f:
            f.write(seal(payload))  # a flipped bit, or a file this machine did not write, is caught
            f.write(payload)
        os.replace(tmp, path)
    except (OSError, ValueError):  # ValueError: a value marshal cannot write
        Path(tmp).unlink(missing_ok=True)
        raise OSError(f"cannot write {path}") from None


def caching() -> bool:
    """Whether stores are kept between runs (``SERVICEBOOK_NO_CACHE=1`` turns every one off)."""
    return os.environ.get("SERVICEBOOK_NO_CACHE", "") in ("", "0")


def drop_other_keys(folder: Path, family: str, *keep: Path) -> None:
    """Remove the ``family-*.marshal`` stores other than ``keep``: one written under another key is
    dead (its inputs or code changed) and would never be read again."""
    for old in folder.glob(f"{family}-*.marshal"):
        if old not in keep:
            old.unlink(missing_ok=True)


def content_hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def seal(data: bytes) -> bytes:
    """The checksum of a store's bytes, keyed with this machine's secret (see the module notes)."""
    return hashlib.blake2b(data, key=_local_key(), digest_size=_SUM).digest()


def sealed_name(text: str) -> str:
    """``text`` (a store's version) as a file name part only this machine's secret gives."""
    return hashlib.blake2b(text.encode(), key=_local_key(), digest_size=8).hexdigest()


def _key_file() -> Path | None:
    """Where this user's key is kept, or None when there is no such place outside every repository:
    ``$XDG_CACHE_HOME`` (only an absolute one, as the XDG spec says) or ``~/.cache``, and never
    inside a git working tree other than the home folder itself (a CI setting such as
    ``XDG_CACHE_HOME=$CI_PROJECT_DIR/.cache`` would let a pull request commit the key)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    home = os.path.expanduser("~")
    if os.path.isabs(xdg):
        base = Path(xdg)
    elif os.path.isabs(home):
        base = Path(home) / ".cache"
    else:
        return None  # no home folder: nowhere to keep it
    base = base.resolve()
    home_dir = Path(home).resolve() if os.path.isabs(home) else None
    for folder in (base, *base.parents):
        if folder != home_dir and (folder / ".git").exists():
            return None
    return base / "servicebook" / "store-key"


def _ours(path: Path) -> bool:
    """Whether ``path`` is a file of this user that no one else can read or write."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not (st.st_mode & 0o077) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())


def _own_key(path: Path) -> bytes | None:
    """The key in ``path`` if it is this user's, private (0600) and whole; else None."""
    if not _ours(path):
        return None
    try:
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == 32 else None


@functools.lru_cache(maxsize=None)
def _local_key() -> bytes:
    """32 random bytes made on first use and kept private (0600) outside every repository; when
    there is no such place, or the file there is not this user's own private key, this process's
    own (its stores then serve this run only)."""
    fresh = os.urandom(32)
    path = _key_file()
    if path is None:
        return fresh
    key = _own_key(path)
    if key is not None:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(fresh)
            try:
                os.link(tmp, path)  # never over another's: two first runs agree on one key
            except FileExistsError:  # another run's (read below), or a damaged one of ours:
                if _ours(path) and _own_key(path) is None:
                    os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        return fresh
    return _own_key(path) or fresh


def signature(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stat_signature(st)


# A file changed this recently may change again within the same tick of the file system's clock
# without its times moving: git's "racily clean" entries. Linux file systems take their times from
# the kernel's coarse clock, a tick of 1-10 ms: twice the longest tick. Longer would mark files as
# racy that a command started right after a save reads (each is then hashed again, and its cache
# written once more). File systems counting whole seconds (FAT, HFS+) would need more.
_RACY_NS = 20_000_000


def stat_signature(st: os.stat_result, now: int | None = None) -> tuple | None:
    """What says a file is unchanged without reading it: size, modification and change times and
    inode. The change time as git's index keeps it: ``touch -r`` or ``cp -p`` can put an edited
    file's modification time back, not its change time. None for a file changed a moment ago
    (``_RACY_NS``): a save of the same size later in the same clock tick would keep every one of
    these, so its content is hashed again until its times are safely in the past. ``now``: the
    clock read before the file was looked at (earlier only calls more files racy)."""
    if (time.time_ns() if now is None else now) - max(st.st_mtime_ns, st.st_ctime_ns) < _RACY_NS:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def source_digest(*parts: bytes) -> bytes:
    """The hash of ``parts`` and of every source file of the package (the checks reach into
    derive/ and its helpers: any change of code may change a verdict)."""
    h = hashlib.blake2b(b"\0".join(parts), digest_size=16)
    for folder, dirs, files in sorted(os.walk(_PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                h.update(name.encode() + b"\0")
                h.update(Path(folder, name).read_bytes())
    return h.digest()


def _is_entry(hit) -> bool:
    return type(hit) is tuple and len(hit) == 4 and type(hit[0]) is bytes


class FileCache:
    """path (str) -> (content hash, kind, problems as tuples, stat signature) in the index;
    path -> (content hash, data) in the store of its kind."""

    def __init__(self, root: Path, schema_digest: str, max_bytes: int, enabled: bool = True):
        self.key = hashlib.blake2b(f"{schema_digest}|{max_bytes}|{_reader_digest()}".encode(),
                                   digest_size=12).hexdigest()
        self.dir = root / CACHE_DIR
        self.path = self.dir / f"records-{self.key}.marshal"
        self.enabled = enabled and caching()
        store = read_store(self.path) if self.enabled else {}
        entries = store.get("files")
        self.entries: dict[str, tuple] = entries if type(entries) is dict else {}
        verdict = store.get("verdict")
        self._verdict = verdict if type(verdict) is tuple and len(verdict) == 2 else (None, None)
        self._data: dict[str, dict] = {}  # kind -> its store, as loaded
        self._dirty_kinds: set[str] = set()
        self.dirty = False

    def _entry(self, rel: str):
        hit = self.entries.get(rel)
        return hit if hit is not None and _is_entry(hit) else None

    def get(self, rel: str, digest: bytes):
        """(digest, kind, problems) when ``rel`` was read with this content."""
        hit = self._entry(rel)
        return hit[:3] if hit is not None and hit[0] == digest else None

    def unchanged_files(self, root: Path, rels: list[str]) -> tuple[list, list]:
        """Which of ``rels`` still have the stat signature they were read with, in one loop (100k
        files: a stat each and little else): ([(rel, digest, kind, problems)] of those,
        [(rel, stat signature or None)] of the others)."""
        entries, hits, others = self.entries, [], []
        prefix, stat, now = os.path.join(root, ""), os.stat, time.time_ns()
        for rel in rels:
            try:
                sig = stat_signature(stat(prefix + rel), now)
            except OSError:
                sig = None
            hit = entries.get(rel)
            if sig is not None and _is_entry(hit) and hit[3] == sig:
                hits.append((rel, hit[0], hit[1], hit[2]))
            else:
                others.append((rel, sig))
        return hits, others

    def data(self, kind, rel: str, digest: bytes):
        """The parsed data stored for ``rel`` with content ``digest``, else ``MISSING``."""
        if kind is None:
            return None
        store = self._data.get(kind)
        if store is None:
            store = self._data[kind] = read_store(self._data_path(kind)) if self.enabled else {}
        found = store.get(rel)
        if type(found) is tuple and len(found) == 2 and found[0] == digest:
            return found[1]
        return MISSING

    def put(self, rel: str, digest: bytes, kind, problems: tuple, sig, data=MISSING) -> None:
        self.entries[rel] = (digest, kind, problems, sig)
        self.dirty = True
        if data is not MISSING and kind is not None:
            if kind not in self._data:  # loaded before it is changed: the other files' data stays
                self.data(kind, rel, digest)
            self._data[kind][rel] = (digest, data)
            self._dirty_kinds.add(kind)

    def keep_only(self, rels: set[str]) -> None:
        stale = [k for k in self.entries if k not in rels]
        for k in stale:
            del self.entries[k]
        self.dirty = self.dirty or bool(stale)
        for kind, store in self._data.items():
            gone = [k for k in store if k not in rels]
            for k in gone:
                del store[k]
            if gone:
                self._dirty_kinds.add(kind)

    def verdict(self, key: bytes) -> tuple | None:
        """The problems (as tuples) stored for a repository whose verdict key is ``key``."""
        stored_key, problems = self._verdict
        return problems if stored_key == key and type(problems) is tuple else None

    def put_verdict(self, key: bytes, problems: tuple) -> None:
        if self._verdict[0] != key:
            self._verdict = (key, problems)
            self.dirty = True

    def _data_path(self, kind: str) -> Path:
        return self.dir / f"data-{self.key}-{kind}.marshal"

    def save(self) -> None:
        if not self.enabled or not (self.dirty or self._dirty_kinds):
            return
        try:
            # the data first: an index is never newer than the data it vouches for (a datum is
            # checked against the index's hash anyway)
            for kind in sorted(self._dirty_kinds):
                write_store(self._data_path(kind), self._data[kind])
            write_store(self.path, {"files": self.entries, "verdict": self._verdict})
            for pattern in ("records-*.marshal", "data-*.marshal"):  # other keys are dead
                for old in self.dir.glob(pattern):
                    if old != self.path and not old.name.startswith(f"data-{self.key}-"):
                        old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs time
        self.dirty = False
        self._dirty_kinds.clear()
