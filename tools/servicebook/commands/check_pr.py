"""servicebook check-pr --base REV — the pull-request permission check: who may move which record
into which status, and who may fill which part of a form (变更权限检查)."""

from __future__ import annotations

import sys

from servicebook.commands._common import UsageError, add_root, fail, find_root

NAME = "check-pr"
HELP = "Check a change's status moves and form parts against the author's roles (权限检查)."


def configure(parser):
    parser.add_argument("--base", required=True, help="base revision (e.g. origin/main)")
    parser.add_argument("--head", default="HEAD", help="head revision (default: HEAD)")
    parser.add_argument("--author", help="who made the change: e-mail, git handle or person ID "
                                         "(default: the author of HEAD)")
    parser.add_argument("--format", choices=["text", "json", "github"], default="text")
    add_root(parser)


def run(args) -> int:
    import git

    from servicebook.derive.audit.codeowners import RulesError
    from servicebook.derive.audit.pull_request import check_pr
    from servicebook.load.problems import FORMATTERS

    try:
        root = find_root(args.root)
        problems = check_pr(root, args.base, args.head, args.author)
    except (UsageError, RulesError) as err:
        return fail(str(err))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return fail(f"{args.root or '.'} is not a git repository")
    except git.GitCommandError as err:
        return fail(f"git: {(err.stderr or '').strip() or err}")
    out = FORMATTERS[args.format](problems)
    if out:
        print(out)
    errors = [p for p in problems if p.severity == "error"]
    if args.format == "text":
        print(f"check-pr: {len(errors)} violation(s), {len(problems) - len(errors)} note(s)",
              file=sys.stderr)
    return 1 if errors else 0
