"""A set of generated files written under one folder (``servicebook site generate --out``)."""

from __future__ import annotations

from pathlib import Path


def write_tree(out: Path, files: dict[str, str]) -> int:
    """Write ``files`` (path relative to ``out`` -> text) under ``out``, which must be a new or
    empty folder: generated output never overwrites anything. Returns the number written."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty folder; choose a new or empty one")
    for rel, content in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return len(files)
