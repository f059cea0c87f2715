"""Tiny repositories for the after-sales figures: real record files in a temporary folder, with
the real schemas, loaded through ``servicebook.load.corpus``."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from conftest import make_repo
from servicebook.load import corpus
from servicebook.load.records import KINDS, kind_of_id


def T(text: str) -> str:
    """'07-01 09:00' -> '2026-07-01T09:00:00+08:00'; a full date-time is completed likewise."""
    if len(text) == 11:
        text = "2026-" + text
    return text.replace(" ", "T") + ":00+08:00"


def hist(*entries):
    """hist(('07-01 09:00', 'P-eng', 'open'), ...) -> history list."""
    return [{"at": T(at), "by": by, "status": st} for at, by, st in entries]


def person(pid, region="华东", roles=("technical_engineer",), grade=None, **extra):
    d = {"id": pid, "schema_version": 1, "name": pid[2:], "roles": list(roles), "department": "technical",
         "region": region}
    if grade is not None:
        d["technical_grade"] = grade
    d.update(extra)
    return d


def customer(cid, region="华东", size="medium", **extra):
    d = {"id": cid, "schema_version": 1, "name": cid, "region": region, "size": size, "service_tier": "standard"}
    d.update(extra)
    return d


def product(pid, months=(1, 3, 6, 12), preventive=True, parts_priority=False):
    return {"id": pid, "schema_version": 1, "name": pid, "line": "machinery", "category": "pump_truck",
            "strategic_weight": "core",
            "service_plan": {"emergency": True, "preventive": preventive, "inspection_months": list(months),
                             "parts_priority": parts_priority}}


SOURCE = Path(__file__).resolve().parents[1]


def build(tmp: Path, records: list[dict], shipped: tuple[str, ...] = ()):
    """Write the records under tmp/src/records (folder from the ID's kind; case records in their
    year), make a repository of them with the real schemas, and load it. ``shipped``: files or
    folders under the source repository's records/ copied as they are (``"policy/SLA-installation.yaml"``,
    ``"calendar"``)."""
    src = tmp / "src" / "records"
    src.mkdir(parents=True)
    for rel in shipped:
        source, dest = SOURCE / "records" / rel, src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copyfile(source, dest)
    for data in records:
        kind = kind_of_id(data["id"])
        folder = src / kind
        if KINDS[kind].case:
            folder = folder / data["id"].split("-")[1][:4]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{data['id']}.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    repo = make_repo(tmp / "repo", src)
    return corpus.load(repo.root.resolve())
