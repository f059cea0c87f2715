"""How a process that reads the whole repository manages its memory.

A read command or a site build keeps nearly everything it makes: 100k records (frozen after loading,
see `load.corpus.load`), then the figures and pages made from them. At Python's default thresholds
the collector runs every 700 new objects and rescans those live objects thousands of times for
nothing: 10-20 % of `report` and `sla` at 100k records, about 15 % of a site build's generation.
Cycles are still collected, only less often.

The console command ends with ``os._exit`` (`cli.entry`): nothing is torn down. But a command's
corpus was freed before that, object by object, when the command returned and dropped it: 0.4 s of
`sla --format json`'s 5 s at 100k records, spent after the last line was written. In such a process
the corpus is kept to the end (`keep_to_exit`); a long-lived one (the MkDocs plugin under
``mkdocs serve``, tests calling the CLI in-process) frees it as usual.
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 20, 100)
_KEPT: list | None = None  # what this process keeps to its end; None: it frees as usual


def collect_rarely() -> None:
    """For this process: a collection every 100,000 new objects instead of 700."""
    gc.set_threshold(*THRESHOLDS)


def exit_without_teardown() -> None:
    """Declare that this process ends with ``os._exit``: from now on `keep_to_exit` keeps."""
    global _KEPT
    if _KEPT is None:
        _KEPT = []


def keep_to_exit(value):
    """``value``, kept alive to the end of a process that ends without teardown, so it is never
    freed object by object for nothing; elsewhere ``value`` alone, freed as usual."""
    if _KEPT is not None:
        _KEPT.append(value)
    return value
