"""Records with fields of the wrong type (issue #14): the schema check reports each one, located;
every read command and the site still give their answer, never "internal error".

A value of the wrong type is a broken record, not a bug: it is reported where it is read
(schema.type, at its line) and every consumer treats it as absent by an explicit type check.
First the files of tests/corpus/broken/ that validate flags as schema.type, all in one complaint
(in a small repository with the real SLA policies, so its clocks run); then a sweep giving every
field of every record kind each wrong type in turn (a number, a list, a mapping, text).
Commands run in-process (`conftest.sb`, which fails on a traceback or an internal error).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, make_repo, sb, with_site
from servicebook.derive import checked
from servicebook.load import yamlload
from servicebook.load.instants import parse_instant
from servicebook.site import pages

sys.path.insert(0, str(Path(__file__).parent))
from site_fixtures import make_repo as make_site_repo  # noqa: E402

AT = "2026-12-10T10:00:00+08:00"
CP = "CP-20261202-7KQ2XM"
TARGET = f"records/complaint/2026/{CP}.yaml"
BROKEN = Path(__file__).parent / "corpus" / "broken"
EXPECTED = yaml.safe_load((Path(__file__).parent / "corpus" / "broken-expected.yaml").read_text(encoding="utf-8"))
# schema.type cases of the broken corpus, each a change of one line of the same complaint
CASES = ("wrong-type-list", "number-for-text", "yaml11-on-for-boolean", "leading-zero-number")
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))


def read_commands(case: str, repair: str, contract: str, survey: str) -> list[tuple[str, ...]]:
    """Every command that reads the corpus and answers, in both formats where it has them."""
    out = [("show", case), ("show", case, "--format", "json"), ("show", survey, "--lang", "en"),
           ("sla", "--at", AT), ("sla", "--at", AT, "--format", "json"),
           ("pipeline", "--at", AT), ("pipeline", "--at", AT, "--format", "json"),
           ("delivery", contract, "--at", AT), ("delivery", contract, "--at", AT, "--format", "json"),
           ("kb", "match", repair), ("kb", "match", case, "--format", "json")]
    for topic in ("technicians", "inspections", "parts", "value", "feedback"):
        out += [("report", topic, "--at", AT), ("report", topic, "--at", AT, "--format", "json")]
    return out


COMMANDS = read_commands(CP, "RP-20261208-5NC8WT", "CT-20261116-8FJ4QE", "SV-20261103-4M8QZA")


def combined_complaint() -> tuple[str, dict[int, str]]:
    """The fixture complaint with the wrong-typed line of every case in CASES: (text, {line: case})."""
    lines = (BROKEN / "wrong-type-list.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    good = (REPO / "tests/fixtures/mini" / TARGET).read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(good) == len(lines)
    out, changed = list(good), {}
    for case in CASES:
        broken = (BROKEN / f"{case}.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
        assert len(broken) == len(good), case
        (n,) = [i for i, (a, b) in enumerate(zip(good, broken)) if a != b]
        assert n not in changed, case
        assert EXPECTED[case]["rules"] == ["schema.type"] and EXPECTED[case]["line"] == n + 1, case
        out[n], changed[n + 1] = broken[n], case
    return "".join(out), changed


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A small repository (the fixture records, the real SLA policies and calendars, the site's
    configuration) whose complaint holds every wrong-typed line of CASES. No .git: a copy."""
    root = make_repo(tmp_path_factory.mktemp("wrongtypes") / "repo").root
    for kind in ("policy", "calendar"):
        shutil.copytree(REPO / "records" / kind, root / "records" / kind)
    with_site(root)
    text, changed = combined_complaint()
    (root / TARGET).write_text(text, encoding="utf-8")
    return root, changed


def test_validate_reports_every_wrong_type_at_its_line(broken):
    root, changed = broken
    proc = sb("validate", "--format", "json", "--root", root, cwd=root)
    assert proc.returncode == 1
    problems = json.loads(proc.stdout)
    assert {(p["line"], p["rule"]) for p in problems if p["file"] == TARGET} == {(n, "schema.type") for n in changed}
    # the calendar warning (holiday data running out, issue #16) is no problem of the file
    assert [p for p in problems if p["file"] != TARGET and p["severity"] == "error"] == []


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_read_command_answers(broken, args):
    root, _ = broken
    proc = sb(*args, "--root", root, cwd=root)  # sb fails on a traceback or an internal error
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert proc.stdout.strip()
    if "--format" in args:
        json.loads(proc.stdout)


def test_show_names_the_located_problems(broken):
    root, changed = broken
    out = sb("show", CP, "--root", root, cwd=root).stdout
    for line in changed:
        assert f"{line}:" in out and "[schema.type]" in out, out


def test_sla_still_runs_the_broken_complaints_clocks(broken):
    root, _ = broken
    clocks = json.loads(sb("sla", "--at", AT, "--format", "json", "--root", root, cwd=root).stdout)
    assert any(c.get("case") == CP for c in (clocks.get("clocks") if isinstance(clocks, dict) else clocks)), clocks


