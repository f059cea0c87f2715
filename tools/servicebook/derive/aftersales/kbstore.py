"""Knowledge-base matches kept between runs in ``.cache/servicebook/`` (outside git).

A case's matches (`kb.match`) depend on nothing but what the case says (`kb.case_facts` reads only
the case record) and on the entries offered. The KB pages match every repair and complaint; after
one record changed, matching all of them again was most of a rebuild's after-sales time. So each
case's best matches are kept under a digest of its record, in a file whose name digests the
entries (each by its content), the matching code and the number of matches kept: a changed
entry, a changed rule or other code matches every case again; a changed case matches that case.

A damaged or foreign file, or an entry of the wrong shape, is ignored and replaced, never
trusted. ``SERVICEBOOK_NO_CACHE=1`` turns the store off.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from servicebook.load.records import fingerprint
from servicebook.load.cache import CACHE_DIR, caching, drop_other_keys, read_store, write_store

_FORMAT = b"servicebook-kb-matches-1"
_NAME = "kb-matches"
_HERE = Path(__file__).resolve().parent
_SOURCES = (_HERE / "kb.py", _HERE / "kbstore.py", _HERE / "common.py")


class KeptMatches:
    """case ID -> (digest of the case record, [(entry ID, same product, code, category,
    similarity, reasons)]), best first."""

    def __init__(self, path: Path, entries: dict):
        self.path = path
        self.entries_by_id = entries  # entry ID -> the entry record matched against
        self.kept: dict = read_store(path)
        self.dirty = False

    @classmethod
    def for_corpus(cls, corpus, entries: list, limit: int, min_similarity: float) -> KeptMatches | None:
        """The store of ``corpus``'s repository for matching against ``entries`` (records), or None:
        caching off, not a whole repository as loaded, or an entry that cannot be digested."""
        root = getattr(corpus, "root", None)
        if root is None or getattr(corpus, "only", None) is not None or not caching():
            return None
        h = hashlib.blake2b(_FORMAT, digest_size=12)
        for src in _SOURCES:
            h.update(src.read_bytes())
        h.update(f"{sys.version}\0{limit!r}\0{min_similarity!r}".encode())
        for rec in entries:  # in the order matching walks them: a tie keeps the first
            fp = fingerprint(rec)
            if fp is None:
                return None
            h.update(rec.id.encode() + b"\0" + fp)
        return cls(Path(root) / CACHE_DIR / f"{_NAME}-{h.hexdigest()}.marshal", {r.id: r for r in entries})

    def get(self, case) -> list[tuple] | None:
        """The kept matches of ``case`` as (entry record, same product, code, category, similarity,
        reasons), or None when there are none for its present content."""
        found = self.kept.get(case.id)
        fp = fingerprint(case)
        try:
            digest, rows = found
            if fp is None or digest != fp:
                return None
            out = [(self.entries_by_id[eid], bool(p), bool(c), bool(k), float(s), [str(r) for r in why])
                   for eid, p, c, k, s, why in rows]
        except (TypeError, ValueError, KeyError):  # missing or damaged: not trusted
            return None
        return out

    def put(self, case, matches) -> None:
        fp = fingerprint(case)
        if fp is None:
            return
        self.kept[case.id] = (fp, [(m.entry.id, m.same_product, m.code, m.category, m.similarity, list(m.reasons))
                                   for m in matches])
        self.dirty = True

    def save(self, case_ids) -> None:
        """Write the store, keeping only ``case_ids`` (deleted cases go); other keys' files go."""
        stale = [cid for cid in self.kept if cid not in case_ids]
        for cid in stale:
            del self.kept[cid]
        if not (self.dirty or stale):
            return
        try:
            write_store(self.path, self.kept)
            drop_other_keys(self.path.parent, _NAME, self.path)
        except OSError:
            pass  # a store that cannot be written only costs time
        self.dirty = False
