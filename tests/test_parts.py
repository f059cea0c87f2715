"""Parts below plan, consumption per product and month, and waiting-for-parts intervals, against
hand-computed figures on a small repository."""
from __future__ import annotations

from datetime import date

import pytest

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.derive.aftersales import parts


def part(pid, number, planned, actual, grade="core", products=("PD-a",), value=100):
    return {"id": pid, "schema_version": 1, "part_number": number, "name": number, "products": list(products),
            "grade": grade, "planned_stock": planned, "actual_stock": actual, "planned_by": "head_office",
            "unit_value": {"amount": value, "currency": "CNY"}}


def repair(rid, entries, product_id="PD-a", cust="CU-a", replaced=(), fixed_at=None):
    d = {"id": rid, "schema_version": 1, "customer": cust, "filled_by": "P-eng", "created_at": T(entries[0][0]),
         "status": entries[-1][2], "history": hist(*entries), "product": product_id,
         "device": {"brand": "X", "model": "M"}, "reported_at": T(entries[0][0]), "fault_description": "故障",
         "engineer": "P-eng"}
    if replaced:
        d["parts_replaced"] = [{"part_number": n, "old": {"brand": "X", "model": n}, "new": {"brand": "X", "model": n}}
                               for n in replaced]
    if fixed_at:
        d["fixed_at"] = T(fixed_at)
    return d


def request(qid, repair_id, part_id, issued_at, qty):
    entries = [(issued_at[:5] + " 08:00", "P-eng", "requested"), (issued_at[:5] + " 08:30", "P-plan", "approved"),
               (issued_at, "P-plan", "issued")]
    return {"id": qid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-eng", "created_at": T(entries[0][0]),
            "status": "issued", "history": hist(*entries), "repair": repair_id, "part": part_id, "quantity": qty,
            "issued": {"by": "P-plan", "at": T(issued_at), "quantity": qty}}


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, [
        person("P-eng"), person("P-plan", roles=("parts_planner",)),
        customer("CU-a", region="华东"),
        product("PD-a", parts_priority=True), product("PD-b"),
        part("PT-a", "A-1", planned=5, actual=2, grade="non_core"),
        part("PT-b", "B-1", planned=3, actual=3),
        part("PT-c", "C-1", planned=4, actual=1, grade="core", products=("PD-b",), value=50),
        part("PT-d", "D-1", planned=2, actual=0, grade="emergency", products=("PD-b",)),
        # waited 2 days for parts (12:00 on 1 July to 12:00 on 3 July), fixed 3 July
        repair("RP-20260701-AAAAAA", [("07-01 09:00", "P-eng", "open"), ("07-01 10:00", "P-eng", "dispatched"),
                                      ("07-01 11:00", "P-eng", "on_site"), ("07-01 12:00", "P-eng", "waiting_parts"),
                                      ("07-03 12:00", "P-eng", "on_site"), ("07-03 15:00", "P-eng", "fixed")],
               replaced=("A-1", "B-1"), fixed_at="07-03 15:00"),
        # still waiting since 08:00 on 5 July
        repair("RP-20260705-BBBBBB", [("07-05 06:00", "P-eng", "open"), ("07-05 07:00", "P-eng", "dispatched"),
                                      ("07-05 07:30", "P-eng", "on_site"), ("07-05 08:00", "P-eng", "waiting_parts")],
               product_id="PD-b"),
        # never waited; fixed in August with a part of its own
        repair("RP-20260801-CCCCCC", [("08-01 09:00", "P-eng", "open"), ("08-01 10:00", "P-eng", "fixed")],
               replaced=("C-1",), fixed_at="08-01 10:00"),
        request("PQ-20260702-AAAAAA", "RP-20260701-AAAAAA", "PT-a", "07-02 10:00", 2),
        request("PQ-20260706-BBBBBB", "RP-20260705-BBBBBB", "PT-d", "07-07 10:00", 1),
    ])


def test_below_plan_order_and_shortfall(repo):
    rows = parts.below_plan(repo, T("06-30 12:00"))
    # PD-a has parts priority: PT-a first although non-core; then core PT-c, emergency PT-d
    assert [(s.part, s.shortfall, s.shortfall_value, s.priority) for s in rows] == [
        ("PT-a", 3, 300.0, True), ("PT-c", 3, 150.0, False), ("PT-d", 2, 200.0, False)]


def test_waits(repo):
    ws = parts.waits(repo, "2026-07-06T20:00:00+08:00")
    assert [(w.repair, round(w.days, 4), w.open) for w in ws] == [
        ("RP-20260701-AAAAAA", 2.0, False), ("RP-20260705-BBBBBB", 1.5, True)]
    s = parts.wait_summary(repo, "2026-07-06T20:00:00+08:00")
    assert (s.repairs, s.waited, s.still_waiting) == (2, 2, 1)
    assert (round(s.total_days, 4), round(s.mean_days, 4), round(s.max_days, 4)) == (3.5, 1.75, 2.0)
    assert s.share == 1.0
    assert {k: round(v["days"], 4) for k, v in s.by_product.items()} == {"PD-a": 2.0, "PD-b": 1.5}
    # as of the end of 2 July the first repair is still waiting: 1.5 days (12:00 1 July to 24:00 2 July)
    (w,) = parts.waits(repo, "2026-07-02")
    assert w.open and round(w.days, 3) == 1.5
    s = parts.wait_summary(repo, "2026-08-31")
    assert (s.repairs, s.waited) == (3, 2) and round(s.share, 4) == round(2 / 3, 4)


