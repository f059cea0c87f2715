"""A new record's form: a fresh ID, the fields given, and every required field laid out empty
with a comment naming it (en + zh), for its writer to fill in. ``servicebook new`` writes it
through the write guard, which judges what was given and leaves the blanks as prompts.

Fields are given as ``--set PATH=VALUE`` and ``--add PATH=VALUE`` (``FieldPaths`` reads the path
against the schema, ``Fields.typed`` reads the value as the schema types it); every mistake is a
``FormRefused`` naming the option, the path and what was expected, before anything is written.

Paths: ``caller.name`` reaches into a mapping; ``issues[0].problem`` into a list's item, and so
does ``issues.0.problem`` where the schema says ``issues`` is a list (anywhere else a number is no
field name and is refused). An index may be the next free one (``issues[1]`` of a list of one),
which adds an item. ``--add`` appends to the deepest list of its path: a list of values gets one
more; a list of mappings gets the field in its last item when that item does not have it yet, else
in a new item, so ``--add issues.problem=A --add issues.cause=B --add issues.problem=C`` makes two
issues. A list earlier in an ``--add`` path means its last item.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO

from ruamel.yaml.comments import CommentedMap

from servicebook.load.instants import InstantError, format_instant, local_date, parse_date, parse_instant
from servicebook.load.lifecycle import Lifecycle, Requires
from servicebook.load.records import KINDS, SCHEMAS_DIR, find_files, is_id_of, new_id, path_for
from servicebook.load.schemas import FORMAT_HINTS, SchemaSet
from servicebook.load.yamlload import YamlProblem, dump_path, parse
from servicebook.write.writer import dump


class FormRefused(ValueError):
    """The form cannot be made as asked (unknown kind, a bad --id, --set or --add)."""


EACH = "*"  # in a path: a list named without an index (``--add issues.problem``)
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\[\d+\])*(\.([A-Za-z_][A-Za-z0-9_-]*|\d+)(\[\d+\])*)*")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Field:
    """What the schema says about the value at one path of a kind's record."""

    kind: str
    path: tuple
    facets: tuple[dict, ...]

    def get(self, key: str) -> Any:
        return next((f[key] for f in self.facets if key in f), None)

    @property
    def types(self) -> tuple[str, ...]:
        found = self.get("type")
        if found is None:
            return ("object",) if self.get("properties") is not None else ("array",) if self.get("items") is not None else ()
        return tuple(t for t in ([found] if isinstance(found, str) else found) if t != "null")

    @property
    def is_list(self) -> bool:
        return "array" in self.types

    @property
    def properties(self) -> dict:
        out: dict = {}
        for f in self.facets:
            out.update({k: v for k, v in (f.get("properties") or {}).items() if k not in out})
        return out

    @property
    def required(self) -> list[str]:
        out: list[str] = []
        for f in self.facets:
            out.extend(n for n in f.get("required") or [] if n not in out)
        return out

    def title(self, lang: str) -> str:
        return self.get("x-title-zh" if lang == "zh" else "title") or (
            str(self.path[-1]) if self.path else self.kind)

    def description(self, lang: str) -> str:
        return self.get("x-description-zh" if lang == "zh" else "description") or ""

    def label(self) -> str:
        """``received_at (受理时间 / Received at)``"""
        zh, en = self.get("x-title-zh"), self.get("title")
        return dump_path(self.path) + (f" ({zh} / {en})" if zh and en else "")

    def choices(self) -> list[tuple[Any, str, str]]:
        """An enum's values with their (zh, en) labels, in the schema's order."""
        labels = self.get("x-enum-labels") or {}
        out = []
        for value in self.get("enum") or []:
            entry = labels.get(value) if isinstance(value, str) else None
            entry = entry if isinstance(entry, dict) else {}
            out.append((value, str(entry.get("zh") or ""), str(entry.get("en") or "")))
        return out

    def expected(self) -> str:
        """What a value here must be, in words."""
        if self.get("enum") is not None:
            return "one of " + ", ".join(_choice_text(c) for c in self.choices())
        fmt = self.get("format")
        if fmt in FORMAT_HINTS:
            return FORMAT_HINTS[fmt]
        words = {"integer": "a whole number", "number": "a number", "boolean": "true or false",
                 "string": "text", "object": "a mapping", "array": "a list"}
        return " or ".join(words.get(t, t) for t in self.types) or "a value"

    def typed(self, raw: str) -> Any:
        """``raw`` (text from the command line or a prompt) as the value the schema wants here.
        Raises ``ValueError`` saying what was expected."""
        if self.get("enum") is not None:
            return self._choice(raw)
        fmt = self.get("format")
        try:
            if fmt == "date-time":  # the one instant parser: a bare date is 00:00 company time
                return format_instant(parse_instant(raw))
            if fmt == "date":
                return parse_date(raw).isoformat()
        except InstantError:
            raise ValueError(f"expected {self.expected()}, got {raw!r}") from None
        types = self.types
        if "boolean" in types and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        if ("integer" in types or "number" in types) and _INTEGER.fullmatch(raw.strip()):
            return int(raw.strip())
        if "number" in types:
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                return number
        if "string" in types or not types:
            return raw
        if "object" in types or "array" in types:  # a whole mapping or list, written as YAML
            try:
                value = parse(f"v: {raw}\n".encode("utf-8"))["v"]
            except YamlProblem as err:
                raise ValueError(f"expected {self.expected()} written as YAML: {err.message}") from None
            if isinstance(value, list if "array" in types else dict):
                return value
        raise ValueError(f"expected {self.expected()}, got {raw!r}")

    def _choice(self, raw: str) -> Any:
        wanted = raw.strip()
        for value, zh, en in self.choices():
            if wanted == str(value) or wanted == zh or (en and wanted.lower() == en.lower()):
                return value
        raise ValueError(f"expected {self.expected()}, got {raw!r}")


