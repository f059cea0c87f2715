"""Personal data found where the schemas do not expect it.

The schemas mark personal fields (`x-personal`), and the site masks by that marker and masks the
corpus's personal values wherever else they appear (`servicebook.derive.personal`). Text typed elsewhere
(a complaint's remarks, a repair's notes) should not hold personal data in the first place: the
pull-request check warns, before a change is merged, about

- ``privacy.personal-in-text``: a value the corpus keeps as personal data (a contact's name, phone,
  e-mail or address) repeated in the text;
- ``privacy.unmarked``: any other phone number or e-mail address in the text.

Both look at the text in the normal form the masking uses (`personal.normalise`), so a number
written ``138·0013·8061`` or ``138\u200b0013\u200b8061`` or an address with a full-width ``＠`` is
warned about like the plain one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from servicebook.derive.personal import Known, normalise
from servicebook.load.schemas import SchemaSet

# Between digit groups: up to four characters that are neither letters, Chinese characters nor
# digits (`138-0013`, `138·0013`, `138 。0013`, `138_0013`); invisible ones are gone in the normal form.
_SEP = r"[\W_]{0,4}"
# Mainland mobiles (138-0013-8000), landlines with area code (025-5210 8831), +86 forms, e-mail;
# matched in the normal form (`personal.normalise`: full-width is ASCII, lower case). An e-mail
# address starts where a run of its characters starts (else a long word would be scanned from each
# of its characters: quadratic).
PATTERNS = {
    "phone": re.compile(rf"(?<![0-9a-z-])(?:\+?86{_SEP})?(?:1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}"
                        rf"|0\d{{2,3}}{_SEP}\d{{3,4}}{_SEP}\d{{4}})(?!\d)"),
    "email": re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
}
UNMARKED = "privacy.unmarked"
KNOWN = "privacy.personal-in-text"


@dataclass(frozen=True)
class Finding:
    path: tuple
    rule: str       # UNMARKED | KNOWN
    what: str       # phone | email | name | address
    shown: str = ""  # the known value masked (never the value itself: check output is public)


def found_in(text: str) -> list[str]:
    """Which kinds of personal data ``text`` contains ('phone', 'email')."""
    norm = normalise(text).norm
    return [what for what, pattern in PATTERNS.items() if pattern.search(norm)]


def _value_at(data: Any, path: tuple) -> Any:
    value = data
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def unmarked(schemas: SchemaSet, kind: str, data: Any, paths: Iterable[tuple],
             known: Known | None = None) -> list[Finding]:
    """Personal data in every text value at ``paths`` whose field the schemas do not mark
    x-personal: the corpus's ``known`` values (one finding per kind of value and path, naming
    them masked), then any other phone number or e-mail address the patterns find."""
    out: list[Finding] = []
    for path in paths:
        value = _value_at(data, path)
        if not isinstance(value, str) or schemas.annotation(kind, path, "x-personal"):
            continue
        hits = known.find(value) if known is not None else []
        shown: dict[str, list[str]] = {}
        for hit in hits:
            forms = shown.setdefault(hit.kind, [])
            if hit.masked not in forms:
                forms.append(hit.masked)
        out.extend(Finding(path, KNOWN, what, ", ".join(forms)) for what, forms in shown.items())
        normal = normalise(value)
        for what, pattern in PATTERNS.items():
            for m in pattern.finditer(normal.norm):
                start, end = normal.span(*m.span())
                if not any(h.start < end and start < h.end for h in hits):
                    out.append(Finding(path, UNMARKED, what))
                    break
    return out
