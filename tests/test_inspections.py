"""Routine inspection schedule, per-station summary, next month's plan and the findings feed,
against hand-computed dates on a small repository (with the shipped policy SLA-installation and
calendars: the schedule is the SLA engine's)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from aftersales_fixture import T, build, customer, hist, person, product
from servicebook.derive.aftersales import inspections as ins
from servicebook.derive import schedules as sched


def installation(iid, cust, handed, products, status="handed_over", installer="P-eng"):
    return {"id": iid, "schema_version": 1, "customer": cust, "filled_by": "P-admin", "created_at": T("01-05 09:00"),
            "status": status,
            "history": hist(("01-05 09:00", "P-admin", "ordered"), ("01-20 09:00", installer, "installed"))
            + ([{"at": T(handed + " 10:00"), "by": installer, "status": "handed_over"}] if status == "handed_over" else []),
            "contract": "CT-20260101-AAAAAA", "customer_block": {"name": cust},
            "devices": [{"brand": "X", "model": "M", "product": p} for p in products],
            "installer": {"by": installer, "at": T("01-20 09:00")},
            **({"handed_over_on": "2026-" + handed} if status == "handed_over" else {})}


def inspection(iid, inst, statuses, due_on, month=None, done_on=None, engineer="P-eng", **extra):
    d = {"id": iid, "schema_version": 1, "customer": "CU-a", "filled_by": "P-eng", "created_at": T(statuses[0][0]),
         "status": statuses[-1][2], "history": hist(*statuses), "installation": inst, "product": "PD-a",
         "due_on": due_on, "engineer": engineer}
    if month is not None:
        d["schedule_month"] = month
    if done_on:
        d["done_on"] = done_on
    d.update(extra)
    return d


SHIPPED = ("policy/SLA-installation.yaml", "calendar")


@pytest.fixture
def repo(tmp_path):
    return build(tmp_path, shipped=SHIPPED, records=[
        person("P-eng", region="西南"), person("P-admin", roles=("administration",)),
        customer("CU-a", region="华东"), customer("CU-b", region="华北"),
        product("PD-a", months=(1, 3, 6)), product("PD-off", months=(1, 3), preventive=False),
        # handed over on 31 January: month ends clamp (28 Feb, 30 Apr, 31 Jul)
        installation("IN-20260105-AAAAAA", "CU-a", "01-31", ["PD-a"]),
        # preventive: false -> no inspections
        installation("IN-20260105-BBBBBB", "CU-b", "01-31", ["PD-off"]),
        # no product on its devices -> default months 1, 3, 6, 12
        installation("IN-20260105-CCCCCC", "CU-b", "03-10", []),
        # not handed over -> nothing scheduled
        installation("IN-20260105-DDDDDD", "CU-b", "", ["PD-a"], status="installed"),
        inspection("IS-20260215-AAAAAA", "IN-20260105-AAAAAA",
                   [("02-15 09:00", "P-eng", "planned"), ("03-02 16:00", "P-eng", "done")],
                   "2026-02-28", month=1, done_on="2026-03-02",
                   findings=[{"item": "阀", "ok": False, "category": "hydraulic",
                              "parts_needed": [{"part_number": "X-1", "quantity": 2}]},
                             {"item": "臂架", "ok": True}],
                   new_purchase_intent={"level": "high", "products": ["PD-a"], "note": "明年增购"}),
        # no schedule_month: takes the earliest open month (3); its due_on (25 Apr) is when it
        # was planned for, not the deadline: that stays the schedule's (30 Apr)
        inspection("IS-20260410-BBBBBB", "IN-20260105-AAAAAA", [("04-10 09:00", "P-eng", "planned")], "2026-04-25"),
    ])


def by_key(items):
    return {(i.installation[-6:], i.month): i for i in items}


def test_schedule_as_of_may(repo):
    items = by_key(ins.schedule(repo, "2026-05-10"))
    assert set(items) == {("AAAAAA", 1), ("AAAAAA", 3), ("AAAAAA", 6),
                          ("CCCCCC", 1), ("CCCCCC", 3), ("CCCCCC", 6), ("CCCCCC", 12)}
    m1, m3, m6 = items["AAAAAA", 1], items["AAAAAA", 3], items["AAAAAA", 6]
    assert (m1.due_on, m1.state, m1.done_on, m1.late, m1.inspection) == (
        date(2026, 2, 28), "done", date(2026, 3, 2), True, "IS-20260215-AAAAAA")
    assert (m3.due_on, m3.state, m3.inspection) == (date(2026, 4, 30), "overdue", "IS-20260410-BBBBBB")
    assert (m6.due_on, m6.state, m6.inspection) == (date(2026, 7, 31), "upcoming", None)
    assert m1.station == "华东" and m1.engineer == "P-eng"
    # default months from 10 March: 10 Apr overdue; 10 Jun is 31 days after 10 May: upcoming
    assert items["CCCCCC", 1].due_on == date(2026, 4, 10) and items["CCCCCC", 1].state == "overdue"
    assert items["CCCCCC", 3].state == "upcoming" and items["CCCCCC", 12].due_on == date(2027, 3, 10)
    assert by_key(ins.schedule(repo, "2026-05-11"))["CCCCCC", 3].state == "due"   # now exactly 30 days
    assert by_key(ins.schedule(repo, "2026-07-05"))["AAAAAA", 6].state == "due"


def test_as_of_ignores_later_history(repo):
    items = by_key(ins.schedule(repo, "2026-03-01"))
    # on 1 March the month-1 inspection was planned but not done: overdue (due 28 Feb)
    assert items["AAAAAA", 1].state == "overdue" and items["AAAAAA", 1].inspection == "IS-20260215-AAAAAA"
    # the second inspection did not exist yet
    assert items["AAAAAA", 3].inspection is None and items["AAAAAA", 3].due_on == date(2026, 4, 30)


def test_summary_per_station_and_engineer(repo):
    rows = {r["key"]: r for r in ins.summary(repo, "2026-05-10")}
    assert rows["华东"] == {"key": "华东", "overdue": 1, "due": 0, "upcoming": 1, "done": 1, "missed": 0, "late": 1}
    assert rows["华北"] == {"key": "华北", "overdue": 1, "due": 0, "upcoming": 3, "done": 0, "missed": 0, "late": 0}
    (eng,) = ins.summary(repo, "2026-05-10", by="engineer")
    assert eng["key"] == "P-eng" and eng["overdue"] == 2


def test_station_plan_for_coming_month(repo):
    assert ins.coming_month("2026-06-15") == (date(2026, 7, 1), date(2026, 7, 31))
    plan = ins.station_plan(repo, "2026-06-15")
    # July: month 6 of IN-...AAAAAA (31 Jul) plus the overdue month 3 carried over;
    # 华北: month 1 (10 Apr) and 3 (10 Jun) overdue, month 6 is 10 Sep (not July)
    assert [(i.month, i.state) for i in plan["华东"]] == [(3, "overdue"), (6, "upcoming")]
    assert [(i.month, i.state) for i in plan["华北"]] == [(1, "overdue"), (3, "overdue")]


def test_findings_feed(repo):
    feed = ins.findings_feed(repo, "2026-05-10")
    (need,) = feed["parts"]
    assert (need.part_number, need.quantity, need.inspections) == ("X-1", 2, ["IS-20260215-AAAAAA"])
    (lead,) = feed["leads"]
    assert (lead.customer, lead.level, lead.products) == ("CU-a", "high", ["PD-a"])
    assert feed["issues"] == [{"product": "PD-a", "category": "hydraulic", "count": 1}]
    assert ins.findings_feed(repo, "2026-03-01")["parts"] == []   # not done yet then


def test_months_per_product_plan(repo):
    """The product's plan; a product with preventive: false adds none; no product: the policy's
    default months (SLA-installation schedule.months), not a constant of the code."""
    months = {}
    for s in ins.schedules(repo, "2027-06-01"):
        months[s.case[-6:]] = [slot.month for slot in s.slots]
    assert months == {"AAAAAA": [1, 3, 6], "BBBBBB": [], "CCCCCC": [1, 3, 6, 12]}


# --------------------------------------------------------------------------- the matching rule
# servicebook.derive.schedules.match: the one function both this report and the SLA engine take the
# schedule from (hand-over 31 January, months 1, 3, 6: due 28 Feb, 30 Apr, 31 Jul, Beijing time).

CST = timezone(timedelta(hours=8))
START = date(2026, 1, 31)


def at(day: str, hm: str = "12:00") -> float:
    return datetime.fromisoformat(f"2026-{day}T{hm}:00+08:00").timestamp()


def visit(rid, status, when, label=None):
    return sched.Visit(rid, label, status, when)


def outcomes(slots):
    return {s.month: (s.outcome, s.visit.record if s.visit else None) for s in slots}


def test_due_dates_clamp_to_month_end_and_end_at_midnight():
    slots = sched.match(START, [6, 1, 3, 3], CST, [])
    assert [(s.month, s.due_on) for s in slots] == [(1, date(2026, 2, 28)), (3, date(2026, 4, 30)),
                                                   (6, date(2026, 7, 31))]
    assert slots[0].deadline == datetime(2026, 3, 1, tzinfo=CST).timestamp()
    # no grace: open at the deadline's instant, overdue just after it
    assert not slots[0].overdue(slots[0].deadline) and slots[0].overdue(slots[0].deadline + 1)


def test_a_named_month_is_kept_and_others_take_the_earliest_free_month():
    got = outcomes(sched.match(START, [1, 3, 6], CST, [
        visit("IS-early3", sched.DONE, at("02-10"), label=3),   # month 3 done early: on time
        visit("IS-plain", sched.DONE, at("02-20")),             # names none: month 1 (free)
        visit("IS-odd", sched.DONE, at("05-02"), label=2),      # month 2 is not scheduled: next free
    ]))
    assert got == {1: ("on_time", "IS-plain"), 3: ("on_time", "IS-early3"), 6: ("on_time", "IS-odd")}


def test_a_second_record_for_a_month_counts_for_no_other():
    got = outcomes(sched.match(START, [1, 3], CST, [
        visit("IS-b", sched.DONE, at("02-12"), label=1),
        visit("IS-a", sched.DONE, at("02-05"), label=1),        # the earliest done counts
        visit("IS-p", sched.PLANNED, at("02-01"), label=1),
    ]))
    assert got == {1: ("on_time", "IS-a"), 3: ("open", None)}


def test_missed_and_late():
    slots = sched.match(START, [1, 3, 6], CST, [
        visit("IS-m1", sched.MISSED, at("02-20"), label=1),     # missed, then done late: late
        visit("IS-d1", sched.DONE, at("03-05"), label=1),
        visit("IS-m3", sched.MISSED, at("04-02"), label=3),     # missed before its due date: breached
        visit("IS-p6", sched.PLANNED, at("04-02"), label=6),
    ])
    assert outcomes(slots) == {1: ("late", "IS-d1"), 3: ("missed", "IS-m3"), 6: ("open", "IS-p6")}
    assert slots[1].closed_at == at("04-02") and slots[2].closed_at is None


def test_records_naming_no_month_count_in_the_order_they_happened():
    got = outcomes(sched.match(START, [1, 3], CST, [
        visit("IS-done", sched.DONE, at("04-10")),
        visit("IS-plan", sched.PLANNED, at("01-31")),           # planned ones come last
        visit("IS-miss", sched.MISSED, at("02-25")),
    ]))
    assert got == {1: ("missed", "IS-miss"), 3: ("on_time", "IS-done")}


def test_a_visit_dated_on_the_due_date_is_on_time():
    end_of_due = sched.end_of_day(date(2026, 2, 28), CST)      # a done_on date counts at its end
    day_after = sched.end_of_day(date(2026, 3, 1), CST)
    on_time = sched.match(START, [1], CST, [sched.Visit("IS-1", 1, sched.DONE, end_of_due, date(2026, 2, 28))])
    late = sched.match(START, [1], CST, [sched.Visit("IS-1", 1, sched.DONE, day_after, date(2026, 3, 1))])
    assert (on_time[0].outcome, late[0].outcome) == ("on_time", "late")
    assert late[0].closed_at - late[0].deadline == 86400


def test_cancel():
    slots = sched.match(START, [1, 3], CST, [visit("IS-1", sched.DONE, at("02-10"), label=1)],
                        cancel=at("03-10"))
    assert [(s.outcome, s.closed_at) for s in slots] == [("on_time", at("02-10")), ("cancelled", at("03-10"))]
    late_cancel = sched.match(START, [1], CST, [], cancel=at("03-10"))
    assert late_cancel[0].outcome == "missed"


def test_due_months():
    assert sched.due_months([{"inspection_months": [1, 3]}, {"inspection_months": [2, 3]}], (1, 3, 6, 12)) == (1, 2, 3)
    assert sched.due_months([{"preventive": False, "inspection_months": [1]}], (1, 3)) == ()
    assert sched.due_months([{}], (12, 1)) == (1, 12)          # a plan naming no months: the policy's
    assert sched.due_months([], (6, 1)) == (1, 6)              # no product known: the policy's
    assert sched.due_months([{"inspection_months": ["x", True, 3]}], (1,)) == (3,)  # bad values skipped


def test_the_round_also_takes_in_key_near_retirement_and_nearby_customers(tmp_path):
    """As of 2026-04-15 the coming month is May. CU-plan has its month-3 inspection due 31 May
    (handed over 28 February), in 福州市. CU-key is a key account (no inspection in May),
    CU-old's machine of a 3-year product was handed over 2023-06-10: its life ends 2026-06-09, within
    a year by 31 May; CU-near is in 福州市 too; CU-far (Xiamen, medium, young machine) is not
    suggested, and CU-plan itself, already planned, neither."""
    old = installation("IN-20230601-EEEEEE", "CU-old", "06-10", ["PD-short"])
    old["handed_over_on"] = "2023-06-10"
    repo = build(tmp_path, shipped=SHIPPED, records=[
        person("P-eng", region="华东"), person("P-admin", roles=("administration",)),
        customer("CU-plan", address="福建省福州市马尾区江滨东大道 1 号"),
        customer("CU-key", size="key_account", address="上海市浦东新区 2 号"),
        customer("CU-old", address="浙江省杭州市西湖区 3 号"),
        customer("CU-near", address="福建省福州市鼓楼区 4 号"),
        customer("CU-far", address="福建省厦门市思明区 5 号"),
        product("PD-a", months=(3,)), {**product("PD-short", months=(120,)), "service_life_years": 3},
        installation("IN-20260105-AAAAAA", "CU-plan", "02-28", ["PD-a"]),
        installation("IN-20260105-BBBBBB", "CU-key", "04-01", ["PD-a"]),
        old,
        installation("IN-20260105-DDDDDD", "CU-near", "04-02", ["PD-a"]),
        installation("IN-20260105-FFFFFF", "CU-far", "04-03", ["PD-a"]),
    ])
    found = {(s.customer, tuple(s.reasons), s.near) for s in ins.also_visit(repo, "2026-04-15")}
    assert found == {("CU-key", ("key_customer",), None), ("CU-old", ("near_retirement",), None),
                     ("CU-near", ("nearby",), "IN-20260105-AAAAAA")}
    assert ins.city_of("新疆维吾尔自治区乌鲁木齐市天山区") == "乌鲁木齐市" and ins.city_of("no city") is None


def test_a_new_product_is_inspected_more_often(tmp_path):
    """Source 004: while a product is new, its plan's new_product_months are inspected too. The
    same installation (handed over 31 January) under a new and an established product."""
    def plan(new):
        prod = product("PD-n", months=(1, 6))
        prod["new_product"] = new
        prod["service_plan"]["new_product_months"] = [2, 3]
        return prod

    for new, months in ((True, [1, 2, 3, 6]), (False, [1, 6])):
        repo = build(tmp_path / str(new), shipped=SHIPPED, records=[
            person("P-eng"), person("P-admin", roles=("administration",)), customer("CU-a"), plan(new),
            installation("IN-20260105-AAAAAA", "CU-a", "01-31", ["PD-n"])])
        assert [i.month for i in ins.schedule(repo, "2026-02-01")] == months
        assert [p for p in repo.problems if "PD-n" in p.file] == []


def test_a_new_product_with_inspections_names_its_extra_months(demo):
    from conftest import sb

    root = demo
    path = root / "records" / "product" / "PD-vg-2000.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  new_product_months:")
    end = text.index("\n", text.index("  - 9", start)) + 1
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    out = sb("validate", "--root", str(root), cwd=root).stdout
    assert "PD-vg-2000.yaml:" in out and "[schema.required] service_plan.new_product_months:" in out
    assert "(source 004: a new product with routine inspections is inspected more often)" in out