def _choice_text(choice: tuple[Any, str, str]) -> str:
    value, zh, en = choice
    labels = " / ".join(x for x in (zh, en) if x)
    return f"{value} ({labels})" if labels else str(value)


class FieldPaths:
    """A kind's schema read for field paths: ``issues[0].problem`` -> ``('issues', 0, 'problem')``."""

    def __init__(self, schemas: SchemaSet, kind: str):
        self.schemas = schemas
        self.kind = kind

    def field(self, path: tuple) -> Field:
        shape = tuple(0 if p == EACH else p for p in path)
        return Field(self.kind, shape, tuple(self.schemas.node(self.kind, shape)))

    def read(self, option: str, dotted: str) -> tuple:
        """The path ``dotted`` as names and indexes, a list named without an index as ``EACH``;
        every step checked against the schema."""
        if not _PATH.fullmatch(dotted):
            raise FormRefused(f"{option}: '{dotted}' is not a field path (like caller.name or issues[0].problem)")
        steps = re.findall(r"\[\d+\]|[^.\[\]]+", dotted)
        path: tuple = ()
        for i, step in enumerate(steps):
            here = self.field(path)
            index = int(step[1:-1]) if step.startswith("[") else int(step) if step.isdigit() else None
            if index is not None:
                if not here.is_list:
                    raise FormRefused(f"{option}: {self._name(path)} is not a list; "
                                      f"'{step.strip('[]')}' is no field of it")
                path += (index,)
                continue
            names = here.properties
            if step not in names:
                raise FormRefused(f"{option}: {self._name(path)} has no field '{step}'"
                                  + _did_you_mean(step, names))
            path += (step,)
            next_is_index = i + 1 < len(steps) and (steps[i + 1].startswith("[") or steps[i + 1].isdigit())
            if self.field(path).is_list and not next_is_index and i + 1 < len(steps):
                path += (EACH,)
        if self.field(path).is_list and path[-1] != EACH and option.startswith("--add"):
            path += (EACH,)
        return path

    def _name(self, path: tuple) -> str:
        concrete = tuple(p for p in path if p != EACH)
        return f"'{dump_path(concrete)}'" if concrete else f"a {self.kind} record"


def _did_you_mean(word: str, names: dict) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(names), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; fields: {', '.join(names)}"


