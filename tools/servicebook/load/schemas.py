"""The schema registry: validation of record data, and what the schemas say about fields.

Two validators over the same schemas and the same format checks:

* the fast one (jsonschema-rs, compiled) answers "valid or not" for every record;
* the precise one (python-jsonschema) runs only on records that failed, and its errors are mapped
  to file, line and column with messages a person can act on.

tests/test_validate_paths.py proves the two agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator  # noqa: F401

from servicebook.load.instants import is_date_text, is_instant_text
from servicebook.load.problems import Problem
from servicebook.load.yamlload import Where, dump_path

# The validators are imported when a record is first validated: a command answered from the cache
# (`show`, `sla`, every report) validates none, and importing them took 0.1-0.15 s of each.
# Both are dependencies: a missing one fails there, loudly (no silent slow stand-in).
if TYPE_CHECKING:
    import jsonschema

BASE_URI = "https://servicebook.local/schemas/"
SUFFIX = ".schema.json"
LANGS = ("zh", "en")

# One '@', no white space or quotes, a dot inside the domain. Checked by splitting, not by one
# regular expression: `[^@]+\.[^@]+` backtracks quadratically on a domain of many dots (a 64 kB
# value took 32 s), and a record is read by every CI run.
_EMAIL_BAD = re.compile(r"[@\s<>\"']")


def _is_email(value: str) -> bool:
    if not isinstance(value, str):
        return True
    local, at, domain = value.partition("@")
    name, dot, tld = domain.rpartition(".")
    return bool(at and local and name and dot and tld) and not _EMAIL_BAD.search(local + domain)


# One definition of each format for both validators, so they cannot disagree.
FORMATS = {"date": is_date_text, "date-time": is_instant_text, "email": _is_email}
FORMAT_HINTS = {
    "date": "a date written YYYY-MM-DD, e.g. 2026-11-23",
    "date-time": "a date and time with its offset, e.g. 2026-11-23T09:30:00+08:00",
    "email": "an e-mail address",
}


# The bulk validator's shortcut for the date formats: a value of this form (a year from 0001, a
# day every month has, 29 and 30 in every month but February, 31 where it exists; a time and
# offset within the day; no fraction) is valid by ``FORMATS`` too, and the compiled validator
# matches it without calling back into Python (the callbacks were two thirds of the bulk
# validation). Anything else (29 February, a fraction, garbage) is asked of ``FORMATS``, so the
# answer is the same; tests/test_fast_paths.py proves the forms are inside the formats.
_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = ("(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
              "|(?:0[13578]|1[02])-31)")
FORMAT_SHORTCUTS = {
    "date": f"^{_YEAR}-{_MONTH_DAY}$",
    "date-time": (f"^{_YEAR}-{_MONTH_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                  "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"),
}


_NOT_SCHEMAS = frozenset(("enum", "const", "examples", "default"))  # values, not schemas: kept as they are


def _with_format_shortcuts(node: Any) -> Any:
    """A copy of a schema in which each ``format`` of ``FORMAT_SHORTCUTS`` is asked only of a
    value its shortcut does not match: ``anyOf: [{pattern: shortcut}, {format}]`` (a value that
    is not text passes both, as it passes a format)."""
    if isinstance(node, list):
        return [_with_format_shortcuts(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: v if k in _NOT_SCHEMAS or k.startswith("x-") else _with_format_shortcuts(v)
           for k, v in node.items()}
    name = out.get("format")
    if isinstance(name, str) and name in FORMAT_SHORTCUTS:
        del out["format"]
        out["allOf"] = [*out.get("allOf", ()), {"anyOf": [{"pattern": FORMAT_SHORTCUTS[name]}, {"format": name}]}]
    return out


def _format_checker() -> jsonschema.FormatChecker:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, fn in FORMATS.items():
        checker.checks(name)(fn)
    return checker


class SchemaSet:
    """Every ``schemas/*.schema.json``: ``common`` plus one per record kind."""

    def __init__(self, schemas_dir: Path):
        self.dir = Path(schemas_dir)
        self.raw: dict[str, dict] = {}
        digest = hashlib.sha256()
        for path in sorted(self.dir.glob(f"*{SUFFIX}")):
            data = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + data)
            self.raw[path.name[: -len(SUFFIX)]] = json.loads(data)
        self.digest = digest.hexdigest()  # keys the per-file validation cache
        self._precise: dict[str, jsonschema.Draft7Validator] = {}
        self._precise_parts: tuple | None = None  # (registry, format checker), on first use
        self._fast: dict[str, Any] = {}
        self._fast_schemas: dict[str, Any] | None = None  # with FORMAT_SHORTCUTS (`fast_valid`)
        self._fast_registry: Any = None

    # -- validation ---------------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return [name for name in self.raw if name != "common"]

    def has(self, kind: str) -> bool:
        return kind in self.raw and kind != "common"

    def _schema_with_id(self, kind: str) -> dict:
        return {**self.raw[kind], "$id": BASE_URI + kind + SUFFIX}

    def precise(self, kind: str) -> jsonschema.Draft7Validator:
        if kind not in self._precise:
            import jsonschema
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT7

            if self._precise_parts is None:
                registry = Registry().with_resources(
                    [(BASE_URI + name + SUFFIX, Resource.from_contents(schema, DRAFT7))
                     for name, schema in self.raw.items()])
                self._precise_parts = (registry, _format_checker())
            registry, checker = self._precise_parts
            self._precise[kind] = jsonschema.Draft7Validator(
                self._schema_with_id(kind), registry=registry, format_checker=checker)
        return self._precise[kind]

    def fast_valid(self, kind: str, data: Any) -> bool:
        if kind not in self._fast:
            import jsonschema_rs  # compiled: the bulk pass

            if self._fast_schemas is None:  # every schema with the shortcuts, once for all kinds
                self._fast_schemas = {name: _with_format_shortcuts(schema) for name, schema in self.raw.items()}
                self._fast_registry = jsonschema_rs.Registry(
                    [(BASE_URI + name + SUFFIX, schema) for name, schema in self._fast_schemas.items()])
            self._fast[kind] = jsonschema_rs.Draft7Validator(
                self._fast_schemas[kind],
                registry=self._fast_registry,
                base_uri=BASE_URI + kind + SUFFIX,
                validate_formats=True,
                formats=FORMATS,
            )
        try:
            return self._fast[kind].is_valid(data)
        except ValueError:  # a key that is not text: no schema admits it
            return False

    def problems(self, kind: str, data: Any, file: str, where: dict[tuple, Where]) -> list[Problem]:
        """Precise, located, readable problems for one record's data: one per mistake. A value
        fails every keyword it breaks (`~` for a status is a type error and an enum error), but a
        person has made one mistake there, so only the most telling keyword is reported."""
        out: list[Problem] = []
        for error in self.precise(kind).iter_errors(data):
            out.extend(self._explain(kind, error, file, where))
        worst: dict[str, int] = {}
        for p in out:
            worst[p.path] = min(worst.get(p.path, len(_VALUE_RULES)), _value_rank(p.rule))
        kept = {p for p in out if _value_rank(p.rule) in (len(_VALUE_RULES), worst[p.path])}
        return sorted(kept, key=lambda p: (p.line, p.column, p.path, p.rule))

    def _explain(self, kind, error, file, where) -> Iterator[Problem]:
        if error.validator in ("anyOf", "oneOf") and error.context:
            import jsonschema

            error = jsonschema.exceptions.best_match(error.context)
        path = tuple(error.absolute_path)
        rule = f"schema.{error.validator}"
        here = where.get(path)

        def at(p: tuple, use_key: bool = True) -> tuple[int, int]:
            w = where.get(p)
            while w is None and p:
                p = p[:-1]
                w = where.get(p)
            if w is None:
                return 1, 1
            return (w.key_line, w.key_column) if use_key else (w.line, w.column)

        if error.validator == "required":
            match = re.match(r"'(.+)' is a required property", error.message)
            name = match.group(1) if match else str(error.validator_value)
            line, col = at(path)
            label = self.label_pair(kind, path + (name,))
            hint = ("; this record predates versioned records: run servicebook migrate"
                    if name == "schema_version" and not path else "")
            yield Problem(file, line, col, dump_path(path + (name,)), rule,
                          f"required field '{name}'{label} is missing{hint}{self._why(kind, error)}")
            return
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for extra in sorted(k for k in error.instance if k not in allowed):
                line, col = at(path + (extra,))
                hint = _closest(extra, allowed)
                yield Problem(file, line, col, dump_path(path + (extra,)), "schema.unknown-field",
                              f"unknown field '{extra}'" + (f"; did you mean '{hint}'?" if hint else ""))
            return
        line, col = at(path, use_key=False)
        field = dump_path(path)
        yield Problem(file, line, col, field, rule, self._message(kind, error, here) + self._why(kind, error))

    def _why(self, kind: str, error) -> str:
        """A conditional rule's reason (the ``$comment`` of the ``if``/``then`` branch that failed),
        for a message that says why a value that is fine elsewhere is wrong here."""
        node, why = self.raw.get(kind), None
        for step in error.schema_path:
            if not isinstance(node, (dict, list)):
                break
            if step == "then" and isinstance(node, dict):
                why = node.get("$comment") or why
            node = node[step] if isinstance(node, list) and isinstance(step, int) and step < len(node) \
                else node.get(step) if isinstance(node, dict) else None
        return f" ({why})" if why else ""

    def _message(self, kind, error, here: Where | None) -> str:
        """What is wrong with the value, quoting it as written.

        A value in a field marked ``x-personal`` is quoted too: the person fixing the record
        needs to see what was read (``13912345678`` read as a number), and the output of
        `servicebook validate` (terminal, CI log, pull-request annotations) reaches only people who
        can read the repository, where the record holds the same value at the same line. The
        published site reaches others: there every message is masked like free text, and the
        values of personal fields are collected even when invalid (a number, an e-mail without
        ``@``: `derive.personal.values`), so a message quoting one is masked."""
        value = error.instance
        shown = here.source if here and here.plain and here.source is not None else json.dumps(
            value, ensure_ascii=False)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        v = error.validator
        if v == "type":
            expected = error.validator_value
            expected = expected if isinstance(expected, list) else [expected]
            want = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
            if value is None:
                label = self.label_pair(kind, tuple(error.absolute_path)).strip(" ()")
                return f"is empty; fill in {label or 'a value'} ({want})"
            if "string" in expected and here and here.plain:
                return (f"expected {want}, but the unquoted value {shown} was read as "
                        f"{_type_word(value)}; put it in quotes: '{here.source}'")
            if "boolean" in expected and isinstance(value, str):
                return (f"expected true or false, found the text {shown}; write true or false "
                        "(yes/no/on/off are read as text here)")
            if ("integer" in expected or "number" in expected) and isinstance(value, str):
                return (f"expected {want}, found the text {shown}; write the number without "
                        "quotes or leading zeros")
            return f"expected {want}, found {_type_word(value)} {shown}"
        if v == "enum":
            labels = self._enum_labels(error.schema)
            allowed = ", ".join(
                f"{x} ({labels[x]})" if x in labels else str(x) for x in error.validator_value)
            return f"{shown} is not an allowed value; allowed: {allowed}"
        if v == "const":
            return f"{shown} is not allowed here; expected {json.dumps(error.validator_value)}"
        if v == "format":
            hint = FORMAT_HINTS.get(error.validator_value, error.validator_value)
            return f"{shown} is not {hint}"
        if v == "pattern":
            ref = error.schema.get("x-ref-kind")
            if ref or error.path and error.path[-1] == "id":
                return f"{shown} is not a record ID of the expected kind (like CP-20261123-7KQ2XM)"
            if error.schema.get("format") in FORMAT_HINTS:  # a date or instant spelt out
                return f"{shown} is not {FORMAT_HINTS[error.schema['format']]}"
            return f"{shown} does not have the expected form ({error.validator_value})"
        if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return f"{shown} is out of range ({v} {error.validator_value})"
        if v == "minItems":
            return f"needs at least {error.validator_value} entr{'y' if error.validator_value == 1 else 'ies'}"
        if v == "minLength":
            return "must not be empty"
        if v == "maxLength":
            return f"is longer than {error.validator_value} characters"
        return error.message

    # -- what the schemas say about fields ------------------------------------------------------

    def _resolve(self, doc: str, node: dict) -> tuple[str, dict]:
        while "$ref" in node:
            target, _, pointer = node["$ref"].partition("#")
            if target:
                doc = target[: -len(SUFFIX)] if target.endswith(SUFFIX) else target
            node = self.raw[doc]
            for part in [p for p in pointer.split("/") if p]:
                node = node[part]
        return doc, node

    def _facets(self, doc: str, node: dict) -> list[tuple[str, dict]]:
        """A schema node and everything it pulls in through $ref and allOf."""
        doc, node = self._resolve(doc, node)
        out = [(doc, node)]
        for sub in node.get("allOf", []):
            out.extend(self._facets(doc, sub))
        return out

    def node(self, kind: str, path: tuple) -> list[dict]:
        """The schema nodes (with their allOf parts) describing the value at ``path``."""
        current = [(kind, self.raw[kind])] if kind in self.raw else []
        for part in path:
            nxt = []
            for doc, n in current:
                for d, facet in self._facets(doc, n):
                    if isinstance(part, int):
                        if isinstance(facet.get("items"), dict):
                            nxt.append((d, facet["items"]))
                    elif part in facet.get("properties", {}):
                        nxt.append((d, facet["properties"][part]))
            current = nxt
        return [facet for doc, n in current for _, facet in self._facets(doc, n)]

    def annotation(self, kind: str, path: tuple, key: str) -> Any:
        for facet in self.node(kind, path):
            if key in facet:
                return facet[key]
        return None

    def title(self, kind: str, path: tuple | str, lang: str = "zh") -> str:
        if isinstance(path, str):
            path = tuple(int(p) if p.isdigit() else p for p in path.split(".") if p)
        key = "x-title-zh" if lang == "zh" else "title"
        found = self.annotation(kind, path, key) if path else self.raw.get(kind, {}).get(key)
        if found:
            return found
        last = [p for p in path if not isinstance(p, int)]
        return last[-1] if last else kind

    def label_pair(self, kind: str, path: tuple) -> str:
        zh, en = self.annotation(kind, path, "x-title-zh"), self.annotation(kind, path, "title")
        return f" ({zh} / {en})" if zh and en else ""

    def _enum_labels(self, schema: dict) -> dict[str, str]:
        labels = schema.get("x-enum-labels") or {}
        return {k: f"{v.get('zh', '')} {v.get('en', '')}".strip() for k, v in labels.items()}

    def enum_label(self, kind: str, path: tuple, value: str, lang: str = "zh") -> str:
        labels = self.annotation(kind, path, "x-enum-labels") or {}
        return labels.get(value, {}).get(lang, value) if isinstance(value, str) else str(value)

    @lru_cache(maxsize=None)
    def ref_kinds(self, kind: str) -> dict[tuple, tuple[str, ...]]:
        """Path pattern -> the kinds a reference there may point to."""
        return {p: (k,) if isinstance(k, str) else tuple(k)
                for p, k in self.marked_paths(kind, "x-ref-kind")}

    @lru_cache(maxsize=None)
    def marked_paths(self, kind: str, key: str) -> tuple[tuple[tuple, Any], ...]:
        """Every (path pattern, value) where the schema of ``kind`` carries annotation ``key``;
        list items appear as ``"*"`` in the pattern. Used for references and personal data."""
        found: list[tuple[tuple, Any]] = []

        def walk(doc: str, node: dict, path: tuple, depth: int) -> None:
            if depth > 12:
                return
            for d, facet in self._facets(doc, node):
                if key in facet and (path, facet[key]) not in found:
                    found.append((path, facet[key]))
                for name, sub in facet.get("properties", {}).items():
                    walk(d, sub, path + (name,), depth + 1)
                if isinstance(facet.get("items"), dict):
                    walk(d, facet["items"], path + ("*",), depth + 1)

        if kind in self.raw:
            walk(kind, self.raw[kind], (), 0)
        return tuple(found)


# Keywords that judge one value, most telling first: a wrong type says more than the enum it then
# also fails; a malformed date or instant says more than the pattern that spells it out.
_VALUE_RULES = ("schema.type", "schema.const", "schema.enum", "schema.format", "schema.pattern")


def _value_rank(rule: str) -> int:
    return _VALUE_RULES.index(rule) if rule in _VALUE_RULES else len(_VALUE_RULES)


def values_at(data: Any, pattern: tuple, prefix: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (concrete path, value) in ``data`` matching a pattern from ``marked_paths``.
    A plain loop, not a generator: it runs for every reference of every record."""
    found = [(prefix, data)]
    for head in pattern:
        step = []
        if head == "*":
            for path, value in found:
                if isinstance(value, list):
                    step.extend((path + (i,), item) for i, item in enumerate(value))
        else:
            for path, value in found:
                if isinstance(value, dict) and head in value:
                    step.append((path + (head,), value[head]))
        if not step:
            return step
        found = step
    return found


_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list", "null": "null"}


def _type_word(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null"


def _closest(word: str, options: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return match[0] if match else None
