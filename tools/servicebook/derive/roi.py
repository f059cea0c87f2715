"""Investment and return of a deal (投资/产出), computed from the records, never typed twice.

Inputs:

* the technical appraisal's priced equipment list: ``equipment[].quantity`` x
  ``equipment[].unit_price.amount``;
* the solution's revenue inputs: ``revenue.monthly_revenue`` and ``revenue.monthly_operating_cost``.

Figures:

* equipment investment = sum over the appraisal's lines of quantity x unit price. When the list
  is missing or not fully priced, the solution's own ``revenue.equipment_investment`` is used
  instead (``investment_source`` says which);
* monthly gross profit = monthly revenue - monthly operating cost;
* payback months = equipment investment / monthly gross profit. With no positive monthly gross
  profit (an outright equipment sale with no monthly income) the payback period does not apply:
  it is ``None`` here and a feasibility record then leaves ``payback_months`` out or writes 0.

The feasibility appraisal (实施可行性鉴定表) restates these figures for the general manager; the
check ``servicebook.check.checks.feasibility_figures`` reports every figure that disagrees by more than
:data:`MONEY_TOLERANCE` (1 CNY) or :data:`MONTHS_TOLERANCE` (0.1 month) as ``figures.mismatch``.
Amounts in different currencies are never added or compared: that is a mismatch of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["MONEY_TOLERANCE", "MONTHS_TOLERANCE", "Roi", "equipment_investment", "compute",
           "for_solution", "for_feasibility", "feasibility_mismatches", "solution_mismatches"]

MONEY_TOLERANCE = 1.0  # CNY (or one unit of the deal's currency)
MONTHS_TOLERANCE = 0.1


@dataclass
class Roi:
    solution: str | None
    appraisal: str | None
    currency: str | None
    equipment_investment: float | None
    investment_source: str | None  # "appraisal" | "solution" | None
    monthly_revenue: float | None
    monthly_operating_cost: float | None
    monthly_gross_profit: float | None
    payback_months: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def payback_applies(self) -> bool:
        return self.monthly_gross_profit is not None and self.monthly_gross_profit > 0

    def to_dict(self) -> dict:
        return {
            "solution": self.solution, "appraisal": self.appraisal, "currency": self.currency,
            "equipment_investment": _r(self.equipment_investment),
            "investment_source": self.investment_source,
            "monthly_revenue": _r(self.monthly_revenue),
            "monthly_operating_cost": _r(self.monthly_operating_cost),
            "monthly_gross_profit": _r(self.monthly_gross_profit),
            "payback_months": None if self.payback_months is None else round(self.payback_months, 2),
            "notes": list(self.notes),
        }


def _r(x: float | None):
    return None if x is None else round(x, 2)


def _money(value) -> tuple[float, str] | None:
    if not isinstance(value, Mapping):
        return None
    amount, currency = value.get("amount"), value.get("currency", "CNY")
    if not isinstance(amount, (int, float)) or isinstance(amount, bool):
        return None
    return float(amount), str(currency)


def equipment_investment(appraisal: Mapping | None) -> tuple[float | None, str | None, list[str]]:
    """``(amount, currency, notes)`` of an appraisal's equipment list; amount None when the list
    is empty, a line has no unit price, or the lines use several currencies."""
    notes: list[str] = []
    lines = (appraisal or {}).get("equipment")
    if not isinstance(lines, list) or not lines:
        return None, None, ["the appraisal lists no equipment"]
    total, currencies = 0.0, set()
    for i, line in enumerate(lines):
        if not isinstance(line, Mapping):
            return None, None, [f"equipment[{i}] is not a line"]
        qty = line.get("quantity")
        price = _money(line.get("unit_price"))
        if price is None or not isinstance(qty, (int, float)) or isinstance(qty, bool):
            notes.append(f"equipment[{i}] ({line.get('brand', '')} {line.get('model', '')}) has no unit price")
            continue
        total += qty * price[0]
        currencies.add(price[1])
    if notes:
        return None, None, notes
    if len(currencies) > 1:
        return None, None, ["the equipment lines use several currencies: " + ", ".join(sorted(currencies))]
    return round(total, 2), currencies.pop(), []


def compute(solution: Mapping, appraisal: Mapping | None, solution_id: str | None = None,
            appraisal_id: str | None = None) -> Roi:
    """The figures of one solution (its data and its appraisal's data)."""
    notes: list[str] = []
    inv, currency, inv_notes = equipment_investment(appraisal)
    source = "appraisal" if inv is not None else None
    revenue = solution.get("revenue") if isinstance(solution.get("revenue"), Mapping) else {}
    if inv is None:
        stated = _money(revenue.get("equipment_investment"))
        if stated is not None:
            inv, currency, source = stated[0], stated[1], "solution"
            notes += [n + "; the solution's equipment investment is used" for n in inv_notes]
        else:
            notes += inv_notes
    rev = _money(revenue.get("monthly_revenue"))
    cost = _money(revenue.get("monthly_operating_cost"))
    gross = None
    if rev is None:
        notes.append("the solution states no monthly revenue")
    if cost is None:
        notes.append("the solution states no monthly operating cost")
    if rev is not None and cost is not None:
        if rev[1] != cost[1]:
            notes.append(f"monthly revenue ({rev[1]}) and operating cost ({cost[1]}) are in different currencies")
        else:
            gross = round(rev[0] - cost[0], 2)
            if currency is None:
                currency = rev[1]
            elif currency != rev[1]:
                notes.append(f"equipment ({currency}) and revenue ({rev[1]}) are in different currencies")
                gross = None
    payback = None
    if inv is not None and gross is not None:
        if gross > 0:
            payback = inv / gross
        else:
            notes.append("no positive monthly gross profit: the payback period does not apply")
    return Roi(solution_id, appraisal_id, currency, inv, source,
               rev[0] if rev else None, cost[0] if cost else None, gross, payback, notes)


def for_solution(records: Mapping[str, Any], solution_id: str) -> Roi | None:
    """Figures of a solution record among ``records`` (id -> Record); None if it is not there."""
    sol = records.get(solution_id)
    if sol is None or sol.kind != "solution":
        return None
    ap_id = sol.data.get("appraisal")
    ap = records.get(ap_id) if isinstance(ap_id, str) else None
    ap_data = ap.data if ap is not None and ap.kind == "appraisal" else None
    return compute(sol.data, ap_data, sol.id, ap_id if ap_data is not None else None)


def for_feasibility(records: Mapping[str, Any], feasibility) -> Roi | None:
    sid = feasibility.data.get("solution")
    return for_solution(records, sid) if isinstance(sid, str) else None


def _fmt(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _compare_money(data: Mapping, key: str, expected: float | None, currency: str | None,
                   what: str, origin: str) -> list[tuple[str, str]]:
    stated = _money(data.get(key))
    if stated is None or expected is None:
        return []
    if currency and stated[1] != currency:
        return [(f"{key}.currency", f"{what} is in {stated[1]}, but {origin} is in {currency}")]
    if abs(stated[0] - expected) > MONEY_TOLERANCE:
        return [(f"{key}.amount", f"{what} is {_fmt(stated[0])} {stated[1]}, but {origin} gives "
                                  f"{_fmt(expected)} {stated[1]} (tolerance {_fmt(MONEY_TOLERANCE)})")]
    return []


def feasibility_mismatches(feasibility: Mapping, roi: Roi) -> list[tuple[str, str]]:
    """``[(field path, message)]`` for every figure of a feasibility record that disagrees."""
    out: list[tuple[str, str]] = []
    origin = ("the appraisal's priced equipment list" if roi.investment_source == "appraisal"
              else "the solution's equipment investment")
    out += _compare_money(feasibility, "equipment_investment", roi.equipment_investment, roi.currency,
                          "the equipment investment", f"{origin} ({roi.appraisal or roi.solution})")
    out += _compare_money(feasibility, "avg_monthly_gross_profit", roi.monthly_gross_profit, roi.currency,
                          "the average monthly gross profit",
                          f"monthly revenue - monthly operating cost of {roi.solution}")
    stated = feasibility.get("payback_months")
    if isinstance(stated, (int, float)) and not isinstance(stated, bool):
        if roi.payback_months is not None:
            if abs(stated - roi.payback_months) > MONTHS_TOLERANCE:
                out.append(("payback_months",
                            f"the payback period is {_fmt(stated)} months, but investment "
                            f"{_fmt(roi.equipment_investment)} / monthly gross profit "
                            f"{_fmt(roi.monthly_gross_profit)} = {roi.payback_months:.2f} months "
                            f"(tolerance {MONTHS_TOLERANCE})"))
        elif roi.equipment_investment is not None and roi.monthly_gross_profit is not None and stated != 0:
            out.append(("payback_months",
                        f"the payback period is {_fmt(stated)} months, but with a monthly gross profit "
                        f"of {_fmt(roi.monthly_gross_profit)} there is no payback; leave it out or write 0"))
    return out


def solution_mismatches(solution: Mapping, roi: Roi) -> list[tuple[str, str]]:
    """The solution's own ``revenue.equipment_investment`` against its appraisal's priced list."""
    if roi.investment_source != "appraisal":
        return []
    revenue = solution.get("revenue")
    if not isinstance(revenue, Mapping):
        return []
    return [(f"revenue.{p}", m) for p, m in _compare_money(
        revenue, "equipment_investment", roi.equipment_investment, roi.currency,
        "the equipment investment", f"the appraisal's priced equipment list ({roi.appraisal})")]
