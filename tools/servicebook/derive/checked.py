"""The corpus with every problem `servicebook validate` reports: what reading and the schemas
found (``load``), the cross-record rules (``check``), and the checks that need a derived figure
(``derive.checks``). Everything that shows or acts on problems loads through here, so the site's
problems page, `validate` and `check-pr` cannot disagree about what is wrong.
"""
from __future__ import annotations

from pathlib import Path

from servicebook.check import cross, process
from servicebook.derive import delays
from servicebook.derive.checks import feasibility_figures, sla_policies
from servicebook.load import corpus as corpus_mod
from servicebook.load.corpus import Corpus

CHECKS = (cross.check, process.check, sla_policies.check, feasibility_figures.check, delays.check)


def load(root: Path | str, **options) -> Corpus:
    """``load.corpus.load`` with every check (``only``, ``jobs``, ``max_bytes``, ``use_cache``)."""
    return corpus_mod.load(root, checks=CHECKS, **options)
