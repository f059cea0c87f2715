"""Customer value index: factors from records where they exist, else from the customer file;
weights configurable; the ranked list and the at-risk queue ordering, hand-computed."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.derive.sla.reports import at_risk_queue
from servicebook.derive.aftersales import value_index as vi

# total weight 6; the other factors weigh nothing
W = {"weights": {"maintenance_fees": 2, "receivables_on_time": 1, "repurchase": 1, "proactive_contact": 0,
                 "referrals": 0, "coordination_ease": 0, "rating_vs_resources": 1, "size": 1, "influence": 0}}


def repair(rid, cust, day, rating=None):
    d = {"id": rid, "schema_version": 1, "customer": cust, "filled_by": "P-e", "created_at": T(day + " 09:00"),
         "status": "fixed", "history": hist((day + " 09:00", "P-e", "open"), (day + " 15:00", "P-e", "fixed")),
         "product": "PD-a", "device": {"brand": "X", "model": "M"}, "reported_at": T(day + " 09:00"),
         "fault_description": "故障"}
    if rating is not None:
        d["customer_rating"] = rating
    return d


def contract(cid, cust, signed):
    return {"id": cid, "schema_version": 1, "customer": cust, "filled_by": "P-e", "created_at": T(signed + " 09:00"),
            "status": "signed", "history": hist((signed + " 09:00", "P-e", "draft"), (signed + " 10:00", "P-gm", "approved"),
                                                (signed + " 11:00", "P-e", "signed"))}


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, [
        person("P-e"), person("P-gm", roles=("general_manager",)), product("PD-a"),
        customer("CU-a", size="large", value_inputs={"annual_maintenance_fees": {"amount": 50000, "currency": "CNY"},
                                                     "receivables_on_time_pct": 80, "repurchase_intent": 4,
                                                     "rating_vs_resources": 1}),
        customer("CU-b", size="small", value_inputs={"rating_vs_resources": 2, "repurchase_intent": 1}),
        customer("CU-c", size="medium"),
        repair("RP-20260601-AAAAAA", "CU-a", "06-01", rating=5),
        {"id": "CB-20260602-AAAAAA", "schema_version": 1, "customer": "CU-a", "filled_by": "P-e",
         "created_at": T("06-02 10:00"), "status": "done", "history": hist(("06-02 10:00", "P-e", "done")),
         "case": "RP-20260601-AAAAAA", "scheduled_for": T("06-02 10:00"), "satisfaction": 3},
        contract("CT-20260101-BBBBB1", "CU-b", "01-10"), contract("CT-20260501-BBBBB2", "CU-b", "05-10"),
        *[repair(f"RP-202606{d:02d}-CCCCC{d}", "CU-c", f"06-{d:02d}", rating=5) for d in range(1, 7)],
    ])


def test_index_from_records_and_customer_fields(repo):
    idx = vi.ValueIndex(repo, "2026-06-30", W)
    a = idx.score("CU-a")
    # fees 50000/100000 = .5 x 2; receivables .8 x 1; repurchase (field) 4/5 x 1;
    # rating from records: mean(5, 3) = 4 -> (4 - 1) x 5/4 = 3.75 -> .75 (beats the field's 1); size large .75
    assert a.factors["rating_vs_resources"].source == "records"
    assert a.factors["repurchase"].source == "customer"
    assert a.index == round(100 * (1 + 0.8 + 0.8 + 0.75 + 0.75) / 6, 2) == 68.33
    assert a.coverage == 1.0
    b = idx.score("CU-b")
    # two signed contracts -> repurchase 1 from records; rating field 2/5; size small .25
    assert b.factors["repurchase"].source == "records" and b.factors["repurchase"].value == 1.0
    assert b.index == round(100 * (1 + 0.4 + 0.25) / 6, 2) == 27.5
    assert b.coverage == 0.5
    # six repairs in the year: 2 above the allowance of 4 -> 5 - 2 x .25 = 4.5 -> .9; size medium .5
    c = idx.score("CU-c")
    assert c.factors["rating_vs_resources"].value == 0.9
    assert c.index == round(100 * (0.9 + 0.5) / 6, 2) == 23.33


def test_as_of_and_ranking(repo):
    # before the second contract was signed, CU-b's repurchase comes from its file: 1/5
    early = vi.ValueIndex(repo, "2026-03-01", W).score("CU-b")
    assert early.factors["repurchase"].source == "customer" and early.factors["repurchase"].value == 0.2
    # before its repair CU-a's rating comes from its file: 1/5
    assert vi.ValueIndex(repo, "2026-03-01", W).score("CU-a").factors["rating_vs_resources"].value == 0.2
    assert [s.customer for s in vi.ranked(repo, "2026-06-30", W)] == ["CU-a", "CU-b", "CU-c"]
    index = vi.ValueIndex(repo, "2026-06-30", W)
    assert index.value_of("CU-b") == 27.5 and index.value_of("CU-nobody") is None and index.value_of(None) is None
    assert vi.value_of(repo, "CU-a", "2026-06-30", W) == 68.33


def test_shipped_weights_cover_every_factor(repo):
    weights = vi.config(repo)["weights"]
    assert set(weights) == set(vi.FACTORS)
    assert all(weights[f] > 0 for f in vi.FACTORS)


def test_orders_the_at_risk_queue_by_class_then_deadline_then_value(repo):
    """Source 003: when resources are short the higher value is served first. Scores as of 30 June
    with weights W: every customer's class decides first (the thresholds put the customers in
    classes by index), then the earliest deadline, then the higher index."""
    def clock(case, customer, deadline):
        return SimpleNamespace(state="at_risk", last_cycle=True, deadline=deadline, customer=customer, case=case,
                               clock="fix")
    index = vi.ValueIndex(repo, "2026-06-30", W)
    prio = index.priority
    clocks = [clock("RP-1", "CU-c", 100.0), clock("RP-2", "CU-a", 100.0), clock("RP-3", "CU-b", 50.0),
              clock("RP-4", None, 10.0)]
    queue = [c.case for c in at_risk_queue(clocks, priority=prio)]
    expected = sorted(clocks, key=lambda c: (prio(c.customer)[0], c.deadline, -(index.value_of(c.customer) or 0)))
    assert queue == [c.case for c in expected]
    assert queue[-1] == "RP-4"  # no customer: after every class, however early
    # one class for everyone: the earliest deadline first, at the same deadline the higher value (CU-a)
    flat = vi.ValueIndex(repo, "2026-06-30", {**W, "classes": {"A": 0, "B": 101, "C": 101}}).priority
    assert [c.case for c in at_risk_queue(clocks[:3], priority=flat)] == ["RP-3", "RP-2", "RP-1"]


def test_customer_classes_by_the_repositorys_thresholds(repo):
    """Source 003: the index classifies customers. With A from 75, B from 45, C from 0 (the
    shipped thresholds), every score falls in the highest class its index reaches."""
    for s in vi.ranked(repo, "2026-06-30"):
        expected = "A" if s.index >= 75 else "B" if s.index >= 45 else "C"
        assert s.customer_class == expected
    moved = vi.ranked(repo, "2026-06-30", {"classes": {"A": 0, "B": 101, "C": 101}})  # nobody reaches B or C
    assert {s.customer_class for s in moved} == {"A"}
