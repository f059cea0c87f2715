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


# --- only load/ reads the repository -------------------------------------------------------------

READS = {"open", "read_text", "read_bytes", "glob", "rglob", "iterdir", "fdopen"}
OS_READS = {"walk", "scandir", "listdir"}  # only as os.walk(...) and the like
# Places outside load/ that read files, each with the reason it may. The write stage edits and
# writes files by nature; derive/audit reads git history (the one reader of history). The rest is
# known debt this test keeps from growing: remove an entry when its read moves into load/.
MAY_READ = {
    "write/": "writers read the file they rewrite (byte-for-byte layout) and write outputs",
    "derive/audit/": "the audit is the one reader of git history (issue #15 moves its record and "
                     "rules reading onto git objects)",
    "derive/sla/store.py": "the kept SLA clocks in .cache/ (derived, outside git) and the engine's "
                           "own source, for the store's key; records come from load/",
    "derive/aftersales/kbstore.py": "the kept KB matches in .cache/ (derived, outside git) and the "
                                    "matching code, for the store's key; records come from load/",
    "site/i18n.py": "the package's own label catalogue, not the repository",
    "site/plugin.py": "the package's own stylesheet, not the repository",
    # debt (issue #14 follow-ups):
    "site/model.py": "opens git for the audit trail; should ask derive/audit",
    "commands/codeowners.py": "compares .github/CODEOWNERS with the generated text",
    "commands/check_pr.py": "opens git for derive/audit",
    "commands/audit.py": "opens git for derive/audit",
    "commands/approve.py": "opens git for derive/audit",
}


def reads(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            owner = getattr(getattr(node.func, "value", None), "id", "")
            if name in READS or (name in OS_READS and owner == "os"):
                yield node.lineno, name
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(n == "git" or n.startswith("git.") for n in names):
                yield node.lineno, "import git"


def allowance(rel: str) -> str | None:
    return next((key for key in MAY_READ if rel == key or (key.endswith("/") and rel.startswith(key))), None)


def test_only_load_reads_the_repository():
    bad, used = [], set()
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith("load/"):
            continue
        found = list(reads(path))
        key = allowance(rel)
        if found and key is None:
            bad += [f"{rel}:{line} {what}" for line, what in found]
        elif found:
            used.add(key)
    assert not bad, "read through load/ (corpus.load) instead:\n" + "\n".join(bad)
    assert set(MAY_READ) == used, f"no longer reads, drop from MAY_READ: {sorted(set(MAY_READ) - used)}"
