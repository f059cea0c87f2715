"""The SLA engine's shortcuts give exactly the clocks of the slow path.

A business calendar keeps the answers of ``wd`` (an instant's working coordinate) and
``instant_at_w`` (the instant of a coordinate) it gave: asked again, in any order, with the
coverage checked for each question's own start day, it answers as a calendar that keeps nothing,
errors included (``test_kept_calendar_answers_*``).

Clocks of one policy with the same start events (a complaint's fix and close clocks) start at the
same instant in each cycle: the engine looks for that start once per record and cycle
(``_Plan.starts_like``). Proven here against the engine made to look for every clock's start in
every cycle itself, on real YAML records whose cases run across the 2025 National Day and the 2026 Spring
Festival (holidays and make-up working days), start before, in and after the lunch break, wait for
parts or the customer, are reopened once or twice, and are called back (the callback clock stops
on another record); standard and VIP, quality complaints and enquiries, repairs of them."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from servicebook.derive.sla import calendar as bc
from servicebook.derive.sla import engine as engine_mod
from test_sla import LIFECYCLE, Repo

TZ = dt.timezone(dt.timedelta(hours=8))
# around the holidays (and their make-up days: 2025-09-28, 2025-10-11, 2026-02-14, 2026-02-28)
WINDOWS = (dt.datetime(2025, 9, 24, tzinfo=TZ), dt.datetime(2026, 2, 10, tzinfo=TZ),
           dt.datetime(2026, 11, 2, tzinfo=TZ))
INSTANTS = ("2025-10-05T11:30:00+08:00", "2026-02-20T12:00:00+08:00", "2026-03-06T09:00:00+08:00",
            "2026-11-20T13:00:00+08:00", "2026-12-20T12:00:00+08:00")


def _text(t: dt.datetime) -> str:
    return t.isoformat()


def _history(rnd: random.Random, t0: dt.datetime) -> list[tuple[str, str]]:
    """A complaint's history: in the window, minutes picked so that steps land in and around
    working hours and lunch; pauses, resolutions, closings and reopenings."""
    hist = [(t0, "open")]
    t = t0
    for cycle in range(rnd.choice((1, 1, 2, 3))):
        if cycle:
            t += dt.timedelta(minutes=rnd.randrange(30, 5000))
            hist.append((t, "reopened"))
        t += dt.timedelta(minutes=rnd.randrange(5, 300))
        hist.append((t, "in_progress"))
        for _ in range(rnd.choice((0, 0, 1, 2))):
            t += dt.timedelta(minutes=rnd.randrange(10, 900))
            hist.append((t, rnd.choice(("waiting_parts", "waiting_customer"))))
            t += dt.timedelta(minutes=rnd.randrange(30, 6000))
            hist.append((t, "in_progress"))
        if rnd.random() < 0.85:
            t += dt.timedelta(minutes=rnd.randrange(10, 4000))
            hist.append((t, "resolved"))
            if rnd.random() < 0.8:
                t += dt.timedelta(minutes=rnd.randrange(10, 4000))
                hist.append((t, "closed"))
                continue
        break
    return [(_text(a), s) for a, s in hist]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    rnd = random.Random(19)
    repo = Repo(tmp_path_factory.mktemp("sla-shortcuts"))
    for i in range(240):
        base = WINDOWS[i % len(WINDOWS)]
        t0 = base + dt.timedelta(minutes=rnd.randrange(0, 14 * 1440))
        if i % 4 == 0:  # around the lunch break of a working day
            t0 = t0.replace(hour=rnd.choice((11, 12, 13)), minute=rnd.randrange(60))
        hist = _history(rnd, t0)
        rid = f"CP-{i}"
        repo.case("complaint", rid, hist, customer="CU-vip" if i % 5 == 0 else "CU-std",
                  form_kind="enquiry" if i % 9 == 0 else None, received_at=hist[0][0],
                  **({"assigned_to": "P-eng"} if i % 3 else {}))
        if i % 6 == 0:
            repo.case("repair", f"RP-{i}", [(hist[0][0], "open"), (hist[-1][0], "fixed")], by="P-eng",
                      engineer="P-eng", complaint=rid, reported_at=hist[0][0], fixed_at=hist[-1][0])
        resolved = [a for a, s in hist if s == "resolved"]
        if resolved and rnd.random() < 0.5:
            called = dt.datetime.fromisoformat(resolved[0]) + dt.timedelta(minutes=rnd.randrange(20, 3000))
            repo.case("callback", f"CB-{i}", [(resolved[0], "scheduled"), (_text(called), "done")],
                      case=rid, called_at=_text(called))
    return repo


class _Forgetful(dict):
    """A memo that keeps nothing."""

    def __setitem__(self, key, value):
        pass


def _each_start_alone(monkeypatch):
    """The slow path: every clock looks for its start in every cycle itself, nothing shared."""
    cycles = engine_mod.Engine._cycles

    def alone(self, *args):
        return cycles(self, *args[:-1], _Forgetful())

    monkeypatch.setattr(engine_mod.Engine, "_cycles", alone)


def _counting_starts(monkeypatch) -> list:
    calls = []
    find = engine_mod.Engine._find_start

    def counted(self, *args):
        calls.append(args[0].id)
        return find(self, *args)

    monkeypatch.setattr(engine_mod.Engine, "_find_start", counted)
    return calls


def test_shared_starts_give_the_clocks_of_each_start_found_alone(repo, monkeypatch):
    records = repo.records()
    calls = _counting_starts(monkeypatch)
    shared = {at: engine_mod.Engine(records, lifecycle=LIFECYCLE, keep=False).clocks(at, workers=1)
              for at in INSTANTS}
    shared_calls = len(calls)
    calls.clear()
    _each_start_alone(monkeypatch)
    for at in INSTANTS:
        alone = engine_mod.Engine(records, lifecycle=LIFECYCLE, keep=False).clocks(at, workers=1)
        assert shared[at] == alone, at
    clocks = [c for cs in shared.values() for c in cs]
    # what the comparison covered: every state, reopened cycles, pauses, callbacks on other records
    assert {c.state for c in clocks} >= {"running", "paused", "met", "breached", "at_risk"}
    assert max(c.cycle for c in clocks) >= 3
    assert any(c.clock == "callback" and c.state == "met" for c in clocks)
    assert {c.tier for c in clocks} == {"standard", "vip"}
    assert {c.policy for c in clocks} >= {"SLA-complaint", "SLA-enquiry", "SLA-repair"}
    # and the shortcut is taken: a complaint's fix and close clocks share one search per cycle
    assert shared_calls < len(calls) * 0.8


def _answer(ask):
    try:
        return ask()
    except bc.CalendarError as exc:
        return ("error", str(exc))


def _instants(rnd: random.Random) -> list[float]:
    """Instants around the holidays, the make-up days, the lunch break, midnight and the working
    day's edges, and past the covered years."""
    out = []
    for base in WINDOWS + (dt.datetime(2026, 12, 28, tzinfo=TZ), dt.datetime(2004, 1, 1, tzinfo=TZ)):
        for _ in range(150):
            t = base + dt.timedelta(minutes=rnd.randrange(0, 20 * 1440))
            if rnd.random() < 0.5:
                t = t.replace(hour=rnd.choice((0, 8, 9, 11, 12, 13, 17, 18, 23)), minute=rnd.choice((0, 1, 30, 59)),
                              second=rnd.choice((0, 0, 59)))
            out.append(t.timestamp() + rnd.choice((0.0, 0.0, 0.25)))
    return out


