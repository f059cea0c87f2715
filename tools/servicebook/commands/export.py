"""servicebook export — every record to JSON Lines, SQLite or Parquet for analysis."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from servicebook.commands._common import add_root, fail, find_root
from servicebook.load import corpus
from servicebook.write.export import FORMATS, export

NAME = "export"
HELP = "Export every record to JSON Lines, SQLite or Parquet for analysis (导出记录供分析)."


def configure(parser):
    parser.add_argument("--format", choices=FORMATS, default="sqlite")
    parser.add_argument("--out", type=Path, required=True, help="file to write (replaced whole)")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    started = time.perf_counter()
    # read and schema-checked, not cross-checked: what is exported is what could be read, and the
    # cross-record rules (validate's) cost more than the export itself at 100k records
    c = corpus.load(root)
    if not c.ok:
        print(f"note: {len(c.problems)} problem(s) reading records; exporting the records that could "
              "be read (run servicebook validate)", file=sys.stderr)
    try:
        count = export(c.records.values(), args.format, args.out)
    except ValueError as err:
        return fail(str(err))
    print(f"exported {count} records to {args.out} ({args.format}) in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0
