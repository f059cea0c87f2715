"""The per-file result cache never hides a change, and the pull-request path reads only what it
needs while still checking references against every record."""

from __future__ import annotations

import json
import time

from conftest import REPO
from servicebook.derive import checked
from servicebook.load.cache import CACHE_DIR

SURVEY = "SV-20261103-4M8QZA"
APPRAISAL = "AP-20261104-9TX3KD"


def cache_files(root):
    return list((root / CACHE_DIR).glob("records-*.marshal"))


def test_cache_is_written_outside_git_and_reused(mini):
    # files saved a moment ago are hashed again by the next run (`load.cache.stat_signature`,
    # racily clean): the repository is older than that here, as it is between a user's commands
    time.sleep(0.1)
    assert mini.validate() == (0, [])
    [cache] = cache_files(mini.root)
    assert ".cache/" in (REPO / ".gitignore").read_text()  # outside git
    before = cache.stat().st_mtime_ns
    assert mini.validate() == (0, [])
    assert cache.stat().st_mtime_ns == before  # nothing changed: nothing rewritten


def test_an_edited_file_is_read_again(mini):
    assert mini.validate() == (0, [])
    # same length, same file: only the content hash can tell
    mini.edit(SURVEY, "saving_method: ip_card", "saving_method: ip_cart")
    code, problems = mini.validate()
    assert code == 1 and [p["rule"] for p in problems] == ["schema.enum"]
    mini.edit(SURVEY, "saving_method: ip_cart", "saving_method: ip_card")
    assert mini.validate() == (0, [])


def test_a_schema_change_invalidates_every_entry(mini):
    assert mini.validate() == (0, [])
    path = mini.root / "schemas" / "survey.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["required"].append("requirements_summary_new")
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    code, problems = mini.validate()
    assert code == 1 and {p["rule"] for p in problems} == {"schema.required"}
    assert len(cache_files(mini.root)) == 1  # the dead cache was removed


def test_a_damaged_cache_is_ignored(mini):
    assert mini.validate() == (0, [])
    [cache] = cache_files(mini.root)
    cache.write_bytes(b"\x00garbage")
    mini.edit(SURVEY, "saving_method: ip_card", "saving_method: nope")
    code, problems = mini.validate()
    assert code == 1 and problems[0]["rule"] == "schema.enum"


def test_no_cache_option(mini, monkeypatch):
    monkeypatch.setenv("SERVICEBOOK_NO_CACHE", "1")
    assert mini.validate() == (0, [])
    assert cache_files(mini.root) == []


def test_pull_request_path_reads_only_what_it_needs(mini):
    # an unrelated broken file is neither read nor reported
    (mini.root / "records" / "complaint" / "2026" / "CP-20261202-7KQ2XM.yaml").write_text("a: [", encoding="utf-8")
    mini.edit(APPRAISAL, f"survey: {SURVEY}", "survey: SV-20261103-ZZZZZZ")
    only = [mini.path(APPRAISAL).relative_to(mini.root)]
    result = checked.load(mini.root, only=only, use_cache=False)
    assert [p.rule for p in result.problems] == ["ref.missing"]
    read = {r.kind for r in result.records.values()}
    assert "complaint" not in read and {"appraisal", "person", "customer"} <= read
    # references resolve against every file name, even records that were not read
    mini.edit(APPRAISAL, "survey: SV-20261103-ZZZZZZ", f"survey: {SURVEY}")
    assert checked.load(mini.root, only=only, use_cache=False).problems == ()
