"""The process rules that tie the forms together, as ``schemas/lifecycle.yaml`` declares them
(``requires:`` on a status): what a record must hold while it is in a status, which records it
follows and where they must have stood when it entered it, and who may fill a field.

The rules are data; this module only applies them. Each finding is located: a missing field at
the record's ``status`` (the step that needs it), a step taken too early at the history entry that
took it, a person without the role at the field that names them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from servicebook.load.corpus import Corpus
from servicebook.load.instants import instant_or_none
from servicebook.load.lifecycle import Follows, Lifecycle, Requires
from servicebook.load.problems import Problem
from servicebook.load.records import Record, get_list
from servicebook.load.yamlload import dump_path

INCOMPLETE = "process.incomplete"
STEP = "process.step"
ROLE = "process.role"


def check(corpus: Corpus) -> list[Problem]:
    lifecycle = corpus.lifecycle
    out: list[Problem] = []
    for rec in corpus.records.values():
        if not lifecycle.has(rec.kind) or (corpus.only is not None and rec.file not in corpus.only):
            continue
        status = rec.data.get("status")
        required = lifecycle.requires(rec.kind, status, rec.data)
        if required:  # most statuses require nothing
            out += _incomplete(rec, lifecycle, status, required)
            out += _unchecked(rec, status, corpus, required)
            out += _roles(rec, required, corpus)
        out += _steps(rec, lifecycle, corpus)
    return out


check.by_file = True  # each problem is on the record being checked; honours corpus.only (see load.corpus)


def _problem(rec: Record, path: tuple, rule: str, message: str, params: dict | None = None) -> Problem:
    return Problem(rec.file, 0, 0, dump_path(path), rule, message,  # located by the loader
                   params=params or {})


# --- fields a status requires ----------------------------------------------------------------------

def _incomplete(rec: Record, lifecycle: Lifecycle, status, required: Requires) -> list[Problem]:
    missing = [shown for pattern in required.fields for shown in _missing(rec.data, pattern)]
    if not missing:
        return []
    label = lifecycle.label(rec.kind, status, "en")
    return [_problem(rec, ("status",), INCOMPLETE,
                     f"a {rec.kind} in '{status}' ({label}) must have {', '.join(missing)} filled in")]


def _missing(data: Any, pattern: str) -> list[str]:
    """The places of ``pattern`` (``issues[].cause``) that are empty: ``issues[0].cause``..."""
    head, _, rest = pattern.partition(".")
    if head.endswith("[]"):
        name = head[:-2]
        items = get_list(data, name) if isinstance(data, dict) else []
        out = []
        for i, item in enumerate(items):
            inner = _missing(item, rest) if rest else ([] if _filled(item) else [""])
            out += [f"{name}[{i}]" + (f".{m}" if m else "") for m in inner]
        return out
    value = data.get(head) if isinstance(data, dict) else None
    if rest:
        return [f"{head}.{m}" for m in _missing(value, rest)] if isinstance(value, dict) else [pattern]
    return [] if _filled(value) else [head]


def _filled(value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, dict)):
        return bool(value)
    return True  # a number, or a yes/no answered either way


def _unchecked(rec: Record, status, corpus: Corpus, required: Requires) -> list[Problem]:
    """Every value the schema allows for ``field[].key`` must have its item (the zero-defect
    checklist: each checkpoint checked by a named person)."""
    out = []
    for field, key in required.every:
        allowed = corpus.schemas.annotation(rec.kind, (field, 0, key), "enum") or []
        present = {item.get(key) for item in get_list(rec.data, field) if isinstance(item, dict)}
        absent = [v for v in allowed if v not in present]
        if absent:
            out.append(_problem(rec, ("status",), INCOMPLETE,
                                f"a {rec.kind} in '{status}' needs every {field} item checked; "
                                f"no {key} {', '.join(absent)}"))
    return out


# --- people in a role ------------------------------------------------------------------------------

def _roles(rec: Record, required: Requires, corpus: Corpus) -> list[Problem]:
    out = []
    for field, roles in required.roles:
        person_id = rec.data.get(field)
        person = corpus.records.get(person_id)
        if person is None or person.kind != "person":
            continue  # absent: `fields` says so; unknown: the reference check does
        held = [r for r in get_list(person.data, "roles") if isinstance(r, str)]
        if not set(held) & set(roles):
            out.append(_problem(rec, (field,), ROLE,
                                f"{person_id} holds {', '.join(held) or 'no role'}; {field} must be a "
                                f"{' or '.join(roles)}",
                                {"kind": rec.kind, "person": person_id, "held": held, "field": field, "roles": list(roles)}))
    return out


# --- steps that must come first ---------------------------------------------------------------------

def _steps(rec: Record, lifecycle: Lifecycle, corpus: Corpus) -> list[Problem]:
    """The records the current status follows, as they stood when the record entered it (its
    last history entry). Earlier steps are history: what they followed was checked when they
    were the current one, and history is never rewritten to satisfy a rule made later."""
    history = get_list(rec.data, "history")
    if not history or not isinstance(history[-1], dict):
        return []
    i, entry = len(history) - 1, history[-1]
    status = entry.get("status")
    follows = lifecycle.requires(rec.kind, status, rec.data).follows if isinstance(status, str) else ()
    entered = instant_or_none(entry.get("at")) if follows else None
    if entered is None:
        return []
    out = []
    for f in follows:
        message = _unmet(rec, f, entered, corpus, lifecycle)
        if message:
            out.append(_problem(rec, ("history", i, "status"), STEP, f"entered '{status}' at {entry.get('at')} {message}"))
    return out


def _unmet(rec: Record, f: Follows, entered: datetime, corpus: Corpus, lifecycle: Lifecycle) -> str | None:
    """Why the records ``rec`` follows did not allow it to enter its status at ``entered``, or None."""
    found = _followed(rec, f, corpus)
    if found is None:
        return None  # it names a record that does not exist: the reference check reports that
    found = [r for r in found if all(r.data.get(k) in values for k, values in f.where)]
    what = f.kind + "".join(f" of {k} {'/'.join(map(str, v))}" for k, v in f.where)
    wanted = " or ".join(f"'{s}'" for s in f.status) or "on record"
    if not found:
        return f"with no {what}; it needs one {wanted} first"
    stood = []
    for other in found:
        status = status_at(other, entered) if f.status else _filled_by(other, entered)
        if status in f.status or (not f.status and status):
            differ = [name for name in f.same if rec.data.get(name) != other.data.get(name)]
            if not differ:
                return None
            stood.append(f"{other.id} is for {', '.join(f'{n} {other.data.get(n)}' for n in differ)}")
        else:
            stood.append(f"{other.id} was {repr(status) if status else 'not yet filled'}")
    return f"while {'; '.join(stood)}; it needs a {what} {wanted} first" + \
        (f" with the same {', '.join(f.same)}" if f.same else "")


def _followed(rec: Record, f: Follows, corpus: Corpus) -> list[Record] | None:
    if f.field:
        target = rec.data.get(f.field)
        if isinstance(target, str) and target:
            other = corpus.records.get(target)
            return [other] if other is not None and other.kind == f.kind else None
    if not f.naming:
        return []
    key = rec.data.get(f.through) if f.through else rec.id
    if not isinstance(key, str):
        return []
    return sorted((r for r in corpus.referrers(key) if r.kind == f.kind and r.data.get(f.naming) == key),
                  key=lambda r: r.id)


def _filled_by(rec: Record, at: datetime) -> str | None:
    """'filled' when a record without a lifecycle existed at ``at`` (its created_at), else None."""
    created = instant_or_none(rec.data.get("created_at"))
    return "filled" if created is not None and created <= at else None


def status_at(rec: Record, at: datetime) -> str | None:
    """The status a record stood in at ``at``: its last history entry by then (None before)."""
    current = None
    for entry in get_list(rec.data, "history"):
        when = instant_or_none(entry.get("at")) if isinstance(entry, dict) else None
        if when is not None and when <= at and isinstance(entry.get("status"), str):
            current = entry["status"]
    return current


__all__ = ["INCOMPLETE", "ROLE", "STEP", "check", "status_at"]
