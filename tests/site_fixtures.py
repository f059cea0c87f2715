"""A small repository for site tests: the real schemas, mkdocs configs and docs, plus records made
from the schemas' examples (one coherent deal and service case), some staff, and a hostile
complaint whose text tries HTML, Markdown and template injection."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-12-10T10:00:00+08:00"

HOSTILE_ID = "CP-20261209-HX55AA"
HOSTILE_TEXT = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> '
                '[click](javascript:window.__pwned=3) {{ 7*7 }} {% raw %} **bold** | pipe `tick`')
PHONE = "13912345678"
EMAIL = "li.na@hengda.example.com"

PERSON_EXTRA = {
    "P-li-hua": ("李华", ["customer_service"], "customer_service"),
    "P-zhao-min": ("赵敏", ["cs_manager"], "customer_service"),
    "P-chen-gang": ("陈刚", ["technical_engineer"], "technical"),
    "P-liu-yang": ("刘洋", ["general_manager"], "executive"),
    "P-sun-li": ("孙丽", ["sales_manager"], "sales"),
    "P-zhou-jie": ("周杰", ["salesperson"], "sales"),
    "P-wu-fang": ("吴芳", ["technical_manager"], "technical"),
}


def examples() -> dict[str, dict]:
    out = {}
    for path in sorted((REPO / "schemas").glob("*.schema.json")):
        if path.name == "common.schema.json":
            continue
        kind = path.name[: -len(".schema.json")]
        schema = json.loads(path.read_text(encoding="utf-8"))
        for ex in schema.get("examples", [])[:1]:
            out[kind] = ex
    return out


def record_path(root: Path, kind: str, data: dict) -> Path:
    rid = data["id"]
    parts = rid.split("-")
    if kind in ("person", "customer", "product", "policy", "calendar"):
        return root / "records" / kind / f"{rid}.yaml"
    return root / "records" / kind / parts[1][:4] / f"{rid}.yaml"


def write_record(root: Path, kind: str, data: dict) -> Path:
    path = record_path(root, kind, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def referenced_persons(value, out: set[str]) -> set[str]:
    if isinstance(value, dict):
        for v in value.values():
            referenced_persons(v, out)
    elif isinstance(value, list):
        for v in value:
            referenced_persons(v, out)
    elif isinstance(value, str) and value.startswith("P-") and " " not in value:
        out.add(value)
    return out


def make_repo(root: Path, hostile: bool = True) -> Path:
    """Write the fixture repository into `root` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "schemas", root / "schemas", dirs_exist_ok=True)
    for name in ("mkdocs.yml", "mkdocs.en.yml"):
        shutil.copy(REPO / name, root / name)
    if (REPO / "docs").is_dir():
        shutil.copytree(REPO / "docs", root / "docs", dirs_exist_ok=True)
    else:
        (root / "docs").mkdir()
    ex = examples()
    persons = set()
    for kind, data in ex.items():
        data = json.loads(json.dumps(data))
        if kind == "customer":
            contacts = data.get("contacts") or []
            if contacts and isinstance(contacts[0], dict):
                contacts[0]["phone"] = PHONE
                contacts[0]["email"] = EMAIL
        if kind == "policy" and isinstance(data.get("calendars"), dict):
            # the fixture has one calendar: the example's own
            cal = ex.get("calendar", {}).get("id")
            data["calendars"] = {tier: cal for tier in data["calendars"]} if cal else data["calendars"]
        write_record(root, kind, data)
        referenced_persons(data, persons)
    person_example = ex.get("person", {})
    for pid in sorted(persons | set(PERSON_EXTRA)):
        if pid == person_example.get("id"):
            continue
        name, roles, dept = PERSON_EXTRA.get(pid, (pid[2:].replace("-", " ").title(), ["technical_engineer"], "technical"))
        data = {"id": pid, "schema_version": 1, "name": name, "roles": roles, "department": dept}
        write_record(root, "person", data)
    if hostile and "complaint" in ex:
        data = json.loads(json.dumps(ex["complaint"]))
        data["id"] = HOSTILE_ID
        data["created_at"] = "2026-12-09T09:00:00+08:00"
        data["status"] = "open"
        first = dict(data["history"][0])
        first.update(at="2026-12-09T09:00:00+08:00", status="open", note=HOSTILE_TEXT)
        data["history"] = [first]
        if data.get("issues"):
            data["issues"] = [dict(data["issues"][0], problem=HOSTILE_TEXT)]
        data["remarks"] = HOSTILE_TEXT
        for key in ("received_at",):
            if key in data:
                data[key] = "2026-12-09T09:00:00+08:00"
        write_record(root, "complaint", data)
    return root


