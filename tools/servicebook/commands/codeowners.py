"""servicebook codeowners [--check] — write .github/CODEOWNERS from the person records and
.github/review-rules.yaml, or check that the committed file is up to date."""

from __future__ import annotations

import difflib
import sys

from servicebook.commands._common import UsageError, add_root, fail, find_root

NAME = "codeowners"
HELP = "Generate .github/CODEOWNERS from people and review rules; --check fails when stale (评审人)."


def configure(parser):
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the committed file differs from what would be generated")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    add_root(parser)


def run(args) -> int:
    from servicebook.derive.audit import codeowners

    try:
        root = find_root(args.root)
        text = codeowners.generate(root)
    except (UsageError, codeowners.RulesError) as err:
        return fail(str(err))
    path = root / codeowners.CODEOWNERS_FILE
    if args.stdout:
        sys.stdout.write(text)
        return 0
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if args.check:
        if current == text:
            print(f"{codeowners.CODEOWNERS_FILE} is up to date")
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(True), text.splitlines(True),
            f"{codeowners.CODEOWNERS_FILE} (committed)", f"{codeowners.CODEOWNERS_FILE} (generated)"))
        print(f"{codeowners.CODEOWNERS_FILE} is out of date: run `servicebook codeowners`",
              file=sys.stderr)
        return 1
    if current != text:
        import os

        tmp = path.with_name(f".{path.name}.tmp")  # atomic: write beside, then rename
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        print(f"wrote {codeowners.CODEOWNERS_FILE}")
    else:
        print(f"{codeowners.CODEOWNERS_FILE} is up to date")
    return 0
