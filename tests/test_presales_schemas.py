"""The pre-sales quality and delivery schemas (bid, communication, requirements, change, progress,
risk, problem) under the same conventions as every other kind schema (tests/test_schemas.py's
checks, run for these kinds), plus what is particular to them."""
from __future__ import annotations

import copy
from unittest import mock

import pytest

import test_schemas as ts

MINE = {"bid": "BD", "communication": "CM", "requirements": "RQ", "change": "CH", "progress": "PG",
        "risk": "RK", "problem": "PB"}
WITH_LIFECYCLE = sorted(k for k in MINE if k in ts.LIFECYCLE)
PLAIN = sorted(set(MINE) - set(WITH_LIFECYCLE))


@pytest.fixture(autouse=True)
def _known_prefixes():
    with mock.patch.dict(ts.PREFIXES, MINE):
        yield


def test_lifecycle_split():
    assert WITH_LIFECYCLE == ["bid", "change", "problem", "requirements", "risk"]
    assert PLAIN == ["communication", "progress"]


@pytest.mark.parametrize("kind", sorted(MINE))
def test_conventions(kind):
    name = f"{kind}.schema.json"
    ts.test_valid_draft07(name)
    ts.test_relative_refs_resolve(name)
    schema = ts.RAW[name]
    for key in ts.LABELS:
        assert isinstance(schema.get(key), str) and schema[key].strip(), key
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert len(schema["examples"]) == 1
    assert set(schema["required"]) <= set(schema["properties"])
    assert {"id", "schema_version", "customer", "filled_by", "created_at"} <= set(schema["required"])
    assert {"attachments", "remarks"} <= set(schema["properties"])
    found: list[str] = []
    ts.walk(schema, "", ts.BASE + name, found, labelled=False, seen=set())
    assert not found, "\n".join(found)
    ts.test_id_pattern_uses_prefix(kind)
    ts.test_sections_declared(kind)


@pytest.mark.parametrize("kind", WITH_LIFECYCLE)
def test_lifecycle_kinds(kind):
    assert {"status", "history"} <= set(ts.RAW[f"{kind}.schema.json"]["required"])
    ts.test_status_enum_matches_lifecycle(kind)
    with mock.patch.object(ts, "CASE_KINDS", sorted(set(ts.CASE_KINDS) | {kind})):
        ts.test_example_validates(kind)
        ts.test_schema_rejects_bad_records(kind)


@pytest.mark.parametrize("kind", PLAIN)
def test_plain_kinds_have_no_status(kind):
    schema = ts.RAW[f"{kind}.schema.json"]
    assert "status" not in schema["properties"] and "history" not in schema["properties"]
    ts.test_example_validates(kind)
    v = ts.validator(kind)
    example = schema["examples"][0]
    for mutate, keyword in [
        (lambda r: r.update(status="open"), "additionalProperties"),
        (lambda r: r.update(customer="P-zhang-wei"), "pattern"),
        (lambda r: r.pop("contract" if kind == "progress" else "deal"), "required"),
    ]:
        record = copy.deepcopy(example)
        mutate(record)
        assert keyword in {e.validator for e in v.iter_errors(record)}, keyword


def test_communication_deal_is_a_survey_and_kinds():
    deal = ts.prop("communication", "deal")
    assert {"$ref": "common.schema.json#/definitions/ref_survey"} in deal["allOf"]
    assert ts.prop("communication", "kind")["enum"] == [
        "quotation", "vendor_authorisation", "requirement_confirmation", "nda", "technical_briefing", "other"]
    v = ts.validator("communication")
    example = ts.RAW["communication.schema.json"]["examples"][0]
    assert not v.is_valid(dict(example, deal="CT-20261116-8FJ4QE"))


def test_confirmed_requirements_need_both_signatures():
    v = ts.validator("requirements")
    example = ts.RAW["requirements.schema.json"]["examples"][0]
    unsigned = {k: val for k, val in example.items() if k != "signatures"}
    assert "required" in {e.validator for e in v.iter_errors(unsigned)}
    draft = dict(unsigned, status="draft", history=example["history"][:1])
    assert v.is_valid(draft)
    half = dict(example, signatures={"ours": example["signatures"]["ours"]})
    assert not v.is_valid(half)


def test_bid_checklist_items_and_problem_levels():
    items = ts.prop("bid", "checklist")["items"]["properties"]["item"]["enum"]
    assert items == ["requirement_analysis", "technical_solution", "solution_review", "bid_document",
                     "binding", "sealing", "submission"]
    assert ts.prop("problem", "level")["enum"] == ["minor", "major", "critical"]
    assert ts.prop("progress", "type")["enum"] == ["daily", "weekly", "milestone"]
    milestone = ts.prop("progress", "milestones")["items"]["properties"]
    assert {"name", "planned_on", "actual_on", "review_notes"} <= set(milestone)
