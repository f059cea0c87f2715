"""servicebook audit [ID ...] — the git trail of records: who created and changed them, who
approved them, and every violation of the approval rules (审计)."""

from __future__ import annotations

import json
import sys

from servicebook.commands._common import add_root, fail, find_root

NAME = "audit"
HELP = "Show records' git trail (created, changed, approved) and approval violations (审计轨迹)."


def configure(parser):
    parser.add_argument("ids", nargs="*", metavar="ID", help="records to audit (default: all)")
    parser.add_argument("--format", choices=["text", "json", "github"], default="text",
                        help="text: trails and findings; json: trails; github: annotations")
    parser.add_argument("--rev", default="HEAD", help="history to read (default: HEAD)")
    parser.add_argument("--deep", action="store_true",
                        help="kept for scripts: every version of every record is always read")
    parser.add_argument("--fields", action="store_true",
                        help="list the changed fields of every change (default with IDs)")
    parser.add_argument("--findings-only", action="store_true",
                        help="text format: print findings only")
    add_root(parser)


def run(args) -> int:
    root = find_root(args.root)
    import git

    from servicebook.derive.audit import trail as audit

    try:
        auditor = audit.Auditor(root, args.rev, ids=args.ids or None)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return fail(f"{root} is not a git repository")
    except git.GitCommandError as err:
        return fail(f"cannot read history at {args.rev!r}: {err.stderr.strip() or err}")
    unknown = [i for i in args.ids if i not in auditor.history.touches and i not in auditor.records]
    if unknown:
        return fail(f"no record with ID {', '.join(unknown)}")
    trails = auditor.report(args.ids or None, deep=args.deep, fields=args.fields or bool(args.ids))
    errors = audit.violations(trails)
    if args.format == "json":
        print(json.dumps([t.as_dict() for t in trails], ensure_ascii=False, indent=2))
    elif args.format == "github":
        from servicebook.load.problems import format_github

        out = format_github(audit.to_problems(trails))
        if out:
            print(out)
    else:
        if args.findings_only or not args.ids:
            for t in trails:
                for f in t.findings:
                    print(f"{t.path or t.id}: {f.severity} [{f.rule}] {f.message}")
        else:
            print("\n\n".join(audit.format_trail(t) for t in trails))
        n = len(errors)
        print(f"{len(trails)} record(s) audited, {n} violation(s)", file=sys.stderr)
    return 1 if errors else 0
