"""Masking of personal data on the published site, driven by the schemas' `x-personal` markers.

No field list is hard-coded: any value whose schema node carries `"x-personal": "name" | "phone" |
"email" | "address"` (directly or through a `$ref`) is masked, wherever it sits in a record.
`show_personal_data: true` in the plugin configuration (internal builds) turns masking off.
"""
from __future__ import annotations

import re

from .schemaview import SchemaView

MASK = "*"


def mask_value(kind: str, value) -> str:
    """Mask one value by its personal-data kind; the result never contains the original."""
    if value is None:
        return value
    text = str(value)
    if not text:
        return text
    if kind == "phone":
        digits = [c for c in text if c.isdigit()]
        keep = 2 if len(digits) >= 7 else 0
        tail = "".join(digits[-keep:]) if keep else ""
        return MASK * 4 + tail
    if kind == "email":
        local, at, domain = text.partition("@")
        if not at:
            return MASK * 6
        return (local[:1] or "") + MASK * 3 + "@" + domain
    if kind == "name":
        if len(text) <= 1:
            return MASK
        # Chinese names: keep the family name (张*); others: initial (J.***).
        first = text[0]
        if re.match(r"[\u3400-\u9fff]", first):
            return first + MASK * min(len(text) - 1, 2)
        return first + "." + MASK * 3
    if kind == "address":
        return text[:3] + MASK * 6 if len(text) > 6 else MASK * 6
    return MASK * 6


class Masker:
    def __init__(self, view: SchemaView, enabled: bool = True):
        self.view = view
        self.enabled = enabled

    def record(self, kind: str, data):
        """A masked deep copy of a record's data (the original is never modified)."""
        if not self.enabled:
            return data
        node, base = self.view.root(kind)
        return self._walk(data, node, base, 0)

    def _walk(self, value, node: dict, base: str, depth: int):
        if depth > 40:
            return value
        node, base = self.view.resolve(node, base)
        marker = node.get("x-personal")
        if marker and not isinstance(value, (dict, list)):
            return mask_value(str(marker), value)
        if isinstance(value, dict):
            props = {n: (s, b) for n, s, b in self.view.properties(node, base)}
            out = {}
            for k, v in value.items():
                if k in props:
                    out[k] = self._walk(v, props[k][0], props[k][1], depth + 1)
                elif marker:
                    out[k] = mask_value(str(marker), v) if not isinstance(v, (dict, list)) else "***"
                else:
                    out[k] = v
            return out
        if isinstance(value, list):
            item, ibase = self.view.items(node, base)
            return [self._walk(v, item, ibase, depth + 1) for v in value]
        return value
