"""Every open case matches exactly one SLA policy (no silent catch-all)."""

from __future__ import annotations


def check(corpus):
    if not corpus.of_kind("policy"):
        return []  # a repository without policies has not configured SLAs: nothing to match
    from servicebook.derive.sla.policies import check_policies

    return check_policies(list(corpus.records.values()), corpus.lifecycle)
