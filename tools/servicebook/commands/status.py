"""servicebook status ID NEW_STATUS — move a case record along its lifecycle.

Edits one file (``write.status.move``): sets ``status`` and appends a history entry, keeping every
comment and the order of everything else. Refuses a transition the lifecycle does not allow (exit
2) and a result validate would reject -- an approval by the wrong role or by the form's filler, an
unknown person (exit 1, validate's located problems); the file is then untouched.
"""

from __future__ import annotations

import sys

from servicebook.commands._common import UsageError, add_root, at_text_or_now, fail, find_root
from servicebook.write import guard
from servicebook.write.status import MoveRefused, move
from servicebook.write.writer import WriteRefused

NAME = "status"
HELP = "Move a case record to a new status, appending to its history (变更状态)."


def configure(parser):
    parser.add_argument("id", help="record ID")
    parser.add_argument("new_status", help="status to enter (see schemas/lifecycle.yaml)")
    parser.add_argument("--by", required=True, help="person ID making the change")
    parser.add_argument("--note", help="why, or what was done")
    parser.add_argument("--at", help="instant of the change (default: now)")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    try:
        _rel, before = move(root, args.id, args.new_status, args.by, args.note, at_text_or_now(args.at))
    except MoveRefused as err:
        raise UsageError(str(err)) from None
    except guard.Invalid as err:
        print(f"servicebook: {err}", file=sys.stderr)
        return 1
    except WriteRefused as err:
        return fail(str(err))
    print(f"{args.id}: {before} -> {args.new_status}")
    return 0

