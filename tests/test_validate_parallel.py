"""`validate` says the same, byte for byte, whichever way it gets there: one process or several
(files parsed and checked by worker processes, the cross-record rules run on parts of the files in
forked workers), without a cache, with a cold cache, warm (the stored verdict) and warm after an
edit. On a real synthetic repository big enough for the parallel paths, made hostile: payloads in
every free-text field, the broken-record corpus in several kinds' folders, rounds of random edits,
deletions, renames and duplicates, and people who lost their roles."""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from unittest.mock import patch

import pytest

from conftest import REPO, sb
from hostile import poison_repo
from servicebook.load.cache import CACHE_DIR
from servicebook.load.corpus import PARALLEL_THRESHOLD
from test_cache_verdict import MUTATIONS

RECORDS = PARALLEL_THRESHOLD + 500
AT = "2026-12-02T09:00:00+08:00"
BROKEN = Path(__file__).resolve().parent / "corpus" / "broken"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("parallel") / "repo"
    sb("synth", str(RECORDS), "--out", str(root), "--seed", "11", "--root", str(REPO), cwd=REPO)
    rng = random.Random(19)
    files = sorted((root / "records").rglob("*.yaml"))
    # payloads in one record of 12, every kind (a poisoned file takes the slow strict reading)
    poisoned = root.parent / "poisoned"
    shutil.copytree(root / "schemas", poisoned / "schemas")
    sample = files[::12]
    for path in sample:
        (poisoned / path.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, poisoned / path.relative_to(root))
    poison_repo(poisoned)
    for path in sample:
        shutil.copyfile(poisoned / path.relative_to(root), path)
    for path in rng.sample(files, len(files) // 8):
        if path.exists():
            rng.choice(MUTATIONS)(rng, root, path)
    # every broken record, as a complaint, a repair and a contract (each kind's rules apply)
    for folder, prefix in (("complaint", "CP"), ("repair", "RP"), ("contract", "CT")):
        target = root / "records" / folder / "2026"
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(BROKEN.glob("*.yaml")):
            shutil.copyfile(src, target / f"{prefix}-20261202-{src.stem.upper().replace('-', '')[:20]}.yaml")
    people = sorted((root / "records" / "person").glob("*.yaml"))
    for person in people[::3]:  # their approvals are now by the wrong role: other files' problems
        text = person.read_text(encoding="utf-8")
        person.write_text(re.sub(r"(?m)^roles:\n(- .*\n)+", "roles: []\n", text), encoding="utf-8")
    return root


def validate(root: Path, *args: str, cache: bool, jobs: int) -> tuple[int, str, str]:
    with patch.dict(os.environ, {"SERVICEBOOK_NO_CACHE": "0" if cache else "1"}):
        proc = sb("validate", "--jobs", str(jobs), "--at", AT, "--root", str(root), *args, cwd=root)
    return proc.returncode, proc.stdout, proc.stderr


def test_json_serial_and_parallel_say_the_same(hostile):
    serial = validate(hostile, "--format", "json", cache=False, jobs=1)
    assert serial[0] == 1 and len(serial[1]) > 100_000
    assert validate(hostile, "--format", "json", cache=False, jobs=2) == serial


def test_serial_parallel_cold_and_warm_say_the_same(hostile, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(hostile, root)
    assert len(list((root / "records").rglob("*.yaml"))) >= PARALLEL_THRESHOLD  # the parallel paths run
    serial = validate(root, cache=False, jobs=1)
    code, out, err = serial
    assert code == 1
    # many problems, of many rules, in many files: the comparison is not of little
    lines = out.splitlines()
    assert len(lines) > 1000, err
    assert len({re.search(r"\[([^\]]+)\]", line).group(1) for line in lines}) >= 25
    assert len({line.split(":", 1)[0] for line in lines}) > 400
    assert "[approval.role]" in out and "[ref.missing]" in out and "[id.duplicate]" in out
    for jobs in (2, 3):
        assert validate(root, cache=False, jobs=jobs) == serial, f"{jobs} processes"
    shutil.rmtree(root / CACHE_DIR, ignore_errors=True)
    assert validate(root, cache=True, jobs=2) == serial, "cold cache"
    assert validate(root, cache=True, jobs=2) == serial, "warm: the stored verdict"
    assert validate(root, cache=True, jobs=1) == serial, "warm, one process"
    # one edit, as a pull brings it: one file read again, every rule run again
    complaint = sorted((root / "records" / "complaint").rglob("*.yaml"))[7]
    complaint.write_text(complaint.read_text(encoding="utf-8").replace("status:", "status: nope\nold_status:", 1),
                         encoding="utf-8")
    edited = validate(root, cache=False, jobs=1)
    assert edited != serial
    assert validate(root, cache=True, jobs=2) == edited, "warm after an edit"
    assert validate(root, cache=False, jobs=2) == edited
