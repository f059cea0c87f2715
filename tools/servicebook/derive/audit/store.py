"""What the audit keeps between runs, in SQLite files under ``.cache/servicebook/``: the parsed
history (``open_history``), each commit's signature verdict and each record version as parsed
(``Table.file``).

Everything kept is named by git object IDs, which name their bytes, so an entry never goes stale,
and the main line only grows: a later run reads from git only the commits since the kept tip. The
file name carries a digest of the code that made it, so changed code starts afresh. SQLite, not
one marshal file, because `audit ID` needs a few rows of a history of 100,000 commits: a lookup
reads one row, a marshal file loads whole. A damaged, locked or foreign file only costs time: it is
ignored, never trusted, and replaced. ``SERVICEBOOK_NO_CACHE=1`` keeps everything in memory.
"""

from __future__ import annotations

import hashlib
import marshal
import sqlite3
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from pathlib import Path

from servicebook.derive.audit import history as hist
from servicebook.derive.audit.history import Commit, History, Touch
from servicebook.load import records
from servicebook.load.cache import CACHE_DIR, caching, sealed_name

_CHUNK = 500  # keys per IN (...) query: under SQLite's bound on parameters


def version_of(*sources: Path | bytes) -> str:
    """A short digest of the code (files or bytes) whose output a store keeps."""
    h = hashlib.blake2b(digest_size=8)
    for s in sources:
        h.update(s if isinstance(s, bytes) else Path(s).read_bytes())
    return h.hexdigest()


def connect(root: Path, name: str, version: str) -> sqlite3.Connection | None:
    """The store file ``name`` of this ``version`` (other versions of it are deleted; a damaged
    or foreign one is replaced by an empty one), or None when caching is off or impossible."""
    if not caching():
        return None
    folder = Path(root) / CACHE_DIR
    path = folder / f"{name}-{sealed_name(version)}.sqlite"  # a committed or copied-in file never matches
    for _attempt in range(2):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob(f"{name}-*.sqlite*"):
                if not old.name.startswith(path.name):
                    old.unlink(missing_ok=True)
            db = sqlite3.connect(path, timeout=10, isolation_level=None)
            db.execute("PRAGMA synchronous=OFF")  # a cache: a lost write costs time, never truth
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a foreign file fails here
            return db
        except (OSError, sqlite3.Error):
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                try:
                    stale.unlink(missing_ok=True)
                except OSError:
                    return None
    return None


def _same(value):
    return value


class Table(MutableMapping):
    """A dict kept in one SQLite table, read row by row (and remembered); writes wait in memory
    until ``save`` commits them. Values are marshalled after ``encode`` and ``decode``d when read."""

    def __init__(self, db: sqlite3.Connection | None, name: str,
                 encode: Callable = _same, decode: Callable = _same, text: bool = False):
        """``text``: the values are text, kept as is (so ``keys_with`` can ask for one)."""
        self.db, self.name, self.encode, self.decode, self.text = db, name, encode, decode, text
        self.known: dict = {}
        self.pending: dict = {}
        self.missing: set = set()
        if db is not None:
            db.execute(f"CREATE TABLE IF NOT EXISTS {name} (key TEXT PRIMARY KEY, value BLOB NOT NULL)")

    @classmethod
    def file(cls, root: Path, name: str, version: str) -> "Table":
        """A table alone in its own file (signature verdicts, parsed versions)."""
        return cls(connect(root, name, version), "entries")

    def _rows(self, sql: str, args=()) -> list:
        try:
            return self.db.execute(sql, args).fetchall() if self.db is not None else []
        except sqlite3.Error:
            return []

    def _take(self, key, blob) -> None:
        try:
            self.known[key] = blob if self.text else self.decode(marshal.loads(blob))
        except (ValueError, EOFError, TypeError):
            self.missing.add(key)  # a damaged row: as if absent

    def preload(self, keys: Iterable) -> None:
        """Read many keys in a few queries (what a whole run is about to ask for)."""
        todo = [k for k in dict.fromkeys(keys) if k not in self.known and k not in self.missing]
        for i in range(0, len(todo), _CHUNK):
            part = todo[i:i + _CHUNK]
            marks = ",".join("?" * len(part))
            for key, blob in self._rows(f"SELECT key, value FROM {self.name} WHERE key IN ({marks})", part):
                self._take(key, blob)
            self.missing.update(k for k in part if k not in self.known)

    def keys_with(self, value: str) -> list[str]:
        """The keys whose (text) value is ``value``."""
        stored = [k for (k,) in self._rows(f"SELECT key FROM {self.name} WHERE value = ?", (value,))]
        return list(dict.fromkeys([*(k for k in stored if k not in self.pending),
                                   *(k for k, v in self.pending.items() if v == value)]))

    def load_all(self) -> None:
        for key, blob in self._rows(f"SELECT key, value FROM {self.name}"):
            if key not in self.known:
                self._take(key, blob)

    def __getitem__(self, key):
        if key not in self.known and key not in self.missing:
            self.preload([key])
        if key in self.known:
            return self.known[key]
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __setitem__(self, key, value) -> None:
        self.known[key] = self.pending[key] = value
        self.missing.discard(key)

    def __delitem__(self, key) -> None:
        raise TypeError("kept entries are only replaced, or pruned by save(keep=...)")

    def __iter__(self) -> Iterator:
        stored = [k for (k,) in self._rows(f"SELECT key FROM {self.name}")]
        return iter(dict.fromkeys([*stored, *self.pending]))

    def __len__(self) -> int:
        return len(list(iter(self)))

    def items(self):
        self.load_all()
        return [(k, self[k]) for k in self]

    def write(self, keep: Iterable | None = None) -> None:
        """Queue the pending rows in the open transaction; with ``keep``, drop all others."""
        rows = []
        for k, v in self.pending.items():
            try:
                rows.append((k, v if self.text else marshal.dumps(self.encode(v))))
            except ValueError:
                pass  # not marshallable: not kept
        self.db.executemany(f"INSERT OR REPLACE INTO {self.name} VALUES (?, ?)", rows)
        if keep is not None:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM keep")
            self.db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
            self.db.execute(f"DELETE FROM {self.name} WHERE key NOT IN (SELECT key FROM keep)")

    def save(self, keep: Iterable | None = None) -> None:
        """Commit what was written; with ``keep``, drop every other entry (a whole run's set)."""
        if self.db is not None and (self.pending or keep is not None):
            _transaction(self.db, lambda: self.write(keep))
        self.pending = {}


