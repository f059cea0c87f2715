"""Turn a submitted issue form into a record, or into the reply that says what is wrong (run by
record-intake.yml with the default branch's code; the issue is data).

Reads the issue body (``ISSUE_BODY``), the submitter's login (``SUBMITTER``) and when the issue was
opened (``CREATED_AT``); everything is in ``servicebook.write.issue_forms.intake``. Writes the
record file when the form is right, and prints ``$GITHUB_OUTPUT`` lines: ``ok``, ``path``, ``id``,
and ``comment`` (the reply, base64) when it is not. Exit 0 either way: a wrong form is an answer,
not a failure of the job.
"""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

from servicebook.load.instants import now, parse_instant
from servicebook.write.issue_forms import intake
from servicebook.write.writer import create


def main() -> int:
    root = Path(os.environ.get("GITHUB_WORKSPACE", "."))
    created = os.environ.get("CREATED_AT", "")
    moment = parse_instant(created) if created else now()
    result = intake(root, os.environ.get("ISSUE_BODY", ""), os.environ.get("SUBMITTER", ""), moment)
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
