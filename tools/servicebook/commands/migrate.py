"""servicebook migrate — upgrade records written in an older format (schema_version)."""

from __future__ import annotations

from servicebook.write import migrations
from servicebook.commands._common import add_root, find_root
from servicebook.load.records import find_files, kind_of_path
from servicebook.load.yamlload import YamlProblem, parse
from servicebook.load.schemas import SchemaSet
from servicebook.write.writer import WriteRefused, digest, dump, load_for_edit, replace

NAME = "migrate"
HELP = "Upgrade records written in an older format to the current schema_version (升级记录格式)."


def configure(parser):
    parser.add_argument("--check", action="store_true",
                        help="only list records that need upgrading (exit 1 if any); write nothing")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    schemas = SchemaSet(root / "schemas")
    pending, failed = [], 0
    for rel in find_files(root):
        kind = kind_of_path(rel)
        if kind is None:
            continue
        raw = (root / rel).read_bytes()
        try:
            parse(raw)  # the one reader: what it refuses (encoding, syntax, tags...) validate explains
        except YamlProblem as err:
            print(f"{rel}: skipped, not readable as a record ({err.rule}); run servicebook validate")
            failed += 1
            continue
        data, yaml = load_for_edit(raw.decode("utf-8"))
        if not hasattr(data, "insert") or migrations.version_of(data) == migrations.CURRENT:
            continue
        try:
            start = migrations.upgrade(kind, data, schemas)
        except ValueError as err:
            print(f"{rel}: {err}")
            failed += 1
            continue
        pending.append(rel)
        if args.check:
            print(f"{rel}: schema_version {start} -> {migrations.CURRENT}")
            continue
        try:
            replace(root / rel, dump(data, yaml), digest(raw))
        except WriteRefused as err:
            print(str(err))
            failed += 1
            continue
        print(f"{rel}: upgraded {start} -> {migrations.CURRENT}")
    if args.check:
        return 1 if pending or failed else 0
    print(f"{len(pending)} record(s) upgraded" + (f", {failed} not" if failed else ""))
    return 1 if failed else 0
