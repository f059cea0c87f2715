"""How a record is named to people: the one rule every page and command uses (issue 14).

Two forms, each a function, each with its own places:

* :func:`full_name` -- the heading of a page about the record itself (a customer's page, a
  delivery page's title, a sales manager's page) and the record's own block in ``servicebook show``;
* :func:`short_name` -- everywhere else: table cells, lists, the lines and JSON name fields of the
  commands (``pipeline``, ``delivery``, ``sla``, ``report``, ``show``).

Which field, by language (the schemas have no other name fields)::

    full_name   zh  name                       (customer: the full registered name)
                en  name_en, else name
    short_name  zh  short_name, else name      (customer: "Short name used in lists")
                en  name_en, else short_name, else name

Records named by a ``title`` instead (knowledge-base entries, delivery problems) use it for both
forms. Only customers have a ``short_name``; persons, policies and calendars have a ``name_en``
(pinyin or English), so the English site shows Chen Gang where the Chinese one shows 陈刚, and a
customer's Chinese name on both (there is no English company name to show).

A customer's or product's name is not personal data; a staff member's name is shown too, unless a
contact has the same name. Masking is not done here: give these functions the record as the page
shows it (on a masked site build, the masked record of ``site.mask.MaskedCorpus``, so a name that
repeats a contact's is masked the same way as in the record's own form); the commands, internal
tools, give the record as it is.

:func:`label` is how a name goes beside its ID: ``北国制药 (CU-beiguo-pharma)``; a record without
a name (or an unknown ID) is shown by its ID alone.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["LANGS", "full_name", "short_name", "label", "lookup", "short_label", "full_label"]

LANGS = ("zh", "en")


def _text(data, key: str) -> str:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value.strip() if isinstance(value, str) else ""


def _check(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r} (one of {', '.join(LANGS)})")


def _data(rec) -> Any:
    return getattr(rec, "data", None) if rec is not None else None


def full_name(rec, lang: str) -> str:
    """The record's full name in ``lang`` ('' when it has none): page headings."""
    _check(lang)
    data = _data(rec)
    keys = ("name_en", "name", "title") if lang == "en" else ("name", "title")
    for key in keys:
        found = _text(data, key)
        if found:
            return found
    return ""


def short_name(rec, lang: str) -> str:
    """The record's name in tables and lists in ``lang`` ('' when it has none)."""
    _check(lang)
    data = _data(rec)
    keys = ("name_en", "short_name") if lang == "en" else ("short_name",)
    for key in keys:
        found = _text(data, key)
        if found:
            return found
    return full_name(rec, lang)


def label(name: str, rid) -> str:
    """``name (ID)``; the ID alone without a name; '' without an ID."""
    if not isinstance(rid, str) or not rid:
        return ""
    return f"{name} ({rid})" if name and name != rid else rid


def lookup(records: Mapping, rid):
    """The record ``rid`` names in ``records``; None for an unknown ID or a value that is no ID
    (a reference field of a record that fails validation may hold anything)."""
    return records.get(rid) if isinstance(rid, str) else None


def short_label(records: Mapping, rid, lang: str) -> str:
    """:func:`short_name` of the record ``rid`` names in ``records``, beside its ID."""
    return label(short_name(lookup(records, rid), lang), rid)


def full_label(records: Mapping, rid, lang: str) -> str:
    """:func:`full_name` of the record ``rid`` names in ``records``, beside its ID."""
    return label(full_name(lookup(records, rid), lang), rid)
