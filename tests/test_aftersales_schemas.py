"""The after-sales schemas (kb, part, inspection, part-request) held to the same conventions as
every other kind: tests/test_schemas.py's checks, run for these kinds too."""
from __future__ import annotations

import copy

import pytest

import test_schemas as ts

AFTERSALES = {"kb": "KB", "part": "PT", "inspection": "IS", "part-request": "PQ"}
WITH_LIFECYCLE = ["kb", "inspection", "part-request"]
CASES = ["inspection", "part-request"]


@pytest.fixture(autouse=True)
def _known_kinds(monkeypatch):
    # the walker checks x-ref-kind against its own table of kinds: add ours
    for kind, prefix in AFTERSALES.items():
        monkeypatch.setitem(ts.PREFIXES, kind, prefix)


@pytest.mark.parametrize("kind", sorted(AFTERSALES))
def test_conventions(kind):
    name = f"{kind}.schema.json"
    schema = ts.RAW[name]
    for key in ts.LABELS:
        assert isinstance(schema.get(key), str) and schema[key].strip(), key
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
    assert {"id", "schema_version"} <= set(schema["required"])
    found: list[str] = []
    ts.walk(schema, "", ts.BASE + name, found, labelled=False, seen=set())
    assert not found, "\n".join(found)
    id_prop = schema["properties"]["id"]
    assert id_prop["pattern"] == f"^{AFTERSALES[kind]}-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$"
    assert {"$ref": "common.schema.json#/definitions/id"} in id_prop["allOf"]
    declared = {s["id"] for s in schema.get("x-sections", [])}
    assert {p["x-section"] for p in schema["properties"].values() if "x-section" in p} <= declared


@pytest.mark.parametrize("kind", sorted(AFTERSALES))
def test_example_validates(kind):
    example = ts.RAW[f"{kind}.schema.json"]["examples"][0]
    errors = list(ts.validator(kind).iter_errors(example))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    assert example["id"].startswith(AFTERSALES[kind] + "-")
    if kind in WITH_LIFECYCLE:
        lc = ts.LIFECYCLE[kind]
        assert example["history"][-1]["status"] == example["status"]
        assert example["history"][0]["status"] in lc["initial"]
        for before, after in zip(example["history"], example["history"][1:]):
            assert after["status"] in lc["transitions"].get(before["status"], [])


@pytest.mark.parametrize("kind", WITH_LIFECYCLE)
def test_status_matches_lifecycle(kind):
    statuses = list(ts.LIFECYCLE[kind]["statuses"])
    status = ts.prop(kind, "status")
    assert status["enum"] == statuses
    for value, label in ts.LIFECYCLE[kind]["statuses"].items():
        assert status["x-enum-labels"][value] == {"en": label["en"], "zh": label["zh"]}
    history = ts.prop(kind, "history")
    assert history["minItems"] == 1
    (restriction,) = [p for p in history["items"]["allOf"] if "properties" in p]
    assert restriction["properties"]["status"]["enum"] == statuses
    assert {"filled_by", "created_at", "status", "history"} <= set(ts.RAW[f"{kind}.schema.json"]["required"])


@pytest.mark.parametrize("kind", CASES)
def test_case_kinds_have_case_fields_and_reject_bad_records(kind):
    schema = ts.RAW[f"{kind}.schema.json"]
    assert {"customer", "filled_by", "created_at", "status", "history"} <= set(schema["required"])
    assert {"attachments", "remarks"} <= set(schema["properties"])
    v = ts.validator(kind)
    example = schema["examples"][0]
    for mutate, keyword in [
        (lambda r: r.update(status="no_such_status"), "enum"),
        (lambda r: r["history"][0].update(status="no_such_status"), "enum"),
        (lambda r: r.update(unexpected_field=1), "additionalProperties"),
        (lambda r: r.update(history=[]), "minItems"),
        (lambda r: r.update(customer="P-zhang-wei"), "pattern"),
        (lambda r: r.pop("filled_by"), "required"),
    ]:
        record = copy.deepcopy(example)
        mutate(record)
        assert keyword in {e.validator for e in v.iter_errors(record)}, keyword


def test_kb_has_no_customer_and_refs_are_typed():
    kb = ts.RAW["kb.schema.json"]["properties"]
    assert "customer" not in kb
    assert kb["learned_from"]["items"]["allOf"] == [{"$ref": "common.schema.json#/definitions/ref_repair"}]
    assert ts.prop("part-request", "part")["x-ref-kind"] == "part"
    v = ts.validator("part-request")
    example = ts.RAW["part-request.schema.json"]["examples"][0]
    assert not v.is_valid(dict(example, part="PD-hb56-pump-truck"))
    cause = kb["possible_causes"]["items"]["properties"]["type"]
    assert cause["enum"] == ["operator_error_repair", "damaged_part_replace"]
    assert kb["fault_category"]["enum"] == ["electrical", "mechanical", "hydraulic", "other"]
