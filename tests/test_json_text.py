"""The commands' JSON writer: exactly json.dumps(..., ensure_ascii=False, indent=2), faster; a
number that is not finite is written null (json.dumps: NaN/Infinity, which is not JSON)."""

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
    # where orjson's text differs from json's: the exact walk writes these
    {"small": [1e-5, 1.5e-05, -3e-05, 9.9999e-5, 1e-7, 1.2345e-9, 1e-10, 5e-324], 1e-6: "key"},
    {"big": 2 ** 70, "neg": -(2 ** 64), "surrogate": "\ud800"},
    {"text that looks like a small float": "0.00001 and 1e-7", "n": 0.5},
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


def test_numbers_that_are_not_finite_are_null():
    value = {"nan": float("nan"), "inf": [float("inf"), float("-inf")], "ok": 1.5}
    assert json_text(value) == json.dumps({"nan": None, "inf": [None, None], "ok": 1.5}, ensure_ascii=False, indent=2)


def test_dates_and_dataclasses_are_no_json():
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int

    for value in (datetime.datetime(2026, 1, 1), {"d": datetime.date(2026, 1, 1)}, [Point(1)]):
        with pytest.raises(TypeError):
            json_text(value)


LISTINGS = [
    ({"as_of": "x", "counts": {"met": 1}}, []),
    ({}, [{"case": "CP-1", "used": 0.5}]),
    ({"lang": "zh", "policies": [{"id": "P", "name": "时限\n"}]},
     [{"case": f"CP-{i}", "nested": {"a": [i, None]}, "t": "引号\"\\"} for i in range(7)]),
    ({"n": 1}, [{"small": 1e-5 if i == 4 else 0.25, "big": 2 ** 70 if i == 1 else 3} for i in range(9)]),
    ({"n": 1}, [[1, 2], "text", None, {"k": []}, {}]),
]


@pytest.mark.parametrize("head, items", LISTINGS, ids=range(len(LISTINGS)))
@pytest.mark.parametrize("chunk", [1, 3, 2000])
def test_listing_is_the_whole_value_printed(head, items, chunk):
    """print_json_listing writes, a chunk of items at a time, what print(json_text(...)) writes
    of the whole value, through the command's byte path and through a plain text stream."""
    import contextlib
    import io

    from servicebook import cli
    from servicebook.commands._common import print_json_listing

    whole = json.dumps({**head, "clocks": items}, ensure_ascii=False, indent=2) + "\n"
    plain = io.StringIO()
    with contextlib.redirect_stdout(plain):
        print_json_listing(head, "clocks", iter(items), chunk)
    assert plain.getvalue() == whole
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    with contextlib.redirect_stdout(cli._Shown(stream)):
        print_json_listing(head, "clocks", iter(items), chunk)
    stream.flush()
    assert stream.buffer.getvalue().decode() == whole
