"""The commands' JSON writer: exactly json.dumps(..., ensure_ascii=False, indent=2), faster."""

from __future__ import annotations

import json

import pytest

from servicebook.commands._common import json_text

SHAPES = [
    {}, [], "text", 3, 2.5, None, True,
    {"a": [], "b": {}, "c": [[]], "d": [{}]},
    [1, 2.5, None, True, False, "quote \" backslash \\ newline \n tab \t 中文 \u2028"],
    {"nested": [1, {"x": [None, {"y": "z"}]}], "floats": {"big": 1e300, "neg": -0.0, "small": 1e-7}},
    {1: "int key", None: "null key", 2.5: [1], False: {"k": 1}},
    {"tuple": (1, (2, 3)), "mixed": [{"a": 1}, 2, [3]]},
    {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")},
    {"clocks": [{"case": "CP-1", "owner": None, "used": 0.5, "open": True}] * 3, "counts": {"met": 2}},
]


@pytest.mark.parametrize("value", SHAPES, ids=range(len(SHAPES)))
def test_same_text_as_json_dumps(value):
    assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2)


def test_unserialisable_values_still_fail():
    with pytest.raises(TypeError):
        json_text({"when": object()})