def _put(data: CommentedMap, path: tuple, value: Any, option: str) -> None:
    """Set ``path`` (names and indexes) in ``data``, making the mappings and lists on the way; an
    index may be an existing item or the next one."""
    target: Any = data
    for i, step in enumerate(path):
        last = i + 1 == len(path)
        fresh = value if last else [] if isinstance(path[i + 1], int) else CommentedMap()
        if isinstance(step, int):
            if step > len(target):
                raise FormRefused(f"{option}: {dump_path(path[:i]) or 'the list'} has {len(target)} "
                                  f"item(s); the next one is [{len(target)}]")
            if step == len(target):
                target.append(fresh)
            elif last or not isinstance(target[step], type(fresh)):
                target[step] = fresh
        elif last or not isinstance(target.get(step), type(fresh)):
            target[step] = fresh
        target = target[step]


def _get(data: Any, path: tuple) -> Any:
    for step in path:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
    return data


def _concrete(data: Any, path: tuple, adding: bool) -> tuple:
    """``path`` with each ``EACH`` made an index: the last item; the deepest one of an ``--add``
    the last item when it lacks the field, else the next one."""
    eaches = [i for i, p in enumerate(path) if p == EACH]
    out: tuple = ()
    for i, step in enumerate(path):
        if step != EACH:
            out += (step,)
            continue
        items = _get(data, out)
        count = len(items) if isinstance(items, list) else 0
        if adding and i == eaches[-1]:
            rest = path[i + 1:]
            fits = count and rest and _get(items[-1], rest) is None
            out += (count - 1 if fits else count,)
        else:
            out += (max(count - 1, 0),)
    return out


def give(data: CommentedMap, paths: FieldPaths, option: str, text: str) -> None:
    """Apply one ``--set PATH=VALUE`` or ``--add PATH=VALUE`` (``option`` is which) to ``data``."""
    dotted, sep, raw = text.partition("=")
    if not sep or not dotted:
        raise FormRefused(f"{option} expects PATH=VALUE, got '{text}'")
    said = f"{option} {dotted}"
    path = paths.read(said, dotted)
    if path[0] in FORM_FIELDS or path[0] == "filled_by":
        # the form writes these itself (ID, creation, the first history entry); the filler is --by
        hint = {"filled_by": "; name the filler with --by", "created_at": "; --at gives the time",
                "history": "; --by and --at give its first entry"}.get(path[0], "")
        raise FormRefused(f"{said}: the form fills {path[0]} itself{hint}")
    adding = option == "--add"
    if adding and EACH not in path:
        raise FormRefused(f"{said}: {dotted} is not a list, nor in one; use --set")
    if not adding and EACH in path:
        at = dump_path(path[: path.index(EACH)])
        raise FormRefused(f"{said}: {at} is a list: name the item ({at}[0]...) or use --add {dotted}=...")
    target = paths.field(path)
    try:
        value = target.typed(raw)
    except ValueError as err:
        raise FormRefused(f"{said}: {target.label()}: {err}") from None
    _put(data, _concrete(data, path, adding), value, said)


def blank_form(root: Path, kind: str, given_id: str | None, by: str | None,
               moment: datetime) -> tuple[Path, CommentedMap, SchemaSet]:
    """(the new file, its data with the required fields laid out empty, the schemas)."""
    if kind not in KINDS:
        raise FormRefused(f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}")
    at = format_instant(moment)
    schemas = SchemaSet(root / SCHEMAS_DIR)
    lifecycle = Lifecycle.load(root / SCHEMAS_DIR)
    taken = {p.stem for p in find_files(root)}
    if given_id:
        record_id = given_id
        if not is_id_of(kind, record_id):  # it becomes a file name: no `../`, no other kind's prefix
            raise FormRefused(f"--id {record_id!r} is not a {kind} ID: {KINDS[kind].prefix}- then letters "
                             f"and digits in dash-separated parts, e.g. {KINDS[kind].prefix}-zhang-wei")
        if record_id in taken:
            raise FormRefused(f"ID {record_id} is already used")
    else:
        record_id = new_id(kind, local_date(moment), taken)

    data = CommentedMap()
    data["id"] = record_id
    data["schema_version"] = 1
    fields = schemas.raw.get(kind, {}).get("properties", {})
    for name, value in (("customer", None), ("filled_by", by), ("created_at", at)):
        if name in fields:
            data[name] = value
    if lifecycle.has(kind) and "history" in fields:
        first = lifecycle.initial(kind)[0]
        data["status"] = first
        data["history"] = [CommentedMap(at=at, by=by, status=first, note="created")]
    for name in (schemas.raw.get(kind, {}).get("required") or []):
        data.setdefault(name, None)
    return path_for(kind, record_id), data, schemas


