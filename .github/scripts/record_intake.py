"""Turn a submitted issue form into a record, or into the reply that says what is wrong (run by
record-intake.yml with the default branch's code; the issue is data).

Reads the issue from the event file the runner writes (``$GITHUB_EVENT_PATH``, JSON): its body,
its submitter's login and when it was opened. Not from environment variables: one variable holds
at most 128 KiB on Linux, and an issue body of 65,536 Chinese characters is 192 KiB, so the step
would fail before it could reply. Everything else is in ``servicebook.write.issue_forms.intake``.
Writes the record file when the form is right, and prints ``$GITHUB_OUTPUT`` lines: ``ok``,
``path``, ``id``, and ``comment`` (the reply, base64) when it is not. Exit 0 either way: a wrong
form is an answer, not a failure of the job.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

from servicebook.load.instants import now, parse_instant
from servicebook.write.issue_forms import intake
from servicebook.write.writer import create


def read_issue(event_path: str) -> tuple[str, str, str]:
    """(body, login, created_at) of the issue in the event file; text never through a shell."""
    with open(event_path, encoding="utf-8") as handle:
        issue = json.load(handle)["issue"]
    return issue.get("body") or "", (issue.get("user") or {}).get("login") or "", issue.get("created_at") or ""


def main() -> int:
    root = Path(os.environ.get("GITHUB_WORKSPACE", "."))
    event = os.environ.get("GITHUB_EVENT_PATH", "")
    try:
        body, login, created = read_issue(event)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        print(f"::error::cannot read the issue from the event file {event!r}: {err}", file=sys.stderr)
        return 1
    moment = parse_instant(created) if created else now()
    result = intake(root, body, login, moment)
    if not result.ok:
        print("ok=false")
        print(f"comment={base64.b64encode(result.comment().encode('utf-8')).decode('ascii')}")
        return 0
    (root / result.path).parent.mkdir(parents=True, exist_ok=True)
    create(root / result.path, result.text)
    print("ok=true")
    print(f"path={result.path}")
    print(f"id={Path(result.path).stem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
