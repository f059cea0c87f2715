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


def test_the_parts_plan_follows_the_grade(demo):
    """Source 004: core parts are planned by the head office, emergency parts by the regions, and a
    region's plan names the region; the message says why, at the field."""
    from conftest import sb

    root = demo
    core = root / "records" / "part" / "PT-hb-rx-433.yaml"  # core, head office
    core.write_text(core.read_text(encoding="utf-8").replace("planned_by: head_office", "planned_by: region\nregion: 华东"),
                    encoding="utf-8")
    emergency = root / "records" / "part" / "PT-yz-hf-10.yaml"  # emergency, region 西南
    emergency.write_text(emergency.read_text(encoding="utf-8").replace("region: 西南\n", ""), encoding="utf-8")
    out = sb("validate", "--root", str(root), cwd=root).stdout
    assert "PT-hb-rx-433.yaml:" in out and "[schema.const] planned_by: region is not allowed here; expected " \
        "\"head_office\" (source 004: core parts are planned by the head office)" in out
    assert "PT-yz-hf-10.yaml:" in out and "[schema.required] region:" in out and "which region holds the stock" in out
