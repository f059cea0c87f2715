"""Schema evolution: the demo data written in the previous format (version 0) migrates to the
current one losslessly, keeping comments; the validator points old records at `migrate`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from servicebook.load import corpus
from conftest import sb

REPO = Path(__file__).resolve().parents[1]
INSTANT = re.compile(r"'(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):00\+08:00'")


def to_version_0(text: str) -> str:
    """What the spreadsheet import wrote: no schema_version, local instants without seconds."""
    text = text.replace("schema_version: 1\n", "", 1)
    return "# imported from the 2025 service spreadsheet\n" + INSTANT.sub(r"'\1 \2'", text)


def test_demo_data_migrates_from_version_0(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "schemas", root / "schemas")
    shutil.copytree(REPO / "records", root / "records")
    original = corpus.load(root)
    downgraded = 0
    for path in (root / "records").rglob("*.yaml"):
        if "/policy/" in str(path) or "/calendar/" in str(path):
            continue
        text = path.read_text(encoding="utf-8")
        old = to_version_0(text)
        if old != text:
            path.write_text(old, encoding="utf-8")
            downgraded += 1
    assert downgraded > 150

    old_state = corpus.load(root)
    missing = [p for p in old_state.problems if p.path == "schema_version" and p.rule == "schema.required"]
    assert len(missing) == downgraded and "servicebook migrate" in missing[0].message

    check = sb("migrate", "--check", cwd=root)
    assert check.returncode == 1 and check.stdout.count("-> 1") == downgraded
    assert corpus.load(root).problems == old_state.problems  # --check wrote nothing

    proc = sb("migrate", cwd=root)
    assert proc.returncode == 0, proc.stdout
    migrated = corpus.load(root)
    def what(problems):  # lines moved by the added comment line; everything else must hold
        return [(p.file, p.path, p.rule, p.message) for p in problems]

    assert what(migrated.problems) == what(original.problems)
    assert {k: r.data for k, r in migrated.records.items()} == \
        {k: r.data for k, r in original.records.items()}  # lossless
    sample = next((root / "records" / "complaint").rglob("*.yaml")).read_text(encoding="utf-8")
    assert sample.startswith("# imported from the 2025 service spreadsheet\n")
    assert sb("migrate", "--check", cwd=root).returncode == 0  # idempotent


def test_unquoted_old_instants_and_unknown_versions(mini):
    path = mini.path("CB-20261203-0QF5HV")
    text = path.read_text(encoding="utf-8").replace("schema_version: 1\n", "")
    text = text.replace("called_at: '2026-12-03T10:30:00+08:00'", "called_at: 2026-12-03 10:30:00")
    path.write_text(text, encoding="utf-8")
    assert sb("migrate", cwd=mini.root).returncode == 0
    assert mini.validate() == (0, [])
    assert "called_at: '2026-12-03T10:30:00+08:00'" in path.read_text(encoding="utf-8") or \
        "called_at: 2026-12-03T10:30:00+08:00" in path.read_text(encoding="utf-8")

    mini.edit("SV-20261103-4M8QZA", "schema_version: 1", "schema_version: 7")
    before = mini.snapshot()
    proc = sb("migrate", cwd=mini.root)
    assert proc.returncode == 1 and "unknown schema_version 7" in proc.stdout
    assert mini.snapshot() == before
