"""Safe YAML loading for records.

Records are written by hand in editors that know nothing of YAML's traps, so the loader is strict
where a silent reading would lose data and lenient nowhere else:

* only plain data: mappings, sequences, text, integers, decimals, true/false, null; any tag beyond
  those is refused (no language objects, no ``!!timestamp``, ``!!binary``, ``!!set``);
* dates, times, ``yes``/``no``/``on``/``off``, numbers with leading zeros and YAML 1.1 base-60
  numbers stay text, exactly as written (the schema then checks them by format);
* duplicate keys, several documents, empty files, non-UTF-8 bytes and byte-order marks are errors;
* size, nesting depth and alias expansion are bounded before anything expensive happens
  (libyaml's composer recurses in C and crashes the process on deep nesting).

``parse`` is the fast path used for every file; ``positions`` re-reads a file that has problems and
returns where each value sits, so errors can name line and column.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import BaseResolver
import yaml_rs as _yaml_rs  # the fast path for plain records (a dependency: no silent slow stand-in)

try:  # libyaml is ~10x faster; the pure-Python parser gives identical results
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml: its own pure-Python parser, same results

    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer):  # type: ignore[no-redef]
        def __init__(self, stream):
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)

MAX_BYTES = 1024 * 1024  # a record is a form: a megabyte is already absurd
MAX_DEPTH = 48  # records nest a handful of levels
MAX_NODES = 50_000  # values after alias expansion


class YamlProblem(Exception):
    """A file that cannot be read as a record. ``line`` and ``column`` are 1-based."""

    def __init__(self, rule: str, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line = line
        self.column = column


class RecordResolver(BaseResolver):
    """Implicit types of unquoted scalars: YAML 1.2 core schema, minus everything lossy.

    Text stays text unless it is unmistakably a number, a boolean or null: ``0123`` keeps its zero,
    ``2026-11-23`` and ``17:30`` stay as written, ``no`` means the word no.
    """


RecordResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# Python will not turn a whole number of more than 4,300 digits into text (a message, a page): such
# a value stays text, and a number field reports it (schema.type, located). yaml-rs would read it as
# a number, so `_needs_strict_path` sends the file here.
_MAX_INT_DIGITS = 4300
RecordResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]{0,%d})$" % (_MAX_INT_DIGITS - 1)),
    list("-+0123456789"),
)
RecordResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789"),
)
RecordResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class RecordConstructor(SafeConstructor):
    """SafeConstructor restricted to plain data, refusing duplicate keys."""

    yaml_constructors: dict = {}

    def construct_mapping(self, node, deep=False):  # noqa: D102 - see class docstring
        if not isinstance(node, yaml.MappingNode):
            raise ConstructorError(None, None, "expected a mapping", node.start_mark)
        mapping: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                    raise _BadKey(key, key_node.start_mark)
            if key in mapping:
                raise _DuplicateKey(key, key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_map(self, node):
        data: dict = {}
        yield data
        data.update(self.construct_mapping(node))

    def construct_undefined(self, node):
        raise _BadTag(node.tag, node.start_mark)


class _DuplicateKey(Exception):
    def __init__(self, key, mark):
        self.key, self.mark = key, mark


class _BadKey(Exception):
    def __init__(self, key, mark):
        self.key, self.mark = key, mark


class _BadTag(Exception):
    def __init__(self, tag, mark):
        self.tag, self.mark = tag, mark


for _tag, _fn in (
    ("tag:yaml.org,2002:null", SafeConstructor.construct_yaml_null),
    ("tag:yaml.org,2002:bool", SafeConstructor.construct_yaml_bool),
    ("tag:yaml.org,2002:int", SafeConstructor.construct_yaml_int),
    ("tag:yaml.org,2002:float", SafeConstructor.construct_yaml_float),
    ("tag:yaml.org,2002:str", SafeConstructor.construct_yaml_str),
    ("tag:yaml.org,2002:seq", SafeConstructor.construct_yaml_seq),
    ("tag:yaml.org,2002:map", RecordConstructor.construct_yaml_map),
    (None, RecordConstructor.construct_undefined),
):
    RecordConstructor.add_constructor(_tag, _fn)


class RecordLoader(_Parser, RecordConstructor, RecordResolver):  # type: ignore[misc,valid-type]
    def __init__(self, stream):
        _Parser.__init__(self, stream)
        RecordConstructor.__init__(self)
        RecordResolver.__init__(self)


# ---------------------------------------------------------------------------------------------
# guards that run before the parser

_BLOCK_PREFIX = re.compile(r"^[ ?-]*", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def _line_prefix(width: int) -> re.Pattern:
    """A line starting with ``width`` of ' ', '?', '-': a newline then those, which the regex
    engine finds by scanning for the newline (``^`` with MULTILINE tries every position: 3x slower)."""
    return re.compile(r"\n[ ?-]{%d}" % width)


def _depth_upper_bound(text: str) -> int:
    """A cheap bound on nesting depth: each block level needs a column of indent or a ``- ``
    on its line, each flow level a bracket."""
    flow = text.count("[") + text.count("{")
    room = MAX_DEPTH - flow
    if room >= 0 and not _line_prefix(room + 1).search("\n" + text):
        return MAX_DEPTH  # no line's prefix can take it past the bound: no need to measure
    block = max((len(m) for m in _BLOCK_PREFIX.findall(text)), default=0)
    return flow + block


def _exact_depth(text: str) -> tuple[int, Any]:
    """Nesting depth from the event stream (the pure-Python parser keeps a stack, no recursion)."""
    depth = deepest = 0
    mark = None
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > deepest:
                deepest, mark = depth, event.start_mark
            if depth > MAX_DEPTH:
                break
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return deepest, mark


def _expanded_size(value: Any, memo: dict[int, int]) -> int:
    """Number of values once aliases are expanded (shared objects counted each time)."""
    key = id(value)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle (impossible in safe YAML) would count once
    if isinstance(value, dict):
        size = 1 + sum(_expanded_size(v, memo) for v in value.values())
    elif isinstance(value, list):
        size = 1 + sum(_expanded_size(v, memo) for v in value)
    else:
        size = 1
    memo[key] = size
    return size


def _line_col_of_offset(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode(data: bytes, max_bytes: int = MAX_BYTES) -> str:
    """Bytes of a record file to text, refusing what an editor would silently mangle."""
    if len(data) > max_bytes:
        raise YamlProblem(
            "yaml.too-large",
            f"file is {len(data):,} bytes; records are limited to {max_bytes:,} bytes "
            "(put large documents in attachments)",
        )
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise YamlProblem(
            "yaml.encoding",
            "file starts with a byte-order mark; save it as UTF-8 without BOM",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, col = _line_col_of_offset(data, err.start)
        raise YamlProblem(
            "yaml.encoding",
            f"byte 0x{data[err.start]:02x} is not UTF-8; save the file as UTF-8 "
            "(it looks like it was saved in another encoding, e.g. GBK)",
            line,
            col,
        ) from None
    if "\x00" in text:
        raise YamlProblem("yaml.encoding", "file contains NUL characters; is it a binary file?")
    return text


# Text the Rust parser could read differently from the strict rules, where the difference could
# pass validation, goes to the strict path: tags, anchors and aliases, document markers, merge
# keys, an empty block scalar ending the file (yaml-rs reads a newline), and YAML 1.2 number
# forms we keep as text (0123, 0x1F, .5, 1e3, 1_000, .inf). Keys that are not text need no gate:
# no schema admits them, so such a file fails the fast validation and is re-read strictly.
# Cheapest tests first; the gate must cost less than the parse it protects.
#
# The number forms: at a value position (': ' or '- ' then any blanks; '[', ',' or '{' then
# maybe blanks), an optional sign, then a leading zero, hex, octal or binary (0123 0x1F), a
# leading dot (.5 .inf .nan), or digits followed by '_', a '.' without a digit after it, or an
# exponent (1_000 1. 1e3). One pattern per value position, each starting with its literal text,
# which the regex engine finds by a fast search: one pattern starting with the class of the five
# characters tried every ':' and '-' of every date and time (twice the cost).
_NUMBER_FORM = r"[ \t]*[-+]?(?:0[0-9xXoObB_]|\.[0-9iInN]|[0-9]+(?:_|\.(?![0-9])|[eE][-+]?[0-9]))"
_NUMBER_FORMS_AFTER = tuple((lead, re.compile(re.escape(lead) + _NUMBER_FORM))
                            for lead in (": ", "- ", ":\t", "-\t", "[", ",", "{"))


def _has_number_form(text: str) -> bool:
    """Whether ``text`` has a YAML 1.2 number form we keep as text at a value position."""
    for lead, pattern in _NUMBER_FORMS_AFTER:
        if lead in text and pattern.search(text):
            return True
    return False


_BLOCK_HEADER_AT_END = re.compile(r"[|>][-+1-9]*[ \t]*(?:#.*)?$")


_LONG_DIGITS = re.compile(r"[0-9]{%d}" % (_MAX_INT_DIGITS + 1))


# `?` as YAML's explicit-key indicator (a key that may itself be a mapping, which yaml-rs cannot
# hash): after a line's start, a space or a flow indicator, followed by a space or the end (a
# question mark inside text, "why? yes", takes the strict path too: slower, never wrong)
_EXPLICIT_KEY = re.compile(r"(?:^|[\s\[{,:])\?(?:[ \t]|$)", re.M)


def _needs_strict_path(text: str) -> bool:
    if "!" in text or "&" in text or "*" in text or "<<" in text:
        return True
    if "?" in text and _EXPLICIT_KEY.search(text):
        return True
    if text.startswith(("---", "...")) or "\n---" in text or "\n..." in text:
        return True
    if _BLOCK_HEADER_AT_END.search(text.rstrip().rsplit("\n", 1)[-1]):
        return True
    return _has_number_form(text) or (len(text) > _MAX_INT_DIGITS and _LONG_DIGITS.search(text) is not None)


def parse(data: bytes, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one record file. Returns its data (a mapping); raises YamlProblem otherwise.

    Plain records go through the Rust parser (yaml-rs, ~10x faster), which refuses duplicate
    keys itself and reads everything else as the rules above do (tests/test_fast_paths.py
    proves it); anything unusual takes the strict path, which decides. A record read here that
    fails validation is read again by ``parse_strict`` before its problems are explained.
    """
    text = decode(data, max_bytes)
    if _depth_upper_bound(text) <= MAX_DEPTH and not _needs_strict_path(text):
        try:
            value = _yaml_rs.loads(text, parse_datetime=False)
        except (ValueError, TypeError):  # any refusal (yaml_rs.YAMLDecodeError is one; TypeError: a
            value = None                  # key it cannot hash): the strict path explains it
        if isinstance(value, dict) and value:
            return value
    return parse_strict(text)


