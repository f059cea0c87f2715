"""Personal data found where the schemas do not expect it.

The schemas mark personal fields (`x-personal`), and the site masks by that marker. Text typed
elsewhere (a complaint's remarks, a repair's notes) is published as written, so a phone number or
e-mail address there would leak: the pull-request check warns about it before it is merged.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from servicebook.schemas import SchemaSet

# Mainland mobiles (138-0013-8000), landlines with area code (025-5210 8831), +86 forms, e-mail.
PATTERNS = {
    "phone": re.compile(r"(?<![\d-])(?:\+?86[- ]?)?(?:1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}[- ]?\d{3,4}[- ]?\d{4})(?!\d)"),
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
}


def found_in(text: str) -> list[str]:
    """Which kinds of personal data ``text`` contains ('phone', 'email')."""
    return [what for what, pattern in PATTERNS.items() if pattern.search(text)]


def unmarked(schemas: SchemaSet, kind: str, data: Any, paths: Iterable[tuple]) -> list[tuple[tuple, str]]:
    """(path, what) for every text value at ``paths`` holding personal data in a field the
    schemas do not mark x-personal."""
    out = []
    for path in paths:
        value = data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        if isinstance(value, str) and not schemas.annotation(kind, path, "x-personal"):
            out.extend((path, what) for what in found_in(value))
    return out