@pytest.mark.parametrize("make", [
    lambda: bc.BusinessCalendar(id="CAL-cn"),
    # a gap in the covered years: 2026 without holiday data, between two covered years
    lambda: bc.BusinessCalendar(id="CAL-gap", statutory="none", covered_years=(2025, 2027)),
], ids=["statutory", "gap"])
def test_kept_calendar_answers_equal_fresh_ones(make):
    rnd = random.Random(3)
    kept, fresh = make(), make()
    instants = _instants(rnd)
    coords = [w for w in (_answer(lambda t=t: fresh.wd(t)) for t in instants) if w[0] != "error"]
    days = sorted({d for _, d in coords}) + [0]
    questions = [("wd", t) for t in instants] + [
        ("at", w + delta, rnd.choice(days)) for w, _ in coords for delta in (0.0, 1.0, 3600.0, 8 * 3600.0, 86400.0)]
    for q in questions + rnd.sample(questions, len(questions)):  # each asked twice, the second time in another order
        for cal in (kept, fresh):
            cal._wd_seen.clear() if cal is fresh else None
            cal._at_w_seen.clear() if cal is fresh else None
        if q[0] == "wd":
            assert _answer(lambda: kept.wd(q[1])) == _answer(lambda: fresh.wd(q[1])), q
        else:
            assert _answer(lambda: kept.instant_at_w(q[1], q[2])) == _answer(lambda: fresh.instant_at_w(q[1], q[2])), q
    assert kept._wd_seen and kept._at_w_seen  # answers were kept, and given again


def test_kept_calendar_answer_still_checks_its_start_day():
    """A coordinate in 2027 found from a 2027 start is kept; asked again from a 2025 start it
    crosses the uncovered 2026 and is refused, as a calendar that keeps nothing refuses it."""
    cal = bc.BusinessCalendar(id="CAL-gap", statutory="none", covered_years=(2025, 2027))
    w, day = cal.wd(dt.datetime(2027, 3, 1, 10, tzinfo=cal.tz).timestamp())
    before = cal.wd(dt.datetime(2025, 6, 2, 10, tzinfo=cal.tz).timestamp())[1]
    assert cal.instant_at_w(w, day) == dt.datetime(2027, 3, 1, 10, tzinfo=cal.tz).timestamp()
    with pytest.raises(bc.CalendarError, match="covered years"):
        cal.instant_at_w(w, before)
