"""Records out of YAML, into formats analysts query: JSON Lines, SQLite, Parquet.

One row per record with the columns every record shares (id, kind, file, status, customer,
created_at, ...) plus the whole record as JSON, and one row per history entry, so that years of
records can be asked questions in SQL (SQLite's json_extract, DuckDB's read_json / read_parquet)
without touching YAML. Nothing is written to records/.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterable

import orjson

from servicebook.load.records import Record
from servicebook.write.writer import umask_mode

COMMON = ("id", "kind", "file", "schema_version", "status", "customer", "filled_by", "created_at")
HISTORY = ("record_id", "seq", "at", "by", "status", "note")
FORMATS = ("jsonl", "sqlite", "parquet")


COLUMNS = (*COMMON, "data")


def record_row(rec: Record) -> dict:
    """The columns every record shares, then the whole record as JSON text (``data``)."""
    return dict(zip(COLUMNS, (*_shared_values(rec), _sorted_json(rec.data))))


def _shared_values(rec: Record) -> tuple:
    """The values of ``COMMON`` (a tuple: 100k rows need no dict each)."""
    data = rec.data
    customer, filled_by, created_at = data.get("customer"), data.get("filled_by"), data.get("created_at")
    return (rec.id, rec.kind, rec.file, data.get("schema_version"), data.get("status"),
            customer if isinstance(customer, str) else None,
            filled_by if isinstance(filled_by, str) else None,
            created_at if isinstance(created_at, str) else None)


def history_values(rec: Record) -> Iterable[tuple]:
    """The values of ``HISTORY`` of each history entry, in order."""
    history = rec.data.get("history")
    if isinstance(history, list):
        rid = rec.id
        for seq, entry in enumerate(history):
            if isinstance(entry, dict):
                get = entry.get
                yield rid, seq, get("at"), get("by"), get("status"), get("note")


_ORJSON_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _sorted_json(value) -> str:
    """``value`` as compact JSON text, keys sorted: orjson, twice as fast as json's C encoder over
    100k records, and a number that is not finite is ``null`` (json wrote ``NaN``, which no JSON
    reader, SQLite's json_extract included, accepts). A value orjson refuses (an integer past 64
    bits, a lone surrogate) goes through json, all ASCII: valid JSON of the same value."""
    try:
        return orjson.dumps(value, option=_ORJSON_SORTED).decode()
    except orjson.JSONEncodeError:
        return json.dumps(_finite(value), sort_keys=True, separators=(",", ":"))


def _finite(value):
    """``value`` with every number that is not finite as None (JSON has no spelling for it)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _atomic(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, umask_mode())
    os.close(fd)
    return Path(tmp)


def export(records: Iterable[Record], fmt: str, out: Path) -> int:
    """Write every record to ``out`` in ``fmt``; returns the number of records. The file
    appears whole or not at all."""
    records = sorted(records, key=lambda r: r.id)
    tmp = _atomic(out)
    try:
        if fmt == "jsonl":
            with open(tmp, "w", encoding="utf-8") as f:
                # the record itself in the row (record_row's text of it is not needed), a thousand
                # rows to a write
                for i in range(0, len(records), 1000):
                    f.write("".join([_sorted_json(dict(zip(COLUMNS, (*_shared_values(rec), rec.data)))) + "\n"
                                     for rec in records[i:i + 1000]]))
        elif fmt == "sqlite":
            _sqlite(records, tmp)
        elif fmt == "parquet":
            _parquet(records, tmp)
        else:
            raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return len(records)


def _sqlite(records: list[Record], path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.execute(f"CREATE TABLE records ({', '.join(c + ' TEXT' for c in COMMON)}, data TEXT)")
        con.execute("CREATE TABLE history (record_id TEXT, seq INTEGER, at TEXT, by TEXT, "
                    "status TEXT, note TEXT)")
        con.executemany(f"INSERT INTO records VALUES ({', '.join('?' * (len(COMMON) + 1))})",
                        ((*_shared_values(r), _sorted_json(r.data)) for r in records))
        con.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)",
                        (h for r in records for h in history_values(r)))
        con.execute("CREATE INDEX records_kind ON records(kind, status)")
        con.execute("CREATE INDEX records_customer ON records(customer)")
        con.execute("CREATE INDEX history_record ON history(record_id)")
        con.commit()
    finally:
        con.close()


def _parquet(records: list[Record], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("parquet needs pyarrow: pip install 'servicebook[export]'") from None
    rows = [record_row(r) for r in records]
    table = pa.Table.from_pylist(rows, schema=pa.schema(
        [(c, pa.int64() if c == "schema_version" else pa.string()) for c in COMMON]
        + [("data", pa.string())]))
    pq.write_table(table, path)
