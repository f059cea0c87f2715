"""servicebook export: what analysts query matches the records, in every format."""

from __future__ import annotations

import json
import sqlite3

import pyarrow.parquet as pq
import pytest

from servicebook.load import corpus
from conftest import sb


def export(mini, fmt, out):
    proc = sb("export", "--format", fmt, "--out", str(out), cwd=mini.root)
    assert proc.returncode == 0, proc.stderr
    return corpus.load(mini.root, use_cache=False)


def test_sqlite_answers_questions_about_the_records(mini, tmp_path):
    c = export(mini, "sqlite", tmp_path / "sb.sqlite")
    con = sqlite3.connect(tmp_path / "sb.sqlite")
    by_kind = dict(con.execute("SELECT kind, count(*) FROM records GROUP BY kind"))
    assert by_kind == {k: len(c.of_kind(k)) for k in by_kind} and sum(by_kind.values()) == len(c.records)
    # the whole record is there as JSON: a question no column anticipates
    [(caller,)] = con.execute("SELECT json_extract(data, '$.caller.name') FROM records "
                              "WHERE id = 'CP-20261202-7KQ2XM'")
    assert caller == c.get("CP-20261202-7KQ2XM").data["caller"]["name"]
    history = con.execute("SELECT status FROM history WHERE record_id = 'CP-20261202-7KQ2XM' "
                          "ORDER BY seq").fetchall()
    assert [s for (s,) in history] == [h["status"] for h in c.get("CP-20261202-7KQ2XM").data["history"]]


def test_jsonl_and_parquet(mini, tmp_path):
    c = export(mini, "jsonl", tmp_path / "sb.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "sb.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["id"]: r["data"] for r in rows} == {k: r.data for k, r in c.records.items()}
    export(mini, "parquet", tmp_path / "sb.parquet")
    table = pq.read_table(tmp_path / "sb.parquet")
    assert table.num_rows == len(c.records)
    assert set(table.column("kind").to_pylist()) == {r.kind for r in c.records.values()}


def test_export_writes_nothing_under_records(mini, tmp_path):
    before = mini.snapshot()
    export(mini, "sqlite", tmp_path / "x.sqlite")
    assert mini.snapshot() == before


@pytest.mark.parametrize("given", ["records/complaint/2026/CP-1.yaml", "records//a.yaml", "./records/a.yaml",
                                   "records/./a.yaml", "records/a/", "records/a/.", "", "a\\b.yaml", "../x/a.yaml",
                                   "/abs/records/a.yaml", ".hidden/a.yaml", "records/..a/b.yaml"])
def test_record_file_is_its_path_as_posix(given):
    from pathlib import Path

    from servicebook.load.records import Record

    assert Record("complaint", "CP-1", given, {}).file == Path(given).as_posix()
    assert Record("complaint", "CP-1", Path(given), {}).file == Path(given).as_posix()


def test_data_text_is_valid_json_of_the_value_with_sorted_keys():
    """The export's JSON text of a record, for the values YAML can give (and the odd ones a
    broken record can hold): strict JSON (a number that is not finite is null), the same value,
    every mapping's keys in order; orjson's refusals (an integer past 64 bits, a lone surrogate)
    take the other path to the same promise."""
    import math

    from servicebook.write.export import _sorted_json

    def finite(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        return [finite(x) for x in v] if isinstance(v, list) else v

    def strict(text):
        def no_constant(name):
            raise ValueError(f"{name} is no JSON")

        pairs = []
        value = json.loads(text, parse_constant=no_constant,
                           object_pairs_hook=lambda items: pairs.append([k for k, _ in items]) or dict(items))
        assert all(keys == sorted(keys) for keys in pairs), text
        return value

    for big in (0, 10 ** 30):
        values = [{"b": 1, "a": [1.5, 2e-7, 1e16, float("nan"), float("inf"), -0.0, big, True, None],
                   "é": "中文\u2028\x00\"\\\t", "E": {"z": {}, "y": [], "x": [{"b": 2, "a": 1}]}},
                  {}, [], "text", 3, {"nested": {"deeper": {"deepest": ["a", {"k": "v"}]}}},
                  {"lone": "\ud800", "b": float("-inf")}]
        for value in values:
            text = _sorted_json(value)
            assert strict(text) == finite(value), (value, text)
