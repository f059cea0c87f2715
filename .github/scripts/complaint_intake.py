"""Turn a submitted complaint issue form into a complaint record (run by complaint-intake.yml).

Reads the issue body (``ISSUE_BODY``: GitHub renders an issue form as ``### Label`` sections) and
the submitter's login (``SUBMITTER``), finds the submitter's person record by ``git.handle``, and
writes the record with ``servicebook new complaint``. Prints ``path=...`` and ``id=...`` lines for
``$GITHUB_OUTPUT``. Exit 1 with a message when the form cannot become a record.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# issue form label -> record field (labels are bilingual in complaint.yml; the English half keys)
FIELDS = {
    "Customer ID": "customer",
    "Received at": "received_at",
    "Channel": "channel",
    "Kind": "kind",
    "Caller name": "caller.name",
    "Caller phone": "caller.phone",
    "Contract ID": "contract",
    "Product ID": "product",
    "Device serial number": "device.serial",
    "Customer-service remarks": "cs_part.remarks",
}
PROBLEM = "Problem"
CHANNELS = {"phone", "email", "wechat", "visit", "other"}
KINDS = {"enquiry", "quality_complaint"}


def sections(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for block in re.split(r"^###\s+", body or "", flags=re.M)[1:]:
        label, _, value = block.partition("\n")
        value = value.strip()
        if value in ("_No response_", "None"):
            value = ""
        english = label.split("/")[-1].strip()
        out[english] = value
    return out


def main() -> int:
    root = Path(os.environ.get("GITHUB_WORKSPACE", "."))
    form = sections(os.environ.get("ISSUE_BODY", ""))
    login = os.environ.get("SUBMITTER", "")
    sys.path.insert(0, str(root / "tools"))
    from servicebook.derive.audit.trail import People, load_records

    person = People.from_records(load_records(root)).find(login)
    if person is None:
        print(f"::error::{login} has no person record with that git.handle", file=sys.stderr)
        return 1
    if not form.get(PROBLEM):
        print("::error::the form has no problem description", file=sys.stderr)
        return 1
    sets = []
    for label, field in FIELDS.items():
        value = form.get(label, "")
        if field in ("channel", "kind"):
            value = value.split()[0] if value else value  # "phone 电话" -> "phone"
            if value and value not in (CHANNELS if field == "channel" else KINDS):
                print(f"::error::{label}: unknown value {value!r}", file=sys.stderr)
                return 1
        if value:
            sets += ["--set", f"{field}={value}"]
    done = subprocess.run(["servicebook", "new", "complaint", "--by", person.id, "--print",
                           "--root", str(root), *sets], capture_output=True, text=True)
    if done.returncode:
        print(f"::error::servicebook new failed: {done.stderr.strip()}", file=sys.stderr)
        return 1
    rel = done.stdout.strip().splitlines()[-1]
    path = root / rel if not Path(rel).is_absolute() else Path(rel)
    from servicebook.write.writer import digest, dump, replace, yaml_rt

    raw = path.read_bytes()
    data = yaml_rt().load(raw.decode("utf-8"))
    data["issues"] = [{"problem": form[PROBLEM]}]
    replace(path, dump(data), digest(raw))
    print(f"path={path.relative_to(root)}")
    print(f"id={path.stem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