def test_site_pages_in_both_languages(broken):
    root, changed = broken
    corpus = checked.load(root)
    for lang in ("zh", "en"):
        out = pages.generate(corpus, {"lang": lang, "root": str(root), "as_of": parse_instant(AT)})
        assert f"cases/{CP}.md" in out
        assert out["problems.md"].count("schema.type") == len(changed)


def test_mkdocs_strict_build_of_a_copy_without_git(broken):
    """The real build (both languages): the wrong types do not stop it; without .git the pages say
    there is no history."""
    root, _ = broken
    env = {**os.environ, "SERVICEBOOK_AS_OF": AT, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([MKDOCS, "build", "--strict", "-d", str(root / "site")], cwd=root, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for lang_root, note in ((root / "site", "没有可用的 git 历史"), (root / "site/en", "No git history is available")):
        page = (lang_root / f"cases/{CP}/index.html").read_text(encoding="utf-8")
        assert note in page
        assert "schema.type" in (lang_root / "problems/index.html").read_text(encoding="utf-8")


# --- every field of every kind, each wrong type ------------------------------------------------------

WRONG = (7, ["x"], {"z": 1}, "text")
CHUNKS = 4  # repositories per round; a round gives each field one wrong type, four rounds all four


def field_paths(value, prefix: tuple = ()):
    """Every field path of a record (list items by their first one); `id` is the file name's."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if not prefix and key == "id":
                continue
            yield prefix + (key,)
            yield from field_paths(sub, prefix + (key,))
    elif isinstance(value, list) and value:
        yield from field_paths(value[0], prefix + (0,))


def set_path(data, path: tuple, wrong) -> bool:
    cur = data
    for step in path[:-1]:
        if isinstance(cur, dict) and step in cur or isinstance(cur, list) and isinstance(step, int) and step < len(cur):
            cur = cur[step]
        else:
            return False
    last = path[-1]
    if not (isinstance(cur, dict) and last in cur or isinstance(cur, list) and isinstance(last, int) and last < len(cur)):
        return False
    if type(cur[last]) is type(wrong):
        return False
    cur[last] = wrong
    return True


@pytest.fixture(scope="module")
def sweep_base(tmp_path_factory):
    """The site fixture repository: a record of every kind (from the schemas' examples)."""
    root = make_site_repo(tmp_path_factory.mktemp("sweep") / "base", hostile=False)
    files = {p.relative_to(root): yamlload.parse(p.read_bytes()) for p in sorted((root / "records").rglob("*.yaml"))}
    return root, files


def kind_of(rel: Path) -> str:
    return rel.parts[1]


def first_id(files: dict, kind: str) -> str:
    return next(rel.stem for rel in files if kind_of(rel) == kind)


def mutated_repo(base: Path, files: dict, root: Path, wrong_of) -> int:
    """A copy of `base` where each record gets `wrong_of(kind, path)` (None: unchanged) at each of
    its paths; the number of records changed."""
    shutil.copytree(base, root)
    changed = 0
    for rel, data in files.items():
        mutated = json.loads(json.dumps(data))
        hits = [set_path(mutated, p, w) for p in list(field_paths(data))
                if (w := wrong_of(kind_of(rel), p)) is not None]
        if any(hits):
            changed += 1
            (root / rel).write_text(yaml.safe_dump(mutated, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return changed


def every_reader_answers(root: Path, files: dict) -> None:
    proc = sb("validate", "--format", "json", "--root", root, cwd=root)
    assert proc.returncode == 1 and all(p["line"] >= 1 for p in json.loads(proc.stdout))
    for args in read_commands(first_id(files, "complaint"), first_id(files, "repair"), first_id(files, "contract"),
                              first_id(files, "survey")):
        proc = sb(*args, "--root", root, cwd=root)  # fails on a traceback or an internal error
        assert proc.returncode in (0, 1, 2), (args, proc.stdout[-2000:], proc.stderr[-2000:])
    corpus = checked.load(root)
    pages.generate(corpus, {"lang": "zh", "root": str(root), "as_of": parse_instant(AT)})


@pytest.mark.parametrize("round_", range(len(WRONG)))
def test_every_field_of_every_kind_of_the_wrong_type(sweep_base, tmp_path, round_):
    base, files = sweep_base
    paths = sorted({p for data in files.values() for p in field_paths(data)}, key=str)
    assert len(paths) > 200
    index = {p: i for i, p in enumerate(paths)}
    for chunk in range(CHUNKS):
        def wrong_of(kind, path):
            i = index[path]
            if i % CHUNKS != chunk:
                return None
            return WRONG[(i + round_) % len(WRONG)]

        root = tmp_path / f"chunk{chunk}"
        assert mutated_repo(base, files, root, wrong_of)
        every_reader_answers(root, files)
