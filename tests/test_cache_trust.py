"""Stores under `.cache/` are trusted only when this machine made them (`load.cache.seal`).

`.cache/` is ignored by git, but a pull request can still commit files there (`git add -f`), and
the workflows build and audit a fresh checkout. The attack: on their own machine the author forges
the validation verdict of a repository holding an invalid record — "no problems" — seals it with
their own machine's key, commits it and the record. The forgery is real: on the author's machine
`validate` believes it. On any other machine (a clone, as CI checks out) `validate` finds the
problem, because the store fails its check and is rebuilt.
"""
from __future__ import annotations

import marshal
import os
import subprocess
import sys
import time
from pathlib import Path

from servicebook.load.cache import CACHE_DIR

SUM = 16  # the sealed checksum that starts every store


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x.cn", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x.cn", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def validate(root: Path, machine: Path) -> subprocess.CompletedProcess:
    """`servicebook validate` as run on ``machine`` (its own user cache folder, so its own key)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(machine)}
    env.pop("SERVICEBOOK_NO_CACHE", None)
    return subprocess.run([sys.executable, "-m", "servicebook", "validate"], cwd=root, env=env,
                          capture_output=True, text=True)


def reseal(path: Path, machine: Path, change) -> None:
    """Rewrite a store as ``machine`` would seal it, after ``change`` (dict -> None) — what an
    author can do with their own key."""
    code = ("import marshal, sys; from pathlib import Path; from servicebook.load.cache import write_store; "
            "write_store(Path(sys.argv[1]), marshal.loads(sys.stdin.buffer.read()))")
    stored = marshal.loads(path.read_bytes()[SUM:])
    change(stored)
    subprocess.run([sys.executable, "-c", code, str(path)], input=marshal.dumps(stored), check=True,
                   env={**os.environ, "XDG_CACHE_HOME": str(machine)})


def no_problems(store: dict) -> None:
    store["files"] = {rel: (digest, kind, (), sig) for rel, (digest, kind, _problems, sig) in store["files"].items()}
    key, _problems = store["verdict"]
    store["verdict"] = (key, ())


def test_a_forged_verdict_committed_with_a_pull_request_is_not_trusted(demo, tmp_path):
    author, ci = tmp_path / "author-machine", tmp_path / "ci-machine"
    record = sorted((demo / "records" / "complaint").rglob("*.yaml"))[0]
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("schema_version: 1", "schema_version: one", 1), encoding="utf-8")
    found = validate(demo, author)
    assert found.returncode != 0 and record.stem in found.stdout + found.stderr

    (store,) = (demo / CACHE_DIR).glob("records-*.marshal")
    reseal(store, author, no_problems)
    forged = validate(demo, author)
    assert forged.returncode == 0, forged.stdout + forged.stderr  # the forgery works where it was sealed

    git(demo, "init", "-q", "-b", "main")
    git(demo, "add", "-A")
    git(demo, "add", "-f", ".cache")
    git(demo, "commit", "-q", "-m", "records (and a forged verdict)")
    assert ".cache/servicebook/" in git(demo, "ls-files")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(demo), str(clone))
    checked = validate(clone, ci)
    assert checked.returncode != 0, checked.stdout
    assert record.stem in checked.stdout + checked.stderr


def test_the_machine_key_is_private_and_kept(demo, tmp_path):
    machine = tmp_path / "machine"
    assert validate(demo, machine).returncode == 0
    key = machine / "servicebook" / "store-key"
    assert key.stat().st_mode & 0o077 == 0 and len(key.read_bytes()) == 32
    before = key.read_bytes()
    assert validate(demo, machine).returncode == 0
    assert key.read_bytes() == before


def test_an_audit_store_made_on_another_machine_is_not_opened(tmp_path):
    """The audit keeps signature verdicts in SQLite files whose names are sealed: a file committed
    or copied from another machine is never the one this machine opens; it is deleted as stale."""
    code = ("import sys; from pathlib import Path; from servicebook.derive.audit.store import connect; "
            "db = connect(Path(sys.argv[1]), 'signatures', 'v1'); db.execute('CREATE TABLE IF NOT EXISTS t (k)'); "
            "print(db.execute('PRAGMA database_list').fetchone()[2])")

    def open_on(machine: str) -> Path:
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / machine)}
        env.pop("SERVICEBOOK_NO_CACHE", None)
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "repo")], env=env, check=True,
                             capture_output=True, text=True).stdout
        return Path(out.strip())

    theirs = open_on("author-machine")
    assert theirs.is_file() and open_on("author-machine") == theirs  # the same machine opens it again
    mine = open_on("ci-machine")
    assert mine != theirs and mine.is_file()
    assert not theirs.exists()  # the foreign file went


def test_a_key_inside_the_repository_is_not_used(demo, tmp_path):
    """A CI setting such as GitLab's ``XDG_CACHE_HOME=$CI_PROJECT_DIR/.cache`` puts the user cache
    inside the checkout: a pull request could commit a key there beside a verdict sealed with it.
    A key inside a git working tree is never used (nor a relative ``XDG_CACHE_HOME``)."""
    import hashlib

    record = sorted((demo / "records" / "complaint").rglob("*.yaml"))[0]
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("schema_version: 1", "schema_version: one", 1), encoding="utf-8")
    assert validate(demo, tmp_path / "author-machine").returncode != 0
    (store,) = (demo / CACHE_DIR).glob("records-*.marshal")
    stored = marshal.loads(store.read_bytes()[SUM:])
    no_problems(stored)
    key = bytes(range(32))
    payload = marshal.dumps(stored)
    store.write_bytes(hashlib.blake2b(payload, key=key, digest_size=SUM).digest() + payload)
    planted = demo / ".cache" / "servicebook" / "store-key"
    planted.write_bytes(key)
    planted.chmod(0o600)
    git(demo, "init", "-q", "-b", "main")
    git(demo, "add", "-A")
    git(demo, "add", "-f", ".cache")
    git(demo, "commit", "-q", "-m", "records, a key and a verdict sealed with it")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(demo), str(clone))
    (clone / ".cache" / "servicebook" / "store-key").chmod(0o600)  # as the author's checkout has it
    for xdg in (clone / ".cache", Path(".cache")):
        checked = validate(clone, xdg)
        assert checked.returncode != 0 and record.stem in checked.stdout + checked.stderr, (xdg, checked.stdout)


def test_an_edit_that_keeps_size_and_modification_time_is_seen(demo, tmp_path):
    """``touch -r`` (or ``cp -p``) can put an edited file's size and modification time back; its
    change time moves all the same, so the cache reads it again (as git's index does)."""
    machine = tmp_path / "machine"
    assert validate(demo, machine).returncode == 0
    record = sorted((demo / "records" / "complaint").rglob("*.yaml"))[0]
    before = record.stat()
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("schema_version: 1", "schema_version: x", 1), encoding="utf-8")
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = record.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    checked = validate(demo, machine)
    assert checked.returncode != 0 and record.stem in checked.stdout + checked.stderr