def parse_strict(text: str) -> Any:
    """The authoritative reading of a record's text (libyaml with our resolver and guards)."""
    if _depth_upper_bound(text) > MAX_DEPTH:
        try:
            depth, mark = _exact_depth(text)
        except yaml.YAMLError as err:
            raise _syntax_problem(err, text) from None
        if depth > MAX_DEPTH:
            raise YamlProblem(
                "yaml.depth",
                f"values are nested more than {MAX_DEPTH} levels deep",
                mark.line + 1,
                mark.column + 1,
            )
    loader = RecordLoader(text)
    try:
        value = loader.get_single_data()
    except _DuplicateKey as dup:
        raise YamlProblem(
            "yaml.duplicate-key",
            f"key '{dup.key}' appears twice in the same mapping; YAML would silently keep only "
            "the last one, losing the first",
            dup.mark.line + 1,
            dup.mark.column + 1,
        ) from None
    except _BadKey as bad:
        raise YamlProblem(
            "yaml.key",
            f"field names must be text, found {bad.key!r}; quote it if it is meant as a name",
            bad.mark.line + 1,
            bad.mark.column + 1,
        ) from None
    except _BadTag as bad:
        raise YamlProblem(
            "yaml.tag",
            f"tag '{bad.tag}' is not allowed: records hold plain text, numbers, true/false, "
            "lists and mappings only",
            bad.mark.line + 1,
            bad.mark.column + 1,
        ) from None
    except yaml.composer.ComposerError as err:
        if "single document" in str(err):
            mark = err.problem_mark
            raise YamlProblem(
                "yaml.multiple-documents",
                "file holds more than one YAML document ('---'); one file is one record",
                mark.line + 1 if mark else 1,
                mark.column + 1 if mark else 1,
            ) from None
        raise _syntax_problem(err, text) from None
    except yaml.YAMLError as err:
        raise _syntax_problem(err, text) from None
    except RecursionError:
        raise YamlProblem("yaml.depth", "values are nested too deeply") from None
    finally:
        loader.dispose()
    if value is None:
        raise YamlProblem("yaml.empty", "file is empty: a record is a mapping of fields")
    if "&" in text and _expanded_size(value, {}) > MAX_NODES:
        raise YamlProblem(
            "yaml.alias-bound",
            f"aliases (*name) expand to more than {MAX_NODES:,} values; write the data out "
            "instead of repeating anchors",
        )
    if not isinstance(value, dict):
        raise YamlProblem(
            "yaml.not-mapping",
            f"a record is a mapping of fields, but this file holds a {_type_name(value)}",
        )
    return value


