"""How long responses and resolutions took, per month: median and 90th percentile (issue #17).

From the SLA engine's clocks as of ``at`` (every cycle): a *response* is a clock that measures the
first answer on site or to the customer -- the clocks named ``arrival`` (the engineer on site,
"four 24-hours" promise of a repair) and ``response`` (a delivery problem); a *resolution* is a
clock named ``close`` (the case closed: repairs, complaints, enquiries). Only clocks that stopped
count (met or breached and stopped, by ``at``), in the month (company time zone) they stopped.

The time is the clock's elapsed time as the engine counts it: business time of the clock's
calendar (working hours of the standard calendar for a working-day target; around the clock for a
VIP case or a calendar-hours promise, such as the arrival within 24 hours), pauses excluded.
Clocks whose time is only a lower bound (run past the calendar's holiday data) are left out and
counted in ``lower_bounds``.

Percentiles are by the nearest-rank method: the value at rank ceil(p/100 x n) of the sorted times,
so every figure is a time that really occurred.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import defaultdict
from dataclasses import dataclass

from servicebook.derive.sla.engine import Engine
from servicebook.load.instants import ZONE

MEASURES = {"response": ("arrival", "response"), "resolution": ("close",)}


@dataclass(frozen=True)
class Times:
    """One measure in one month (``month`` None: every month together)."""
    measure: str
    month: str | None
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    lower_bounds: int = 0


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100.0 * len(ordered))) - 1]


def measure_of(clock) -> str | None:
    return next((m for m, names in MEASURES.items() if clock.clock in names), None)


def _times(measure: str, month: str | None, values: list[float], lower: int) -> Times:
    return Times(measure, month, len(values), percentile(values, 50), percentile(values, 90), lower)


def times(clocks) -> dict[str, list[Times]]:
    """measure -> per month (oldest first), then every month together (``month`` None)."""
    values: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in MEASURES}
    lower: dict[str, dict[str, int]] = {m: defaultdict(int) for m in MEASURES}
    for c in clocks:
        measure = measure_of(c)
        if measure is None or c.stopped_at is None or c.state not in ("met", "breached"):
            continue
        month = _dt.datetime.fromtimestamp(c.stopped_at, ZONE).strftime("%Y-%m")
        if c.at_least:
            lower[measure][month] += 1
        else:
            values[measure][month].append(c.elapsed_seconds)
    out = {}
    for measure in MEASURES:
        months = sorted(set(values[measure]) | set(lower[measure]))
        rows = [_times(measure, m, values[measure][m], lower[measure][m]) for m in months]
        every = [v for m in months for v in values[measure][m]]
        rows.append(_times(measure, None, every, sum(lower[measure].values())))
        out[measure] = rows
    return out


def compute(corpus, at) -> dict[str, list[Times]]:
    return times(Engine(corpus).clocks(at))