# --- a git repository: the audit trail on the site ------------------------------------------------

APPROVED_ID = "FS-20261105-6WRB1C"      # approved with evidence, then edited without a new approval
PENDING_ID = "CP-20261202-7KQ2XM"       # resolved: waiting for the CS manager to close it
APPROVER = "P-chen-jing"                # the general manager who approves the feasibility appraisal
REVIEW_URL = "https://git.example.com/servicebook/pulls/12"
STAFF_DOMAIN = "staff.example.com"


def git_identity(pid: str) -> tuple[str, str]:
    slug = pid[2:]
    return slug.replace("-", " ").title(), f"{slug}@{STAFF_DOMAIN}"


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def make_git_repo(root: Path, hostile: bool = True) -> Path:
    """`make_repo` as a real git repository: the records committed by the staff (git identities on
    the person records), the feasibility appraisal submitted, approved by the general manager in a
    commit carrying `Approved-by` trailers, then edited without a new approval; and a complaint
    waiting for the CS manager's confirmation."""
    import os
    import subprocess

    make_repo(root, hostile=hostile)
    for path in sorted((root / "records" / "person").glob("*.yaml")):
        data = _yaml(path)
        name, email = git_identity(data["id"])
        data["git"] = {"name": name, "email": email, "handle": data["id"][2:]}
        if data["id"] == APPROVER:
            data["roles"] = ["general_manager"]
            # approval evidence counts only signed by a key of the approver (issue #15)
            key = root.parent / "approver-signing-key"  # outside the repository
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                               check=True, capture_output=True)
            data["signing_keys"] = [{"key": Path(f"{key}.pub").read_text(encoding="utf-8").strip()}]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cp_path = next((root / "records" / "complaint").rglob(f"{PENDING_ID}.yaml"))
    cp = _yaml(cp_path)
    cp["history"] = [h for h in cp["history"] if h["status"] != "closed"]
    cp["status"] = cp["history"][-1]["status"]
    cp_path.write_text(yaml.safe_dump(cp, allow_unicode=True, sort_keys=False), encoding="utf-8")
    fs_path = next((root / "records" / "feasibility").rglob(f"{APPROVED_ID}.yaml"))
    approved = _yaml(fs_path)
    submitted = dict(approved, history=[h for h in approved["history"] if h["status"] != "approved"])
    submitted["status"] = submitted["history"][-1]["status"]
    clock = [0]

    def git(*args: str, who: str = "P-he-fang") -> None:
        name, email = git_identity(who)
        clock[0] += 1
        stamp = f"2026-12-10T18:{clock[0]:02d}:00+08:00"
        env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name,
                   GIT_COMMITTER_EMAIL=email, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp,
                   GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True)

    def save(data: dict, who: str, message: str, sign: bool = False) -> None:
        fs_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        git("add", "--", str(fs_path.relative_to(root)), who=who)
        signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={root.parent / 'approver-signing-key'}",
                   "commit", "-S"] if sign else ["commit"]
        git(*signing, "-q", "-m", message, who=who)

    git("init", "-q", "-b", "main")
    fs_path.write_text(yaml.safe_dump(submitted, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git("add", "-A")
    git("commit", "-q", "-m", "Fixture records")
    name, email = git_identity(APPROVER)
    save(approved, APPROVER, f"Approve {APPROVED_ID}\n\nApproved-by: {name} <{email}>\n"
                             f"Approved-role: general_manager\nReviewed-on: {REVIEW_URL}\n", sign=True)
    save(dict(approved, remarks="回款节点改为验收后 30 天。"), approved["filled_by"], f"Edit {APPROVED_ID} after its approval")
    return root
