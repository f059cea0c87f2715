"""What is particular to the after-sales schemas (kb, part, inspection, part-request);
the conventions every schema shares are in tests/test_schemas.py."""
from __future__ import annotations

import test_schemas as ts


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
