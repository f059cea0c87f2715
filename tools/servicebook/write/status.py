"""A status move: set ``status`` and append a history entry to one record, keeping every comment
and the order of everything else. Refused, with nothing written, when the lifecycle does not
allow the move or validate would reject the result (``write.guard``: the approver's role, four
eyes, the history's order, the person's existence...)."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from servicebook.load.lifecycle import Lifecycle
from servicebook.load.problems import Problem
from servicebook.load.records import SCHEMAS_DIR, find_files, kind_of_path
from servicebook.load.yamlload import YamlProblem, parse
from servicebook.write import guard
from servicebook.write.writer import digest, dump, load_for_edit, replace


class MoveRefused(ValueError):
    """The move cannot be made as asked (unknown ID, no lifecycle, a transition not allowed)."""


def move(root: Path, record_id: str, new_status: str, by: str, note: str | None, at: str) -> tuple[Path, str]:
    """Move ``record_id`` into ``new_status`` (``at``: the instant as the record writes it).
    Returns the file and the status it left. Raises ``MoveRefused``, ``guard.Invalid`` or
    ``writer.WriteRefused``; the file is then untouched."""
    matches = [p for p in find_files(root) if p.stem == record_id]
    if len(matches) != 1:
        raise MoveRefused(f"no record with ID {record_id}" if not matches
                          else f"ID {record_id} is used by several files")
    rel = matches[0]
    kind = kind_of_path(rel)
    lifecycle = Lifecycle.load(root / SCHEMAS_DIR)
    if not lifecycle.has(kind):
        raise MoveRefused(f"{kind} records have no lifecycle")
    guard.require_text(rel.as_posix(), status=new_status, by=by, note=note, at=at)
    raw = (root / rel).read_bytes()
    try:
        parse(raw)  # the records' one reader: what it refuses, validate explains
    except YamlProblem as err:
        raise guard.Invalid(rel.as_posix(), [Problem(rel.as_posix(), err.line, err.column, "", err.rule, err.message)]) from None
    text, current = edited(raw.decode("utf-8"), kind, lifecycle, new_status, by, note, at)
    guard.require_valid(root, rel.as_posix(), text)
    replace(root / rel, text, digest(raw))
    return rel, current


def edited(text: str, kind: str, lifecycle: Lifecycle, new_status: str, by: str, note: str | None,
           at: str) -> tuple[str, str]:
    """The record ``text`` moved into ``new_status``, and the status it left: ``status`` set and a
    history entry appended, every other line as it was. Raises ``MoveRefused`` for a transition the
    lifecycle does not allow."""
    data, yaml = load_for_edit(text)
    current = data.get("status")
    if new_status not in lifecycle.allowed(kind, current):
        allowed = ", ".join(lifecycle.allowed(kind, current)) or "nothing (final)"
        raise MoveRefused(f"a {kind} cannot move from '{current}' to '{new_status}'; allowed: {allowed}")
    entry = CommentedMap(at=at, by=by, status=new_status)
    if note:
        entry["note"] = note
    data["status"] = new_status
    data.setdefault("history", []).append(entry)
    return dump(data, yaml), current


__all__ = ["MoveRefused", "edited", "move"]
