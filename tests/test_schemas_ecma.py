"""The schemas work in every editor: a second, independent implementation (ajv, the JavaScript
validator behind many editors and web forms, in its default strict mode with unicode regular
expressions) compiles every schema and gives every record file the verdict `servicebook validate`
gives it. Every `pattern` is an ECMA-262 unicode regular expression that means the same in
Python's `re` (the project's validator) and in JavaScript: the same answer on every probe.

Record YAML is read by servicebook's own reader and handed to node as JSON (tests/actionlint/
schemas.cjs); the custom `x-` keywords are declared to ajv through its `keywords` option, so
strict mode stays on for every other keyword (a misspelt keyword still fails to compile).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import REPO, MiniRepo, make_repo
from servicebook.load import yamlload
from servicebook.load.records import RECORDS_DIR, kind_of_path

SCHEMAS = REPO / "schemas"
NODE_TOOLS = REPO / "tests" / "actionlint"
CORPUS = REPO / "tests" / "corpus" / "broken"
# what Python's str.isspace, JavaScript's \s and Rust's \s (jsonschema-rs) call white space
WHITE_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def node(request: dict) -> dict:
    if not (NODE_TOOLS / "node_modules" / "ajv").is_dir():
        pytest.fail("ajv is missing: `make` installs it (npm ci --prefix tests/actionlint)")
    done = subprocess.run(["node", str(NODE_TOOLS / "schemas.cjs")], input=json.dumps(request),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def schemas() -> dict[str, dict]:
    return {p.name.removesuffix(".schema.json"): json.loads(p.read_bytes())
            for p in sorted(SCHEMAS.glob("*.schema.json"))}


def walk(node_, where: str):
    if isinstance(node_, dict):
        for key, value in node_.items():
            yield where, key, value
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node_, list):
        for i, value in enumerate(node_):
            yield from walk(value, f"{where}/{i}")


def patterns() -> dict[str, str]:
    """Every `pattern` (and patternProperties key) of every schema, by where it is."""
    found = {}
    for name, schema in schemas().items():
        for where, key, value in walk(schema, f"{name}.schema.json#"):
            if key == "pattern" and isinstance(value, str):
                found[f"{where}/pattern"] = value
            if key == "patternProperties" and isinstance(value, dict):
                found.update({f"{where}/patternProperties/{p}": p for p in value})
    return found


def custom_keywords() -> list[str]:
    return sorted({key for _w, key, _v in walk(schemas(), "") if key.startswith("x-")})


def probes() -> list[str]:
    """Every text of the demo records and the schemas' examples, and each one changed where
    regular expression dialects part: a final newline, non-ASCII digits and white space of
    every kind, quotes, and a line break inside."""
    texts: set[str] = set()
    for where, key, value in walk(schemas(), ""):
        if key == "examples":
            texts.update(v for _w, _k, v in walk(value, "") if isinstance(v, str))
            texts.update(v for v in value if isinstance(v, str))
    for path in sorted((REPO / RECORDS_DIR).rglob("*.yaml")):
        data = yamlload.parse(path.read_bytes())
        for _w, _k, value in walk(data, ""):
            values = value if isinstance(value, list) else [value]
            texts.update(v for v in values if isinstance(v, str))
    texts.add(hashlib.sha256(b"attachment").hexdigest())  # no demo attachment has a checksum
    short = sorted(t for t in texts if len(t) <= 120)
    out = set(short)
    for text in short:
        out |= {text + "\n", text + "\n\n", "\n" + text, text.replace("0", "٠").replace("2", "٢"),
                text.replace("1", "１"), text + '"', text + "'", text + "<"}
        out |= {text + space + "x" for space in WHITE_SPACE}
        out.add(text[: len(text) // 2] + "\n" + text[len(text) // 2:])
    return sorted(out)


def test_every_pattern_compiles_as_python_and_as_unicode_ecma262():
    found = patterns()
    assert len(found) > 50
    for where, source in found.items():
        re.compile(source)  # Python's re, as python-jsonschema uses it
    answer = node({"patterns": list(found.values()), "probes": []})
    broken = {w: a["error"] for w, a in zip(found, answer["patterns"]) if "error" in a}
    assert broken == {}, "\n".join(f"{w}: {e}" for w, e in broken.items())


def test_every_pattern_means_the_same_in_python_and_javascript():
    found = patterns()
    unique = sorted(set(found.values()))
    texts = probes()
    assert len(texts) > 5000
    answer = node({"patterns": unique, "probes": texts})["patterns"]
    differ = []
    for source, js in zip(unique, answer):
        compiled = re.compile(source)
        python = [compiled.search(t) is not None for t in texts]
        assert any(python) and not all(python), f"{source}: the probes do not exercise it"
        differ += [f"{source!r} on {t!r}: Python {p}, JavaScript {j}"
                   for t, p, j in zip(texts, python, js["matches"]) if p != j][:3]
    assert differ == [], "\n".join(differ)


def test_probes_find_the_dialect_differences():
    """The probes catch each way a pattern can mean two things: `\\d`, `\\s` and a bare `$`."""
    texts = ["2026", "٢٠٢٦", "a\x1cb", "a\ufeffb", "P-x", "P-x\n"]
    loose = [r"^\d+$(?!\n)", r"^a\sb$(?!\n)", r"^P-x$"]
    answer = node({"patterns": loose, "probes": texts})["patterns"]
    for source, js in zip(loose, answer):
        python = [re.search(source, t) is not None for t in texts]
        assert python != js["matches"], source


def records_of(root: Path, relative_to: Path) -> list[dict]:
    """Each record file of a repository as ajv's input: kind and data (read by servicebook's
    reader); files it cannot read as YAML are left out (ajv judges data, not text)."""
    out = []
    for path in sorted((root / RECORDS_DIR).rglob("*.yaml")):
        rel = path.relative_to(relative_to).as_posix()
        kind = kind_of_path(Path(rel))
        try:
            data = yamlload.parse(path.read_bytes())
        except yamlload.YamlProblem:
            continue
        out.append({"file": rel, "kind": kind, "data": data})
    return out


def servicebook_schema_verdicts(repo) -> dict[str, list[str]]:
    code, problems = repo.validate()
    assert code in (0, 1)
    found: dict[str, list[str]] = defaultdict(list)
    for p in problems:
        found[p["file"]].append(p["rule"])
    return found


def compare(repo) -> tuple[int, int]:
    records = records_of(repo.root, repo.root)
    answer = node({"schemas": schemas(), "keywords": custom_keywords(), "records": records})
    assert answer["compile"] == {}, answer["compile"]
    rules = servicebook_schema_verdicts(repo)
    differ = []
    invalid = 0
    for record in records:
        file = record["file"]
        if any(r.startswith("yaml.") for r in rules.get(file, ())):
            continue  # the strict reader refused what the fast one read: no data to judge
        ours = [r for r in rules.get(file, ()) if r.startswith("schema.")]
        theirs = answer["errors"][file]
        invalid += bool(theirs)
        if bool(ours) != bool(theirs):
            differ.append(f"{file}: servicebook {ours or 'valid'}, ajv {theirs or 'valid'}")
    assert differ == [], "\n".join(differ)
    return len(records), invalid


def test_ajv_agrees_on_the_demo_records(demo):
    checked, invalid = compare(MiniRepo(demo))
    assert checked >= 300 and invalid == 0


def test_ajv_agrees_on_the_broken_corpus(tmp_path):
    repo = make_repo(tmp_path / "repo")
    folder = repo.root / "records" / "complaint" / "2026"
    for src in sorted(CORPUS.glob("*.yaml")):
        shutil.copyfile(src, folder / f"CP-20261202-{src.stem.upper().replace('-', '')[:20]}.yaml")
    checked, invalid = compare(repo)
    assert invalid >= 20  # the corpus is mostly schema mistakes: both must see them

