"""Shared fixtures: real repositories in temporary folders, built from real files."""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# The stores under .cache/ are sealed with a key of "this machine" (servicebook.load.cache): the
# tests' own, kept in a folder of their own, so they neither depend on the runner's home folder (a
# CI may point XDG_CACHE_HOME anywhere, even inside the checkout, where no key is used) nor touch
# it; every process the tests start inherits it and shares the key.
_MACHINE_CACHE = tempfile.mkdtemp(prefix="servicebook-test-cache-")
os.environ["XDG_CACHE_HOME"] = _MACHINE_CACHE
atexit.register(shutil.rmtree, _MACHINE_CACHE, True)

from servicebook import cli

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def sb(*args: str, cwd) -> subprocess.CompletedProcess:
    """The real `servicebook` command line, run in this process through `cli.main(argv)` (as the
    console script does, minus the interpreter start): exit code, stdout and stderr. A bug must
    fail the test, so an "internal error" (cli.main's last resort) is never an acceptable answer.
    tests/test_cli_smoke.py runs each command once as a real subprocess."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in args])
    finally:
        os.chdir(here)
    proc = subprocess.CompletedProcess(["servicebook", *args], code, out.getvalue(), err.getvalue())
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def sb_process(*args: str, cwd) -> subprocess.CompletedProcess:
    """The console command in a subprocess of its own, for what needs the process boundary
    (exit through os._exit, concurrency, the installed entry point)."""
    proc = subprocess.run([sys.executable, "-m", "servicebook", *args], capture_output=True,
                          text=True, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


class MiniRepo:
    """A small, valid servicebook repository: the fixture records plus the real schemas."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, record_id: str) -> Path:
        found = list((self.root / "records").rglob(f"{record_id}.yaml"))
        assert len(found) == 1, record_id
        return found[0]

    def text(self, record_id: str) -> str:
        return self.path(record_id).read_text(encoding="utf-8")

    def edit(self, record_id: str, old: str, new: str, count: int = 1) -> Path:
        """Replace text in a record file; fails loudly if ``old`` is not there."""
        path = self.path(record_id)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, count), encoding="utf-8")
        return path

    def line_of(self, record_id: str, needle: str) -> int:
        for number, line in enumerate(self.text(record_id).splitlines(), 1):
            if needle in line:
                return number
        raise AssertionError(f"{needle!r} not in {record_id}")

    def rel(self, record_id: str) -> str:
        return str(self.path(record_id).relative_to(self.root))

    def validate(self, *args: str) -> tuple[int, list[dict]]:
        """Run the real command in a subprocess; returns (exit code, problems as JSON)."""
        proc = sb("validate", "--format", "json", "--root", str(self.root), *args, cwd=self.root)
        problems = json.loads(proc.stdout) if proc.stdout.strip() else []
        return proc.returncode, problems

    def snapshot(self) -> dict[str, bytes]:
        """Every file a person owns (the result cache under .cache/ is not one: outside git)."""
        return {str(p): p.read_bytes() for p in sorted(self.root.rglob("*"))
                if p.is_file() and ".cache" not in p.relative_to(self.root).parts}


def make_repo(dest: Path, records: Path = FIXTURES / "mini" / "records") -> MiniRepo:
    shutil.copytree(REPO / "schemas", dest / "schemas")
    shutil.copytree(records, dest / "records")
    return MiniRepo(dest)


@pytest.fixture
def mini(tmp_path: Path) -> MiniRepo:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of this repository's schemas and demo records, to change freely (no git)."""
    root = tmp_path / "demo"
    shutil.copytree(REPO / "schemas", root / "schemas")
    shutil.copytree(REPO / "records", root / "records")
    return root


def with_site(root: Path, docs: bool = True) -> Path:
    """The demo site's configuration (mkdocs.yml, mkdocs.en.yml) in ``root``, and with ``docs``
    its hand-written pages: a repository of records that builds the site."""
    for name in ("mkdocs.yml", "mkdocs.en.yml"):
        shutil.copy(REPO / name, root / name)
    if docs:
        shutil.copytree(REPO / "docs", root / "docs")
    return root


def demo_site(root: Path) -> Path:
    """A copy of the demo repository (records, schemas) that builds the demo site, in ``root``."""
    for folder in ("records", "schemas"):
        shutil.copytree(REPO / folder, root / folder)
    return with_site(root)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, one per test module (tests/browser_kit.py)."""
    from browser_kit import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def visit(browser, server):
    """A page on the module's ``server``; the test fails on a console error or a request that
    leaves the host."""
    from browser_kit import Visit

    v = Visit(browser, server)
    yield v
    v.check_clean()
    v.close()
