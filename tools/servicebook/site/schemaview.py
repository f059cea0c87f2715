"""Read-only walking of the kind schemas for the site: resolved nodes, labels, value types.

The site needs more than the validator: field order, titles in both languages, enum labels,
`x-section`, `x-personal`, `x-ref-kind`. This resolves `$ref` (local and to sibling files such as
`common.schema.json`) and single-branch `allOf` wrappers, and caches per (kind, path).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from servicebook.load.schemas import SchemaSet

Loader = Callable[[str], dict]

_MERGE_SKIP = {"$ref", "allOf"}


class SchemaView:
    def __init__(self, loader: Loader, kinds: list[str] | None = None):
        self._load = loader
        self._files: dict[str, dict] = {}
        self.kinds = kinds or []
        self._node_cache: dict[tuple[str, str], dict | None] = {}
        self._resolved: dict[tuple[int, str], tuple[dict, dict, str]] = {}

    @classmethod
    def of(cls, schemas: SchemaSet) -> "SchemaView":
        """A view of the schemas as the corpus loaded them (this module reads no file)."""
        return cls(lambda name: schemas.raw.get(name.removesuffix(".schema.json"), {}), sorted(schemas.kinds()))

    @classmethod
    def from_dir(cls, schema_dir: Path) -> "SchemaView":
        return cls.of(SchemaSet(Path(schema_dir)))

    # --- files and references -----------------------------------------------------------
    def file(self, name: str) -> dict:
        if name not in self._files:
            self._files[name] = self._load(name) or {}
        return self._files[name]

    def kind_schema(self, kind: str) -> dict:
        return self.file(f"{kind}.schema.json")

    def _deref(self, ref: str, base: str) -> tuple[dict, str, str]:
        file_part, _, pointer = ref.partition("#")
        target_file = file_part.rsplit("/", 1)[-1] if file_part else base
        node: Any = self.file(target_file)
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part, {}) if isinstance(node, dict) else {}
        name = pointer.rsplit("/", 1)[-1] if pointer else ""
        return (node if isinstance(node, dict) else {}), target_file, name

    def resolve(self, node: dict, base: str, depth: int = 0) -> tuple[dict, str]:
        """Follow `$ref` and single-branch `allOf`, merging local keywords over the target."""
        if not isinstance(node, dict) or depth > 20:
            return ({}, base)
        if "$ref" not in node and "allOf" not in node:
            return node, base  # nothing to follow (also every node this method returns)
        key = (id(node), base)
        hit = self._resolved.get(key)
        if hit is not None and hit[0] is node:  # schema-file nodes live as long as the view
            return hit[1], hit[2]
        merged, new_base = self._resolve(node, base, depth)
        self._resolved[key] = (node, merged, new_base)
        return merged, new_base

    def _resolve(self, node: dict, base: str, depth: int) -> tuple[dict, str]:
        merged: dict = {}
        new_base = base
        if "$ref" in node:
            target, tbase, name = self._deref(node["$ref"], base)
            target, new_base = self.resolve(target, tbase, depth + 1)
            merged.update(target)
            merged.setdefault("x-sb-def", name)
        for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
            target, tbase = self.resolve(sub, base, depth + 1)
            for k, v in target.items():
                if k == "properties" and isinstance(merged.get("properties"), dict):
                    merged["properties"] = {**merged["properties"], **v}
                elif k == "required" and isinstance(merged.get("required"), list):
                    merged["required"] = merged["required"] + [x for x in v if x not in merged["required"]]
                else:
                    merged.setdefault(k, v)
            new_base = tbase
        for k, v in node.items():
            if k not in _MERGE_SKIP:
                merged[k] = v
        return merged, new_base

    # --- navigation -----------------------------------------------------------------------
    def root(self, kind: str) -> tuple[dict, str]:
        return self.resolve(self.kind_schema(kind), f"{kind}.schema.json")

    def properties(self, node: dict, base: str) -> list[tuple[str, dict, str]]:
        node, base = self.resolve(node, base)
        out = []
        props = node.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                r, b = self.resolve(sub, base)
                out.append((name, r, b))
        return out

    def items(self, node: dict, base: str) -> tuple[dict, str]:
        node, base = self.resolve(node, base)
        items = node.get("items")
        if isinstance(items, dict):
            return self.resolve(items, base)
        return ({}, base)

    def node(self, kind: str, path: str) -> dict | None:
        """Resolved schema node for a dotted field path (list indexes ignored: `issues.problem`)."""
        key = (kind, path)
        if key in self._node_cache:
            return self._node_cache[key]
        node, base = self.root(kind)
        found: dict | None = node
        for part in [p for p in path.replace("[", ".[").split(".") if p]:
            if part.startswith("["):
                node, base = self.items(node, base)
                continue
            if node.get("type") == "array" or "items" in node:
                node, base = self.items(node, base)
            props = dict((n, (s, b)) for n, s, b in self.properties(node, base))
            if part not in props:
                found = None
                break
            node, base = props[part]
            found = node
        self._node_cache[key] = found
        return found

    def required(self, node: dict) -> set[str]:
        req = node.get("required")
        return set(req) if isinstance(req, list) else set()


def title(node: dict | None, lang: str, fallback: str = "") -> str:
    if not node:
        return fallback
    if lang == "zh" and node.get("x-title-zh"):
        return str(node["x-title-zh"])
    return str(node.get("title") or fallback)


def description(node: dict | None, lang: str) -> str:
    if not node:
        return ""
    if lang == "zh" and node.get("x-description-zh"):
        return str(node["x-description-zh"])
    return str(node.get("description") or "")


def enum_label(node: dict | None, value, lang: str) -> str:
    if node:
        labels = node.get("x-enum-labels")
        if isinstance(labels, dict):
            entry = labels.get(value) if isinstance(value, str) else None
            if isinstance(entry, dict) and entry.get(lang):
                return str(entry[lang])
            if isinstance(entry, str):
                return entry
    return "" if value is None else str(value)


def value_type(node: dict | None) -> str:
    """One of instant, date, money, ref, object, array, boolean, integer, number, string."""
    if not node:
        return "string"
    d = node.get("x-sb-def", "")
    if d == "money":
        return "money"
    if node.get("x-ref-kind"):
        return "ref"
    if node.get("format") == "date-time" or d == "instant":
        return "instant"
    if node.get("format") == "date" or d == "date":
        return "date"
    typ = node.get("type")
    if isinstance(typ, list):
        typ = next((x for x in typ if x != "null"), "string")
    if typ in ("object", "array", "boolean", "integer", "number", "string"):
        return typ
    if "properties" in node:
        return "object"
    if "items" in node:
        return "array"
    return "string"


@lru_cache(maxsize=4096)
def humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()
