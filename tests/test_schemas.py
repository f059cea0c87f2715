"""The record-kind JSON Schemas in schemas/: well-formed, fully labelled, consistent with the
lifecycle, and each one's example validates."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from servicebook.load.records import KINDS as RECORD_KINDS

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
BASE = "https://servicebook.local/schemas/"

# Every kind of records.KINDS: the one table of kinds, prefixes and which are case records.
PREFIXES = {k.name: k.prefix for k in RECORD_KINDS.values()}
KINDS = sorted(PREFIXES)
LIFECYCLE_KINDS = sorted(yaml.safe_load((SCHEMAS / "lifecycle.yaml").read_text(encoding="utf-8")))
CASE_KINDS = sorted(k.name for k in RECORD_KINDS.values() if k.case)  # belong to a customer
LABELS = ("title", "x-title-zh", "description", "x-description-zh")
PERSONAL = {"name", "phone", "email", "address"}
COMBINATORS = ("allOf", "anyOf", "oneOf")


def _load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


RAW = {p.name: _load(p.name) for p in sorted(SCHEMAS.glob("*.schema.json"))}
LIFECYCLE = yaml.safe_load((SCHEMAS / "lifecycle.yaml").read_text(encoding="utf-8"))


def _with_id(name: str) -> dict:
    schema = copy.deepcopy(RAW[name])
    schema["$id"] = BASE + name
    return schema


REGISTRY = Registry().with_resources(
    (BASE + name, Resource.from_contents(_with_id(name), default_specification=DRAFT7)) for name in RAW
)
ROLES = set(RAW["common.schema.json"]["definitions"]["role"]["enum"])


def validator(kind: str) -> Draft7Validator:
    return Draft7Validator(_with_id(f"{kind}.schema.json"), registry=REGISTRY, format_checker=FormatChecker())


def resolve(ref: str, base: str) -> tuple[dict, str]:
    resolved = REGISTRY.resolver(base_uri=base).lookup(ref)
    return resolved.contents, resolved.resolver._base_uri  # noqa: SLF001 (only to follow nested refs)


def is_bare_ref(node: dict) -> bool:
    return set(node) == {"$ref"}


def walk(node, path: str, base: str, found: list[str], *, labelled: bool, seen: set) -> None:
    """Collect convention violations below `node`.

    `labelled`: this node is a property or an items schema, so it needs the four labels (a bare
    $ref counts when its target carries them: draft-07 ignores siblings of $ref)."""
    if not isinstance(node, dict):
        found.append(f"{path}: not a schema object")
        return
    if labelled:
        target = resolve(node["$ref"], base)[0] if is_bare_ref(node) else node
        missing = [k for k in LABELS if not (isinstance(target.get(k), str) and target[k].strip())]
        if missing:
            found.append(f"{path}: missing {', '.join(missing)}")
    if "$ref" in node and not is_bare_ref(node) and set(node) - {"$ref", "definitions"}:
        found.append(f"{path}: siblings of $ref are ignored by draft-07; wrap the $ref in allOf")
    if "enum" in node:
        labels = node.get("x-enum-labels")
        if not isinstance(labels, dict):
            found.append(f"{path}: enum without x-enum-labels")
        else:
            for value in node["enum"]:
                entry = labels.get(value) if isinstance(value, str) else None
                if not (isinstance(entry, dict) and all(isinstance(entry.get(l), str) and entry[l] for l in ("en", "zh"))):
                    found.append(f"{path}: enum value {value!r} lacks en/zh labels")
            for extra in set(labels) - set(node["enum"]):
                found.append(f"{path}: x-enum-labels for unknown value {extra!r}")
        if not all(isinstance(v, str) and re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", v) for v in node["enum"]) \
                and not path.endswith("currency"):
            found.append(f"{path}: enum values must be lower_snake_case English")
    if node.get("type") == "object" and node.get("additionalProperties") is not False:
        found.append(f"{path}: object without additionalProperties: false")
    if "x-personal" in node and node["x-personal"] not in PERSONAL:
        found.append(f"{path}: unknown x-personal {node['x-personal']!r}")
    if "x-filled-by" in node and not (node["x-filled-by"] and set(node["x-filled-by"]) <= ROLES):
        found.append(f"{path}: x-filled-by must be a non-empty list of roles")
    if "x-ref-kind" in node:
        kinds = node["x-ref-kind"] if isinstance(node["x-ref-kind"], list) else [node["x-ref-kind"]]
        if not set(kinds) <= set(PREFIXES) | {"policy", "calendar"}:
            found.append(f"{path}: unknown x-ref-kind {node['x-ref-kind']!r}")
    for name, sub in node.get("properties", {}).items():
        walk(sub, f"{path}.{name}" if path else name, base, found, labelled=True, seen=seen)
    if isinstance(node.get("items"), dict):
        walk(node["items"], f"{path}[]", base, found, labelled=True, seen=seen)
    if isinstance(node.get("additionalProperties"), dict):
        walk(node["additionalProperties"], f"{path}{{}}", base, found, labelled=True, seen=seen)
    for comb in COMBINATORS:
        for i, sub in enumerate(node.get(comb, [])):
            walk(sub, path, base, found, labelled=False, seen=seen)
    if "$ref" in node:
        # Follow the reference (into common.schema.json too) once per target.
        target, target_base = resolve(node["$ref"], base)
        key = (target_base, node["$ref"].partition("#")[2])
        if key not in seen:
            seen.add(key)
            walk(target, path, target_base, found, labelled=False, seen=seen)


def prop(kind: str, name: str) -> dict:
    return RAW[f"{kind}.schema.json"]["properties"][name]


# ---------------------------------------------------------------- the files themselves

def test_every_kind_has_a_schema():
    assert {f"{k}.schema.json" for k in KINDS} <= set(RAW)


@pytest.mark.parametrize("name", sorted(RAW))
def test_valid_draft07(name):
    schema = RAW[name]
    assert schema.get("$schema") == "http://json-schema.org/draft-07/schema#"
    assert "$id" not in schema, "no $id in files: the loader injects one"
    Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(RAW))
def test_relative_refs_resolve(name):
    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for r in refs(RAW[name]):
        assert not r.startswith(("http:", "https:", "/")), f"{r}: use a relative reference"
        resolve(r, BASE + name)  # raises if unresolvable


# ---------------------------------------------------------------- conventions

@pytest.mark.parametrize("kind", KINDS)
def test_top_level(kind):
    schema = RAW[f"{kind}.schema.json"]
    for key in LABELS:
        assert isinstance(schema.get(key), str) and schema[key].strip(), key
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert isinstance(schema.get("examples"), list) and len(schema["examples"]) >= 1
    assert set(schema["required"]) <= set(schema["properties"])
    assert {"id", "schema_version"} <= set(schema["required"])
    if kind in CASE_KINDS:
        assert {"customer", "filled_by", "created_at"} <= set(schema["required"])
        assert {"attachments", "remarks"} <= set(schema["properties"])
    if kind in LIFECYCLE_KINDS:
        assert {"filled_by", "created_at", "status", "history"} <= set(schema["required"])
    else:
        assert "status" not in schema["properties"] and "history" not in schema["properties"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_labelled(kind):
    name = f"{kind}.schema.json"
    found: list[str] = []
    walk(RAW[name], "", BASE + name, found, labelled=False, seen=set())
    assert not found, "\n".join(found)


def test_walker_catches_missing_labels():
    bad = {"type": "object", "additionalProperties": False,
           "properties": {"a": {"type": "string", "title": "A"},
                          "b": {"type": "string", "enum": ["x"], **dict.fromkeys(LABELS, "t")},
                          "c": {"type": "array", **dict.fromkeys(LABELS, "t"), "items": {"type": "object", **dict.fromkeys(LABELS, "t")}}}}
    found: list[str] = []
    walk(bad, "", BASE + "common.schema.json", found, labelled=False, seen=set())
    text = "\n".join(found)
    assert "a: missing x-title-zh" in text
    assert "b: enum without x-enum-labels" in text
    assert "c[]: object without additionalProperties" in text


@pytest.mark.parametrize("kind", KINDS)
def test_id_pattern_uses_prefix(kind):
    id_prop = prop(kind, "id")
    pattern = id_prop["pattern"]
    # `$(?!\n)`: the end of the text in Python's re too (its `$` also matches before a final newline)
    assert pattern == f"^{PREFIXES[kind]}-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$(?!\\n)"
    assert re.fullmatch(pattern, f"{PREFIXES[kind]}-20261120-7KQ2XM")
    assert {"$ref": "common.schema.json#/definitions/id"} in id_prop["allOf"]


@pytest.mark.parametrize("kind", LIFECYCLE_KINDS)
def test_status_enum_matches_lifecycle(kind):
    statuses = list(LIFECYCLE[kind]["statuses"])
    status = prop(kind, "status")
    assert status["enum"] == statuses
    for value, label in LIFECYCLE[kind]["statuses"].items():
        assert status["x-enum-labels"][value] == {"en": label["en"], "zh": label["zh"]}
    history = prop(kind, "history")
    assert history["type"] == "array" and history["minItems"] == 1
    parts = history["items"]["allOf"]
    assert {"$ref": "common.schema.json#/definitions/history_entry"} in parts
    (restriction,) = [p for p in parts if "properties" in p]
    assert restriction["properties"]["status"]["enum"] == statuses


# ---------------------------------------------------------------- examples

@pytest.mark.parametrize("kind", KINDS)
def test_example_validates(kind):
    example = RAW[f"{kind}.schema.json"]["examples"][0]
    errors = sorted(validator(kind).iter_errors(example), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    assert example["id"].startswith(PREFIXES[kind] + "-")
    if kind in LIFECYCLE_KINDS:
        assert example["history"][-1]["status"] == example["status"]
        assert example["history"][0]["status"] in LIFECYCLE[kind]["initial"]
        for before, after in zip(example["history"], example["history"][1:]):
            assert after["status"] in LIFECYCLE[kind]["transitions"].get(before["status"], []), (before, after)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_rejects_bad_records(kind):
    v = validator(kind)
    example = RAW[f"{kind}.schema.json"]["examples"][0]
    mutations = [
        (lambda r: r.update(unexpected_field=1), "additionalProperties"),
        (lambda r: r.update(id="XX-20261120-7KQ2XM"), "pattern"),
        (lambda r: r.pop("schema_version"), "required"),
    ]
    if kind in LIFECYCLE_KINDS:
        mutations += [
            (lambda r: r.update(status="no_such_status"), "enum"),
            (lambda r: r["history"][0].update(status="no_such_status"), "enum"),
            (lambda r: r.update(history=[]), "minItems"),
            (lambda r: r.pop("filled_by"), "required"),
        ]
    if kind in CASE_KINDS:
        mutations.append((lambda r: r.update(customer="P-zhang-wei"), "pattern"))
    for mutate, keyword in mutations:
        record = copy.deepcopy(example)
        mutate(record)
        assert keyword in {e.validator for e in v.iter_errors(record)}, keyword


def test_callback_case_points_to_complaint_or_repair():
    case = prop("callback", "case")
    assert sorted(case["x-ref-kind"]) == ["complaint", "repair"]
    v = validator("callback")
    example = RAW["callback.schema.json"]["examples"][0]
    for value, ok in [("CP-20261120-7KQ2XM", True), ("RP-20261120-7KQ2XM", True), ("CT-20261120-7KQ2XM", False)]:
        record = dict(example, case=value)
        assert v.is_valid(record) is ok, value


def test_complaint_parts_filled_by_their_departments():
    assert set(prop("complaint", "cs_part")["x-filled-by"]) == {"customer_service", "cs_manager"}
    assert set(prop("complaint", "technical_part")["x-filled-by"]) == {"technical_engineer", "technical_manager"}
    assert prop("complaint", "cs_part")["x-section"] != prop("complaint", "technical_part")["x-section"]


@pytest.mark.parametrize("kind", KINDS)
def test_sections_declared(kind):
    schema = RAW[f"{kind}.schema.json"]
    declared = {s["id"] for s in schema.get("x-sections", [])}
    used = {p["x-section"] for p in schema["properties"].values() if "x-section" in p}
    assert used <= declared, used - declared


def test_email_format_is_linear_on_hostile_values():
    """A 900 kB domain of dots once took the regular expression minutes; splitting takes a blink."""
    import time

    from servicebook.load.schemas import FORMATS

    started = time.process_time()
    assert not FORMATS["email"]("a@" + "." * 900_000 + "@")
    assert time.process_time() - started < 1.0
    for value, ok in [("li.na@hengda.example.com", True), ("a@b", False), ("@b.c", False), ("a@.c", False),
                      ("a@b.", False), ("a@@b.c", False), ("a b@c.d", False), ('a"@b.c', False)]:
        assert FORMATS["email"](value) is ok, value
