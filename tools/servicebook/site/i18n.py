"""One translation catalogue for every label the site generates (`catalogue.yaml`).

Field, enum and status labels come from the schemas and lifecycle; everything else from here.
An unknown key or a missing language is an error (raised at build time, caught by tests), never a
silently English page.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml

from servicebook.load.instants import ZONE

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
CATALOGUE = Path(__file__).with_name("catalogue.yaml")


class MissingLabel(KeyError):
    pass


@lru_cache(maxsize=None)
def catalogue() -> dict[str, dict[str, str]]:
    # the package's own file: libyaml's safe loader when present (a quarter of a second saved per build)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(CATALOGUE.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 (a safe loader)
    for key, entry in data.items():
        if not isinstance(entry, dict) or any(lang not in entry for lang in LANGS):
            raise MissingLabel(f"catalogue entry {key!r} needs both {LANGS}")
        for lang in LANGS:
            entry[lang] = "" if entry[lang] is None else str(entry[lang])
    return data


def t(key: str, lang: str, **values) -> str:
    """The label `key` in `lang`, with `{name}` placeholders filled from `values`."""
    try:
        text = catalogue()[key][lang]
    except KeyError:
        raise MissingLabel(f"no catalogue label {key!r} for language {lang!r}") from None
    return text.format(**values) if values else text


_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+([a-z_]+)\s*$")


def target_text(text, lang: str) -> str:
    """An SLA target as the engine states it (`Clock.target`: "24 hours", "0.5 working_days",
    "3 months"; `delivery.response_targets`) in `lang`. Text of another shape is shown as it is."""
    if text is None:
        return ""
    m = _TARGET.match(str(text))
    key = f"sla.unit.{m.group(2)}" if m else None
    if key is None or key not in catalogue():
        return str(text)
    n = m.group(1)
    if n == "1" and f"{key}.one" in catalogue():
        key += ".one"
    return t(key, lang, n=n)


def fmt_time(dt: datetime | None) -> str:
    """The site's one way to show an instant: minutes, in the company zone, the same in both
    languages (every page shows its times through this)."""
    if dt is None:
        return ""
    return dt.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unsupported site language {lang!r}; expected one of {LANGS}")
    return lang


class Translator:
    """`t` bound to one language, handy in templates: `{{ t('nav.home') }}`."""

    def __init__(self, lang: str):
        self.lang = check_lang(lang)

    def __call__(self, key: str, **values) -> str:
        return t(key, self.lang, **values)
