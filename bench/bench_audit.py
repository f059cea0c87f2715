"""Benchmark: `servicebook audit` (one `git log`) against GitPython's commit-object walk.

Builds a synthetic repository with ``--commits`` commits (default 100,000) through
``git fast-import`` (seconds, not minutes): a small staff, complaint records moving
open -> in_progress -> resolved -> closed (the closing commit carries approval trailers), some
later edits. Then times:

* our audit of every record (history read, trails, checks with contents for approval records);
* GitPython's walk: ``repo.iter_commits()`` reading author, message and parents of every commit,
  plus the per-commit diff a walk needs to know which records changed, measured on a sample and
  extrapolated (a diff per commit spawns work per commit; the full walk would take minutes).

Not part of the test suite. Usage: python bench/bench_audit.py [--commits N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(MAIN / "tools"))

STAFF = [
    ("P-sun-li", "Sun Li", "sun.li@example.com", "customer_service"),
    ("P-wang-qiang", "Wang Qiang", "wang.qiang@example.com", "technical_engineer"),
    ("P-zhou-min", "Zhou Min", "zhou.min@example.com", "cs_manager"),
]
STEPS = ["open", "in_progress", "resolved", "closed"]
# the complaint lifecycle is used for the content of every kind: only the folder sizes matter here
KINDS = [("complaint", "CP"), ("repair", "RP"), ("callback", "CB"), ("solution", "SO"),
         ("survey", "SV"), ("contract", "CT"), ("installation", "IN")]


def person_yaml(pid, name, email, role):
    return (f"id: {pid}\nschema_version: 1\nname: {name}\nroles: [{role}]\ndepartment: customer_service\n"
            f"git: {{name: {name}, email: {email}, handle: {pid.lower()}}}\n")


def complaint_yaml(rid, step, edits):
    hist = "".join(
        f"  - at: '2026-01-01T{9 + i:02d}:00:00+08:00'\n    by: {STAFF[min(i, 2) if i < 3 else 2][0]}\n"
        f"    status: {s}\n" for i, s in enumerate(STEPS[: step + 1]))
    return (f"id: {rid}\nschema_version: 1\ncustomer: CU-x\nfilled_by: P-sun-li\n"
            f"created_at: '2026-01-01T09:00:00+08:00'\nstatus: {STEPS[step]}\nhistory:\n{hist}"
            f"remarks: edit {edits}\n")


def build(path: Path, commits: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    shutil.copytree(MAIN / "schemas", path / "schemas")
    (path / "records").mkdir()
    out = []
    ts = 1_770_000_000  # 2026-02-02: after every history date written below

    def blob(text: str) -> None:
        data = text.encode()
        out.append(b"data %d\n" % len(data) + data + b"\n")

    def commit(who, message, files, mark):
        nonlocal ts
        ts += 60
        name, email = who[1], who[2]
        out.append(f"commit refs/heads/main\nmark :{mark}\n"
                   f"author {name} <{email}> {ts} +0800\ncommitter {name} <{email}> {ts} +0800\n".encode())
        msg = message.encode()
        out.append(b"data %d\n" % len(msg) + msg + b"\n")
        if mark > 1:
            out.append(f"from :{mark - 1}\n".encode())
        for rel, text in files:
            out.append(f"M 100644 inline {rel}\n".encode())
            blob(text)
        out.append(b"\n")

    staff_files = [(f"records/person/{p[0]}.yaml", person_yaml(*p)) for p in STAFF]
    commit(STAFF[0], "Staff", staff_files, 1)
    state: dict[str, list[int]] = {}
    n_records = max(1, commits // 6)
    for i in range(2, commits + 1):
        # records spread over kinds and years like a real archive (a few hundred per folder)
        num = (i * 7919) % n_records
        kind, prefix = KINDS[num % len(KINDS)]
        year = 2020 + (num // len(KINDS)) % 7
        rid = f"{prefix}-{year}0101-{num:06d}"
        step, edits = state.get(rid, [-1, 0])
        if step < 3:
            step += 1
        else:
            edits += 1
        state[rid] = [step, edits]
        who = STAFF[min(step, 2)] if edits == 0 else STAFF[0]
        msg = f"{rid}: {STEPS[step]}"
        if step == 3 and edits == 0 and kind == "complaint":
            msg += "\n\nApproved-by: Zhou Min <zhou.min@example.com>\nApproved-role: cs_manager\n"
        commit(who, msg, [(f"records/{kind}/{year}/{rid}.yaml", complaint_yaml(rid, step, edits))], i)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(out), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=2000, help="commits diffed in the walk sample")
    ap.add_argument("--keep", type=Path, help="build the repository here and keep it")
    ap.add_argument("--repo", type=Path, help="reuse a repository built before with --keep")
    args = ap.parse_args()
    import git

    from servicebook.derive.audit import trail as audit

    where = args.repo or args.keep or Path(tempfile.mkdtemp(prefix="sb-bench-"))
    if not args.repo:
        t0 = time.perf_counter()
        build(where, args.commits)
        print(f"built {args.commits} commits in {time.perf_counter() - t0:.1f} s at {where}")

    import os

    cpu0 = os.times()
    t0 = time.perf_counter()
    auditor = audit.Auditor(where)
    t_hist = time.perf_counter() - t0
    trails = auditor.run()
    t_ours = time.perf_counter() - t0
    n_find = sum(len(t.findings) for t in trails)
    cpu1 = os.times()
    cpu = sum(b - a for a, b in zip(cpu0[:4], cpu1[:4]))
    print(f"audit: {len(trails)} records, {n_find} findings: {t_ours:.2f} s wall, {cpu:.2f} s CPU "
          f"incl. git (history read {t_hist:.2f} s); load average {os.getloadavg()[0]:.1f}")

    repo = git.Repo(where)
    t0 = time.perf_counter()
    n = 0
    for c in repo.iter_commits("HEAD"):
        _ = (c.author.email, c.committed_datetime, c.message, c.parents)
        n += 1
    t_walk = time.perf_counter() - t0
    t0 = time.perf_counter()
    k = 0
    for c in repo.iter_commits("HEAD", max_count=args.sample):
        if c.parents:
            c.diff(c.parents[0], paths="records")
        k += 1
    t_diff = (time.perf_counter() - t0) / max(k, 1) * n
    print(f"GitPython walk: {n} commit objects {t_walk:.2f} s; + per-commit diff "
          f"(extrapolated from {k}) {t_diff:.1f} s; total {t_walk + t_diff:.1f} s")
    print(f"ratio (walk with diffs / ours): {(t_walk + t_diff) / t_ours:.0f}x; "
          f"(object walk alone / ours): {t_walk / t_ours:.1f}x")
    if not (args.keep or args.repo):
        shutil.rmtree(where, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
