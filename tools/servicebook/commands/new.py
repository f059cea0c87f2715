"""servicebook new KIND — write a new record with a fresh ID and the required fields laid out."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from servicebook.commands._common import UsageError, add_root, at_or_now, fail, find_root
from servicebook.derive.audit.trail import People
from servicebook.load import corpus
from servicebook.load.records import KINDS
from servicebook.write import guard
from servicebook.write.form import (FORM_FIELDS, Conversation, FieldPaths, FormRefused, Interview, blank_form,
                                    build, give, text_of)
from servicebook.write.writer import WriteRefused, create

NAME = "new"
HELP = "Write a new record with a fresh ID (新建记录)."


class _Given(argparse.Action):
    """--set and --add, kept in the order given (an --add fills the item an earlier one began)."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.given = [*(namespace.given or []), (option_string, value)]


def configure(parser):
    parser.add_argument("kind", help="record kind: " + ", ".join(KINDS))
    parser.set_defaults(given=[])
    parser.add_argument("--set", action=_Given, metavar="PATH=VALUE",
                        help="set a field, typed by the schema: caller.name=王先生, "
                             "issues[0].problem=...; repeatable")
    parser.add_argument("--add", action=_Given, metavar="LIST.FIELD=VALUE",
                        help="add to a list: issues.problem=... starts an issue, a following "
                             "issues.cause=... fills it; repeatable")
    parser.add_argument("--id", help="use this ID instead of a generated one (reference data "
                                     "such as people and products use readable IDs)")
    parser.add_argument("--by", help="person ID filling the form (filled_by, first history entry)")
    parser.add_argument("--at", help="instant of creation (default: now)")
    parser.add_argument("--print", action="store_true", help="print the path of the new file only")
    parser.add_argument("--interactive", action="store_true",
                        help="ask for each field still empty, one by one (questions on stderr, "
                             "answers from stdin); validated before anything is written")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    moment = at_or_now(args.at)  # a bad --at is a usage error (exit 2) before anything is read
    if args.interactive:
        return _interactive(root, args, moment)
    try:
        path, text, blanks = build(root, args.kind, args.given, args.id, args.by, moment)
    except FormRefused as err:
        raise UsageError(str(err)) from None
    try:
        guard.require_text(path.as_posix(), by=args.by)
        _require_text(path.as_posix(), args.given)
        guard.require_valid(root, path.as_posix(), text, blanks)  # what was given must be right
        create(root / path, text)
    except guard.Invalid as err:
        print(f"servicebook: {err}", file=sys.stderr)
        return 1
    except WriteRefused as err:
        return fail(str(err))
    print(path if args.print else f"created {path}")
    return 0


def _interactive(root: Path, args, moment) -> int:
    """``new --interactive``: the form with what the options gave, then every empty field asked;
    what the guard still refuses is shown and its fields asked again (three rounds), else nothing
    is written (exit 1)."""
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 reach the interview, which asks again
        sys.stdin.reconfigure(errors="surrogateescape")
    known = corpus.load(root)  # read only: references, defaults, what the first status requires
    records = known.records
    try:
        path, data, schemas = blank_form(root, args.kind, args.id, args.by, moment)
        paths = FieldPaths(schemas, args.kind)
        for option, text in args.given:
            give(data, paths, option, text)
        filler = args.by or _git_person(root, records)
        interview = Interview(paths, records, Conversation(sys.stdin, sys.stderr),
                              {"filled_by": filler} if filler else {},
                              known.lifecycle.requires(args.kind, data.get("status"), data))
        interview.fill(data)
        rel = path.as_posix()
        for round_ in range(3):
            if data.get("filled_by") and isinstance(data.get("history"), list):
                data["history"][0]["by"] = data["filled_by"]  # the filler made the first entry
            text = text_of(args.kind, data, schemas)
            try:
                _require_text(rel, args.given)
                guard.require_valid(root, rel, text)
                break
            except guard.Invalid as err:
                print(f"servicebook: {err}", file=sys.stderr)
                again = list(dict.fromkeys(guard.top_field(p.path) for p in err.problems))
                if round_ == 2 or "" in again or set(again) & FORM_FIELDS:
                    return 1  # not a field that can be asked again
                interview.fill(data, only=again)
        create(root / path, text)
    except FormRefused as err:
        raise UsageError(str(err)) from None
    except WriteRefused as err:
        return fail(str(err))
    print(path if args.print else f"created {path}")
    return 0


def _require_text(rel: str, given: list[tuple[str, str]]) -> None:
    """Every ``--set``/``--add`` value is text a record can hold; a problem names its field path."""
    for _option, text in given:
        guard.require_text(rel, **{text.partition("=")[0]: text})


def _git_person(root: Path, records) -> str | None:
    """The person record whose git e-mail is this checkout's ``user.email``: the default filler
    (the people as ``approve`` finds its approver)."""
    try:
        found = subprocess.run(["git", "config", "--get", "user.email"], cwd=root,
                               capture_output=True, text=True, check=False).stdout.strip().lower()
    except FileNotFoundError:  # no git here: no default, the filler is asked for
        return None
    person = People.from_records(records).by_email.get(found) if found else None
    return person.id if person else None