def test_consumption(repo):
    # July: 2 x A-1 issued (the repair's own A-1 is that request), 1 x B-1 replaced without a
    # request, 1 x D-1 issued for the PD-b repair on 7 July; August: 1 x C-1
    assert parts.consumption(repo, "2026-08-31") == {"PD-a": {"2026-07": 3, "2026-08": 1}, "PD-b": {"2026-07": 1}}
    assert parts.consumption_by_part(repo, "2026-08-31") == {"A-1": 2, "B-1": 1, "C-1": 1, "D-1": 1}
    # as of 6 July the D-1 request is not issued yet and the August repair did not exist
    assert parts.consumption(repo, "2026-07-06") == {"PD-a": {"2026-07": 3}}
    assert parts.consumption(repo, "2026-08-31", since="2026-08-01") == {"PD-a": {"2026-08": 1}}


def test_requests_issues_and_loans_move_the_stock(tmp_path):
    """PT-s counted 10 pieces at the end of 1 July. As of 5 July 12:00: issued 3 on 2 July and 1
    lent on 3 July (borrowed, old part not returned yet) -> on hand 10 - 3 - 1 = 6, on loan 1;
    2 approved but not issued -> reserved 2, available 4. The piece issued on 1 July (before the
    count closed the day) and the cancelled request move nothing. The loan is settled when the old
    part comes back on 10 July."""
    def req(qid, issued_at=None, qty=1, borrowed=False, returned_at=None, cancelled=False, status=None):
        entries = [("07-01 08:00", "P-eng", "requested"), ("07-01 08:30", "P-plan", "approved")]
        if issued_at:
            entries.append((issued_at, "P-plan", "issued"))
        if returned_at:
            entries.append((returned_at, "P-eng", "returned"))
        if cancelled:
            entries.append(("07-02 09:00", "P-plan", "cancelled"))
        d = {"id": qid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-eng", "created_at": T("07-01 08:00"),
             "status": entries[-1][2], "history": hist(*entries), "part": "PT-s", "quantity": qty}
        if issued_at:
            d["issued"] = {"by": "P-plan", "at": T(issued_at), "quantity": qty}
        if borrowed:
            d["borrowed"] = True
        if returned_at:
            d["returned"] = {"by": "P-eng", "at": T(returned_at)}
        return d

    counted = {**part("PT-s", "S-1", planned=8, actual=10), "stock_counted_on": "2026-07-01"}
    corpus = build(tmp_path, [
        person("P-eng"), person("P-plan", roles=("parts_planner",)), customer("CU-a", region="华东"), product("PD-a"),
        counted,
        req("PQ-20260701-AAAAAA", issued_at="07-01 15:00"),
        req("PQ-20260702-BBBBBB", issued_at="07-02 10:00", qty=3),
        req("PQ-20260703-CCCCCC", issued_at="07-03 10:00", borrowed=True, returned_at="07-10 10:00"),
        req("PQ-20260704-DDDDDD", qty=2),
        req("PQ-20260701-EEEEEE", qty=5, cancelled=True),
    ])
    (s,) = parts.stock(corpus, T("07-05 12:00"))
    assert (s.counted, s.issued_since, s.actual, s.on_loan, s.reserved, s.available) == (10, 4, 6, 1, 2, 4)
    assert parts.below_plan(corpus, T("07-05 12:00")) == [s]  # 6 on hand, 8 planned
    (later,) = parts.stock(corpus, T("07-11 12:00"))
    assert (later.actual, later.on_loan) == (6, 0)
    assert parts.below_plan(corpus, T("07-01 20:00")) == []  # the count itself: 10 on hand


def test_month_end_stock_counts_back_from_the_count(tmp_path):
    """PT-m counted 5 at the end of 15 July; 2 issued on 10 July, 1 on 20 July. End of June: 5 + 2
    = 7 (the 10 July issue comes back); end of July: 5 - 1 = 4; as of 5 August both month ends."""
    def issued(qid, when, qty):
        return {"id": qid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-eng", "created_at": T(when),
                "status": "issued", "history": hist((when, "P-eng", "requested"), (when, "P-plan", "approved"),
                                                    (when, "P-plan", "issued")),
                "part": "PT-m", "quantity": qty, "issued": {"by": "P-plan", "at": T(when), "quantity": qty}}
    corpus = build(tmp_path, [
        person("P-eng"), person("P-plan", roles=("parts_planner",)), customer("CU-a"), product("PD-a"),
        {**part("PT-m", "M-1", planned=6, actual=5), "stock_counted_on": "2026-07-15"},
        issued("PQ-20260710-AAAAAA", "07-10 10:00", 2), issued("PQ-20260720-BBBBBB", "07-20 10:00", 1)])
    assert parts.month_ends(T("08-05 12:00"), 2) == [date(2026, 6, 30), date(2026, 7, 31)]
    assert parts.month_end_stock(corpus, T("08-05 12:00"), 2) == {"PT-m": [7, 4]}
