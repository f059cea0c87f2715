"""servicebook status ID NEW_STATUS — move a case record along its lifecycle.

Edits one file: sets ``status`` and appends a history entry, keeping every comment and the order
of everything else. Refuses a transition the lifecycle does not allow.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from servicebook.commands._common import UsageError, add_root, at_text_or_now, fail, find_root
from servicebook.load.lifecycle import Lifecycle
from servicebook.load.records import find_files, kind_of_path
from servicebook.write.writer import WriteRefused, digest, dump, load_for_edit, replace

NAME = "status"
HELP = "Move a case record to a new status, appending to its history (变更状态)."


def configure(parser):
    parser.add_argument("id", help="record ID")
    parser.add_argument("new_status", help="status to enter (see schemas/lifecycle.yaml)")
    parser.add_argument("--by", required=True, help="person ID making the change")
    parser.add_argument("--note", help="why, or what was done")
    parser.add_argument("--at", help="instant of the change (default: now)")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    try:
        return change(root, args.id, args.new_status, args.by, args.note, at_text_or_now(args.at))
    except WriteRefused as err:
        return fail(str(err))


def change(root, record_id, new_status, by, note, at) -> int:
    matches = [p for p in find_files(root) if p.stem == record_id]
    if len(matches) != 1:
        raise UsageError(f"no record with ID {record_id}" if not matches
                         else f"ID {record_id} is used by several files")
    rel = matches[0]
    kind = kind_of_path(rel)
    lifecycle = Lifecycle.load(root / "schemas")
    if not lifecycle.has(kind):
        raise UsageError(f"{kind} records have no lifecycle")
    raw = (root / rel).read_bytes()
    data, yaml = load_for_edit(raw.decode("utf-8"))
    current = data.get("status")
    if new_status not in lifecycle.allowed(kind, current):
        allowed = ", ".join(lifecycle.allowed(kind, current)) or "nothing (final)"
        raise UsageError(f"a {kind} cannot move from '{current}' to '{new_status}'; "
                         f"allowed: {allowed}")
    entry = CommentedMap(at=at, by=by, status=new_status)
    if note:
        entry["note"] = note
    data["status"] = new_status
    data.setdefault("history", []).append(entry)
    replace(root / rel, dump(data, yaml), digest(raw))
    print(f"{record_id}: {current} -> {new_status}")
    return 0
