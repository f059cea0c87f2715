"""servicebook validate [PATH...] — check records against the schemas and each other."""

from __future__ import annotations

import sys
from pathlib import Path

from servicebook.derive import checked
from servicebook.commands._common import UsageError, add_root, at_or_now, find_root
from servicebook.derive.checks import sla_policies
from servicebook.load.problems import FORMATTERS
from servicebook.load.records import RECORDS_DIR, find_files

NAME = "validate"
HELP = "Check records against their schemas and each other (校验记录)."


def configure(parser):
    parser.add_argument("paths", nargs="*", type=Path,
                        help="record files or folders to report on (default: all records); "
                             "references are always checked against every record")
    parser.add_argument("--format", choices=sorted(FORMATTERS), default="text")
    parser.add_argument("--jobs", type=int, default=None, help="processes reading and checking, this one included (default 2)")
    parser.add_argument("--max-bytes", type=int, default=None,
                        help="refuse record files larger than this (default 1 MiB)")
    parser.add_argument("--at", metavar="INSTANT",
                        help="the day the calendar warnings are judged on (a calendar whose holiday "
                             "data runs out within 60 days is warned about; default: now)")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    only = _selected(root, args.paths) if args.paths else None
    at = at_or_now(args.at)  # the one reading of the clock: nothing below reads it
    # validate shows the problems and the calendars' coverage: an unchanged repository is
    # answered from the stored verdict without loading the other records
    result = checked.load(root, only=only, jobs=args.jobs, max_bytes=args.max_bytes, need_kinds=("calendar",))
    problems = list(result.problems)
    if only is None or any(Path(p).parts[:2] == ("records", "calendar") for p in only):
        problems = sorted(problems + sla_policies.coverage(result, at),
                          key=lambda p: (p.file, p.line, p.column, p.rule))
    out = FORMATTERS[args.format](problems)
    if out:
        print(out)
    files = len(only) if only is not None else len(result.files)
    errors = sum(1 for p in problems if p.severity == "error")
    if args.format == "text":
        summary = (f"{files} record file(s) checked: "
                   + (f"{errors} error(s) in {len({p.file for p in problems if p.severity == 'error'})} file(s)"
                      if errors else "all valid")
                   + (f", {len(problems) - errors} warning(s)" if len(problems) > errors else ""))
        print(summary, file=sys.stderr)
    return 1 if errors else 0


def _selected(root: Path, paths: list[Path]) -> set[Path]:
    """User-given files and folders as record paths relative to the root."""
    selected: set[Path] = set()
    all_files = None
    for given in paths:
        candidate = given if given.is_absolute() else Path.cwd() / given
        if not candidate.exists():
            candidate = root / given
        if not candidate.exists():
            raise UsageError(f"{given}: no such file or folder")
        try:
            rel = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            raise UsageError(f"{given} is outside the repository {root}") from None
        if rel.parts[:1] != (RECORDS_DIR,):
            raise UsageError(f"{given} is not under {RECORDS_DIR}/")
        if candidate.is_dir():
            all_files = all_files if all_files is not None else find_files(root)
            selected.update(f for f in all_files if f.parts[: len(rel.parts)] == rel.parts)
        else:
            selected.add(rel)
    return selected