def text_of(kind: str, data: CommentedMap, schemas: SchemaSet) -> str:
    """The file's text: the schema line for editors, then the data, each empty field with a
    comment saying what it wants."""
    for name, value in data.items():
        if value is None:
            zh = schemas.title(kind, (name,), "zh")
            en = schemas.title(kind, (name,), "en")
            data.yaml_add_eol_comment(f"required: {zh} / {en}", name)
    header = f"# yaml-language-server: $schema=../../{'../' if KINDS[kind].case else ''}schemas/{kind}.schema.json\n"
    return header + dump(data)


def build(root: Path, kind: str, given: list[tuple[str, str]], given_id: str | None, by: str | None,
          moment: datetime) -> tuple[Path, str, frozenset[str]]:
    """(the new file, its text, the fields it leaves blank): a ``kind`` record created at
    ``moment`` by ``by``, with ``given``: (``--set`` or ``--add``, ``PATH=VALUE``) in the order
    given."""
    path, data, schemas = blank_form(root, kind, given_id, by, moment)
    paths = FieldPaths(schemas, kind)
    for option, text in given:
        give(data, paths, option, text)
    return path, text_of(kind, data, schemas), frozenset(k for k, v in data.items() if v is None)


# -- the interview (``servicebook new --interactive``) ------------------------------------------

# Fields the form itself fills: never asked.
FORM_FIELDS = frozenset(("id", "schema_version", "created_at", "status", "history"))
YES, NO = ("y", "yes", "是", "好"), ("", "n", "no", "否")


class Conversation:
    """Questions on ``out``, answers from ``answers`` (a terminal, or a pipe: one answer a line)."""

    def __init__(self, answers: TextIO, out: TextIO):
        self.answers, self.out = answers, out

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str, about: str) -> str:
        """One answer, without its line end. Input that ends is a ``FormRefused`` (``about``: the
        field that was being asked): nothing is written."""
        while True:
            self.out.write(prompt)
            self.out.flush()
            line = self.answers.readline()
            if not line:
                raise FormRefused(f"--interactive: the input ended before {about} was answered; nothing written")
            try:
                line.encode("utf-8")  # a record holds UTF-8 text only
            except UnicodeEncodeError:
                self.say("  不是 UTF-8 文本,请重新输入 / not UTF-8 text; answer again")
                continue
            return line.rstrip("\r\n")


