"""The corpus's personal values, found and masked inside any text.

The schemas mark personal fields (`"x-personal": "name" | "phone" | "email" | "address"`), and the
site masks those fields. The same values are also typed into free text: a survey note naming the
customer's contact, a visit note naming the site foreman, a callback note with the caller's
number. `Known` collects every value the schemas mark personal anywhere in the corpus into one
Aho-Corasick automaton (pyahocorasick), so finding all of them inside a text is one linear pass
whatever their number; `Known.mask(text)` replaces each occurrence by the value's masked form, the
same form `mask_value` gives the value in its own field.

What counts:

- names of two or more characters (a one-character name would mask that character everywhere);
  Chinese names are matched anywhere (Chinese has no word boundaries), Latin ones only as whole
  words (``Li`` is not masked inside ``Link``);
- phone numbers by their digits, in any grouping (``138-0013-8000``, ``138 0013 8000``,
  ``+86 13800138000``, full-width digits): a number of 7 or more digits anywhere in a run of
  digits and separators, a shorter one (5-6 digits) only as a whole run;
- e-mail addresses, ignoring case;
- addresses of six or more characters.

Overlapping matches: the longest wins; when two overlap without one containing the other, the
whole stretch is masked. Masking is done on plain text, before any escaping for Markdown or HTML.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import ahocorasick

from servicebook.load.schemas import values_at

MASK = "*"
MIN_NAME = 2
MIN_ADDRESS = 6
MIN_PHONE_DIGITS = 5        # the shortest number matched at all (whole runs only)
ANYWHERE_PHONE_DIGITS = 7   # from this length, also inside a longer run (+86..., area code)

_CJK = re.compile(r"[\u3400-\u9fff]")
# A run of digits with the separators people write inside phone numbers.
_RUN = re.compile(r"\d(?:[ \t\u00a0\u3000().\-/\u2010-\u2015]{0,3}\d)*")
_WORD_EDGE = re.compile(r"[A-Za-z0-9]")
_NON_DIGIT = re.compile(r"[^0-9]")


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
        if _CJK.match(first):
            return first + MASK * min(len(text) - 1, 2)
        return first + "." + MASK * 3
    if kind == "address":
        return text[:3] + MASK * 6 if len(text) > 6 else MASK * 6
    return MASK * 6


# -- collecting ---------------------------------------------------------------------------------


def _wanted(kind: str, value: str) -> bool:
    if kind == "phone":
        return sum(c.isdecimal() for c in value) >= MIN_PHONE_DIGITS
    if kind == "address":
        return len(value) >= MIN_ADDRESS
    if kind == "email":
        return "@" in value and len(value) >= 3
    return len(value) >= MIN_NAME


def _collect(value: Any, kind: str, out: dict[str, str]) -> None:
    if isinstance(value, str):
        value = value.strip()
        if value and value not in out and _wanted(kind, value):
            out[value] = kind
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, kind, out)
    elif isinstance(value, list):
        for v in value:
            _collect(v, kind, out)


def values(schemas, records: Iterable) -> dict[str, str]:
    """Every value the schemas mark ``x-personal`` in ``records`` (anything with ``.kind`` and
    ``.data``), as value -> kind; values too short to match safely are left out."""
    out: dict[str, str] = {}
    marked: dict[str, tuple] = {}
    for rec in records:
        data = getattr(rec, "data", None)
        if not isinstance(data, dict):
            continue
        kind = rec.kind
        patterns = marked.get(kind)
        if patterns is None:
            patterns = marked[kind] = schemas.marked_paths(kind, "x-personal") if schemas.has(kind) else ()
        for pattern, marker in patterns:
            for _path, value in values_at(data, pattern):
                _collect(value, str(marker), out)
    return out


# -- finding and masking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    kind: str       # name | phone | email | address | mixed (overlapping values of two kinds)
    masked: str     # what replaces text[start:end]


def _fold(text: str) -> str:
    """Lower case of the same length (so offsets stay valid)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _digits(text: str) -> str:
    if text.isascii():
        return _NON_DIGIT.sub("", text)
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


