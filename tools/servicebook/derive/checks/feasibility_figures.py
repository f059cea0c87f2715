"""Investment/return figures must agree with what the records compute (``servicebook.derive.roi``).

* a feasibility appraisal's ``equipment_investment``, ``avg_monthly_gross_profit`` and
  ``payback_months`` against the figures computed from its solution and that solution's
  appraisal (tolerance 1 CNY, 0.1 month);
* a solution's ``revenue.equipment_investment`` against its appraisal's priced equipment list.

Rule ``figures.mismatch``; problems carry the field path and ``line=0`` so the corpus locates them.
"""

from __future__ import annotations

from servicebook.derive import roi
from servicebook.load.problems import Problem

RULE = "figures.mismatch"


def check(corpus):
    records = corpus.records
    problems = []
    for rec in records.values():
        if rec.kind == "feasibility":
            figures = roi.for_feasibility(records, rec)
            if figures is None:
                continue  # a missing solution is reported as ref.missing
            for path, message in roi.feasibility_mismatches(rec.data, figures):
                problems.append(Problem(str(rec.path), 0, 0, path, RULE, message))
        elif rec.kind == "solution":
            figures = roi.for_solution(records, rec.id)
            if figures is None:
                continue
            for path, message in roi.solution_mismatches(rec.data, figures):
                problems.append(Problem(str(rec.path), 0, 0, path, RULE, message))
    return problems
