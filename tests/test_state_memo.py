"""A record's status as of an instant is kept on the record for the last instant asked
(`derive.cases._state_at`): asked in any order, at every instant where a demo record's status or
latest entry changes (each history entry's time, a second before and after, before the first and
after the last, the same instant written in another zone), `status_at` and `last_change` answer what
they answer for a fresh copy of the record, which has nothing kept."""
from __future__ import annotations

import random
from datetime import timedelta, timezone
from pathlib import Path

from servicebook.derive.cases import last_change, status_at
from servicebook.load import corpus as corpus_mod
from servicebook.load.records import Record

ROOT = Path(__file__).resolve().parents[1]


def fresh(rec) -> Record:
    return Record(rec.kind, rec.id, rec.file, rec.data)


def test_kept_state_answers_as_a_fresh_record_in_any_order():
    corpus = corpus_mod.load(ROOT)
    rng = random.Random(7)
    asked = 0
    for rec in corpus.records.values():
        dated = rec.dated_history
        if not dated:
            continue
        instants = []
        for when, _ in dated:
            instants += [when, when - timedelta(seconds=1), when + timedelta(seconds=1),
                         when.astimezone(timezone(timedelta(hours=-5)))]
        instants += [dated[0][0] - timedelta(days=400), dated[-1][0] + timedelta(days=400)]
        order = instants + instants[::-1] + [rng.choice(instants) for _ in range(len(instants))]
        for at in order:
            assert status_at(rec, at) == status_at(fresh(rec), at), (rec.id, at)
            assert last_change(rec, at) == last_change(fresh(rec), at), (rec.id, at)
            asked += 1
    assert asked > 5000
