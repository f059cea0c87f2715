"""Per-file results of reading and schema-checking a record, kept between runs outside git.

Keyed on the file's content hash, under a key for everything else the result depends on: the
schemas, the size bound, and the source of the code that reads and checks files. A changed file,
schema or reader simply misses. Like git's index, an entry also remembers the file's stat
signature (size, mtime, inode): while that is unchanged the file is not even read again. The cache is one marshal file (fast to load, written atomically):
a damaged or foreign cache is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from pathlib import Path

CACHE_DIR = Path(".cache") / "servicebook"
_FORMAT = b"servicebook-cache-2"
_READER_SOURCES = ("yamlload.py", "schemas.py", "instants.py", "corpus.py", "records.py")


def _reader_digest() -> str:
    h = hashlib.blake2b(_FORMAT, digest_size=16)
    here = Path(__file__).resolve().parent
    for name in _READER_SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def read_store(path: Path) -> dict:
    """A cache file's dict, or an empty one when it is missing, unreadable or not a dict: a cache
    only ever saves work, so a bad one is rebuilt, never trusted."""
    try:
        loaded = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def content_hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def signature(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class FileCache:
    """path (str) -> (content hash, kind, data, problems as tuples, stat signature)."""

    def __init__(self, root: Path, schema_digest: str, max_bytes: int, enabled: bool = True):
        key = hashlib.blake2b(f"{schema_digest}|{max_bytes}|{_reader_digest()}".encode(),
                              digest_size=12).hexdigest()
        self.path = root / CACHE_DIR / f"records-{key}.marshal"
        self.enabled = enabled and os.environ.get("SERVICEBOOK_NO_CACHE", "") in ("", "0")
        self.entries: dict[str, tuple] = read_store(self.path) if self.enabled else {}
        self.dirty = False

    def get(self, rel: str, digest: bytes):
        hit = self.entries.get(rel)
        return hit[:4] if hit is not None and hit[0] == digest else None

    def unchanged(self, rel: str, sig: tuple | None):
        """The cached result if the file's stat signature is the one it was read with."""
        hit = self.entries.get(rel)
        return hit[:4] if hit is not None and sig is not None and hit[4] == sig else None

    def put(self, rel: str, digest: bytes, kind, data, problems: tuple, sig) -> None:
        self.entries[rel] = (digest, kind, data, problems, sig)
        self.dirty = True

    def keep_only(self, rels: set[str]) -> None:
        stale = [k for k in self.entries if k not in rels]
        for k in stale:
            del self.entries[k]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".records-", dir=self.path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(self.entries))
            os.replace(tmp, self.path)
            for old in self.path.parent.glob("records-*.marshal"):  # other keys are dead
                if old != self.path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs time
