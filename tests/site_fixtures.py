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
