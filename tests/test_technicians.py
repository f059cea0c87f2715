"""Technician appraisal (workload, quality, ratings, grade bonus) and staffing, against
hand-computed scores on a small repository."""
from __future__ import annotations

import pytest

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.derive.aftersales import technicians as tech

WEIGHTS = {"appraisal": {"workload_per_record": 1, "quality": {"fixed": 2, "diagnosed_waiting_parts": 1, "not_fixed": 0},
                         "rating": {"neutral": 3, "per_point": 0.5}, "bonus_pct_by_grade": {3: 10, 4: 20}},
           "staffing": {"default_machines_per_engineer": 2, "regions": {"华北": 10, "华东": 2}}}


def repair(rid, entries, engineer="P-e", outcome=None, rating=None, complaint=None, fixed_at=None):
    d = {"id": rid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs", "created_at": T(entries[0][0]),
         "status": entries[-1][2], "history": hist(*entries), "product": "PD-a", "device": {"brand": "X", "model": "M"},
         "reported_at": T(entries[0][0]), "fault_description": "故障", "engineer": engineer}
    for key, value in (("outcome", outcome), ("customer_rating", rating), ("complaint", complaint)):
        if value is not None:
            d[key] = value
    if fixed_at:
        d["fixed_at"] = T(fixed_at)
    return d


def callback(cid, case, done_at, satisfaction):
    return {"id": cid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs", "created_at": T(done_at),
            "status": "done", "history": hist((done_at, "P-cs", "done")), "case": case,
            "scheduled_for": T(done_at), "satisfaction": satisfaction}


def installation(iid, cust, devices, handed="05-10"):
    return {"id": iid, "schema_version": 1, "customer": cust, "filled_by": "P-cs", "created_at": T("05-01 09:00"),
            "status": "handed_over", "history": hist(("05-01 09:00", "P-cs", "ordered"), ("05-05 09:00", "P-e", "installed"),
                                                     (handed + " 09:00", "P-e", "handed_over")),
            "contract": "CT-20260101-AAAAAA", "customer_block": {"name": cust}, "handed_over_on": "2026-" + handed,
            "devices": [{"brand": "X", "model": "M", "product": "PD-a"} for _ in range(devices)]}


ON_SITE = [("06-01 09:00", "P-cs", "open"), ("06-01 10:00", "P-cs", "dispatched"), ("06-01 11:00", "P-e", "on_site")]


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, [
        person("P-e", region="华东", grade=3), person("P-f", region="华东", grade=1), person("P-g", region="华北", grade=4),
        person("P-old", region="华东", active=False), person("P-cs", roles=("customer_service",), region="总部"),
        customer("CU-a", region="华东"), customer("CU-b", region="华北"), product("PD-a"),
        # fixed in June, outcome given, rated 5 on the record and 4 by a callback on its complaint -> 4.5
        repair("RP-20260601-AAAAAA", ON_SITE + [("06-01 15:00", "P-e", "fixed"), ("06-02 09:00", "P-cs", "closed")],
               outcome="fixed", rating=5, complaint="CP-20260601-AAAAAA", fixed_at="06-01 14:30"),
        callback("CB-20260602-AAAAAA", "CP-20260601-AAAAAA", "06-02 10:00", 4),
        # waiting for parts in June, no outcome field -> diagnosed_waiting_parts, no rating
        repair("RP-20260610-BBBBBB", [(a.replace("06-01", "06-10"), b, c) for a, b, c in ON_SITE]
               + [("06-10 12:00", "P-e", "waiting_parts")]),
        # not fixed in June, rated 2
        repair("RP-20260615-CCCCCC", [(a.replace("06-01", "06-15"), b, c) for a, b, c in ON_SITE]
               + [("06-15 16:00", "P-e", "not_fixed")], rating=2),
        # fixed in May: outside the period
        repair("RP-20260520-DDDDDD", [(a.replace("06-01", "05-20"), b, c) for a, b, c in ON_SITE]
               + [("05-20 15:00", "P-e", "fixed")], outcome="fixed", rating=1),
        # another engineer, still on site: no result yet
        repair("RP-20260620-EEEEEE", [(a.replace("06-01", "06-20"), b, c) for a, b, c in ON_SITE], engineer="P-f"),
        installation("IN-20260501-AAAAAA", "CU-a", 3), installation("IN-20260501-BBBBBB", "CU-a", 2),
        installation("IN-20260501-CCCCCC", "CU-a", 4, handed="07-10"),
    ])


def test_returned_records_and_grades(repo):
    got = [(r.repair, r.grade, r.rating) for r in tech.returned(repo, "2026-06-01", "2026-06-30")]
    assert got == [("RP-20260601-AAAAAA", "fixed", 4.5), ("RP-20260610-BBBBBB", "diagnosed_waiting_parts", None),
                   ("RP-20260615-CCCCCC", "not_fixed", 2.0)]
    assert tech.returned(repo, "2026-06-01", "2026-06-01")[0].at.isoformat() == "2026-06-01T14:30:00+08:00"


def test_appraisal_score(repo):
    rows = {a.engineer: a for a in tech.appraisal(repo, "2026-06-01", "2026-06-30", weights_override=WEIGHTS)}
    e = rows["P-e"]
    # workload 3 x 1; quality 2 + 1 + 0; ratings 0.5 x ((4.5 - 3) + (2 - 3)) = 0.25
    assert (e.records, e.workload, e.quality, e.rating_points, e.base) == (3, 3.0, 3.0, 0.25, 6.25)
    assert e.by_grade == {"fixed": 1, "diagnosed_waiting_parts": 1, "not_fixed": 1}
    assert (e.bonus_pct, e.score) == (10.0, 6.875)          # grade 3: +10 %
    assert e.mean_rating == 3.25 and e.rated == 2
    assert rows["P-f"].records == 0 and rows["P-f"].score == 0     # idle engineers listed
    assert "P-old" not in rows                                       # left the company
    assert [a.engineer for a in tech.appraisal(repo, "2026-06-01", "2026-06-30", weights_override=WEIGHTS)][0] == "P-e"
    # May alone: one fixed record rated 1 -> 1 + 2 + 0.5 x (1 - 3) = 2, x 1.1
    may = {a.engineer: a for a in tech.appraisal(repo, "2026-05-01", "2026-05-31", weights_override=WEIGHTS)}
    assert may["P-e"].score == 2.2


def test_shipped_weights_are_complete(repo):
    w = tech.weights(repo)["appraisal"]
    assert set(w["quality"]) == {"fixed", "diagnosed_waiting_parts", "not_fixed"}
    assert set(w["bonus_pct_by_grade"]) == {1, 2, 3, 4, 5}
    assert w["quality"]["fixed"] > w["quality"]["diagnosed_waiting_parts"] > w["quality"]["not_fixed"]


def test_staffing(repo):
    rows = {s.region: s for s in tech.staffing(repo, "2026-06-30", weights_override=WEIGHTS)}
    # 华东: 3 + 2 machines handed over by 30 June (the 4 of July not yet), 2 active engineers
    e = rows["华东"]
    assert (e.machines, e.engineers, e.per_engineer, e.target, e.needed, e.gap) == (
        5, ["P-e", "P-f"], 2.5, 2.0, 3, 1)
    n = rows["华北"]
    assert (n.machines, n.engineers, n.needed, n.gap) == (0, ["P-g"], 0, -1)
    assert tech.staffing(repo, "2026-07-31", weights_override=WEIGHTS)[0].machines == 9
