"""A new record's form: a fresh ID, the fields given, and every required field laid out empty
with a comment naming it (en + zh), for its writer to fill in. ``servicebook new`` writes it
through the write guard, which judges what was given and leaves the blanks as prompts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from servicebook.load.instants import format_instant, local_date
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.records import KINDS, SCHEMAS_DIR, find_files, is_id_of, new_id, path_for
from servicebook.load.schemas import SchemaSet
from servicebook.load.yamlload import YamlProblem, parse
from servicebook.write.writer import dump


class FormRefused(ValueError):
    """The form cannot be made as asked (unknown kind, a bad --id or --set)."""


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
        raise FormRefused(f"--set {dotted}: {err.message}") from None
    if types == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def build(root: Path, kind: str, sets: list[str], given_id: str | None, by: str | None,
          moment: datetime) -> tuple[Path, str]:
    """(the new file, its text): a ``kind`` record created at ``moment`` by ``by``."""
    if kind not in KINDS:
        raise FormRefused(f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}")
    at = format_instant(moment)
    schemas = SchemaSet(root / SCHEMAS_DIR)
    lifecycle = Lifecycle.load(root / SCHEMAS_DIR)
    taken = {p.stem for p in find_files(root)}
    if given_id:
        record_id = given_id
        if not is_id_of(kind, record_id):  # it becomes a file name: no `../`, no other kind's prefix
            raise FormRefused(f"--id {record_id!r} is not a {kind} ID: {KINDS[kind].prefix}- then letters "
                             f"and digits in dash-separated parts, e.g. {KINDS[kind].prefix}-zhang-wei")
        if record_id in taken:
            raise FormRefused(f"ID {record_id} is already used")
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
            raise FormRefused(f"--set expects FIELD=VALUE, got '{item}'")
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


__all__ = ["FormRefused", "build"]
