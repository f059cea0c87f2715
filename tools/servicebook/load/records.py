"""Record kinds, files and IDs.

One record, one file: ``records/<kind>/[...]/<ID>.yaml``. The first folder under ``records/`` is the
kind, the file name is the ID, and IDs are generated without any coordination between branches.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import secrets

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from servicebook.load.instants import instant_or_none


@dataclass(frozen=True)
class Kind:
    name: str
    prefix: str
    case: bool  # case records belong to a customer's case chain and live in per-year folders


# The one table of kinds. Reference data first, then the lifecycle in process order.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("person", "P", False),
        Kind("customer", "CU", False),
        Kind("product", "PD", False),
        Kind("policy", "SLA", False),
        Kind("calendar", "CAL", False),
        Kind("survey", "SV", True),
        Kind("appraisal", "AP", True),
        Kind("solution", "SO", True),
        Kind("feasibility", "FS", True),
        Kind("contract", "CT", True),
        Kind("installation", "IN", True),
        Kind("complaint", "CP", True),
        Kind("repair", "RP", True),
        Kind("callback", "CB", True),
        # after-sales depth
        Kind("kb", "KB", False),
        Kind("part", "PT", False),
        Kind("inspection", "IS", True),
        Kind("part-request", "PQ", True),
        # pre-sales quality and delivery
        Kind("bid", "BD", True),
        Kind("communication", "CM", True),
        Kind("requirements", "RQ", True),
        Kind("change", "CH", True),
        Kind("progress", "PG", True),
        Kind("risk", "RK", True),
        Kind("problem", "PB", True),
    )
}
KIND_BY_PREFIX = {k.prefix: k.name for k in KINDS.values()}

RECORDS_DIR = "records"
SCHEMAS_DIR = "schemas"
SUFFIX = ".yaml"

# Crockford's base32: no I, L, O, U, so an ID read aloud or copied by hand survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# what Path would tidy away or change in text: "//", "." segments, a trailing "/", backslashes
_UNTIDY_PATH = re.compile(r"//|(?:^|/)\.(?:/|$)|/$|\\|^$")


class _PathOnFirstUse:
    """A field holding a Path that may be given as text and becomes a Path when first read:
    loading builds 100k records, and making a Path of each costs ~1 s that validate never needs."""

    def __set_name__(self, owner, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj, objtype=None) -> Path:
        if obj is None:
            raise AttributeError(self.slot)  # no default for the dataclass
        value = obj.__dict__[self.slot]
        if value.__class__ is str:
            value = obj.__dict__[self.slot] = Path(value)
        return value

    def __set__(self, obj, value: Path | str) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class Record:
    kind: str
    id: str
    path: Path = _PathOnFirstUse()  # relative to the repository root, e.g. records/complaint/2026/CP-....yaml
    data: dict[str, Any] = field(repr=False)

    @property
    def status(self) -> str | None:
        return self.data.get("status")

    @cached_property
    def dated_history(self) -> tuple[tuple[datetime, dict], ...]:
        """`dated_history` of this record's data, parsed once: a corpus's records are read-only,
        and the case and after-sales figures read each record's history several times."""
        return dated_history(self.data)

    @property
    def file(self) -> str:
        """``path.as_posix()`` without making the Path when the path was given as plain text
        (export writes 100k of them: ~0.5 s of Path objects)."""
        value = self.__dict__["_path"]
        if value.__class__ is str and not _UNTIDY_PATH.search(value):
            return value
        return self.path.as_posix()


def dated_history(data: Any) -> tuple[tuple[datetime, dict], ...]:
    """((instant, entry), ...) of the history entries that are mappings with a readable ``at``, in
    record order. An entry of the wrong shape or time is a broken record, which the schema check
    reports, located: figures leave it out."""
    hist = data.get("history") if isinstance(data, dict) else None
    if not isinstance(hist, list):
        return ()
    out = []
    for h in hist:
        if isinstance(h, dict):
            when = instant_or_none(h.get("at"))
            if when is not None:
                out.append((when, h))
    return tuple(out)


