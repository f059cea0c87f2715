"""servicebook forms [--check] — write the issue forms (.github/ISSUE_TEMPLATE/<kind>.yml) from the
schemas, or check that the committed ones are up to date."""

from __future__ import annotations

import difflib
import sys

from servicebook.commands._common import add_root, find_root

NAME = "forms"
HELP = "Generate the issue forms of every case kind from the schemas; --check fails when stale (议题表单)."


def configure(parser):
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a committed form differs from what would be generated")
    add_root(parser)


def run(args) -> int:
    from servicebook.write import issue_forms

    root = find_root(args.root)
    stale = issue_forms.stale(root)
    for rel, current, text in stale:
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), f"{rel} (committed)", f"{rel} (generated)"))
        else:
            issue_forms.write(root, rel, text)
            print(f"{'wrote' if text else 'removed'} {rel}")
    if args.check and stale:
        print(f"{len(stale)} issue form(s) out of date: run `servicebook forms`", file=sys.stderr)
        return 1
    if not stale:
        print(f"{issue_forms.FORMS_DIR}: every form is up to date")
    return 0