def _transaction(db: sqlite3.Connection, work: Callable[[], None]) -> bool:
    try:
        db.execute("BEGIN IMMEDIATE")
        work()
        db.execute("COMMIT")
        return True
    except sqlite3.Error:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        return False


# -- the history ------------------------------------------------------------------------------------

def _commit_out(c: Commit) -> tuple:
    return (c.parents, c.author, c.email, c.authored, c.committed, c.subject, c.trailers, c.files)


def _touches_out(ts: list[Touch]) -> list:
    return [(t.sha, t.status, t.old, t.new, t.path, t.contributors) for t in ts]


def _touches_in(rows: list) -> list[Touch]:
    return [Touch(*row) for row in rows]


class _Commits(Table):
    def _take(self, key, blob) -> None:
        try:
            self.known[key] = Commit(key, *marshal.loads(blob))
        except (ValueError, EOFError, TypeError):
            self.missing.add(key)


def _kept(db: sqlite3.Connection) -> tuple[History, str | None]:
    """The history as kept in ``db`` (the main line and configuration in full, the rest by row),
    and the tip it ends at."""
    meta = Table(db, "meta")
    mainline = list(meta.get("mainline", []))
    return History(_Commits(db, "commits", _commit_out), mainline,
                   {sha: i for i, sha in enumerate(mainline)},
                   Table(db, "touches", _touches_out, _touches_in), Table(db, "kinds", text=True),
                   Table(db, "named"), Table(db, "landing", text=True),
                   {path: list(v) for path, v in meta.get("config", {}).items()}), meta.get("tip")


def _write(db: sqlite3.Connection, kept: History, tip: str) -> None:
    """Queue what ``kept`` (read by ``_kept``) holds that is not written yet, ending at ``tip``."""
    meta = Table(db, "meta")
    meta["mainline"], meta["config"], meta["tip"] = kept.mainline, kept.config, tip
    for table in (meta, kept.commits, kept.touches, kept.kinds, kept.named, kept.landing):
        table.write()


def open_history(repo, root: Path, rev: str = "HEAD") -> History:
    """The history of ``rev``: the kept one, extended by the commits since its tip; read whole
    from git (and kept) when there is none, it was rewritten, or caching is off."""
    head = repo.git.rev_parse(rev)
    db = connect(root, "history", version_of(Path(hist.__file__), Path(__file__), Path(records.__file__)))
    if db is not None:
        kept, tip = _kept(db)
        if tip == head:
            return kept
        if tip and kept.mainline and kept.mainline[-1] == tip:
            new = hist.parse_log(hist.git_log(repo, head, since=tip))
            if hist.grow(kept, new, head, tip):
                for sha, c in new.items():
                    kept.commits[sha] = c
                _transaction(db, lambda: _write(db, kept, head))
                return kept
    whole = hist.read_history(repo, rev)
    if db is not None:
        _rebuild(db, whole, head)
    return whole


def _rebuild(db: sqlite3.Connection, h: History, tip: str) -> None:
    """Keep ``h`` in ``db`` in place of whatever it held."""
    def work():
        for name in ("meta", "commits", "touches", "kinds", "named", "landing"):
            db.execute(f"DROP TABLE IF EXISTS {name}")
        kept, _none = _kept(db)
        for mine, theirs in ((kept.commits, h.commits), (kept.touches, h.touches), (kept.kinds, h.kinds),
                             (kept.named, h.named), (kept.landing, h.landing)):
            mine.pending.update(theirs)
        kept.mainline, kept.config = h.mainline, h.config
        _write(db, kept, tip)
    _transaction(db, work)