class ById(dict):
    """Records by ID (`Corpus.records`), read-only once built (``ById(mapping)``). A reference read from a broken record may be a list or a
    mapping (the schema check reports it, located): looking it up finds nothing, as for any
    unknown ID, where a plain dict raises TypeError (unhashable). Text keys only."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("the corpus's records are read-only: derive a new value instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only

    def get(self, key, default=None):
        return dict.get(self, key, default) if isinstance(key, str) else default

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key)


def get(data: Any, path: str, default=None):
    """A value by dotted path, ``get(rec.data, "handling.handler.by")``; ``default`` when any
    step is missing."""
    cur = data
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return default
    return cur


def get_list(data: Any, path: str) -> list:
    """The list at dotted ``path``; ``[]`` when it is missing or not a list. A value of the wrong
    type is a broken record, which the schema check reports, located: a consumer treats it as
    absent (and checks each item's type in turn)."""
    value = get(data, path)
    return value if isinstance(value, list) else []


def get_dict(data: Any, path: str) -> dict:
    """The mapping at dotted ``path``; ``{}`` when it is missing or not a mapping (see `get_list`)."""
    value = get(data, path)
    return value if isinstance(value, dict) else {}


_ID_TAIL = re.compile(r"-[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


def is_id_of(kind: str, record_id: str) -> bool:
    """Whether ``record_id`` is a well-formed ID of ``kind`` (`CP-20261120-7KQ2XM`, `P-zhang-wei`):
    the schemas' pattern, and the only text that may become a file name under records/."""
    prefix = KINDS[kind].prefix
    return record_id.startswith(prefix) and bool(_ID_TAIL.fullmatch(record_id, len(prefix)))


def kind_of_id(record_id: str) -> str | None:
    prefix = record_id.split("-", 1)[0]
    return KIND_BY_PREFIX.get(prefix)


def new_id(kind: str, on: date | None = None, taken: set[str] | None = None) -> str:
    """``CP-20261123-7KQ2XM``: the kind, the day, 30 random bits.

    Two branches creating records on the same day collide with odds of about n^2 / 2^31 for n
    records of one kind that day; ``taken`` (IDs already in this checkout) rules out local
    collisions, and the validator's duplicate check catches the astronomically rare rest.
    """
    prefix = KINDS[kind].prefix
    day = (on or date.today()).strftime("%Y%m%d")
    while True:
        bits = secrets.randbits(30)
        tail = "".join(_ALPHABET[(bits >> shift) & 31] for shift in (25, 20, 15, 10, 5, 0))
        candidate = f"{prefix}-{day}-{tail}"
        if not taken or candidate not in taken:
            return candidate


def path_for(kind: str, record_id: str) -> Path:
    """Where ``new`` puts a record: reference data flat, cases in the year of their ID."""
    base = Path(RECORDS_DIR) / kind
    parts = record_id.split("-")
    if KINDS[kind].case and len(parts) >= 2 and len(parts[1]) == 8 and parts[1].isdigit():
        base = base / parts[1][:4]
    return base / f"{record_id}{SUFFIX}"


def find_files(root: Path) -> list[Path]:
    """Every record file under ``root/records``, relative to root, in a stable order."""
    return [Path(name) for name in find_names(root)]


def find_names(root: Path) -> list[str]:
    """``find_files`` as text ('records/complaint/2026/CP-....yaml'): building 100k Path objects
    costs more than walking the folders, so the hot paths use these.

    os.scandir instead of Path.rglob: at 100k files the difference is seconds.
    """
    top = root / RECORDS_DIR
    found: list[str] = []
    stack = [str(top)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    stack.append(entry.path)
            elif entry.name.endswith(SUFFIX) or entry.name.endswith(".yml"):
                found.append(entry.path)
    # relative paths by slicing: os.path.relpath costs more than the walk itself at 100k files
    prefix = len(str(top)) + 1
    return [f"{RECORDS_DIR}/{p[prefix:]}" for p in sorted(found)]


def kind_of_path(rel: Path | str) -> str | None:
    """The folder under records/ names the kind (None when it names none)."""
    parts = rel.split("/") if isinstance(rel, str) else rel.parts
    if len(parts) >= 3 and parts[0] == RECORDS_DIR and parts[1] in KINDS:
        return parts[1]
    return None


def fingerprint(rec) -> bytes | None:
    """A digest of a record's kind, ID and content (`content_digest`): what every store kept
    between runs (SLA clocks, KB matches, site pages and masks) checks a record by.

    Taken once per loaded record, as `Record.dated_history` is (a corpus's records are read-only):
    a site build's four stores each took it, 2.9 s of a one-change rebuild at 100k."""
    if rec.__class__ is not Record:  # a view over a record (a masked one): its data is its own
        return content_digest((rec.kind, rec.id, rec.data))
    memo = rec.__dict__
    try:
        return memo["_fingerprint"]
    except KeyError:
        fp = memo["_fingerprint"] = content_digest((rec.kind, rec.id, rec.data))
        return fp


def content_digest(value) -> bytes | None:
    """A digest of plain data (as YAML reads it); None when it cannot be taken. Equal digests mean
    equal values; the converse need not hold (a miss costs time)."""
    try:  # version 0: no flag for interned texts, no back-references, so the same bytes in every process
        return hashlib.blake2b(marshal.dumps(value, 0), digest_size=16).digest()
    except ValueError:
        return None
