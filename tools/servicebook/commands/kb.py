"""servicebook kb — the service knowledge base (技术资料库).

    servicebook kb promote REPAIR-ID [--by PERSON] [--at INSTANT] [--print]
        Draft a KB entry from an exemplary repair record: its symptom, fault code and category,
        root cause and diagnosis -> action -> result steps. Written as a new file in status
        `draft` under records/kb/ (never over an existing one), to be reviewed in a pull request
        and published by the technical manager.

    servicebook kb match ID [--limit N] [--drafts] [--format text|json]
    servicebook kb match --text "泵送压力跳动" [--product PD-...]
        KB entries for a repair or complaint (same product and fault code or category first,
        then text similarity), or for a symptom as words.

Exit status: 0 done (match: at least one entry found), 1 match found nothing, 2 usage error.
"""

from __future__ import annotations

import json
import sys

from servicebook.load import corpus as corpus_mod
from servicebook.derive.aftersales import kb as kb_mod
from servicebook.derive import names
from servicebook.commands._common import UsageError, add_root, at_or_now, fail, find_root, missing_record
from servicebook.load.instants import format_instant, local_date
from servicebook.load.records import find_files, new_id, path_for
from servicebook.write import guard
from servicebook.write.writer import WriteRefused, create, dump

NAME = "kb"
HELP = "Knowledge base: promote a repair to a draft entry, match entries to a case (技术资料库)."


def configure(parser):
    sub = parser.add_subparsers(dest="kb_action", metavar="ACTION", required=True)
    p = sub.add_parser("promote", help="draft a KB entry from an exemplary repair record")
    p.add_argument("repair", metavar="REPAIR-ID")
    p.add_argument("--by", help="person writing the entry (default: the repair's engineer)")
    p.add_argument("--at", help="instant of writing (default: now)")
    p.add_argument("--print", action="store_true", help="print the path of the new file only")
    add_root(p)
    m = sub.add_parser("match", help="KB entries for a repair or complaint, or for a symptom text")
    m.add_argument("id", nargs="?", metavar="ID", help="repair or complaint ID")
    m.add_argument("--text", help="symptom words instead of a record")
    m.add_argument("--product", help="with --text: the product (PD-...)")
    m.add_argument("--limit", type=int, default=5)
    m.add_argument("--drafts", action="store_true", help="offer draft entries too")
    m.add_argument("--format", choices=("text", "json"), default="text")
    add_root(m)


def run(args) -> int:
    try:
        root = find_root(args.root)
        if args.kb_action == "promote":
            return _promote(root, args)
        if args.kb_action == "match":
            return _match(root, args)
        raise AssertionError(f"kb action {args.kb_action!r} has no handler")  # argparse requires one
    except UsageError as err:
        return fail(str(err))
    except WriteRefused as err:
        return fail(str(err))


def _promote(root, args) -> int:
    moment = at_or_now(args.at)  # a bad --at is a usage error (exit 2) before anything is read
    at = format_instant(moment)
    c = corpus_mod.load(root)
    rec = c.records.get(args.repair)
    if rec is None:
        return missing_record(root, args.repair)
    if rec.kind != "repair":
        raise UsageError(f"{args.repair} is a {rec.kind} record; only repair records are promoted")
    if args.by and (args.by not in c.records or c.records[args.by].kind != "person"):
        raise UsageError(f"--by {args.by}: no person record with that ID")
    taken = {p.stem for p in find_files(root)}
    record_id = new_id("kb", local_date(moment), taken)
    try:
        data = kb_mod.promote(rec, by=args.by, at=at, record_id=record_id,
                              product_name=names.short_name(names.lookup(c.records, rec.data.get("product")), "zh") or None)
    except ValueError as err:
        raise UsageError(str(err)) from None
    path = path_for("kb", record_id)
    depth = "../" * (len(path.parts) - 1)
    header = (f"# yaml-language-server: $schema={depth}schemas/kb.schema.json\n"
              f"# Draft learned from {rec.id}: edit the causes, diagnosis order and procedure into a\n"
              f"# general guide, then open a pull request; the technical manager publishes it.\n")
    text = header + dump(data)
    try:
        guard.require_valid(root, path.as_posix(), text)  # a draft, but a valid record
    except guard.Invalid as err:
        print(f"servicebook: {err}", file=sys.stderr)
        return 1
    create(root / path, text)
    print(path if args.print else f"created {path} (draft from {rec.id})")
    return 0


def _match(root, args) -> int:
    c = corpus_mod.load(root)
    if args.text:
        found = kb_mod.search(c, args.text, product=args.product, limit=args.limit, include_drafts=args.drafts)
        subject = args.text
    elif args.id:
        if args.id not in c.records:
            return missing_record(root, args.id)
        found = kb_mod.match(c, args.id, limit=args.limit, include_drafts=args.drafts)
        subject = args.id
    else:
        raise UsageError("give a record ID or --text")
    if args.format == "json":
        print(json.dumps([{"id": m.entry.id, "title": m.entry.data.get("title"), "status": m.entry.data.get("status"),
                           "reasons": m.reasons, "similarity": round(m.similarity, 3)} for m in found],
                         ensure_ascii=False, indent=2))
    else:
        if not found:
            print(f"no knowledge-base entry matches {subject}")
        for m in found:
            why = ", ".join(m.reasons) or "text"
            print(f"{m.entry.id}  {m.entry.data.get('title', '')}  [{why}; similarity {m.similarity:.2f}]")
    return 0 if found else 1
