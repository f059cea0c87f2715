"""servicebook new KIND — write a new record with a fresh ID and the required fields laid out."""

from __future__ import annotations

import sys
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from servicebook.commands._common import UsageError, add_root, at_or_now, fail, find_root
from servicebook.load.instants import format_instant, local_date
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.records import KINDS, find_files, is_id_of, new_id, path_for
from servicebook.load.schemas import SchemaSet
from servicebook.write import guard
from servicebook.write.writer import WriteRefused, create, dump
from servicebook.load.yamlload import YamlProblem, parse

NAME = "new"
HELP = "Write a new record with a fresh ID (新建记录)."


def configure(parser):
    parser.add_argument("kind", help="record kind: " + ", ".join(KINDS))
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                        help="set a field (dotted for nested: caller.name=王先生); repeatable")
    parser.add_argument("--id", help="use this ID instead of a generated one (reference data "
                                     "such as people and products use readable IDs)")
    parser.add_argument("--by", help="person ID filling the form (filled_by, first history entry)")
    parser.add_argument("--at", help="instant of creation (default: now)")
    parser.add_argument("--print", action="store_true", help="print the path of the new file only")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    path, text = build(root, args.kind, args.sets, args.id, args.by, args.at)
    blanks = frozenset(k for k, v in parse(text.encode("utf-8")).items() if v is None)
    try:
        guard.require_text(path.as_posix(), **{f"--set {s}": s for s in args.sets}, by=args.by)
        guard.require_valid(root, path.as_posix(), text, blanks)  # what was given must be right
        create(root / path, text)
    except guard.Invalid as err:
        print(f"servicebook: {err}", file=sys.stderr)
        return 1
    except WriteRefused as err:
        return fail(str(err))
    print(path if args.print else f"created {path}")
    return 0


def _typed(schemas: SchemaSet, kind: str, dotted: str, raw: str):
    """A --set value typed by the schema: text stays text (no YAML guessing), numbers and
    booleans are parsed, anything else is read as YAML (lists, mappings)."""
    path = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
    types = schemas.annotation(kind, path, "type")
    if types == "string":
        return raw
    try:
        value = parse(f"v: {raw}\n".encode())["v"]
    except YamlProblem as err:
        raise UsageError(f"--set {dotted}: {err.message}") from None
    if types == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def build(root: Path, kind: str, sets: list[str], given_id: str | None, by: str | None,
          at: str | None) -> tuple[Path, str]:
    if kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}")
    moment = at_or_now(at)  # a bad --at is a usage error (exit 2) before anything is read
    at = format_instant(moment)
    schemas = SchemaSet(root / "schemas")
    lifecycle = Lifecycle.load(root / "schemas")
    taken = {p.stem for p in find_files(root)}
    if given_id:
        record_id = given_id
        if not is_id_of(kind, record_id):  # it becomes a file name: no `../`, no other kind's prefix
            raise UsageError(f"--id {record_id!r} is not a {kind} ID: {KINDS[kind].prefix}- then letters "
                             f"and digits in dash-separated parts, e.g. {KINDS[kind].prefix}-zhang-wei")
        if record_id in taken:
            raise UsageError(f"ID {record_id} is already used")
    else:
        record_id = new_id(kind, local_date(moment), taken)

    data = CommentedMap()
    data["id"] = record_id
    data["schema_version"] = 1
    fields = schemas.raw.get(kind, {}).get("properties", {})
    for name, value in (("customer", None), ("filled_by", by), ("created_at", at)):
        if name in fields:
            data[name] = value
    if lifecycle.has(kind) and "history" in fields:
        first = lifecycle.initial(kind)[0]
        data["status"] = first
        data["history"] = [CommentedMap(at=at, by=by, status=first, note="created")]
    for name in (schemas.raw.get(kind, {}).get("required") or []):
        data.setdefault(name, None)
    for item in sets:
        field, sep, raw = item.partition("=")
        if not sep or not field:
            raise UsageError(f"--set expects FIELD=VALUE, got '{item}'")
        parts = field.split(".")
        target = data
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = CommentedMap()
            target = target[part]
        target[parts[-1]] = _typed(schemas, kind, field, raw)
    for name, value in data.items():  # say what an empty required field wants
        if value is None:
            zh = schemas.title(kind, (name,), "zh")
            en = schemas.title(kind, (name,), "en")
            data.yaml_add_eol_comment(f"required: {zh} / {en}", name)
    header = f"# yaml-language-server: $schema=../../{'../' if KINDS[kind].case else ''}schemas/{kind}.schema.json\n"
    return path_for(kind, record_id), header + dump(data)