def _type_name(value: Any) -> str:
    return {list: "list", str: "text", int: "number", float: "number", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _syntax_problem(err: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    message = f"{context}, {problem}" if context else str(problem)
    lines = text.splitlines()
    if mark and 0 <= mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        message = "a tab is used for indentation; YAML allows only spaces there"
        return YamlProblem("yaml.tab", message, line, column)
    return YamlProblem("yaml.syntax", f"YAML syntax error: {message}", line, column)


# ---------------------------------------------------------------------------------------------
# positions, for error reports


@dataclass(frozen=True)
class Where:
    """Where a value sits in its file (1-based), and how it was written."""

    line: int
    column: int
    key_line: int  # line of the key naming it (== line for list items and the root)
    key_column: int
    plain: bool  # an unquoted scalar: YAML decided its type
    source: str | None  # the scalar as written, for unquoted scalars


def positions(text: str) -> dict[tuple, Where]:
    """Map every value's path (a tuple of keys and indexes) to where it sits in ``text``.

    Only called for files with problems, so it favours clarity over speed. Returns an empty map
    if the text does not compose (the syntax error was already reported).
    """
    try:
        root = yaml.compose(text, Loader=RecordLoader)
    except (yaml.YAMLError, RecursionError):
        return {}
    found: dict[tuple, Where] = {}
    if root is None:
        return found

    def visit(node, path, key_mark):
        plain = isinstance(node, yaml.ScalarNode) and not node.style  # libyaml says '', Python None
        km = key_mark or node.start_mark
        found[path] = Where(
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            km.line + 1,
            km.column + 1,
            plain,
            node.value if plain else None,
        )
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    visit(value_node, path + (key_node.value,), key_node.start_mark)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                visit(item, path + (i,), None)

    visit(root, (), None)
    return found


def dump_path(path) -> str:
    """('issues', 0, 'problem') -> 'issues[0].problem'"""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_path(dotted: str) -> tuple:
    """'issues[0].problem' -> ('issues', 0, 'problem'); the inverse of dump_path."""
    out: list = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted or ""):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(out)
