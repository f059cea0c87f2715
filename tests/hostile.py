"""Hostile text in every free-text field of every record kind, chosen from the schemas.

A field is free text when its schema node (after `$ref`s) is a string with no `enum`, `const`,
`pattern` or `format` and no `x-ref-kind`: whatever a person can type there, an attacker can.
`poison_repo` rewrites a repository's records so that each such field present in a record, and
each such field an object may have but leaves out, carries a payload; `free_text_paths` lists every
such field of every kind straight from the schemas, so a new field is attacked without editing
this file.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from servicebook.site.schemaview import SchemaView  # noqa: E402

# Each payload carries the field's number N, so a finding names the field it came from.
# Every one of them, rendered as markup, would open a dialog or add an element with an event
# handler or a javascript: link; rendered as text, it reads as written.
LONG = ('PWN{n} </title><script>alert("t{n}")</script><img src=x onerror=alert("i{n}")>'
        '"><svg onload=alert("s{n}")> [l{n}](javascript:alert("l{n}")) '
        '![m{n}](javascript:alert("m{n}")) <a href="javascript:alert(\'a{n}\')">a{n}</a> '
        '<iframe srcdoc="<script>alert(1)</script>"></iframe> '
        "{{{{ 7*7 }}}} {{% if true %}}tpl{{% endif %}} \u202eevil\u202c `tick` **bold** | pipe\n"
        "<script>alert(\"b{n}\")</script>\n# heading{n}\n[ref{n}]: javascript:alert(\"r{n}\")\n"
        "<details open ontoggle=alert(\"d{n}\")>x</details>")
SHORT = [  # for fields with a small maxLength, the longest that fits
    'PWN{n}</title><script>alert({n})</script>',
    'PWN{n}<img src=x onerror=alert({n})>',
    'PWN{n}"><svg onload=alert({n})>',
    'PWN{n}<b onclick=alert({n})>',
    'PWN{n}\u202e<',
]
MARKERS = ("alert(",)
# Lists of objects that the demo records leave empty, filled from the schema example (the objects
# hold dates or references besides their text, so they cannot be made up here).
LIST_FROM_EXAMPLE = {"closures", "working_days"}  # what no script, handler or link on a built page may contain


# Every other long field starts with a Markdown block marker instead: a value placed at the start
# of a line must not open an admonition, a code fence, a heading or a list.
BLOCK = '!!! danger "PWN{n} admonition"\n    body\n~~~\nPWN{n} fenced\n' + LONG


def payload(n: int, max_length: int | None) -> str:
    for text in [BLOCK if n % 2 else LONG, *SHORT]:
        text = text.format(n=n)
        if max_length is None or len(text) <= max_length:
            return text
    return f"PWN{n}"[: max_length or None]


def is_free_text(node: dict) -> bool:
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    return ("string" in types and not any(k in node for k in ("enum", "const", "pattern", "format"))
            and "x-ref-kind" not in node)


def free_text_paths(view: SchemaView, kind: str) -> set[str]:
    """Every free-text field of a kind, as `a.b[].c`."""
    out: set[str] = set()

    def walk(node: dict, base: str, path: str, depth: int) -> None:
        node, base = view.resolve(node, base)
        if depth > 12:
            return
        if is_free_text(node):
            out.add(path)
        if "properties" in node:
            for name, sub, sbase in view.properties(node, base):
                walk(sub, sbase, f"{path}.{name}" if path else name, depth + 1)
        if "items" in node:
            item, ibase = view.items(node, base)
            walk(item, ibase, f"{path}[]", depth + 1)

    walk(*view.root(kind), "", 0)
    return out


class Poisoner:
    """Rewrites record data so that every free-text field holds a numbered payload."""

    def __init__(self, view: SchemaView):
        self.view = view
        self.count = 0
        self.hit: dict[str, set[str]] = {}   # kind -> paths that got a payload

    def next(self, kind: str, path: str, node: dict) -> str:
        self.count += 1
        self.hit.setdefault(kind, set()).add(path)
        return payload(self.count, node.get("maxLength"))

    def record(self, kind: str, data: dict) -> dict:
        """The record with payloads; lists of objects it leaves out are taken from the kind's
        schema example first (a calendar's closures), so their text fields are attacked too."""
        example = (self.view.kind_schema(kind).get("examples") or [{}])[0]
        props = {name: sub for name, sub, _ in self.view.properties(*self.view.root(kind))}
        data = dict(data)
        for key, value in example.items():
            if key not in data and props.get(key, {}).get("type") == "array" and key in LIST_FROM_EXAMPLE:
                data[key] = value
        return self._walk(kind, data, *self.view.root(kind), "", 0)

    def _walk(self, kind, value, node, base, path, depth):
        node, base = self.view.resolve(node, base)
        if depth > 12:
            return value
        if isinstance(value, str) and is_free_text(node) and path != "id":
            return self.next(kind, path, node)
        if isinstance(value, dict):
            props = {name: (sub, sbase) for name, sub, sbase in self.view.properties(node, base)}
            out = {}
            for key, sub_value in value.items():
                sub, sbase = props.get(key, ({}, base))
                out[key] = self._walk(kind, sub_value, sub, sbase, f"{path}.{key}" if path else key, depth + 1)
            for key, (sub, sbase) in props.items():  # optional text fields the record leaves out
                sub, sbase = self.view.resolve(sub, sbase)
                here = f"{path}.{key}" if path else key
                if key not in out and is_free_text(sub):
                    out[key] = self.next(kind, here, sub)
                elif key == "attachments" and not out.get(key):  # the one optional list of objects every case kind has
                    out[key] = [{"title": self.next(kind, f"{here}[].title", {}), "path": "docs/attachment.pdf"}]
                elif key == "delay_reasons" and not out.get(key) and not path:  # why a case ran late
                    out[key] = [{"clock": "fix", "reason": self.next(kind, f"{here}[].reason", {}),
                                 "by": value.get("filled_by"), "at": value.get("created_at")}]
            return out
        if isinstance(value, list):
            item, ibase = self.view.items(node, base)
            out = [self._walk(kind, v, item, ibase, f"{path}[]", depth + 1) for v in value]
            if is_free_text(item):
                # a list of text may be matched against other data (a policy's `values`): the
                # payload goes beside what is there, so the record still means what it meant
                out = value + [self.next(kind, f"{path}[]", item)]
            return out
        return value


def poison_repo(root: Path) -> Poisoner:
    """Every record under `root/records` rewritten with payloads in its free-text fields."""
    view = SchemaView.from_dir(root / "schemas")
    poisoner = Poisoner(view)
    for path in sorted((root / "records").rglob("*.yaml")):
        kind = path.relative_to(root / "records").parts[0]
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump(poisoner.record(kind, data), allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    return poisoner
