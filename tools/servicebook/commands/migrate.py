"""servicebook migrate — upgrade records written in an older format (schema_version)."""

from __future__ import annotations

from servicebook.commands._common import add_root, find_root
from servicebook.write import migrations

NAME = "migrate"
HELP = "Upgrade records written in an older format to the current schema_version (升级记录格式)."


def configure(parser):
    parser.add_argument("--check", action="store_true",
                        help="only list records that need upgrading (exit 1 if any); write nothing")
    add_root(parser)


def run(args) -> int:
    pending, failed = 0, 0
    for o in migrations.migrate(find_root(args.root), write=not args.check):
        if o.error:
            failed += 1
            print(f"{o.rel}: {o.error}")
            continue
        pending += 1
        if args.check:
            print(f"{o.rel}: schema_version {o.start} -> {migrations.CURRENT}")
        else:
            print(f"{o.rel}: upgraded {o.start} -> {migrations.CURRENT}")
    if args.check:
        return 1 if pending or failed else 0
    print(f"{pending} record(s) upgraded" + (f", {failed} not" if failed else ""))
    return 1 if failed else 0
