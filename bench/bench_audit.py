"""Benchmark: `servicebook audit` on a long history with signed approvals, beside GitPython's
plain commit walk in the same run.

Builds a synthetic repository of ``--commits`` commits (default 100,000) touching
``--commits / 10`` complaint records: each is opened, worked on (remarks edited), resolved and
closed, and every closing commit is an approval signed with the customer-service manager's
ed25519 key (git's SSH signing format, SSHSIG in a ``gpgsig`` header) carrying Approved-by,
Approved-role, Approved-record and Approved-blob: 10,000 signed approvals at the default size.

git 2.39's ``fast-import`` cannot write signed commits, and a signature covers the commit's tree
and parent IDs, so the objects are made here: blobs, trees and commits hashed in Python, the
approvals signed with the ``cryptography`` package directly (no ssh-keygen per commit), written
as one pack file and indexed by ``git index-pack``. Records lie in ``records/complaint/<year>/<a>/<b>/``
so that no tree is large (deeper folders are free).

Then, in the same process:

* our audit of every record, every version read (history, contents, signatures, checks); run
  twice: cold (no signature cache) and warm (verdicts cached by commit ID);
* GitPython's walk: ``repo.iter_commits()`` reading author, date, message and parents of every
  commit (the object walk alone, no diffs).

Not part of the test suite. Usage: python bench/bench_audit.py [--commits N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

MAIN = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(MAIN / "tools"))

STAFF = [
    ("P-sun-li", "Sun Li", "sun.li@example.com", "customer_service"),
    ("P-wang-qiang", "Wang Qiang", "wang.qiang@example.com", "technical_engineer"),
    ("P-zhou-min", "Zhou Min", "zhou.min@example.com", "cs_manager"),
]
# the life of one record: commit i of a record moves it to STEPS[i] (remarks edited on the way)
STEPS = ["open", "in_progress", "in_progress", "in_progress", "in_progress", "in_progress",
         "in_progress", "in_progress", "resolved", "closed"]
HOURS = [9, 10, 10, 10, 10, 10, 10, 10, 15, 17]


def person_yaml(pid, name, email, role, key=""):
    keys = f"signing_keys:\n  - key: {key}\n" if key else ""
    return (f"id: {pid}\nschema_version: 1\nname: {name}\nroles: [{role}]\ndepartment: customer_service\n"
            f"git: {{name: {name}, email: {email}, handle: {pid.lower()}}}\n{keys}")


def complaint_yaml(rid: str, step: int) -> str:
    hist, last = [], None
    for i in range(step + 1):
        if STEPS[i] != last:
            who = STAFF[2][0] if STEPS[i] == "closed" else STAFF[1][0] if i else STAFF[0][0]
            hist.append(f"  - at: '2026-01-01T{HOURS[i]:02d}:00:00+08:00'\n    by: {who}\n"
                        f"    status: {STEPS[i]}\n")
            last = STEPS[i]
    return (f"id: {rid}\nschema_version: 1\ncustomer: CU-x\nfilled_by: P-sun-li\n"
            f"created_at: '2026-01-01T09:00:00+08:00'\nstatus: {STEPS[step]}\nhistory:\n"
            + "".join(hist) + f"remarks: working notes, round {min(step, 7)}\n")


class Pack:
    """Loose objects hashed as git does and written as one pack (no deltas)."""

    TYPES = {b"commit": 1, b"tree": 2, b"blob": 3}

    def __init__(self, path: Path):
        self.f = open(path, "wb")
        self.f.write(b"PACK" + struct.pack(">II", 2, 0))  # count patched at the end
        self.n = 0

    def add(self, kind: bytes, data: bytes) -> bytes:
        sha = hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).digest()
        size = len(data)
        byte = (self.TYPES[kind] << 4) | (size & 15)
        size >>= 4
        head = bytearray()
        while size:
            head.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        head.append(byte)
        self.f.write(bytes(head) + zlib.compress(data, 1))
        self.n += 1
        return sha

    def close(self) -> None:
        self.f.seek(8)
        self.f.write(struct.pack(">I", self.n))
        self.f.close()
        data = Path(self.f.name).read_bytes()
        with open(self.f.name, "ab") as f:
            f.write(hashlib.sha1(data).digest())


def tree_bytes(entries: dict) -> bytes:
    return b"".join((b"40000 " if d else b"100644 ") + name + b"\0" + sha
                    for name, (d, sha) in sorted(entries.items()))


def build(path: Path, commits: int) -> dict:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from servicebook.derive.audit import sshsig

    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    shutil.copytree(MAIN / "schemas", path / "schemas")
    key = ed25519.Ed25519PrivateKey.generate()
    pack_path = path / ".git" / "objects" / "pack" / "bench.pack"
    pack = Pack(pack_path)
    # the tree: nested dicts of name -> (is_dir, sha) entries, rehashed along the changed path
    root: dict = {}
    dirs: dict[tuple, dict] = {(): root}

    def put(rel: str, blob_sha: bytes) -> bytes:
        parts = rel.encode().split(b"/")
        for i in range(len(parts) - 1):
            dirs.setdefault(tuple(parts[:i + 1]), {})
        dirs[tuple(parts[:-1])][parts[-1]] = (False, blob_sha)
        sha = b""
        for i in range(len(parts) - 1, -1, -1):
            sha = pack.add(b"tree", tree_bytes(dirs[tuple(parts[:i])]))
            if i:
                dirs[tuple(parts[:i - 1])][parts[i - 1]] = (True, sha)
        return sha

    parent = None
    ts = 1_770_000_000  # 2026-02-02: after every history date written below
    stats = {"signed": 0}

    def commit(who, message: str, files, sign: bool = False) -> None:
        nonlocal parent, ts
        ts += 60
        tree = b""
        for rel, text in files:
            tree = put(rel, pack.add(b"blob", text.encode()))
        ident = f"{who[1]} <{who[2]}> {ts} +0800"
        head = f"tree {tree.hex()}\n" + (f"parent {parent}\n" if parent else "") + \
            f"author {ident}\ncommitter {ident}\n"
        payload = (head + "\n" + message).encode()
        if sign:
            payload = sshsig.signed_commit(payload, sshsig.sign_ed25519(key, payload))
            stats["signed"] += 1
        parent = pack.add(b"commit", payload).hex()

    people = [(f"records/person/{p[0]}.yaml",
               person_yaml(*p, key=sshsig.openssh_public(key, "zhou.min")) if p[0] == "P-zhou-min"
               else person_yaml(*p)) for p in STAFF]
    commit(STAFF[0], "Staff\n", people)
    n_records = max(1, commits // len(STEPS))
    steps = [0] * n_records
    done = 1
    order = 0
    while True:
        # records interleave like a real archive: a fixed stride through them, ten rounds
        num = (order * 7919) % n_records
        order += 1
        step = steps[num]
        if step >= len(STEPS):
            if all(s >= len(STEPS) for s in steps):
                break
            continue
        steps[num] += 1
        year, a, b = 2020 + num % 7, (num // 7) % 16, (num // 112) % 16
        rid = f"CP-{year}0101-{num:06d}"
        rel = f"records/complaint/{year}/{a:x}/{b:x}/{rid}.yaml"
        text = complaint_yaml(rid, step)
        msg = f"{rid}: {STEPS[step]}\n"
        who = STAFF[0] if step == 0 else STAFF[1]
        if STEPS[step] == "closed":
            who = STAFF[2]
            blob = hashlib.sha1(b"blob %d\0" % len(text.encode()) + text.encode()).hexdigest()
            msg += (f"\nApproved-by: Zhou Min <zhou.min@example.com>\nApproved-role: cs_manager\n"
                    f"Approved-record: {rid}\nApproved-blob: {blob}\n")
        commit(who, msg, [(rel, text)], sign=STEPS[step] == "closed")
        done += 1
    pack.close()
    subprocess.run(["git", "index-pack", str(pack_path)], cwd=path, check=True, capture_output=True)
    subprocess.run(["git", "update-ref", "refs/heads/main", parent], cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)
    stats.update(commits=done, records=n_records)
    return stats


def audit_once(where: Path, label: str) -> float:
    from servicebook.derive.audit import trail as audit

    cpu0 = os.times()
    t0 = time.perf_counter()
    auditor = audit.Auditor(where)
    t_hist = time.perf_counter() - t0
    trails = auditor.run()
    t_ours = time.perf_counter() - t0
    rules: dict[str, int] = {}
    for t in trails:
        for f in t.findings:
            rules[f.rule] = rules.get(f.rule, 0) + 1
    n_appr = sum(len(t.approvals) for t in trails)
    cpu1 = os.times()
    cpu = sum(b - a for a, b in zip(cpu0[:4], cpu1[:4]))
    print(f"audit ({label}): {len(trails)} records, {n_appr} approvals, findings {rules or 'none'}: "
          f"{t_ours:.2f} s wall, {cpu:.2f} s CPU incl. git (history read and working tree "
          f"{t_hist:.2f} s); load average {os.getloadavg()[0]:.1f}")
    return t_ours


def one_record(where: Path) -> None:
    """`servicebook audit ID` end to end (a process of its own, the kept history warm), beside
    git finding that one file's commits by itself (a pathspec walk of the whole history)."""
    rid = min(p.stem for p in (where / "records" / "complaint").rglob("*.yaml"))
    env = dict(os.environ, PYTHONPATH=str(MAIN / "tools"))

    def timed(cmd) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=where, env=env, check=True, capture_output=True)
        return time.perf_counter() - t0
    ours = min(timed([sys.executable, "-m", "servicebook", "audit", rid]) for _ in range(3))
    peer = min(timed(["git", "log", "--format=%H", "--", f":(glob)records/**/{rid}.yaml"]) for _ in range(3))
    print(f"audit {rid} (one record, warm, end to end): {ours:.2f} s; git log of that file alone "
          f"{peer:.2f} s (ratio {ours / peer:.2f}); load average {os.getloadavg()[0]:.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it")
    ap.add_argument("--repo", type=Path, help="reuse a repository built before with --keep")
    args = ap.parse_args()
    import git

    where = args.repo or args.keep or Path(tempfile.mkdtemp(prefix="sb-bench-"))
    if not args.repo:
        t0 = time.perf_counter()
        stats = build(where, args.commits)
        print(f"built {stats['commits']} commits ({stats['signed']} signed approvals, "
              f"{stats['records']} records) in {time.perf_counter() - t0:.1f} s at {where}")
    shutil.rmtree(where / ".cache", ignore_errors=True)
    cold = audit_once(where, "cold: every signature verified")
    warm = audit_once(where, "warm: verdicts cached by commit ID")

    one_record(where)
    repo = git.Repo(where)
    t0 = time.perf_counter()
    n = 0
    for c in repo.iter_commits("HEAD"):
        _ = (c.author.email, c.committed_datetime, c.message, c.parents)
        n += 1
    t_walk = time.perf_counter() - t0
    print(f"GitPython walk (repo.iter_commits, no diffs): {n} commits {t_walk:.2f} s")
    print(f"ratio audit / walk: cold {cold / t_walk:.2f}, warm {warm / t_walk:.2f} "
          f"(the walk reads no record, no diff and no signature)")
    if not (args.keep or args.repo):
        shutil.rmtree(where, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
