"""The SLA clocks of cases, kept between runs in ``.cache/servicebook/`` (outside git).

Most cases of a large repository are closed: their clocks stopped long ago and come out the same
whatever the instant they are computed for. Computing them again on every run was most of the
engine's time. Here each record's clocks are kept with what they were computed from, and used
again only when that is unchanged:

* the records the computation read (the case, its customer and contract, the people named as
  owners, the records referring to it that start or stop a clock, ...), each by a digest of its
  content, and the records it looked for and did not find;
* the records it found referring to the case, per lookup (a new referrer is a new input);
* the instant: every instant it compared with the as-of instant (history entries, field instants,
  the ends of days a visit counts to) lies at or before the newest of them, ``horizon``; clocks
  are kept only when the as-of instant was at or after the horizon, and used for any as-of
  instant at or after it, for which every comparison comes out the same (a closed clock, stopped
  or cancelled, no longer depends on the as-of instant at all; an open one only by the time it
  counts up to it: below);
* everything else every clock depends on is in the file's name: the engine's source, the holiday
  data's version, the policies, calendars, people and lifecycle (a change there rebuilds all).

Checking the digests of an entry costs about half of computing its clocks. So the file also
notes the repository's ``Corpus.content_key`` when every entry was checked or computed against
it: while the repository's content is unchanged, its entries are taken without their digests
(the instant is still checked); after any change each entry is checked again, once.

Open clocks are kept as what they were measured from (start, stops, pauses, the plan): every
event they depend on lies at or before the horizon, so for a later as-of instant only the time
counted up to it changes, and the engine measures them again (``Engine.remeasure``) instead of
reading their records. Clocks in error, the open clocks of schedules and records whose inputs
cannot be digested are never kept. A damaged or foreign file, or an entry of the wrong shape,
only costs time: it is ignored and replaced, never trusted. ``SERVICEBOOK_NO_CACHE=1`` turns the store off.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import weakref
from pathlib import Path

from servicebook.derive.sla.calendar import zone_named
from servicebook.load.cache import CACHE_DIR, caching, drop_other_keys, read_store, write_store
from servicebook.load.records import fingerprint

_FORMAT = b"servicebook-sla-clocks-3"
_NAME = "sla-clocks"
_TZ_FIELD = 22  # index of ``tz`` in ``Clock.values()``
_FIELDS = 27  # length of ``Clock.values()``
OPEN_LEN = 3  # length of an open clock's entry: (what it was measured from, last_cycle, missing)
_HERE = Path(__file__).resolve().parent
# the code a kept clock depends on: the engine, its policies and calendar, schedules, instants
_SOURCES = (*sorted(_HERE.glob("*.py")), _HERE.parent / "schedules.py",
            _HERE.parent.parent / "load" / "instants.py")


# kinds any clock may read without naming them (role holders, policies, calendars): in the key
EVERY_CLOCK_READS = ("person", "policy", "calendar")


def _holiday_data_version() -> str:
    import chinese_calendar  # the calendar's holiday data (a dependency): its version is an input

    return str(getattr(chinese_calendar, "__version__", "unknown"))


class Trace:
    """What computing one record's clocks read: records (by ID, found or not), referrer lookups,
    the newest instant compared with the as-of instant, and what each clock was measured from
    (``Engine._measured``, by the clock's ``id()``)."""

    __slots__ = ("ids", "lookups", "horizon", "measured")

    def __init__(self, rid: str):
        self.ids: set[str] = {rid}
        self.lookups: list[tuple[str, str, str]] = []
        self.horizon = -float("inf")
        self.measured: dict[int, tuple] = {}

    def instant(self, t) -> None:
        if t is not None and t > self.horizon:
            self.horizon = t

    def plain(self, clocks) -> tuple:
        """Plain values (sent back by a forked worker): what each of ``clocks`` was measured from
        in their order (None: not measured, a schedule's or an error)."""
        return (tuple(sorted(self.ids)), tuple(self.lookups), self.horizon,
                tuple(self.measured.get(id(c)) for c in clocks))


def _closed_values(clock) -> tuple:
    """A closed clock's values as kept: its zone by name."""
    v = clock.values()
    return (*v[:_TZ_FIELD], v[_TZ_FIELD].key, *v[_TZ_FIELD + 1:])


class ClockStore:
    """rid -> (horizon, ids, lookups, digest of their state, clocks as value tuples)."""

    def __init__(self, root: Path, key: str, records, referring, content_key: bytes | None = None):
        self.path = Path(root) / CACHE_DIR / f"{_NAME}-{key}.marshal"
        self._records = records  # id -> record, as the engine holds them
        # (kind, field, target) -> the referring records. The engine owns this store and this is
        # its method: held weakly, so a dropped engine is freed at once instead of waiting, with
        # every history it read, for the cyclic collector (0.6 s at 100k records)
        self._referring = weakref.WeakMethod(referring) if inspect.ismethod(referring) else lambda: referring
        self._fp: dict[str, bytes | None] = {}
        kept = read_store(self.path)
        entries, checked_under = kept.get("entries"), kept.get("content")
        self.entries: dict = entries if type(entries) is dict else {}
        self._content_key = content_key
        self._checked_under = checked_under if type(checked_under) is bytes else None
        # every entry was checked or computed against this very content: no digests to compare
        self._trusted = content_key is not None and self._checked_under == content_key
        self._checked: set[str] = set()  # entries checked or computed in this run
        self.dirty = False
        self.hits = 0
        self.remeasured = 0  # open clocks the engine measured again from their entries

    @classmethod
    def for_repository(cls, root: Path, engine_key: bytes, records, referring,
                       content_key: bytes | None = None) -> ClockStore | None:
        if not caching():
            return None
        h = hashlib.blake2b(_FORMAT, digest_size=12)
        for src in _SOURCES:
            h.update(src.read_bytes())
        h.update(_holiday_data_version().encode())
        h.update(sys.version.encode())
        h.update(engine_key)
        return cls(root, h.hexdigest(), records, referring, content_key)

    def _fingerprint(self, rid: str) -> bytes | None:
        fp = self._fp.get(rid, b"")
        if fp == b"":
            rec = self._records.get(rid)
            fp = self._fp[rid] = b"-" if rec is None else fingerprint(rec)
        return fp

    def _digest(self, ids, lookups) -> bytes | None:
        h = hashlib.blake2b(digest_size=16)
        for rid in ids:
            fp = self._fingerprint(rid)
            if fp is None:
                return None
            h.update(rid.encode() + b"\0" + fp)
        for kind, fld, target in lookups:
            h.update(f"\1{kind}\0{fld}\0{target}\0".encode())
            h.update("\0".join(r.id for r in self._referring()(kind, fld, target)).encode())
        return h.digest()

    def get(self, rid: str, A: float) -> list[tuple] | None:
        """The kept clocks of ``rid`` as of ``A`` (value tuples, ``tz`` restored; an open clock's
        entry as ``put`` made it, for ``Engine.remeasure``), or None."""
        entry = self.entries.get(rid)
        if entry is None:
            return None
        self._checked.add(rid)  # a kept entry that fails is computed again and put (or dropped)
        try:
            horizon, ids, lookups, digest, clocks = entry
            if not A >= horizon or (not self._trusted and self._digest(ids, lookups) != digest):
                return None
            out = [c if len(c) == OPEN_LEN else (*c[:_TZ_FIELD], zone_named(c[_TZ_FIELD]), *c[_TZ_FIELD + 1:])
                   for c in clocks]
            if any(len(c) != _FIELDS and len(c) != OPEN_LEN for c in out):
                return None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):  # a damaged entry: not trusted
            return None
        self.hits += 1
        return out

    def put(self, rid: str, A: float, trace: tuple, clocks: list) -> None:
        """Keep ``clocks`` (``Clock`` objects) of ``rid`` computed as of ``A`` under ``trace``
        (``Trace.plain()``) if they can be used again; else forget any kept ones."""
        ids, lookups, horizon, measured = trace
        self._checked.add(rid)
        keep = A >= horizon and all(
            c.state != "error" and ((m is not None) if c.open else
                                    (c.tz is not None and isinstance(getattr(c.tz, "key", None), str)))
            for c, m in zip(clocks, measured))
        digest = self._digest(ids, lookups) if keep else None
        if digest is None:
            if self.entries.pop(rid, None) is not None:
                self.dirty = True
            return
        values = [(m, c.last_cycle, c.missing) if c.open else _closed_values(c) for c, m in zip(clocks, measured)]
        self.entries[rid] = (horizon, ids, lookups, digest, values)
        self.dirty = True

    def keep_only(self, rids) -> None:
        stale = [rid for rid in self.entries if rid not in rids]
        for rid in stale:
            del self.entries[rid]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        # the content every entry now agrees with: this run's, when each was checked or computed
        # against it (or already was); else none, and the next run checks each entry
        checked_under = (self._content_key if self._content_key is not None and (
            self._trusted or self._checked.issuperset(self.entries)) else None)
        if not self.dirty and checked_under == self._checked_under:
            return
        try:  # checksummed: a flipped bit is not loaded as other clocks
            write_store(self.path, {"content": checked_under, "entries": self.entries})
            drop_other_keys(self.path.parent, _NAME, self.path)
            self._checked_under = checked_under
        except OSError:
            pass  # a store that cannot be written only costs time
        self.dirty = False
