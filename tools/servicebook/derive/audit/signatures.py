"""The signature verdict of every commit that carries approval evidence, cached by commit ID.

A verdict (unsigned; good with key K; bad, and why) depends on the commit object alone, and a
commit ID names its bytes, so a verdict never goes stale: it is kept in
``.cache/servicebook/signatures-<version>.sqlite`` (outside git; :mod:`.store`) and only new commits are read (one ``git cat-file --batch``) and
verified (in-process, :mod:`servicebook.derive.audit.sshsig`). Whose key K is, and whether it
was valid then, is decided afresh on every run from the person records in history. A damaged or
foreign cache is ignored, never trusted; ``SERVICEBOOK_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path
from typing import Iterable

from servicebook.derive.audit import openpgp, sshsig
from servicebook.derive.audit.store import Table, version_of


def _version() -> str:
    # the verifier's source is part of the key: a fixed verifier re-checks everything
    return version_of(Path(sshsig.__file__), Path(openpgp.__file__))


def Blobs(root: Path, parser_source: bytes) -> Table:
    """Record versions as parsed, by git blob ID (a blob ID names its bytes, so an entry never
    goes stale); the version holds the parser's source, so a changed parser misses."""
    return Table.file(root, "blobs", version_of(parser_source))


class Verdicts:
    def __init__(self, root: Path, repo):
        self.entries = Table.file(root, "signatures", _version())
        self.repo = repo

    # verifying costs ~0.1 ms a commit: from this many on, a forked worker verifies while the
    # caller goes on (reading and parsing record versions) on the other core
    FORK_FROM = 2000

    def start(self, shas: Iterable[str], pgp_keys: list | None = None) -> None:
        """Begin verifying every commit of ``shas`` not yet known (read in one batch);
        ``finish`` (or ``get``) collects the verdicts. ``pgp_keys``: the OpenPGP platform keys
        any version of the rules names (an OpenPGP signature by another key is not cached: a
        key named later must be able to verify it)."""
        from servicebook.derive.audit.trail import cat_file

        self.pgp_keys = list(pgp_keys or [])
        shas = set(shas)
        self.entries.preload(shas)
        todo = sorted(s for s in shas if s not in self.entries)
        raws = dict(cat_file(self.repo, todo))
        if len(raws) >= self.FORK_FROM:
            self._pending = (Forked(_verify_all, (raws, self.pgp_keys)), raws)
        else:
            self._verify(raws)

    def finish(self) -> None:
        if not getattr(self, "_pending", None):
            return
        job, raws = self._pending
        self._pending = None
        verdicts = job.collect()
        if isinstance(verdicts, dict) and set(verdicts) == set(raws):
            self.entries.update(verdicts)
        else:  # the worker failed: verify here
            self._verify(raws)

    def _verify(self, raws: dict[str, bytes]) -> None:
        self.entries.update(_verify_all((raws, getattr(self, "pgp_keys", []))))

    def save(self) -> None:
        self.entries.pending = {k: v for k, v in self.entries.pending.items() if v[0] != UNKNOWN_KEY}
        self.entries.save()

    def prefetch(self, shas: Iterable[str]) -> None:
        """Verify every commit of ``shas`` not yet known, reading them in one batch."""
        self.start(shas)
        self.finish()

    def get(self, sha: str) -> sshsig.Verdict:
        self.finish()
        if sha not in self.entries:
            self.prefetch([sha])
        hit = self.entries.get(sha)
        if not (isinstance(hit, tuple) and len(hit) == 3):
            return sshsig.Verdict(sshsig.BAD, "", "commit object not found")
        return sshsig.Verdict(*hit)


UNKNOWN_KEY = "unknown-key"  # an OpenPGP signature by a key no version of the rules names


def verify_commit(raw: bytes, pgp_keys: list) -> sshsig.Verdict:
    """The verdict on one raw commit: an SSH signature by any key, or an OpenPGP signature by
    one of ``pgp_keys`` (its key written ``pgp:FINGERPRINT``)."""
    payload, armored = sshsig.split_commit(raw)
    if armored is None:
        return sshsig.Verdict(sshsig.UNSIGNED)
    if armored.lstrip().startswith(openpgp.BEGIN_SIG):
        status, fp, reason = openpgp.verify(payload, armored, pgp_keys)
        key = f"pgp:{fp}" if fp else ""
        if status == "good":
            return sshsig.Verdict(sshsig.GOOD, key)
        return sshsig.Verdict(UNKNOWN_KEY if status == "unknown" else sshsig.BAD, key, reason)
    return sshsig.verify(payload, armored)


def _verify_all(job: tuple[dict[str, bytes], list]) -> dict[str, tuple[str, str, str]]:
    raws, pgp_keys = job
    return {sha: verify_commit(raw, pgp_keys).as_tuple() for sha, raw in raws.items()}


class Forked:
    """``fn(arg)`` computed by a forked worker (it shares the parent's memory, so ``arg`` is not
    copied) while the caller goes on; ``collect()`` gives the result, sent back with marshal, or
    None when the worker failed (the caller then computes it itself). Without ``os.fork`` the
    work is done at once."""

    def __init__(self, fn, arg):
        self.pid = None
        self.result = None
        if not hasattr(os, "fork"):
            self.result = fn(arg)
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: compute, send, exit without running the parent's handlers
            status = 1
            try:
                os.close(read)
                out = marshal.dumps(fn(arg))
                with os.fdopen(write, "wb") as f:
                    f.write(out)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self.pid, self.read = pid, read

    def collect(self):
        if self.pid is None:
            return self.result
        with os.fdopen(self.read, "rb") as f:
            data = f.read()
        os.waitpid(self.pid, 0)
        self.pid = None
        try:
            return marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None