@dataclass
class Interview:
    """Asks for a new record's fields one by one, as the schema describes them: required fields
    first, then the optional ones (an empty answer skips); bilingual titles and descriptions, an
    enum's choices numbered with their labels; defaults from the schema, from the record of the
    customer the form names (its name, address, first contact) and from the filler's person
    record. A bad answer (wrong type, not one of the choices, a pattern, a reference to no record
    of that kind) is said and the field asked again."""

    paths: FieldPaths
    records: Mapping[str, Any]  # the corpus's records by ID: references and defaults
    talk: Conversation
    defaults: dict = field(default_factory=dict)  # top-level field -> default answer text
    process: Requires = field(default_factory=Requires)  # what the record's first status requires

    def _in_order(self, here: Field, path: tuple = ()) -> list[str]:
        """A mapping's fields, the required ones first, each group in the schema's order."""
        names = list(here.properties)
        required = [n for n in names if self._required(here, path + (n,))]
        return required + [n for n in names if n not in required]

    def _required(self, parent: Field, path: tuple) -> bool:
        """Required by the schema, or by the lifecycle for the status the record starts in."""
        return path[-1] in parent.required or _pattern(path) in self.process.fields

    def fill(self, data: CommentedMap, only: Iterable[str] | None = None) -> None:
        """Ask every field of ``data`` still empty (or ``only`` these, again)."""
        root = self.paths.field(())
        names = list(only) if only is not None else [
            n for n in self._in_order(root) if n not in FORM_FIELDS and data.get(n) is None]
        self.talk.say(f"{root.title('zh')} / {root.title('en')}: "
                      "必填项在前,可选项直接回车跳过 / required fields first; Enter skips an optional one")
        for name in names:
            value = self._value(data, (name,), self._required(root, (name,)))
            if value is not _SKIP:
                data[name] = value
            elif name not in root.required:
                data.pop(name, None)

    def _value(self, data: CommentedMap, path: tuple, required: bool) -> Any:
        here = self.paths.field(path)
        if "object" in here.types and here.properties:
            return self._mapping(data, path, here, required)
        if here.is_list:
            return self._list(data, path, here, required)
        return self._scalar(data, path, here, required)

    def _heading(self, here: Field, required: bool) -> None:
        self.talk.say()
        self.talk.say(f"{here.title('zh')} / {here.title('en')}  [{dump_path(here.path)}]"
                      + ("  (必填 required)" if required else "  (可选 optional)"))
        for lang in ("zh", "en"):
            if here.description(lang):
                self.talk.say(f"  {here.description(lang)}")

    def _confirm(self, question: str, about: str) -> bool:
        while True:
            answer = self.talk.ask(f"{question} [y/N] ", about).strip().lower()
            if answer in YES or answer in NO:
                return answer in YES
            self.talk.say("  请回答 y 或 n / answer y or n")

    def _mapping(self, data, path, here: Field, required: bool) -> Any:
        self._heading(here, required)
        if not required and not self._confirm(f"填写 {here.title('zh')}? / fill in {here.title('en')}?",
                                              dump_path(path)):
            return _SKIP
        out = CommentedMap()
        _put(data, path, out, "--interactive")
        for name in self._in_order(here, path):
            value = self._value(data, path + (name,), self._required(here, path + (name,)))
            if value is _SKIP:
                out.pop(name, None)
            else:
                out[name] = value
        return out

    def _list(self, data, path, here: Field, required: bool) -> Any:
        self._heading(here, required)
        item = self.paths.field(path + (0,))
        least = max(1 if required else 0, here.get("minItems") or 0)
        if not (item.properties and "object" in item.types):  # values: one a line, empty ends
            self.talk.say("  每行一项,空行结束 / one a line, an empty line ends"
                          + (f"; {item.expected()}" if item.get("enum") or item.get("format") else ""))
            self._choices(item)
            values: list = []
            _put(data, path, values, "--interactive")  # held while built: the checks see it
            while True:
                raw = self.talk.ask(f"  {len(values) + 1}> ", dump_path(path))
                if not raw.strip():
                    if len(values) >= least:
                        return values if values else _SKIP
                    self.talk.say(f"  至少 {least} 项 / at least {least}")
                    continue
                value = self._checked(data, path + (len(values),), item, raw)
                if value is not _AGAIN:
                    values.append(value)
        if not least and not self._confirm(f"添加 {item.title('zh')}? / add {item.title('en')}?", dump_path(path)):
            return _SKIP
        items: list = []
        _put(data, path, items, "--interactive")
        while True:
            self.talk.say(f"— {item.title('zh')} / {item.title('en')} {len(items) + 1}")
            entry = CommentedMap()
            items.append(entry)
            for name in self._in_order(item, path + (len(items) - 1,)):
                value = self._value(data, path + (len(items) - 1, name),
                                    self._required(item, path + (len(items) - 1, name)))
                if value is _SKIP:
                    entry.pop(name, None)
                else:
                    entry[name] = value
            if len(items) >= least and not self._confirm(
                    f"再添加一项 {item.title('zh')}? / another {item.title('en')}?", dump_path(path)):
                return items

    def _choices(self, here: Field) -> None:
        for number, choice in enumerate(here.choices(), 1):
            self.talk.say(f"  {number}) {_choice_text(choice)}")

    def _scalar(self, data, path, here: Field, required: bool) -> Any:
        self._heading(here, required)
        self._choices(here)
        default = self._default(data, path, here)
        if isinstance(default, bool):
            default = "true" if default else "false"
        hint = "" if required else "回车跳过 Enter skips" if default is None else "- 跳过 skips"
        hint = " ".join(x for x in (f"[{default}]" if default is not None else "", f"({hint})" if hint else "") if x)
        while True:
            raw = self.talk.ask(f"> {hint} " if hint else "> ", dump_path(path))
            if raw.strip() == "-" and not required:
                return _SKIP
            if not raw.strip():
                if default is not None:
                    raw = str(default)
                elif not required:
                    return _SKIP
                else:
                    self.talk.say("  必填 / required")
                    continue
            value = self._checked(data, path, here, raw)
            if value is not _AGAIN:
                return value

    def _checked(self, data, path, here: Field, raw: str) -> Any:
        """``raw`` as the field's value, or ``_AGAIN`` after saying what is wrong with it."""
        choices = here.choices()
        if choices and raw.strip().isdigit() and 1 <= int(raw) <= len(choices) \
                and raw.strip() not in {str(c[0]) for c in choices}:
            raw = str(choices[int(raw) - 1][0])
        if "boolean" in here.types and raw.strip().lower() in YES + NO[1:]:
            raw = "true" if raw.strip().lower() in YES else "false"  # a question answered y/n
        try:
            value = here.typed(raw)
        except ValueError as err:
            self.talk.say(f"  {err}")
            return _AGAIN
        wrong = self._wrong(data, path, here, value)
        if wrong:
            self.talk.say(f"  {wrong}")
            return _AGAIN
        return value

    def _wrong(self, data, path, here: Field, value) -> str | None:
        """What the schema or the references say against ``value`` at ``path`` (None: fine)."""
        kinds = here.get("x-ref-kind")
        if kinds and isinstance(value, str):
            kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
            found = self.records.get(value)
            if found is None or found.kind not in kinds:
                return f"没有这个{'/'.join(kinds)}记录 / no {' or '.join(kinds)} record {value}"
            roles = dict(self.process.roles).get(_pattern(path))
            held = found.data.get("roles") if isinstance(found.data, dict) else None
            if roles and not set(roles) & set(held if isinstance(held, list) else ()):
                return f"{value} 不担任 / does not hold {' or '.join(roles)}"
        probe = copy.deepcopy(data)
        _put(probe, path, value, "--interactive")
        where = dump_path(path)
        for problem in self.paths.schemas.problems(self.paths.kind, probe, "", {}):
            if problem.path == where and problem.rule not in ("schema.required", "schema.unknown-field"):
                return problem.message
        return None

    def _default(self, data, path, here: Field) -> Any:
        if len(path) == 1 and path[0] in self.defaults:
            return self.defaults[path[0]]
        customer = self.records.get(data.get("customer")) if isinstance(data.get("customer"), str) else None
        if customer is not None and customer.kind == "customer" and isinstance(customer.data, dict):
            common = self.paths.schemas.raw.get("common", {}).get("definitions", {})
            parent = self.paths.field(path[:-1]).facets if len(path) > 1 else ()
            name = path[-1]
            if any(f is common.get("contact") for f in parent):
                contacts = customer.data.get("contacts")
                first = contacts[0] if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict) else {}
                if isinstance(first.get(name), (str, int, float)):
                    return first[name]
            if any(f is common.get("customer_block") for f in parent) and isinstance(customer.data.get(name), str):
                return customer.data[name]
        return here.get("default")


_SKIP, _AGAIN = object(), object()


def _pattern(path: tuple) -> str:
    """A path as the lifecycle's ``requires`` names fields: ``issues[].cause``."""
    out = ""
    for step in path:
        out += "[]" if isinstance(step, int) else f".{step}" if out else str(step)
    return out


__all__ = ["EACH", "Conversation", "Field", "FieldPaths", "FormRefused", "Interview", "blank_form",
           "build", "give", "text_of"]
