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


# --------------------------------------------------------------------------- complaints and inspections (seed 004)

def complaint(cid, entries, assigned_to):
    return {"id": cid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs", "created_at": T(entries[0][0]),
            "status": entries[-1][2], "history": hist(*entries), "received_at": T(entries[0][0]), "channel": "phone",
            "kind": "quality_complaint", "caller": {"name": "客户"}, "issues": [{"problem": "故障"}],
            "assigned_to": assigned_to}


def inspection(iid, entries, engineer, satisfaction=None):
    d = {"id": iid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-cs", "created_at": T(entries[0][0]),
         "status": entries[-1][2], "history": hist(*entries), "installation": "IN-20260501-AAAAAA", "product": "PD-a",
         "due_on": "2026-06-30", "engineer": engineer}
    if satisfaction is not None:
        d["satisfaction"] = satisfaction
    return d


W2 = {"appraisal": {"workload_per_record": 1, "workload_per_complaint": 1.5, "workload_per_inspection": 2,
                    "quality": {"fixed": 2, "diagnosed_waiting_parts": 1, "not_fixed": 0},
                    "rating": {"neutral": 3, "per_point": 2}, "bonus_pct_by_grade": {3: 10}}}


@pytest.fixture
def work_repo(tmp_path):
    return build(tmp_path, [
        person("P-e", grade=3), person("P-f", grade=1), person("P-g", grade=2),
        person("P-cs", roles=("customer_service",), region="总部"), customer("CU-a"), product("PD-a"),
        # P-e: a fixed repair rated 5 on the record, its complaint's callback says 3 -> rating 4
        repair("RP-20260601-AAAAAA", ON_SITE + [("06-01 15:00", "P-e", "fixed")], outcome="fixed", rating=5,
               complaint="CP-20260601-AAAAAA"),
        callback("CB-20260602-AAAAAA", "CP-20260601-AAAAAA", "06-02 10:00", 3),
        # ... and the complaint itself, assigned to P-e: handled (resolved 06-01 16:00), not rated
        # again (the repair carries the callback)
        complaint("CP-20260601-AAAAAA", [("06-01 08:00", "P-cs", "open"), ("06-01 16:00", "P-e", "resolved")], "P-e"),
        # P-f: an enquiry-like complaint answered without a repair, resolved in June, rated 5 by its callback
        complaint("CP-20260605-BBBBBB", [("06-05 09:00", "P-cs", "open"), ("06-05 15:00", "P-f", "resolved"),
                                         ("06-06 10:00", "P-cs", "closed")], "P-f"),
        callback("CB-20260606-BBBBBB", "CP-20260605-BBBBBB", "06-06 11:00", 5),
        # P-f: a complaint still in progress (not handled yet) and one resolved in July
        complaint("CP-20260625-CCCCCC", [("06-25 09:00", "P-cs", "open"), ("06-25 10:00", "P-f", "in_progress")], "P-f"),
        complaint("CP-20260628-DDDDDD", [("06-28 09:00", "P-cs", "open"), ("07-02 10:00", "P-f", "resolved")], "P-f"),
        # P-f: an inspection finished in June with satisfaction 4, one finished in May, one only planned
        inspection("IS-20260601-AAAAAA", [("06-01 09:00", "P-cs", "planned"), ("06-10 16:00", "P-f", "done")], "P-f", 4),
        inspection("IS-20260501-BBBBBB", [("05-01 09:00", "P-cs", "planned"), ("05-20 16:00", "P-f", "done")], "P-f", 1),
        inspection("IS-20260602-CCCCCC", [("06-02 09:00", "P-cs", "planned")], "P-f"),
        # P-g: an inspection finished in June without a rating
        inspection("IS-20260603-DDDDDD", [("06-03 09:00", "P-cs", "planned"), ("06-20 11:00", "P-g", "done")], "P-g"),
    ])


