"""The corpus is read-only, and the value-index and appraisal weights are the repository's
(schemas/*-weights.yaml), read once by load/ into corpus.weights (issue #14): a change by pull
request changes the figures, and a mistyped weight is a located problem, never a silent 0."""
from __future__ import annotations

import re

import pytest

from conftest import sb
from servicebook.derive.aftersales import technicians, value_index
from servicebook.load import corpus as corpus_mod

AT = "2026-12-10T10:00:00+08:00"


def test_the_figures_follow_the_repositorys_weights(demo):
    before = {s.customer: s.index for s in value_index.ranked(corpus_mod.load(demo), AT)}
    path = demo / "schemas" / "value-weights.yaml"
    # all the weight on company size: the index becomes 100 x the size factor
    text = path.read_text(encoding="utf-8")
    for factor in value_index.FACTORS:
        text = re.sub(rf"^  {factor}: \d+", f"  {factor}: {100 if factor == 'size' else 0}", text, flags=re.M)
    path.write_text(text, encoding="utf-8")
    corpus = corpus_mod.load(demo, use_cache=False)
    assert corpus.weights.value["weights"]["size"] == 100
    after = {s.customer: s for s in value_index.ranked(corpus, AT)}
    assert after.keys() == before.keys()
    assert any(after[c].index != before[c] for c in before)
    for score in after.values():
        assert score.index == pytest.approx(100 * (score.factors["size"].value or 0.0))


def test_weights_are_read_only(demo):
    corpus = corpus_mod.load(demo)
    with pytest.raises(TypeError):
        corpus.weights.value["weights"]["size"] = 1  # type: ignore[index]
    assert technicians.weights(corpus, {"staffing": {"default_machines_per_engineer": 9}})["staffing"][
        "default_machines_per_engineer"] == 9
    assert technicians.weights(corpus)["staffing"]["default_machines_per_engineer"] == 4


def test_a_mistyped_weight_is_a_located_problem(demo):
    path = demo / "schemas" / "appraisal-weights.yaml"
    text = path.read_text(encoding="utf-8")
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "workload_per_record:" in line)
    path.write_text(text.replace("workload_per_record: 1.0", "workload_per_record: one"), encoding="utf-8")
    before = path.read_bytes()
    proc = sb("validate", "--root", str(demo), cwd=demo)
    assert proc.returncode == 1
    assert f"schemas/appraisal-weights.yaml:{line_no}:" in proc.stdout
    assert "[weights.type] appraisal.workload_per_record:" in proc.stdout
    assert path.read_bytes() == before


def test_a_missing_weights_file_is_a_problem(demo):
    (demo / "schemas" / "value-weights.yaml").unlink()
    proc = sb("validate", "--root", str(demo), cwd=demo)
    assert proc.returncode == 1
    assert "schemas/value-weights.yaml:1:1: error [weights.missing]" in proc.stdout


def test_the_corpus_is_read_only(demo):
    """Later stages derive new values; none can change what was loaded for the others."""
    import dataclasses

    corpus = corpus_mod.load(demo)
    rid = next(iter(corpus.records))
    for change in (lambda: corpus.records.__setitem__("X", None), lambda: corpus.records.pop(rid),
                   lambda: corpus.records.update({}), lambda: corpus.records.setdefault("X"),
                   lambda: corpus.records.clear(), lambda: corpus.records.__delitem__(rid)):
        with pytest.raises(TypeError):
            change()
    with pytest.raises(dataclasses.FrozenInstanceError):
        corpus.records = {}  # type: ignore[misc]
    assert isinstance(corpus.problems, tuple) and isinstance(corpus.files, tuple)
    assert rid in corpus.records and len(corpus.of_kind(corpus.records[rid].kind)) >= 1
