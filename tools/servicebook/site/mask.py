"""Masking of personal data on the published site, driven by the schemas' `x-personal` markers.

No field list is hard-coded: any value whose schema node carries `"x-personal": "name" | "phone" |
"email" | "address"` (directly or through a `$ref`) is masked, wherever it sits in a record. Every
other text of a record goes through `servicebook.derive.personal.Known`, so a contact's name or number
typed into a note is masked too, in the same form as in its own field. That includes strings
checked by a pattern (an attachment path `uploads/<name>-<phone>.jpg` is valid): only the strings
that cannot hold a name are left alone -- record IDs, references (`x-ref-kind`), enum and const
values, dates and instants (`may_hold_text`).
`show_personal_data: true` in the plugin configuration (internal builds) turns masking off.

`MaskedCorpus` hands the same masked records to page sections that read the corpus themselves.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from servicebook.derive.personal import MASK, Known, mask_value  # noqa: F401 (mask_value: re-exported)
from servicebook.load.records import dated_history

from .schemaview import SchemaView

# What makes a string one that cannot hold a name: a status or other listed value, a reference,
# a date or instant, the record's own ID (`x-sb-def`: the common definition it was resolved from).
# A pattern alone does not: the attachment-path pattern admits any text without spaces.
_NOT_TEXT = frozenset(("enum", "const", "x-ref-kind"))
_NOT_TEXT_FORMATS = frozenset(("date", "date-time"))
_NOT_TEXT_DEFS = frozenset(("id", "instant", "date"))


def may_hold_text(node: dict) -> bool:
    """Whether a string the schema describes by ``node`` may hold personal data typed in it."""
    return (_NOT_TEXT.isdisjoint(node) and node.get("format") not in _NOT_TEXT_FORMATS
            and node.get("x-sb-def") not in _NOT_TEXT_DEFS)


class Masker:
    def __init__(self, view: SchemaView, enabled: bool = True, known: Known | None = None):
        self.view = view
        self.enabled = enabled
        self.known = known if enabled else None

    def text(self, value):
        """Free text with every known personal value masked (as is when masking is off)."""
        if self.known is None or not isinstance(value, str):
            return value
        return self.known.mask(value)

    def record(self, kind: str, data):
        """A masked deep copy of a record's data (the original is never modified)."""
        if not self.enabled:
            return data
        node, base = self.view.root(kind)
        return self._walk(data, node, base, 0)

    def free(self, value):
        """A value the schema does not describe: every text in it is treated as free text."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.free(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.free(v) for v in value]
        return value

    def _walk(self, value, node: dict, base: str, depth: int):
        if depth > 40:
            return self.free(value)
        node, base = self.view.resolve(node, base)
        marker = node.get("x-personal")
        if marker and not isinstance(value, (dict, list)):
            return mask_value(str(marker), value)
        if isinstance(value, str):
            return self.text(value) if may_hold_text(node) else value
        if isinstance(value, dict):
            props = {n: (s, b) for n, s, b in self.view.properties(node, base)}
            out = {}
            for k, v in value.items():
                if k in props:
                    out[k] = self._walk(v, props[k][0], props[k][1], depth + 1)
                elif marker:
                    out[k] = mask_value(str(marker), v) if not isinstance(v, (dict, list)) else "***"
                else:
                    out[k] = self.free(v)
            return out
        if isinstance(value, list):
            item, ibase = self.view.items(node, base)
            return [self._walk(v, item, ibase, depth + 1) for v in value]
        return value


class _Records(Mapping):
    """id -> masked record, masked on first access."""

    def __init__(self, owner: "MaskedCorpus"):
        self._owner = owner

    def __getitem__(self, rid):
        if not isinstance(rid, str):  # a broken reference (a list, a mapping): no such record
            raise KeyError(rid)
        return self._owner.masked_record(self._owner.raw.records[rid])

    def get(self, rid, default=None):  # asked for every link and name: no KeyError for a miss
        rec = self._owner.raw.records.get(rid)
        return self._owner.masked_record(rec) if rec is not None else default

    # derive walks every record by these: without a lookup by ID per record
    def values(self) -> list:
        return [self._owner.masked_record(r) for r in self._owner.raw.records.values()]

    def items(self) -> list:
        return [(rid, self._owner.masked_record(r)) for rid, r in self._owner.raw.records.items()]

    def __iter__(self) -> Iterator:
        return iter(self._owner.raw.records)

    def __len__(self) -> int:
        return len(self._owner.raw.records)

    def __contains__(self, rid) -> bool:
        return rid in self._owner.raw.records


class _Index:
    """The corpus index, answering with masked records where it answers with records."""

    def __init__(self, owner: "MaskedCorpus"):
        self._owner = owner

    def __getattr__(self, name):
        found = getattr(self._owner.raw.index, name)
        if name == "records":
            return self._owner.records
        if not callable(found):
            return found
        return lambda *a, **kw: self._owner.convert(found(*a, **kw))


class MaskedRecord:
    """A record whose data is masked when first read: sections walk many records only by kind
    (the SLA engine of the delivery pages looks at every record's kind), and masking all of them
    would cost 16 s at 100k records."""

    __slots__ = ("kind", "id", "path", "_raw", "_mask", "_data", "_dated")

    def __init__(self, rec, mask: Callable[[Any], Any]):
        self.kind, self.id, self.path = rec.kind, rec.id, getattr(rec, "path", None)
        self._raw, self._mask, self._data, self._dated = rec, mask, _UNREAD, None

    @property
    def data(self):
        if self._data is _UNREAD:
            self._data = self._mask(self._raw)
        return self._data

    @property
    def dated_history(self):
        """`load.records.dated_history` of the masked data (its notes are masked), parsed once."""
        if self._dated is None:
            self._dated = dated_history(self.data)
        return self._dated

    @property
    def status(self):
        data = self.data
        return data.get("status") if isinstance(data, dict) else None

    def __repr__(self) -> str:
        return f"MaskedRecord(kind={self.kind!r}, id={self.id!r})"


_UNREAD = object()


class MaskedCorpus:
    """The corpus as a masked build shows it: the same API (records, of_kind, get, chain,
    referrers, index, schemas, lifecycle, ...), every record's data masked by ``masked(record)``
    (the site model's cached `Masker.record`) when it is first read, so a section that reads a
    few records masks a few. Records are never modified: masked ones are copies."""

    content_key = None  # the repository's content key vouches for its records, not for masked copies

    def __init__(self, corpus, masked: Callable[[Any], Any]):
        self.raw = corpus
        self._masked = masked
        self._copies: dict[str, MaskedRecord] = {}
        self.records = _Records(self)
        self.index = _Index(self)

    def masked_record(self, rec) -> MaskedRecord:
        copy = self._copies.get(rec.id)
        if copy is None or copy._raw is not rec:
            copy = self._copies[rec.id] = MaskedRecord(rec, self._masked)
        return copy

    def convert(self, found):
        if isinstance(found, list):
            return [self.convert(x) for x in found]
        if hasattr(found, "kind") and hasattr(found, "data") and hasattr(found, "id"):
            return self.masked_record(found)
        return found

    def of_kind(self, kind: str) -> list:
        return [self.masked_record(r) for r in self.raw.of_kind(kind)]

    def get(self, rid):
        rec = self.raw.records.get(rid)
        return self.masked_record(rec) if rec is not None else None

    def chain(self, rid) -> list:
        return self.convert(self.raw.chain(rid))

    def referrers(self, rid) -> list:
        return self.convert(self.raw.referrers(rid))

    def __getattr__(self, name):
        return getattr(self.raw, name)
