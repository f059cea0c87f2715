"""How often the cyclic garbage collector runs in a process that reads the whole repository.

A read command or a site build keeps nearly everything it makes: 100k records (frozen after loading,
see `load.corpus.load`), then the figures and pages made from them. At Python's default thresholds
the collector runs every 700 new objects and rescans those live objects thousands of times for
nothing: 10-20 % of `report` and `sla` at 100k records, about 15 % of a site build's generation.
Cycles are still collected, only less often.
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 20, 100)


def collect_rarely() -> None:
    """For this process: a collection every 100,000 new objects instead of 700."""
    gc.set_threshold(*THRESHOLDS)