class Known:
    """The personal values of a corpus, found and masked inside text."""

    def __init__(self, known: Mapping[str, str]):
        """``known``: value -> kind, as `values` gives it (values too short to match safely
        are left out here too)."""
        self._text = ahocorasick.Automaton()
        self._phones = ahocorasick.Automaton()
        n_text = n_phones = 0
        for value, kind in known.items():
            value = value.strip() if isinstance(value, str) else ""
            if not value or not _wanted(kind, value):
                continue
            if kind == "phone":
                # by the digits of each run (`139 5188 2046 转 8` is found as 13951882046)
                for run in [_digits(value)] + [_digits(r.group()) for r in _RUN.finditer(value)]:
                    if len(run) >= MIN_PHONE_DIGITS and run not in self._phones:
                        self._phones.add_word(run, (len(run), len(run) < ANYWHERE_PHONE_DIGITS))
                        n_phones += 1
                continue
            key = _fold(value)
            if key in self._text:
                continue
            # Latin edges must be word edges: a name `Li` is not inside `Link`
            edges = kind != "email" and bool(_WORD_EDGE.match(key[0]) or _WORD_EDGE.match(key[-1]))
            self._text.add_word(key, (len(key), kind, edges))
            n_text += 1
        if n_text:
            self._text.make_automaton()
        if n_phones:
            self._phones.make_automaton()
        self._has_text, self._has_phones = bool(n_text), bool(n_phones)
        self.count = n_text + n_phones

    @classmethod
    def of(cls, schemas, records: Iterable) -> "Known":
        return cls(values(schemas, records))

    def __len__(self) -> int:
        return self.count

    def find(self, text: str) -> list[Hit]:
        """Every occurrence of a known value in ``text``, left to right, not overlapping."""
        if not text or not isinstance(text, str):
            return []
        spans: list[tuple[int, int, str]] = []
        if self._has_text:
            for end, (length, kind, edges) in self._text.iter(_fold(text)):
                start, stop = end - length + 1, end + 1
                if edges and ((start > 0 and _WORD_EDGE.match(text[start - 1]))
                              or (stop < len(text) and _WORD_EDGE.match(text[stop]))):
                    continue
                spans.append((start, stop, kind))
        if self._has_phones:
            for run in _RUN.finditer(text):
                written = run.group()
                if len(written) < MIN_PHONE_DIGITS:  # most runs: a day, a count, a year
                    continue
                digits = _digits(written)
                where = None
                for end, (length, whole) in self._phones.iter(digits):
                    if whole and length != len(digits):
                        continue
                    if where is None:  # offsets of the digits in the text
                        where = [run.start() + i for i, c in enumerate(written) if c.isdecimal()]
                    spans.append((where[end - length + 1], where[end] + 1, "phone"))
        return self._resolve(text, spans) if spans else []

    @staticmethod
    def _resolve(text: str, spans: list[tuple[int, int, str]]) -> list[Hit]:
        """Clusters of overlapping spans, each masked as its longest span when that covers it."""
        spans.sort(key=lambda s: (s[0], -s[1]))
        hits: list[Hit] = []
        i = 0
        while i < len(spans):
            start, stop, kind = spans[i]
            longest = spans[i]
            j = i + 1
            while j < len(spans) and spans[j][0] < stop:
                if spans[j][1] - spans[j][0] > longest[1] - longest[0]:
                    longest = spans[j]
                stop = max(stop, spans[j][1])
                j += 1
            if longest[0] == start and longest[1] == stop:
                kind = longest[2]
                hits.append(Hit(start, stop, kind, mask_value(kind, text[start:stop])))
            else:
                hits.append(Hit(start, stop, "mixed", MASK * 6))
            i = j
        return hits

    def mask(self, text):
        """``text`` with every known personal value masked (anything not a text is returned as is)."""
        if not isinstance(text, str) or not text:
            return text
        hits = self.find(text)
        if not hits:
            return text
        out, at = [], 0
        for h in hits:
            out.append(text[at:h.start])
            out.append(h.masked)
            at = h.end
        out.append(text[at:])
        return "".join(out)


__all__ = ["Hit", "Known", "MASK", "mask_value", "values"]
