"""Investment / return (servicebook.derive.roi) by hand, and the feasibility figures check on real files."""
from __future__ import annotations

import pytest

from conftest import make_repo
from servicebook.derive import roi

FS = "FS-20261105-6WRB1C"
SO = "SO-20261104-2HVN6P"
AP = "AP-20261104-9TX3KD"


def money(x, cur="CNY"):
    return {"amount": x, "currency": cur}


APPRAISAL = {"equipment": [
    {"brand": "鼎信", "model": "DX-GW32", "quantity": 3, "unit_price": money(6800)},
    {"brand": "鼎信", "model": "DX-E1", "quantity": 1, "unit_price": money(3200)},
    {"brand": "亿联", "model": "T31P", "quantity": 12, "unit_price": money(320)},
]}
SOLUTION = {"revenue": {"monthly_revenue": money(8600), "monthly_operating_cost": money(3100)}}


def test_hand_computed_figures():
    r = roi.compute(SOLUTION, APPRAISAL)
    # 3 x 6 800 + 1 x 3 200 + 12 x 320 = 20 400 + 3 200 + 3 840 = 27 440
    assert r.equipment_investment == 27440
    assert r.investment_source == "appraisal" and r.currency == "CNY"
    # 8 600 - 3 100 = 5 500 a month
    assert r.monthly_gross_profit == 5500
    # 27 440 / 5 500 = 4.9891 months
    assert r.payback_months == pytest.approx(4.98909, abs=1e-5)
    assert r.notes == []


def test_second_hand_example():
    appraisal = {"equipment": [{"brand": "华信重工", "model": "QTZ160", "quantity": 2, "unit_price": money(725000)}]}
    solution = {"revenue": {"monthly_revenue": money(62000), "monthly_operating_cost": money(3000)}}
    r = roi.compute(solution, appraisal)
    assert r.equipment_investment == 1450000          # 2 x 725 000
    assert r.monthly_gross_profit == 59000            # 62 000 - 3 000
    assert r.payback_months == pytest.approx(24.576, abs=1e-3)  # 1 450 000 / 59 000


def test_unpriced_line_falls_back_to_the_solution_figure():
    appraisal = {"equipment": APPRAISAL["equipment"] + [{"brand": "x", "model": "y", "quantity": 1}]}
    solution = {"revenue": dict(SOLUTION["revenue"], equipment_investment=money(30000))}
    r = roi.compute(solution, appraisal)
    assert r.equipment_investment == 30000 and r.investment_source == "solution"
    assert r.payback_months == pytest.approx(30000 / 5500)
    assert any("no unit price" in n for n in r.notes)
    r = roi.compute(SOLUTION, appraisal)
    assert r.equipment_investment is None and r.payback_months is None


def test_no_gross_profit_means_no_payback():
    solution = {"revenue": {"monthly_revenue": money(0), "monthly_operating_cost": money(0)}}
    r = roi.compute(solution, APPRAISAL)
    assert r.monthly_gross_profit == 0 and r.payback_months is None and not r.payback_applies
    fs = {"equipment_investment": money(27440), "avg_monthly_gross_profit": money(0)}
    assert roi.feasibility_mismatches(dict(fs, payback_months=0), r) == []
    assert roi.feasibility_mismatches(fs, r) == []
    (bad,) = roi.feasibility_mismatches(dict(fs, payback_months=12), r)
    assert bad[0] == "payback_months"


@pytest.mark.parametrize("figures, paths", [
    ({"equipment_investment": 27440.9, "avg_monthly_gross_profit": 5500, "payback_months": 5.08}, []),
    ({"equipment_investment": 27442, "avg_monthly_gross_profit": 5500, "payback_months": 4.99},
     ["equipment_investment.amount"]),
    ({"equipment_investment": 27440, "avg_monthly_gross_profit": 5498.5, "payback_months": 4.99},
     ["avg_monthly_gross_profit.amount"]),
    ({"equipment_investment": 27440, "avg_monthly_gross_profit": 5500, "payback_months": 5.1},
     ["payback_months"]),
])
def test_tolerances(figures, paths):
    r = roi.compute(SOLUTION, APPRAISAL)
    fs = {"equipment_investment": money(figures["equipment_investment"]),
          "avg_monthly_gross_profit": money(figures["avg_monthly_gross_profit"]),
          "payback_months": figures["payback_months"]}
    assert [p for p, _ in roi.feasibility_mismatches(fs, r)] == paths


def test_currency_is_never_mixed():
    r = roi.compute(SOLUTION, APPRAISAL)
    fs = {"equipment_investment": money(27440, "USD")}
    (bad,) = roi.feasibility_mismatches(fs, r)
    assert bad[0] == "equipment_investment.currency"


def figure_problems(repo):
    code, problems = repo.validate()
    return code, [p for p in problems if p["rule"] == "figures.mismatch"]


def test_fixture_feasibility_agrees(tmp_path):
    repo = make_repo(tmp_path / "repo")
    code, found = figure_problems(repo)
    assert found == [] and code == 0


def test_mismatching_payback_is_a_validation_error_on_its_line(tmp_path):
    repo = make_repo(tmp_path / "repo")
    repo.edit(FS, "payback_months: 5", "payback_months: 3")
    code, found = figure_problems(repo)
    assert code == 1
    (p,) = found
    assert p["file"] == repo.rel(FS)
    assert p["path"] == "payback_months"
    assert p["line"] == repo.line_of(FS, "payback_months: 3")
    assert "4.99 months" in p["message"]


def test_mismatching_gross_profit_and_investment(tmp_path):
    repo = make_repo(tmp_path / "repo")
    repo.edit(FS, "amount: 5500", "amount: 5000")
    repo.edit(FS, "amount: 27440", "amount: 26000")
    _, found = figure_problems(repo)
    by_path = {p["path"]: p for p in found}
    # payback is compared with the computed 27 440 / 5 500, not with the record's own figures: 5 agrees
    assert set(by_path) == {"equipment_investment.amount", "avg_monthly_gross_profit.amount"}
    assert by_path["avg_monthly_gross_profit.amount"]["line"] == repo.line_of(FS, "amount: 5000")
    assert by_path["equipment_investment.amount"]["line"] == repo.line_of(FS, "amount: 26000")
    assert "27,440" in by_path["equipment_investment.amount"]["message"]


def test_changed_unit_price_flags_solution_and_feasibility(tmp_path):
    repo = make_repo(tmp_path / "repo")
    repo.edit(AP, "amount: 320", "amount: 300")  # 12 x 20 less: 27 200
    _, found = figure_problems(repo)
    files = {(p["file"], p["path"]) for p in found}
    assert (repo.rel(SO), "revenue.equipment_investment.amount") in files
    assert (repo.rel(FS), "equipment_investment.amount") in files