def test_a_save_while_the_file_is_read_is_not_stored_as_unchanged(demo, tmp_path, monkeypatch):
    """A file saved right after the cache read it (an editor, `servicebook status`, a checkout
    beside `validate` or `mkdocs serve`) must not be stored as the old content under the new
    file's stat signature: the next run would trust it until the file changed again. The other
    writer's save is real; the hook only fixes its moment, just after our read."""
    from servicebook.load import corpus as corpus_mod

    record = sorted((demo / "records" / "complaint").rglob("*.yaml"))[0]
    saved = record.read_bytes().replace(b"schema_version: 1", b"schema_version: one", 1)
    real = corpus_mod.read_bytes

    def read_then_another_save(path):
        data = real(path)
        if str(path).endswith(record.name):
            record.write_bytes(saved)
        return data

    from servicebook.load import cache as cache_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine"))  # the machine `validate` runs on below
    monkeypatch.delenv("SERVICEBOOK_NO_CACHE", raising=False)
    monkeypatch.setattr(corpus_mod, "read_bytes", read_then_another_save)
    cache_mod._local_key.cache_clear()
    try:
        corpus_mod.load(demo)  # reads every file, stores what it read
    finally:
        cache_mod._local_key.cache_clear()  # the next test's key is its own machine's again
    monkeypatch.setattr(corpus_mod, "read_bytes", real)
    checked = validate(demo, tmp_path / "machine")
    assert checked.returncode != 0 and record.stem in checked.stdout + checked.stderr


def test_a_file_changed_a_moment_ago_is_not_vouched_for_by_its_stat(demo, tmp_path, monkeypatch):
    """A file saved twice within one tick of the file system's clock, with the same size, keeps its
    size, times and inode: a cache that stored its signature between the two saves would trust the
    first content for ever (git's "racily clean" entries). A file changed a moment before it was
    read is stored without a signature, so the next run hashes it again; once its times are in the
    past the signature is stored and trusted. The other writer's save is real; the hook only fixes
    its moment, just before the cache takes the file's signature."""
    from servicebook.load import corpus as corpus_mod
    from servicebook.load.cache import FileCache, stat_signature

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine"))
    monkeypatch.delenv("SERVICEBOOK_NO_CACHE", raising=False)
    record = sorted((demo / "records" / "complaint").rglob("*.yaml"))[0]
    rel = record.relative_to(demo).as_posix()
    real = os.stat

    def saved_just_before(path, *args, **kwargs):  # every stat the cache takes a signature from
        if str(path).endswith(record.name):
            record.write_bytes(record.read_bytes())
        return real(path, *args, **kwargs)

    def stored_signature():
        corpus = corpus_mod.load(demo)
        return FileCache(demo, corpus.schemas.digest, corpus_mod.MAX_BYTES).entries[rel][3]

    monkeypatch.setattr(os, "stat", saved_just_before)
    assert stored_signature() is None   # the first run, every file read
    assert stored_signature() is None   # a later run: hashed again, still not vouched for
    monkeypatch.setattr(os, "stat", real)
    time.sleep(0.3)
    assert stat_signature(record.stat()) is not None
    assert stored_signature() == stat_signature(record.stat())
