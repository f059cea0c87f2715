"""Record format versions and the steps between them.

A record says which format it is written in (``schema_version``); ``servicebook migrate``
upgrades old records one step at a time, losslessly: every value is kept, only its
representation changes. Each step is a function of (kind, data, schemas) that edits ruamel
round-trip data in place, so comments and key order survive.

Versions
  0  the spreadsheet-import format: no ``schema_version`` field; instants written in local
     time without offset or seconds (``2026-11-20 17:30``): company time
     (``servicebook.load.instants.localize``, the one place a time without offset is read).
  1  current: ``schema_version: 1``; instants RFC 3339 with offset (``2026-11-20T17:30:00+08:00``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from servicebook.load.instants import format_instant, localize
from servicebook.load.records import SCHEMAS_DIR, find_files, kind_of_path
from servicebook.load.schemas import SchemaSet, values_at
from servicebook.load.yamlload import YamlProblem, parse
from servicebook.write.writer import WriteRefused, digest, dump, load_for_edit, replace

CURRENT = 1
_V0_INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$")


def version_of(data: dict) -> int:
    value = data.get("schema_version", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def instant_paths(schemas: SchemaSet, kind: str):
    return [p for p, fmt in schemas.marked_paths(kind, "format") if fmt == "date-time"]


def _set(data: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _v0_to_v1(kind: str, data: Any, schemas: SchemaSet) -> None:
    for pattern in instant_paths(schemas, kind):
        for path, value in list(values_at(data, pattern)):
            if isinstance(value, datetime):  # ruamel read an unquoted timestamp
                _set(data, path, format_instant(localize(value)))
            elif isinstance(value, str) and (m := _V0_INSTANT.match(value)):
                moment = datetime(*(int(g or 0) for g in m.groups()))  # ValueError: no such day
                _set(data, path, format_instant(localize(moment)))
    position = list(data).index("id") + 1 if "id" in data else 0
    data.insert(position, "schema_version", 1)


STEPS: dict[int, Callable[[str, Any, SchemaSet], None]] = {0: _v0_to_v1}


def upgrade(kind: str, data: Any, schemas: SchemaSet) -> int:
    """Upgrade ``data`` in place to CURRENT; returns the version it started at."""
    start = version = version_of(data)
    if version < 0 or version > CURRENT:
        raise ValueError(f"unknown schema_version {data.get('schema_version')!r}")
    while version < CURRENT:
        STEPS[version](kind, data, schemas)
        version += 1
        data["schema_version"] = version
    return start


@dataclass(frozen=True)
class Outcome:
    """What migrating one file came to: ``start`` the version it was written in; ``error`` why
    it was not (or cannot be) upgraded; ``written`` whether the upgrade was written."""

    rel: str
    start: int | None = None
    error: str | None = None
    written: bool = False


def migrate(root: Path, *, write: bool) -> Iterator[Outcome]:
    """Every record file of ``root`` that is not at CURRENT, upgraded (``write``) or only found.
    A file the records' reader refuses is skipped (validate explains it); a file changed while
    it was being upgraded is never overwritten (``writer.replace``)."""
    schemas = SchemaSet(root / SCHEMAS_DIR)
    for rel in find_files(root):
        kind = kind_of_path(rel)
        if kind is None:
            continue
        raw = (root / rel).read_bytes()
        try:
            parse(raw)  # the one reader: what it refuses (encoding, syntax, tags...) validate explains
            data, yaml = load_for_edit(raw.decode("utf-8"))
        except (YamlProblem, WriteRefused) as err:
            reason = err.rule if isinstance(err, YamlProblem) else str(err)
            yield Outcome(rel.as_posix(), error=f"skipped, not readable as a record ({reason}); run servicebook validate")
            continue
        if not hasattr(data, "insert") or version_of(data) == CURRENT:
            continue
        try:
            start = upgrade(kind, data, schemas)
        except ValueError as err:
            yield Outcome(rel.as_posix(), error=str(err))
            continue
        if not write:
            yield Outcome(rel.as_posix(), start)
            continue
        try:
            replace(root / rel, dump(data, yaml), digest(raw))
        except WriteRefused as err:
            yield Outcome(rel.as_posix(), start, error=str(err))
            continue
        yield Outcome(rel.as_posix(), start, written=True)
