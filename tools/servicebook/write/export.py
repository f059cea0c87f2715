"""Records out of YAML, into formats analysts query: JSON Lines, SQLite, Parquet.

One row per record with the columns every record shares (id, kind, file, status, customer,
created_at, ...) plus the whole record as JSON, and one row per history entry, so that years of
records can be asked questions in SQL (SQLite's json_extract, DuckDB's read_json / read_parquet)
without touching YAML. Nothing is written to records/.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterable

from servicebook.load.records import Record
from servicebook.write.writer import umask_mode

COMMON = ("id", "kind", "file", "schema_version", "status", "customer", "filled_by", "created_at")
HISTORY = ("record_id", "seq", "at", "by", "status", "note")
FORMATS = ("jsonl", "sqlite", "parquet")


def record_row(rec: Record) -> dict:
    """The columns every record shares, then the whole record as JSON text (``data``)."""
    return {**_shared_columns(rec), "data": json.dumps(rec.data, ensure_ascii=False, sort_keys=True)}


def _shared_columns(rec: Record) -> dict:
    data = rec.data
    customer, filled_by, created_at = data.get("customer"), data.get("filled_by"), data.get("created_at")
    return {
        "id": rec.id, "kind": rec.kind, "file": rec.file,
        "schema_version": data.get("schema_version"), "status": data.get("status"),
        "customer": customer if isinstance(customer, str) else None,
        "filled_by": filled_by if isinstance(filled_by, str) else None,
        "created_at": created_at if isinstance(created_at, str) else None,
    }


def history_rows(rec: Record) -> Iterable[dict]:
    history = rec.data.get("history")
    if isinstance(history, list):
        for seq, entry in enumerate(history):
            if isinstance(entry, dict):
                yield {"record_id": rec.id, "seq": seq, "at": entry.get("at"), "by": entry.get("by"),
                       "status": entry.get("status"), "note": entry.get("note")}


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
                for rec in records:  # the record itself in the row (record_row's text of it is not needed)
                    f.write(json.dumps({**_shared_columns(rec), "data": rec.data}, ensure_ascii=False,
                                       sort_keys=True) + "\n")
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
                        (tuple(record_row(r).values()) for r in records))
        con.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)",
                        (tuple(h.values()) for r in records for h in history_rows(r)))
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
