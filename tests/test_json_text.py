"""The commands' JSON writer: exactly json.dumps(..., ensure_ascii=False, indent=2), faster."""

from __future__ import annotations

import enum
import json

import pytest


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Name(str):
    pass


class Mapping(dict):
    pass


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
    # subclasses of scalars and of containers, as values and inside lists
    {"enum": Level.HIGH, "text": Name("x"), "sub": Mapping({"a": [1, Mapping({"b": Level.LOW})]})},
    [Name("y"), Level.LOW, Mapping(), [Mapping({"k": Name("z")})]],
]


@pytest.mark.parametrize("value", SHAPES, ids=range(len(SHAPES)))
def test_same_text_as_json_dumps(value):
    assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2)


def test_unserialisable_values_still_fail():
    with pytest.raises(TypeError):
        json_text({"when": object()})
