"""What is particular to the pre-sales and delivery schemas (bid, communication,
requirements, change, progress, risk, problem); shared conventions are in tests/test_schemas.py."""
from __future__ import annotations

import test_schemas as ts


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
    assert ts.prop("progress", "type")["enum"] == ["daily", "weekly", "milestone", "kickoff", "design_outline",
                                                   "design_demo", "design_final"]  # seed 002 steps too
    milestone = ts.prop("progress", "milestones")["items"]["properties"]
    assert {"name", "planned_on", "actual_on", "review_notes"} <= set(milestone)
