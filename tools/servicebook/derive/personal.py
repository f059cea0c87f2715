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
  digits and separators, a shorter one (5-6 digits) only as whole digit groups (``52108`` is
  found in ``52-108`` but not in ``521080``);
- e-mail addresses, ignoring case; a value of an e-mail field that is not one (``name(at)host``) of
  six or more characters, as whole words;
- numbers in a personal field (an unquoted phone number is read as one), as their text;
- addresses of six or more characters.

Look-alike writing is found too: values and text are compared in a normalised form (`normalise`),
and the original stretch of text is masked. The normal form is NFKC (full-width letters, digits and
``＠`` are the ASCII ones), lower case, without invisible characters (Unicode format characters,
category Cf, soft hyphens, variation selectors: ``孙\u200b立伟``), with each run of white space one
space and none between two Chinese characters (``孙 立伟``). In a phone number any run of characters
that are neither letters, Chinese characters nor digits separates digit groups (``138·0013·8061``,
``138_0013_8061``, ``138 。0013。8061``). Text that needs none of this (most of it) is not copied.

Overlapping matches: the longest wins; when two overlap without one containing the other, the
whole stretch is masked. Masking is done on plain text, before any escaping for Markdown or HTML.
"""

from __future__ import annotations

import hashlib

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import ahocorasick

from servicebook.load.schemas import values_at

MASK = "*"
MIN_NAME = 2
MIN_ADDRESS = 6
MIN_PHONE_DIGITS = 5        # the shortest number matched at all (whole digit groups only)
ANYWHERE_PHONE_DIGITS = 7   # from this length, also inside a longer run (+86..., area code)

_CJK = re.compile(r"[\u3400-\u9fff]")
# Chinese characters (with the compatibility and supplementary ideographs), between which white
# space is dropped: `孙 立伟` is the name 孙立伟.
_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_IDEOGRAPH = re.compile(f"[{_IDEOGRAPHS}]")
# Invisible characters, dropped: every format character (Unicode category Cf, soft hyphen
# included; tests/test_personal.py holds this list to unicodedata) and the other default-ignorable
# ones (combining grapheme joiner, Hangul fillers, variation selectors, tags).
_INVISIBLE = ("\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
              "\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
              "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
              "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
_INVISIBLES = re.compile(f"[{_INVISIBLE}]+")
# Full-width ASCII (`＠`, `１３８`, `ｓｕｎ`): NFKC maps each to one ASCII character, so it is
# done by a translation that keeps every offset.
_WIDE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_WIDE_ANY = re.compile("[\uff01-\uff5e]")
# White space other than the plain space (Python's `\s`, less " ").
_OTHER_SPACE = "\t\n\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A stretch of white space and invisible characters (one space, or nothing).
_GAP = re.compile(f"[ {_OTHER_SPACE}{_INVISIBLE}]+")
# What keeps a text off the quick path (besides not being NFKC): white space other than one plain
# space, a space between two Chinese characters, an invisible character, any character beyond
# the BMP (each test is one character class, so the regular-expression engine scans it fast).
_ASCII_SPECIAL = re.compile(r"[^\S ]|  ")
_INVISIBLE_BMP = re.compile(f"[{_INVISIBLE[:_INVISIBLE.index(chr(0xFFFB)) + 1]}]")
_OTHER_SPACES = re.compile(f"[{_OTHER_SPACE}]")
_SPACE_RUN = re.compile(f"[ {_OTHER_SPACE}]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_CJK_SPACE = re.compile(f" (?<=[{_IDEOGRAPHS}] )(?=[{_IDEOGRAPHS}])")
# A run of digits and the separators between them (in the normal form): anything but a letter, a
# Chinese character or a digit (`\W` and `_`).
_RUN = re.compile(r"\d(?:[\W_]*\d)*")
_WORD_EDGE = re.compile(r"[A-Za-z0-9]")
_NON_DIGIT = re.compile(r"[^0-9]")


def mask_value(kind: str, value) -> str:
    """Mask one value by its personal-data kind; the result never contains the original."""
    if value is None:
        return value
    text = str(value)
    if not text:
        return text
    if not text.isascii():  # the visible form: `sun＠example.com` is masked as an e-mail
        text = _INVISIBLES.sub("", text.translate(_WIDE)) or text
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
        if "@" in value or "\uff20" in value:
            return len(value) >= 3
        # not an address, but what was typed as one (`ouyang.nana(at)example.com`, `ouyang nana at
        # example dot com`): someone's address all the same, as long as an address is; matched as
        # whole words
        return len(value) >= MIN_ADDRESS
    return len(value) >= MIN_NAME


def _collect(value: Any, kind: str, out: dict[str, str]) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # an unquoted phone number is read as a number: invalid, but still someone's number
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
            value = int(value)
        value = str(value)
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


class Normal:
    """A text in its normal form (`normalise`), and the way back to the original's offsets.

    ``norm`` is the normal form. Pieces of it are either copies of the original, character for
    character (only lower-cased), or the normal form of one original stretch (a character NFKC
    expands, a letter and its combining marks, a run of white space that became one space); the
    invisible characters and the white space dropped between Chinese characters have no piece."""

    __slots__ = ("text", "norm", "_starts", "_pieces")

    def __init__(self, text: str, norm: str, pieces: list | None = None):
        self.text, self.norm = text, norm
        # (start in norm, start in text, length in text, copied character for character)
        self._pieces = pieces
        self._starts = [p[0] for p in pieces] if pieces is not None else None

    def span(self, start: int, stop: int) -> tuple[int, int]:
        """The stretch of the original text that ``norm[start:stop]`` (not empty) comes from."""
        if self._pieces is None:
            return start, stop
        n, o, length, copied = self._pieces[bisect_right(self._starts, start) - 1]
        first = o + (start - n) if copied else o
        n, o, length, copied = self._pieces[bisect_right(self._starts, stop - 1) - 1]
        last = o + (stop - n) if copied else o + length
        return first, last


def _class(points: list[int]) -> str:
    """A regular-expression character class body for code points (above ASCII)."""
    out, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        out.append(chr(points[i]) if i == j else f"{chr(points[i])}-{chr(points[j])}")
        i = j + 1
    return "".join(out)


@lru_cache(maxsize=None)
def _odd() -> re.Pattern:
    """A character that NFKC does not map to exactly one, a combining mark, or a character beyond
    the BMP: what the piece-by-piece path normalises on its own (with the character before a
    combining mark and the marks after any of them).
    Worked out once from this Python's Unicode tables (some 30 ms, at the first text that needs
    it); characters that compose with the one before without being combining marks (Hangul jamo,
    some Indic vowel signs) are taken one at a time too."""
    marks, other = [], []
    for c in range(0x80, 0x10000):
        ch = chr(c)
        if unicodedata.combining(ch):
            marks.append(c)
        elif len(unicodedata.normalize("NFKC", ch)) != 1 or 0x1100 <= c <= 0x11FF \
                or 0xA960 <= c <= 0xA97F or 0xD7B0 <= c <= 0xD7FF:
            other.append(c)
        decomposed = unicodedata.decomposition(ch).split()
        if len(decomposed) == 2 and not decomposed[0].startswith("<"):
            second = int(decomposed[1], 16)
            if second < 0x10000 and not unicodedata.combining(chr(second)):
                other.append(second)
    return re.compile(f"[{_class(sorted(set(marks + other)))}\U00010000-\U0010ffff]")


def normalise(text: str) -> Normal:
    """``text`` in the form values are compared in (see the module's notes), with the way back.
    Most text is taken whole: already NFKC once full-width ASCII is mapped, lower-cased; most of
    the rest only has its white space to fold (line breaks)."""
    if text.isascii():
        if not _ASCII_SPECIAL.search(text):
            return Normal(text, text.lower())
        return _spaces(text, text.lower())
    shown = text.translate(_WIDE) if _WIDE_ANY.search(text) else text  # same offsets
    if _INVISIBLE_BMP.search(shown) or _ASTRAL.search(shown) or not unicodedata.is_normalized("NFKC", shown):
        return _copy(text, shown)
    if _OTHER_SPACES.search(shown) or "  " in shown or (" " in shown and _CJK_SPACE.search(shown)):
        return _spaces(text, _fold(shown))
    return Normal(text, _fold(shown))


def _spaces(text: str, low: str) -> Normal:
    """The normal form of a text that only has white space to fold (``low``: its lower case, of
    the same length)."""
    out: list[str] = []
    pieces: list[tuple[int, int, int, bool]] = []
    at = pos = 0
    end = len(low)
    for gap in _SPACE_RUN.finditer(low):
        a, b = gap.span()
        between = 0 < a and b < end and _IDEOGRAPH.match(low[a - 1]) and _IDEOGRAPH.match(low[b])
        if b - a == 1 and low[a] == " " and not between:
            continue  # an ordinary space: part of the copy
        if a > pos:
            pieces.append((at, pos, a - pos, True))
            out.append(low[pos:a])
            at += a - pos
        if not between:
            pieces.append((at, a, b - a, False))
            out.append(" ")
            at += 1
        pos = b
    if pos < end or not pieces:
        pieces.append((at, pos, end - pos, True))
        out.append(low[pos:])
    return Normal(text, "".join(out), pieces)


def _copy(text: str, shown: str) -> Normal:
    """The normal form built piece by piece (``shown``: ``text`` with full-width ASCII mapped)."""
    out: list[str] = []
    pieces: list[tuple[int, int, int, bool]] = []
    at = 0  # length of the normal form so far

    def add(norm: str, o: int, length: int, copied: bool) -> None:
        nonlocal at
        if not norm:
            return
        last = pieces[-1] if pieces else None
        if copied and last is not None and last[3] and last[0] + last[2] == at and last[1] + last[2] == o:
            pieces[-1] = (last[0], last[1], last[2] + length, True)  # continues the copy before
        else:
            pieces.append((at, o, length, copied))
        out.append(norm)
        at += len(norm)

    def whole(a: int, b: int) -> None:  # no cluster in shown[a:b]: NFKC character for character
        part = shown[a:b]
        if not part:
            return
        norm = part if part.isascii() else unicodedata.normalize("NFKC", part)
        if len(norm) == len(part):
            add(_fold(norm), a, b - a, True)
            return
        for i in range(a, b):  # (not expected: one at a time)
            norm = unicodedata.normalize("NFKC", shown[i]).lower()
            add(norm, i, 1, len(norm) == 1)

    def chunk(a: int, b: int) -> None:  # no white space in shown[a:b] but single spaces
        part = shown[a:b]
        if part.isascii() or unicodedata.is_normalized("NFKC", part) and not _ASTRAL.search(part):
            whole(a, b)
            return
        pos = a
        for m in _odd().finditer(shown, a, b):
            start = m.start()
            if start < pos:
                continue  # a mark taken with the character before it
            if start > pos and unicodedata.combining(shown[start]):
                start -= 1  # the character it combines with
            stop = m.end()
            while stop < b and unicodedata.combining(shown[stop]):
                stop += 1
            whole(pos, start)
            add(_INVISIBLES.sub("", unicodedata.normalize("NFKC", shown[start:stop]).lower()), start,
                stop - start, False)
            pos = stop
        whole(pos, b)

    pos = 0
    for gap in _GAP.finditer(shown):
        a, b = gap.span()
        between = 0 < a and b < len(shown) and _IDEOGRAPH.match(shown[a - 1]) and _IDEOGRAPH.match(shown[b])
        if gap.group() == " " and not between:
            continue  # an ordinary space: part of the copy
        chunk(pos, a)
        if not between and not _INVISIBLES.fullmatch(gap.group()):
            add(" ", a, b - a, False)
        pos = b
    chunk(pos, len(shown))
    return Normal(text, "".join(out), pieces)


class Known:
    """The personal values of a corpus, found and masked inside text."""

    def __init__(self, known: Mapping[str, str]):
        """``known``: value -> kind, as `values` gives it (values too short to match safely
        are left out here too)."""
        # what the masking depends on, for caches of masked output (the site's kept pages)
        self.digest = hashlib.blake2b(repr(sorted(map(repr, known.items()))).encode("utf-8", "surrogatepass"),
                                      digest_size=16).hexdigest()
        self._text = ahocorasick.Automaton()
        self._phones = ahocorasick.Automaton()
        n_text = n_phones = 0
        for value, kind in known.items():
            value = value.strip() if isinstance(value, str) else ""
            if not value or not _wanted(kind, value):
                continue
            if kind == "phone":
                # by the digits of each run (`139 5188 2046 转 8` is found as 13951882046)
                norm = normalise(value).norm
                for run in [_digits(norm)] + [_digits(r.group()) for r in _RUN.finditer(norm)]:
                    if len(run) >= MIN_PHONE_DIGITS and run not in self._phones:
                        self._phones.add_word(run, (len(run), len(run) < ANYWHERE_PHONE_DIGITS))
                        n_phones += 1
                continue
            key = normalise(value).norm.strip()
            if len(key) < (MIN_ADDRESS if kind == "address" else MIN_NAME) or key in self._text:
                continue
            # Latin edges must be word edges: a name `Li` is not inside `Link`; so must those of an
            # e-mail address written without its `@` (`ouyang.nana(at)example.com`)
            edges = (kind != "email" or "@" not in key) and bool(_WORD_EDGE.match(key[0]) or _WORD_EDGE.match(key[-1]))
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
        """Every occurrence of a known value in ``text``, left to right, not overlapping; offsets
        are the original text's (a value written `孙\u200b立伟` is found whole)."""
        if not text or not isinstance(text, str):
            return []
        normal = normalise(text)
        norm = normal.norm
        spans: list[tuple[int, int, str]] = []
        if self._has_text:
            for end, (length, kind, edges) in self._text.iter(norm):
                start, stop = end - length + 1, end + 1
                if edges and ((start > 0 and _WORD_EDGE.match(norm[start - 1]))
                              or (stop < len(norm) and _WORD_EDGE.match(norm[stop]))):
                    continue
                spans.append((*normal.span(start, stop), kind))
        if self._has_phones:
            for run in _RUN.finditer(norm):
                written = run.group()
                if len(written) < MIN_PHONE_DIGITS:  # most runs: a day, a count, a year
                    continue
                digits = _digits(written)
                where = None
                for end, (length, whole) in self._phones.iter(digits):
                    if where is None:  # offsets of the digits in the normal form
                        where = [run.start() + i for i, c in enumerate(written) if c.isdecimal()]
                    first = end - length + 1
                    # a short number only as a whole group of digits (not inside 521080)
                    if whole and ((first > 0 and where[first - 1] == where[first] - 1)
                                  or (end + 1 < len(where) and where[end + 1] == where[end] + 1)):
                        continue
                    spans.append((*normal.span(where[first], where[end] + 1), "phone"))
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


__all__ = ["Hit", "Known", "MASK", "Normal", "mask_value", "normalise", "values"]
