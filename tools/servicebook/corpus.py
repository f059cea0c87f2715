"""``load(root)``: every record read, checked and indexed. The one entry point for the CLI, the
site, the SLA engine and the audit, so they always agree on what the records say."""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from servicebook import index as index_mod
from servicebook.lifecycle import Lifecycle
from servicebook.problems import Problem
from servicebook.records import KINDS, SCHEMAS_DIR, Record, find_files, kind_of_path
from servicebook.schemas import SchemaSet
from servicebook.yamlload import YamlProblem, Where, decode, parse, parse_path, positions

# Below this many files one process is faster than starting workers.
PARALLEL_THRESHOLD = 1500


@dataclass
class Corpus:
    root: Path
    schemas: SchemaSet
    lifecycle: Lifecycle
    records: dict[str, Record]
    problems: list[Problem]
    files: list[Path]
    index: index_mod.Index = field(repr=False)

    def of_kind(self, kind: str) -> list[Record]:
        return [r for r in self.records.values() if r.kind == kind]

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def chain(self, record_id: str) -> list[Record]:
        return self.index.chain(record_id)

    def referrers(self, record_id: str) -> list[Record]:
        return self.index.referrers(record_id)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


# ---------------------------------------------------------------------------------------------
# one file: read, parse, schema-check. Module-level so worker processes can run it.

_worker_schemas: SchemaSet | None = None


def _init_worker(schemas_dir: str) -> None:
    global _worker_schemas
    _worker_schemas = SchemaSet(Path(schemas_dir))


def _read_one(root: Path, rel: Path, schemas: SchemaSet, max_bytes: int):
    """-> (kind, data or None, problems)"""
    file = str(rel)
    kind = kind_of_path(rel)
    if kind is None:
        folder = rel.parts[1] if len(rel.parts) > 2 else "(none)"
        return None, None, [Problem(file, 1, 1, "", "id.folder",
                                    f"records/{folder}/ is not a record kind; kinds: "
                                    + ", ".join(KINDS))]
    try:
        raw = (root / rel).read_bytes()
        data = parse(raw, max_bytes)
    except YamlProblem as p:
        return kind, None, [Problem(file, p.line, p.column, "", p.rule, p.message)]
    except OSError as err:
        return kind, None, [Problem(file, 1, 1, "", "file.read", f"cannot read: {err.strerror}")]
    if not schemas.has(kind):
        return kind, data, []
    if schemas.fast_valid(kind, data):
        return kind, data, []
    return kind, data, schemas.problems(kind, data, file, positions(raw.decode("utf-8")))


def _read_chunk(args):
    root, rels, max_bytes = args
    return [(rel, *_read_one(Path(root), rel, _worker_schemas, max_bytes)) for rel in rels]


def _read_all(root: Path, rels: list[Path], schemas: SchemaSet, jobs: int, max_bytes: int):
    if jobs <= 1 or len(rels) < PARALLEL_THRESHOLD:
        return [(rel, *_read_one(root, rel, schemas, max_bytes)) for rel in rels]
    size = max(200, len(rels) // (jobs * 8))
    chunks = [(str(root), rels[i:i + size], max_bytes) for i in range(0, len(rels), size)]
    with ProcessPoolExecutor(jobs, initializer=_init_worker,
                             initargs=(str(root / SCHEMAS_DIR),)) as pool:
        return [item for chunk in pool.map(_read_chunk, chunks) for item in chunk]


# ---------------------------------------------------------------------------------------------


def load(
    root: Path | str = ".",
    only: Iterable[Path | str] | None = None,
    jobs: int | None = None,
    max_bytes: int | None = None,
) -> Corpus:
    """Read ``root/records`` against ``root/schemas``.

    ``only``: report problems for these files alone (a pull request's changed records), still
    checking their references against every record. Never raises on bad records: what is wrong
    is in ``corpus.problems``.
    """
    root = Path(root)
    schemas = SchemaSet(root / SCHEMAS_DIR)
    lifecycle = Lifecycle.load(root / SCHEMAS_DIR)
    files = find_files(root)
    jobs = jobs or min(2, os.cpu_count() or 1)
    from servicebook.yamlload import MAX_BYTES

    results = _read_all(root, files, schemas, jobs, max_bytes or MAX_BYTES)
    records: dict[str, Record] = {}
    problems: list[Problem] = []
    known_ids: dict[str, list[Path]] = {}
    for rel, kind, data, file_problems in results:
        problems.extend(file_problems)
        known_ids.setdefault(rel.stem, []).append(rel)
        if kind and data is not None:
            rid = rel.stem
            if rid not in records:
                records[rid] = Record(kind, rid, rel, data)

    @lru_cache(maxsize=4096)
    def where_of(rel: Path) -> dict[tuple, Where]:
        try:
            return positions(decode((root / rel).read_bytes()))
        except (OSError, YamlProblem):
            return {}

    idx = index_mod.Index(records, schemas)
    only_set = {Path(p) for p in only} if only is not None else None
    problems.extend(index_mod.check(records, known_ids, schemas, lifecycle, idx, where_of, only_set))
    problems.extend(_extra_checks(records, where_of))
    if only_set is not None:
        problems = [p for p in problems if Path(p.file) in only_set]
    problems.sort(key=lambda p: (p.file, p.line, p.column, p.rule))
    return Corpus(root, schemas, lifecycle, records, problems, files, idx)


def _extra_checks(records: dict[str, Record], where_of) -> list[Problem]:
    """Checks from the ``servicebook.checks`` package (SLA coverage, figures that must agree...),
    located in their files where they gave only a field path."""
    import importlib
    import pkgutil

    from servicebook import checks

    found: list[Problem] = []
    for info in sorted(pkgutil.iter_modules(checks.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"servicebook.checks.{info.name}")
        for p in module.check(records) or ():
            if p.line == 0:
                w = _locate(where_of(Path(p.file)), parse_path(p.path))
                p = dataclasses.replace(p, line=w[0], column=w[1])
            found.append(p)
    return found


def _locate(where: dict[tuple, Where], path: tuple) -> tuple[int, int]:
    while path and path not in where:
        path = path[:-1]
    w = where.get(path)
    return (w.line, w.column) if w else (1, 1)
__all__ = ["Corpus", "load"]
