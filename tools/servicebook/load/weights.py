"""The weights management sets by pull request, read with the rest of the repository's rules.

``schemas/value-weights.yaml`` weighs the customer value index (source 003) and orders the
at-risk queue; ``schemas/appraisal-weights.yaml`` scores technicians and sizes regions (source
004). They live in the repository, not in the package, so a change is a reviewed pull request
(CODEOWNERS: ``/schemas/``) and its history is the audit trail of people's pay.

Every leaf is a number: a mistyped weight is a located problem, never a silent 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from servicebook.load.problems import Problem
from servicebook.load.yamlload import YamlProblem, dump_path, parse, positions

FILES = {"value": "value-weights.yaml", "appraisal": "appraisal-weights.yaml"}


@dataclass(frozen=True)
class Weights:
    """The value-index and appraisal weights, read-only (nested mappings are frozen too)."""

    value: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    appraisal: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def read(root: Path, schemas_dir: str) -> tuple[Weights, list[Problem]]:
    """Both weight files of ``root/schemas_dir``; a missing, unreadable or mistyped one gives
    empty weights and the problem, located in its file."""
    found: dict[str, Mapping] = {}
    problems: list[Problem] = []
    for name, file in FILES.items():
        rel = f"{schemas_dir}/{file}"
        data, file_problems = _read_one(root / rel, rel)
        problems += file_problems
        found[name] = _frozen(data) if not file_problems else MappingProxyType({})
    return Weights(**found), problems


def _read_one(path: Path, rel: str) -> tuple[dict, list[Problem]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, [Problem(rel, 1, 1, "", "weights.missing",
                            "the weights file is missing: the figures it weighs cannot be computed")]
    try:
        data = parse(raw)
    except YamlProblem as err:
        return {}, [Problem(rel, err.line, err.column, "", err.rule, err.message)]
    if not isinstance(data, dict):
        return {}, [Problem(rel, 1, 1, "", "weights.type", "the weights file must be a mapping of weights")]
    where = positions(raw.decode("utf-8"))
    problems = []
    for path_, value in _leaves(data, ()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            w = where.get(path_)
            problems.append(Problem(rel, w.line if w else 1, w.column if w else 1, dump_path(path_), "weights.type",
                                    f"a weight is a number of 0 or more, not {value!r}"))
    return data, problems


def _leaves(data, path: tuple):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, data


def _frozen(data):
    if isinstance(data, dict):
        return MappingProxyType({k: _frozen(v) for k, v in data.items()})
    return data


__all__ = ["FILES", "Weights", "read"]
