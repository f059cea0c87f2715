"""servicebook new KIND — write a new record with a fresh ID and the required fields laid out."""

from __future__ import annotations

import argparse
import sys

from servicebook.commands._common import UsageError, add_root, at_or_now, fail, find_root
from servicebook.load.records import KINDS
from servicebook.load.yamlload import parse
from servicebook.write import guard
from servicebook.write.form import FormRefused, build
from servicebook.write.writer import WriteRefused, create

NAME = "new"
HELP = "Write a new record with a fresh ID (新建记录)."


class _Given(argparse.Action):
    """--set and --add, kept in the order given (an --add fills the item an earlier one began)."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.given = [*(namespace.given or []), (option_string, value)]


def configure(parser):
    parser.add_argument("kind", help="record kind: " + ", ".join(KINDS))
    parser.set_defaults(given=[])
    parser.add_argument("--set", action=_Given, metavar="PATH=VALUE",
                        help="set a field, typed by the schema: caller.name=王先生, "
                             "issues[0].problem=...; repeatable")
    parser.add_argument("--add", action=_Given, metavar="LIST.FIELD=VALUE",
                        help="add to a list: issues.problem=... starts an issue, a following "
                             "issues.cause=... fills it; repeatable")
    parser.add_argument("--id", help="use this ID instead of a generated one (reference data "
                                     "such as people and products use readable IDs)")
    parser.add_argument("--by", help="person ID filling the form (filled_by, first history entry)")
    parser.add_argument("--at", help="instant of creation (default: now)")
    parser.add_argument("--print", action="store_true", help="print the path of the new file only")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    moment = at_or_now(args.at)  # a bad --at is a usage error (exit 2) before anything is read
    try:
        path, text = build(root, args.kind, args.given, args.id, args.by, moment)
    except FormRefused as err:
        raise UsageError(str(err)) from None
    try:
        guard.require_text(path.as_posix(), **{f"{o} {v}": v for o, v in args.given}, by=args.by)
        blanks = frozenset(k for k, v in parse(text.encode("utf-8")).items() if v is None)
        guard.require_valid(root, path.as_posix(), text, blanks)  # what was given must be right
        create(root / path, text)
    except guard.Invalid as err:
        print(f"servicebook: {err}", file=sys.stderr)
        return 1
    except WriteRefused as err:
        return fail(str(err))
    print(path if args.print else f"created {path}")
    return 0
