"""A real git repository in a temporary folder, with the project's schemas, lifecycle, review
rules and a small staff, for the audit, CODEOWNERS and pull-request tests.

Every person has a real SSH signing key (made once per test process by ``ssh-keygen``) in their
person record, and every commit is signed by the key of the person making it (git's own SSH
signing), unless a test says otherwise (``key=None``: unsigned; ``key="P-..."``: someone's key)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

MAIN = Path(__file__).resolve().parents[1]

# id: (name, git name, e-mail, handle, roles)
STAFF = {
    "P-li-na": ("李娜", "Li Na", "li.na@example.com", "lina-bc", ["sales_manager"]),
    "P-zhao-lei": ("赵磊", "Zhao Lei", "zhao.lei@example.com", "zhaolei-bc", ["sales_manager"]),
    "P-chen-jing": ("陈静", "Chen Jing", "chen.jing@example.com", "chenjing-bc", ["general_manager"]),
    "P-sun-li": ("孙丽", "Sun Li", "sun.li@example.com", "sunli-bc", ["customer_service"]),
    "P-wang-qiang": ("王强", "Wang Qiang", "wang.qiang@example.com", "wangqiang-bc",
                     ["technical_engineer"]),
    "P-zhou-min": ("周敏", "Zhou Min", "zhou.min@example.com", "zhoumin-bc", ["cs_manager"]),
    "P-he-fang": ("何芳", "He Fang", "he.fang@example.com", "hefang-bc", ["administration"]),
}

FS_ID = "FS-20261105-6WRB1C"
FS_PATH = f"records/feasibility/2026/{FS_ID}.yaml"
CP_ID = "CP-20261202-7KQ2XM"
CP_PATH = f"records/complaint/2026/{CP_ID}.yaml"


_KEYS: dict[str, Path] = {}
_KEY_DIR: list[Path] = []


def key_file(name: str) -> Path:
    """The private key file of ``name`` (a person ID or any label, e.g. "platform"), made with
    ``ssh-keygen`` the first time it is asked for; ``.pub`` beside it."""
    if name not in _KEYS:
        if not _KEY_DIR:
            _KEY_DIR.append(Path(tempfile.mkdtemp(prefix="sb-keys-")))
            atexit.register(shutil.rmtree, _KEY_DIR[0], True)
        path = _KEY_DIR[0] / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
                       check=True, capture_output=True)
        _KEYS[name] = path
    return _KEYS[name]


def public_key(name: str) -> str:
    return Path(f"{key_file(name)}.pub").read_text().strip()


def person(pid: str, keys: list | None = None) -> dict:
    name, git_name, email, handle, roles = STAFF[pid]
    return {"id": pid, "schema_version": 1, "name": name, "name_en": git_name, "roles": roles,
            "department": "sales", "git": {"name": git_name, "email": email, "handle": handle},
            "signing_keys": [{"key": public_key(pid)}] if keys is None else keys}


def trailer(pid: str, role: str, url: str = "https://git.example.com/sb/pulls/7",
            record: str | None = None, blob: str | None = None) -> str:
    _n, git_name, email, _h, _r = STAFF[pid]
    out = f"Approved-by: {git_name} <{email}>\nApproved-role: {role}"
    if url:
        out += f"\nReviewed-on: {url}"
    if record:
        out += f"\nApproved-record: {record}"
    if blob:
        out += f"\nApproved-blob: {blob}"
    return out


def feasibility(filled_by: str = "P-li-na", history=None, **extra) -> dict:
    history = history or [
        {"at": "2026-11-05T14:00:00+08:00", "by": filled_by, "status": "draft"},
        {"at": "2026-11-05T16:30:00+08:00", "by": filled_by, "status": "submitted"},
    ]
    data = {
        "id": FS_ID, "schema_version": 1, "customer": "CU-hengda-logistics",
        "filled_by": filled_by, "created_at": "2026-11-05T14:00:00+08:00",
        "status": history[-1]["status"], "history": history,
        "solution": "SO-20261104-2HVN6P",
        "operating_model": "一次性采购,按月收取话费。",
        "equipment_investment": {"amount": 27440, "currency": "CNY"},
        "payback_months": 5,
    }
    data.update(extra)
    return data


def approved(data: dict, by: str = "P-chen-jing", at: str = "2026-11-06T09:15:00+08:00") -> dict:
    out = dict(data, status="approved")
    out["history"] = list(data["history"]) + [{"at": at, "by": by, "status": "approved"}]
    return out


class Repo:
    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.clock = 1_794_000_000  # 2026-11-07, after every history date used in the tests
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")
        shutil.copytree(MAIN / "schemas", path / "schemas")
        (path / ".github").mkdir()
        rules = yaml.safe_load((MAIN / ".github" / "review-rules.yaml").read_text(encoding="utf-8"))
        rules.pop("baseline", None)  # the demo's baseline is a commit of the project's history
        (path / ".github" / "review-rules.yaml").write_text(
            yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
        for pid in STAFF:
            self.write(f"records/person/{pid}.yaml", person(pid))
        self.commit("P-he-fang", "Staff and schemas", ".")

    def git(self, *args: str, who: str = "P-he-fang", input: str | None = None,
            key: str | None = "", as_who: str | None = None) -> str:
        """git as ``who`` (author and committer ``as_who`` if given), signing commits with the
        key of ``key`` (default: ``who``'s; None: unsigned)."""
        _n, git_name, email, _h, _r = STAFF.get(as_who or who, (who, who, f"{who}@example.com", "", []))
        self.clock += 60
        stamp = f"@{self.clock} +0800"
        signer = who if key == "" else key
        signing = signer is not None and (signer in STAFF or signer == "platform")
        env = dict(os.environ, GIT_AUTHOR_NAME=git_name, GIT_AUTHOR_EMAIL=email,
                   GIT_COMMITTER_NAME=git_name, GIT_COMMITTER_EMAIL=email,
                   GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp,
                   GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
                   GIT_CONFIG_COUNT="3", GIT_CONFIG_KEY_0="gpg.format", GIT_CONFIG_VALUE_0="ssh",
                   GIT_CONFIG_KEY_1="user.signingkey",
                   GIT_CONFIG_VALUE_1=str(key_file(signer)) if signing else "",
                   GIT_CONFIG_KEY_2="commit.gpgsign", GIT_CONFIG_VALUE_2="true" if signing else "false")
        done = subprocess.run(["git", *args], cwd=self.path, env=env, input=input, text=True,
                              capture_output=True)
        if done.returncode:
            raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
        return done.stdout.strip()

    def write(self, rel: str, data: dict) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def commit(self, who: str, message: str, *paths: str, **how) -> str:
        self.git("add", "--", *paths, who=who)
        self.git("commit", "-q", "-m", message, who=who, **how)
        return self.git("rev-parse", "HEAD")

    def save(self, who: str, rel: str, data: dict, message: str, **how) -> str:
        self.write(rel, data)
        return self.commit(who, message, rel, **how)

    def remove(self, who: str, rel: str, message: str, **how) -> str:
        self.git("rm", "-q", "--", rel, who=who)
        self.git("commit", "-q", "-m", message, who=who, **how)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, who: str, message: str, **how) -> str:
        self.git("merge", "-q", "--no-ff", branch, "-m", message, who=who, **how)
        return self.git("rev-parse", "HEAD")

    def blob(self, rel: str) -> str:
        return self.git("hash-object", "--", rel)