def test_complaints_and_inspections_earn_points(work_repo):
    assert [(w.record, w.engineer, w.rating) for w in tech.handled_complaints(work_repo, "2026-06-01", "2026-06-30")] == [
        ("CP-20260601-AAAAAA", "P-e", None), ("CP-20260605-BBBBBB", "P-f", 5.0)]
    assert [(w.record, w.rating) for w in tech.finished_inspections(work_repo, "2026-06-01", "2026-06-30")] == [
        ("IS-20260601-AAAAAA", 4.0), ("IS-20260603-DDDDDD", None)]
    rows = {a.engineer: a for a in tech.appraisal(work_repo, "2026-06-01", "2026-06-30", weights_override=W2)}
    f = rows["P-f"]
    # no repair; 1 complaint x 1.5 + 1 inspection x 2 = 3.5; quality 0;
    # customer 2 x ((5 - 3) + (4 - 3)) = 6; base 9.5; grade 1: no bonus
    assert (f.records, f.complaints, f.inspections) == (0, 1, 1)
    assert (f.workload, f.quality, f.rating_points, f.base, f.score) == (3.5, 0.0, 6.0, 9.5, 9.5)
    assert (f.complaint_ids, f.inspection_ids, f.rated, f.mean_rating) == (
        ["CP-20260605-BBBBBB"], ["IS-20260601-AAAAAA"], 2, 4.5)
    e = rows["P-e"]
    # repair 1 + complaint 1.5 = 2.5; quality fixed 2; customer 2 x (mean(5, 3) - 3) = 2 (the
    # complaint's callback counted once, with the repair); base 6.5; grade 3: x 1.1 = 7.15
    assert (e.records, e.complaints, e.inspections) == (1, 1, 0)
    assert (e.workload, e.quality, e.rating_points, e.base, e.rated) == (2.5, 2.0, 2.0, 6.5, 1)
    assert e.score == pytest.approx(7.15)
    g = rows["P-g"]
    # one unrated inspection: workload 2, nothing else
    assert (g.inspections, g.workload, g.rating_points, g.score) == (1, 2.0, 0.0, 2.0)
    # July: the complaint resolved on 2 July counts then; May: the inspection rated 1 costs points
    july = {a.engineer: a for a in tech.appraisal(work_repo, "2026-07-01", "2026-07-31", weights_override=W2)}
    assert (july["P-f"].complaints, july["P-f"].score) == (1, 1.5)
    may = {a.engineer: a for a in tech.appraisal(work_repo, "2026-05-01", "2026-05-31", weights_override=W2)}
    # inspection 2 + customer 2 x (1 - 3) = -4 -> -2
    assert may["P-f"].score == -2.0


def test_shipped_weights_make_the_customer_the_chief_examiner(repo):
    w = tech.weights(repo)["appraisal"]
    assert tech.customer_outweighs(w)
    # shipped: top rating 2 x (5 - 3) = 4 > repair workload 1 + quality fixed 2 = 3
    assert w["rating"]["per_point"] * (5 - w["rating"]["neutral"]) > w["workload_per_record"] + w["quality"]["fixed"]
    assert w["workload_per_complaint"] > 0 and w["workload_per_inspection"] > 0
    # the old weights (0.5 per point: a top rating worth 1) did not
    assert not tech.customer_outweighs({**w, "rating": {"neutral": 3, "per_point": 0.5}})


def test_appraisals_of_several_periods_equal_each_period_alone(demo):
    """The site's month and year come from one pass (`appraisals`); each equals its period
    appraised alone, on the demo's records."""
    from datetime import date

    from servicebook.derive import checked

    corpus = checked.load(demo)
    at = "2026-11-21T00:00:00+08:00"
    starts = [date(2026, 1, 1), date(2026, 11, 1), date(2026, 8, 15)]
    together = tech.appraisals(corpus, starts, at)
    assert together == [tech.appraisal(corpus, start, at) for start in starts]
    year, month, _ = together
    assert sum(a.records + a.complaints + a.inspections for a in year) > sum(
        a.records + a.complaints + a.inspections for a in month) > 0
