"""servicebook show ID — a record and the chain of records linked to it.

The record is headed by its full name and its customer's short name (``servicebook.derive.names``, the
site's rule) in ``--lang``; the JSON output carries them as ``name`` and ``customer_name``.
"""

from __future__ import annotations

import json

from servicebook.derive import checked
from servicebook.derive import names
from servicebook.commands._common import add_root, find_root, missing_record
from servicebook.load import neighbours

NAME = "show"
HELP = "Print a record with its case chain and the records that refer to it (查看记录)."


def configure(parser):
    parser.add_argument("id", help="record ID, e.g. CP-20261120-7KQ2XM")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--lang", choices=names.LANGS, default="zh")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    # from the stores when nothing changed since the last verdict (100k records: ~1 s, not ~4 s);
    # else every record loaded and checked, and the stores brought up to date for the next run
    c = neighbours.around(root, args.id, checked.CHECKS)
    if c is None:
        c = checked.load(root)
        neighbours.keep(c, checked.CHECKS)
    return show(c, root, args.id, args.format, args.lang)


def show(c, root, record_id: str, fmt: str, lang: str) -> int:
    """Print ``record_id`` as read from ``c``: a loaded corpus or a ``neighbours.Neighbourhood``
    (tests/test_show_store.py proves both print the same)."""
    rec = c.get(record_id)
    if rec is None:
        return missing_record(root, record_id)
    chain = [r for r in c.chain(rec.id) if r.id != rec.id]
    referrers = [r for r in c.referrers(rec.id) if r not in chain]
    mine = [p for p in c.problems if p.file == rec.file]
    customer = rec.data.get("customer") if isinstance(rec.data, dict) else None
    if fmt == "json":
        print(json.dumps({
            "id": rec.id, "kind": rec.kind, "file": rec.file, "lang": lang,
            "name": names.full_name(rec, lang),
            "customer": customer if isinstance(customer, str) else None,
            "customer_name": names.short_name(names.lookup(c.records, customer), lang),
            "data": rec.data,
            "chain": [{"id": r.id, "kind": r.kind, "status": r.status, "file": str(r.path)}
                      for r in chain],
            "referrers": [{"id": r.id, "kind": r.kind, "file": str(r.path)} for r in referrers],
            "problems": [p.as_dict() for p in mine],
        }, ensure_ascii=False, indent=2))
        return 0

    def line(r):
        title = c.schemas.title(r.kind, (), lang)
        status = c.lifecycle.label(r.kind, r.status, lang) if r.status else ""
        return f"  {r.id:<22} {title}  {status}"

    own = names.full_name(rec, lang)
    print(f"# {rec.path}" + (f"  {own}" if own else ""))
    if isinstance(customer, str):
        print(("# 客户 " if lang == "zh" else "# Customer ") + names.short_label(c.records, customer, lang))
    print(c.source(rec.path).rstrip())
    if chain:
        print("\n" + ("案件链" if lang == "zh" else "Case chain") + ":")
        print("\n".join(line(r) for r in chain))
    if referrers:
        print("\n" + ("引用本记录" if lang == "zh" else "Referred to by") + ":")
        print("\n".join(line(r) for r in referrers))
    if mine:
        print("\n" + ("问题" if lang == "zh" else "Problems") + ":")
        print("\n".join(f"  {p.line}:{p.column} [{p.rule}] {p.path} {p.message}" for p in mine))
    return 0
