"""The approval rule, in one place (issue #14): entering a status marked ``approval: ROLE`` in
``schemas/lifecycle.yaml`` needs a person who holds that role and who is none of the form's
fillers. validate (``check.cross``), the pull-request check (``derive.audit.pull_request``) and
the git audit (``derive.audit.trail``) all ask :func:`judge`; they differ only in where the
approver, the roles and the fillers come from (the record, the merge base, git history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from servicebook.load.lifecycle import Lifecycle

ROLE = "approval.role"
SELF = "approval.self"


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str  # ROLE or SELF
    message: str
    params: dict = field(default_factory=dict, compare=False)  # the message as data (status, role, person)


def needed_role(lifecycle: Lifecycle, kind: str, status) -> str | None:
    """The role whose approval entering ``status`` needs, or None when it is no approval step."""
    return lifecycle.approval_role(kind, status) if isinstance(status, str) else None


def judge(lifecycle: Lifecycle, kind: str, status, by, roles: Iterable[str] | None,
          fillers: Iterable[str] = ()) -> list[Problem]:
    """What is wrong with ``by`` moving a ``kind`` record into ``status``: nothing when the
    status is no approval step, else the role problem (``by`` does not hold the role; ``roles``
    None means the person is unknown here and another check reports that) and the four-eyes
    problem (``by`` is one of ``fillers``). ``from`` statuses do not matter: an approval step
    needs its role whatever status it is entered from."""
    role = needed_role(lifecycle, kind, status)
    if not role:
        return []
    out = []
    # a wrong-typed value (a list where a person ID belongs) is the schema check's to report
    if roles is not None and role not in {r for r in roles if isinstance(r, str)}:
        out.append(Problem(ROLE, f"'{status}' is an approval by a {role}; {by} does not hold that role",
                           {"kind": kind, "status": status, "role": role, "person": by}))
    if isinstance(by, str) and by in {f for f in fillers if isinstance(f, str)}:
        out.append(Problem(SELF, f"{by} filled this form and cannot also approve it ('{status}')",
                           {"kind": kind, "status": status, "person": by}))
    return out


__all__ = ["Problem", "ROLE", "SELF", "judge", "needed_role"]
