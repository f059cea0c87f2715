"""The bulk path and the precise path must agree, on every file we have and on generated ones.

* YAML: the Rust parser (taken only for plain files) and the strict libyaml loader.
* Schemas: jsonschema-rs (yes/no for every record) and python-jsonschema (located messages).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicebook.load import yamlload
from servicebook.load.records import kind_of_path
from servicebook.load.schemas import SchemaSet
from servicebook.load.yamlload import YamlProblem, parse_strict

REPO = Path(__file__).resolve().parents[1]
YAML_FILES = sorted(
    p for base in (REPO / "records", REPO / "tests" / "fixtures") if base.exists()
    for p in base.rglob("*.yaml")
)


def fast_reading(text: str):
    """What the bulk path returns without consulting the strict loader, or None."""
    if (yamlload._yaml_rs is None or yamlload._needs_strict_path(text)
            or yamlload._depth_upper_bound(text) > yamlload.MAX_DEPTH):
        return None
    try:
        value = yamlload._yaml_rs.loads(text, parse_datetime=False)
    except Exception:
        return None
    return value if isinstance(value, dict) and value else None


def has_non_text_keys(value) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(k, str) or has_non_text_keys(v) for k, v in value.items())
    return isinstance(value, list) and any(has_non_text_keys(v) for v in value)


def assert_paths_agree(text: str) -> None:
    fast = fast_reading(text)
    if fast is None:
        return  # the strict path decides alone
    if has_non_text_keys(fast):
        # no schema admits such a key (additionalProperties: false everywhere), so the record
        # fails fast validation and is read again strictly; see test_non_text_keys_never_validate
        return
    try:
        strict = parse_strict(text)
    except YamlProblem as problem:  # pragma: no cover - would be a bug
        pytest.fail(f"fast path accepted what the strict path refuses ({problem.rule}): {text!r}")
    assert json.dumps(fast, sort_keys=True) == json.dumps(strict, sort_keys=True), text


def test_the_fast_path_is_taken_for_ordinary_records():
    assert YAML_FILES
    taken = [p for p in YAML_FILES if fast_reading(p.read_text(encoding="utf-8")) is not None]
    assert len(taken) >= 0.9 * len(YAML_FILES)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_both_yaml_paths_agree_on_every_file(path):
    assert_paths_agree(path.read_text(encoding="utf-8"))


TRICKY_SCALARS = [
    "no", "yes", "on", "off", "y", "n", "true", "True", "FALSE", "~", "null", "Null", "",
    "0", "-0", "+12", "0123", "0o17", "0x1F", "0b101", "1e3", "1E-3", "1.5e3", ".5", "1.", "1_000",
    ".inf", "-.inf", ".nan", "12.50", "3.14", "2026-11-23", "2026-11-23T09:30:00+08:00",
    "2026-11-23 09:30:00", "17:30", "190:20:30", "025-5210 8831", "13800138000", "王先生",
    "'quoted'", '"double"', "a: b", "- x", "[a, b]", "{a: 1}", "&a x", "*a", "!tag x", "!!str 1",
    "<<", "#comment", "x # c", "'0123'", "\"no\"", "@at", "`tick`", "%pct", "a,b", "|", ">",
]
keys = st.sampled_from(["id", "name", "a", "b", "1", "yes", "~", "true", "0123", "1e3", "客户"])
scalars = st.sampled_from(TRICKY_SCALARS)


def _render(node, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(node, dict):
        out = ""
        for k, v in node.items():
            if isinstance(v, (dict, list)) and v:
                out += f"{pad}{k}:\n{_render(v, indent + 2)}"
            else:
                out += f"{pad}{k}: {v if not isinstance(v, (dict, list)) else '[]'}\n"
        return out
    out = ""
    for v in node:
        if isinstance(v, (dict, list)) and v:
            out += f"{pad}-\n{_render(v, indent + 2)}"
        else:
            out += f"{pad}- {v if not isinstance(v, (dict, list)) else '[]'}\n"
    return out


documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(keys, children, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, documents, min_size=1, max_size=5))
def test_both_yaml_paths_agree_on_generated_documents(doc):
    assert_paths_agree(_render(doc))


# -- schema validation: the compiled validator and the explaining one agree ---------------------

SCHEMAS = SchemaSet(REPO / "schemas")
def _sample_per_kind(paths, n=3):
    """A few records of each kind: every field of every kind is mutated, in bounded time."""
    by_kind: dict[str, list[Path]] = {}
    for p in paths:
        kind = kind_of_path(Path(*p.parts[p.parts.index("records"):]))
        if kind:
            by_kind.setdefault(kind, []).append(p)
    return [p for group in by_kind.values() for p in group[:n]]


RECORD_FILES = _sample_per_kind(YAML_FILES)


def _mutations(data: dict):
    """A valid record and ways of breaking it: each field removed, retyped, or emptied."""
    yield data
    for key in list(data):
        broken = copy.deepcopy(data)
        del broken[key]
        yield broken
        for replacement in (None, 12345, "x", ["x"], {"x": 1}, True, "2026-02-30"):
            broken = copy.deepcopy(data)
            broken[key] = replacement
            yield broken
    yield {**copy.deepcopy(data), "unknown_field": 1}


@pytest.mark.parametrize("path", RECORD_FILES, ids=lambda p: p.name)
def test_both_validators_agree(path):
    kind = kind_of_path(Path(*path.parts[path.parts.index("records"):]))
    if not SCHEMAS.has(kind):
        pytest.skip(f"no schema for {kind}")
    try:
        data = yamlload.parse(path.read_bytes())
    except YamlProblem:
        pytest.skip("not a readable record")
    for variant in _mutations(data):
        fast = SCHEMAS.fast_valid(kind, variant)
        precise = not list(SCHEMAS.precise(kind).iter_errors(variant))
        assert fast == precise, (path.name, variant)


def test_non_text_keys_never_validate():
    """Why the fast path needs no gate for keys: a mapping with a key that is not text fails
    validation in every kind, so the strict path reads it again."""
    for kind in SCHEMAS.kinds():
        example = SCHEMAS.raw[kind]["examples"][0]
        for key in (1, None, True, 1.5):
            assert not SCHEMAS.fast_valid(kind, {**example, key: "x"})


# -- the compiled validator's shortcut for the date formats --------------------------------------

def _date_candidates():
    """Dates at every edge: each month's days 00-32 in leap, common and century years, years 0000,
    0001 and 9999, and digits other than ASCII ones."""
    for year in ("0000", "0001", "1900", "2000", "2024", "2026", "9999", "٢٠٢٦"):
        for month in range(0, 14):
            for day in range(0, 33):
                yield f"{year}-{month:02d}-{day:02d}"


def _instant_candidates():
    days = ("2026-01-31", "2026-02-28", "2026-02-29", "2024-02-29", "2026-04-30", "2026-04-31", "0000-01-01")
    times = ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "12:00", "12:00:00.5", "1:00:00")
    offsets = ("Z", "z", "+08:00", "-00:00", "+23:59", "+24:00", "-24:00", "+08:60", "+0800", "")
    for day in days:
        for time in times:
            for offset in offsets:
                for sep in ("T", "t", " "):
                    yield f"{day}{sep}{time}{offset}"


@pytest.mark.parametrize("name, candidates", [("date", _date_candidates), ("date-time", _instant_candidates)])
def test_format_shortcuts_are_inside_the_formats(name, candidates):
    """What the compiled validator accepts without asking ``FORMATS`` must be valid by it (a
    shortcut may be narrower, never wider); and it does take most valid values."""
    import jsonschema_rs

    from servicebook.load.schemas import FORMAT_SHORTCUTS, FORMATS

    shortcut = jsonschema_rs.validator_for({"type": "string", "pattern": FORMAT_SHORTCUTS[name]})
    taken = valid = 0
    for text in candidates():
        for value in (text, text + "\n", " " + text):
            ok = FORMATS[name](value)
            if shortcut.is_valid(value):
                assert ok, f"the {name} shortcut accepts {value!r}, which the format refuses"
                taken += value == text
            valid += ok and value == text
    assert valid > taken > 0  # 29 February, fractions of a second are left to the format
    assert shortcut.is_valid({"date": "2026-11-20", "date-time": "2026-11-20T17:30:00+08:00"}[name])


@settings(max_examples=600, deadline=None)
@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}))?\Z"))
def test_format_shortcuts_agree_with_the_formats_on_generated_values(text):
    from servicebook.load.schemas import FORMAT_SHORTCUTS, FORMATS
    import jsonschema_rs

    name = "date-time" if "T" in text else "date"
    if jsonschema_rs.validator_for({"type": "string", "pattern": FORMAT_SHORTCUTS[name]}).is_valid(text):
        assert FORMATS[name](text), text


def test_format_shortcuts_leave_the_answer_to_the_formats():
    """Every kind's compiled validator answers as the explaining one for date and instant values
    at the edges: inside the shortcut, outside it but valid (29 February of a leap year), invalid."""
    for kind in SCHEMAS.kinds():
        example = SCHEMAS.raw[kind]["examples"][0]
        for key, value in example.items():
            if not isinstance(value, str) or SCHEMAS.annotation(kind, (key,), "format") not in ("date", "date-time"):
                continue
            for edge in ("2024-02-29", "2026-02-29", "2026-04-31", "2026-12-31", "0000-01-01"):
                text = edge + value[10:]
                variant = {**example, key: text}
                precise = not list(SCHEMAS.precise(kind).iter_errors(variant))
                assert SCHEMAS.fast_valid(kind, variant) == precise, (kind, key, text)
