"""Every open case matches exactly one SLA policy (no silent catch-all)."""

from __future__ import annotations


def check(records):
    if not any(r.kind == "policy" for r in records.values()):
        return []  # a repository without policies has not configured SLAs: nothing to match
    from servicebook import sla

    return sla.check_policies(list(records.values()))
