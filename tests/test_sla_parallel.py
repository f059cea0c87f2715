"""SLA engine across processes: forked workers give exactly the clocks, in exactly the order, of
one process. On a generated repository with every chain (deals with schedules, complaints with
repairs and callbacks), the worker threshold lowered instead of generating 20,000 records.
The engines keep nothing (``keep=False``): with the kept clocks of ``derive/sla/store.py`` a
second run has nothing left to share out (``tests/test_sla_store.py`` forks with the store)."""
from __future__ import annotations

import dataclasses

import pytest

from servicebook.load import corpus
from servicebook.derive.sla import parallel
from servicebook.derive.sla.engine import Clock, Engine
from servicebook.write import synth

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="this platform or process cannot fork")

# the last one lies past the holiday data (2026): clocks measured as "at least" (issue #16)
INSTANTS = ("2026-11-05T10:00:00+08:00", "2026-11-19T10:00:00+08:00", "2026-12-20T12:00:00+08:00",
            "2027-01-20T12:00:00+08:00")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("sla-parallel") / "repo"
    synth.generate(out, 1200, seed=5)
    return corpus.load(out, use_cache=False)


@pytest.fixture
def forks(monkeypatch):
    """How many times the forked path ran (in chunks of 50 records: many, handed out in turn)."""
    monkeypatch.setattr(parallel, "_CHUNK", 50)
    calls = []
    forked = parallel.run

    def spy(measure, items, workers, **codec):
        calls.append(workers)
        return forked(measure, items, workers, **codec)

    monkeypatch.setattr(parallel, "run", spy)
    return calls


def test_a_clock_is_rebuilt_from_its_values(records):
    """What a worker sends: values() spells out every field, in order."""
    clocks = Engine(records, keep=False).clocks(INSTANTS[-1], workers=1)
    names = [f.name for f in dataclasses.fields(Clock)]
    assert all(c.values() == tuple(getattr(c, n) for n in names) for c in clocks)
    assert [Clock(*c.values()) for c in clocks] == clocks


@pytest.mark.parametrize("workers", [2, 3])
def test_forked_workers_give_the_serial_clocks_in_order(records, forks, workers):
    for at in INSTANTS:
        serial = Engine(records, keep=False).clocks(at, workers=1)
        assert len({c.state for c in serial}) >= 4  # a mix worth comparing
        eng = Engine(records, keep=False)
        assert eng.clocks(at, workers=workers) == serial
        # again on the same engine: its caches now hold only the first part's records
        assert eng.clocks(at, workers=workers) == serial
        assert eng.clocks(at, kinds=["complaint"], workers=workers) == [c for c in serial if c.kind == "complaint"]
        # clocks of records not filed yet run on the record that started them, listed by the
        # missing kind
        assert eng.clocks(at, kinds=["appraisal"], workers=workers) == [c for c in serial if c.kind == "appraisal"]
    assert forks == [workers] * 4 * len(INSTANTS)


def test_workers_by_default_from_the_threshold(records, forks, monkeypatch):
    at = INSTANTS[-1]
    serial = Engine(records, keep=False).clocks(at)
    assert forks == []  # too few records
    monkeypatch.setattr(parallel, "PARALLEL_MIN_RECORDS", 100)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    assert Engine(records, keep=False).clocks(at) == serial
    assert forks == [2]


def test_chunks_a_failing_worker_took_are_measured_here(records, forks, monkeypatch):
    at = INSTANTS[-1]
    serial = Engine(records, keep=False).clocks(at, workers=1)
    work = parallel._work

    def fail(measure, encode, chunks, tokens, conn, spool):
        parallel._take(tokens)  # taken, never reported
        work(measure, encode, chunks[:3], tokens, conn, spool)  # a few reported, then the child is gone

    monkeypatch.setattr(parallel, "_work", fail)
    assert Engine(records, keep=False).clocks(at, workers=2) == serial
    assert forks == [2]
