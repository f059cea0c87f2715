"""The package shows the pipeline: load -> check -> derive -> write -> site -> commands. A stage
imports only earlier stages (and itself), and only load/ reads the repository's files."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "tools" / "servicebook"
STAGES = ("load", "check", "derive", "write", "site", "commands")


def stage_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "servicebook":
        return None
    if len(parts) == 1:
        return None
    return STAGES.index(parts[1]) if parts[1] in STAGES else len(STAGES)


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "servicebook" or (node.level and not node.module):
                for alias in node.names:
                    yield node.lineno, f"{mod}.{alias.name}"
            else:
                yield node.lineno, mod


def test_no_stage_imports_a_later_one():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        mine = stage_of(module_name(path))
        for line, target in imports(path):
            theirs = stage_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                bad.append(f"{path.relative_to(PKG)}:{line} ({STAGES[mine] if mine < len(STAGES) else 'top'}) imports {target}")
    assert not bad, "\n".join(bad)
