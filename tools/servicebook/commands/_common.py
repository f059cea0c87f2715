"""Options and helpers shared by the commands."""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterable

import orjson

from servicebook.load import corpus, instants
from servicebook.load.problems import format_text
from servicebook.load.records import find_files


class UsageError(Exception):
    """Bad arguments: the command prints the message and exits 2."""


def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None,
                        help="repository root (default: the nearest folder upwards holding "
                             "records/ and schemas/)")


def find_root(given: Path | None) -> Path:
    if given is not None:
        if not (given / "schemas").is_dir():
            raise UsageError(f"{given} is not a servicebook repository (no schemas/ folder)")
        return given
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "schemas").is_dir() and (folder / "records").is_dir():
            return folder
    raise UsageError("not inside a servicebook repository (no records/ and schemas/ found); "
                     "use --root")


def now_instant() -> str:
    """Now as instant text in the company zone (``load.instants``): the default ``--at``. The
    command line is the one place that reads the wall clock."""
    return instants.format_instant(instants.now())


def at_or_now(value: str | None) -> datetime:
    """An ``--at`` option as an aware datetime, now when not given. Read by the one instant
    parser (``load.instants.parse_instant``: an offset is required, a date is 00:00 that day in
    the company zone); a bad value is a usage error (exit 2), the same message in every command."""
    if value is None:
        return instants.now()
    try:
        return instants.parse_instant(value)
    except instants.InstantError as err:
        raise UsageError(f"--at {value!r}: {err}") from None


def at_text_or_now(value: str | None) -> str:
    """``at_or_now`` as the text a record holds (``2026-11-20T17:30:00+08:00``: seconds and offset
    written out): for the commands that write an ``--at`` into a record."""
    return instants.format_instant(at_or_now(value))


def fail(message: str) -> int:
    print(f"servicebook: {message}", file=sys.stderr)
    return 2


def missing_record(root: Path, record_id: str) -> int:
    """A command needs the record ``record_id`` and found none. When a file by that name exists
    but cannot be read as a record (broken YAML, not UTF-8, empty, not a mapping), say so with
    validate's located problems for it (exit 1: a finding in the data); else there is no such
    record (exit 2: a usage error). The file is only read."""
    files = [p.as_posix() for p in find_files(root) if p.stem == record_id]
    if files:
        problems = [p for p in corpus.load(root, only=files, use_cache=False).problems
                    if p.file in files and p.severity == "error"]
        if problems:
            print(f"servicebook: {record_id} cannot be read as a record; validate says:\n"
                  f"{format_text(problems)}", file=sys.stderr)
            return 1
    return fail(f"no record with ID {record_id}")


def json_text(value) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, byte for byte, but for a number that is
    not finite (NaN, infinity: never computed from records; JSON has no spelling for them) which is
    written ``null`` where json.dumps wrote ``NaN``/``Infinity``, texts no JSON reader accepts."""
    text = _json(value)
    return text.decode() if isinstance(text, bytes) else text


def print_json(value) -> None:
    """``print(json_text(value))``; the UTF-8 bytes go to standard output as they are where it
    takes them (``cli._Shown.write_json``)."""
    _write_json(_json(value))
    _write_json(b"\n")


def print_json_listing(head: dict, key: str, items: Iterable, chunk: int = 2000) -> None:
    """``print_json({**head, key: list(items)})``, the items written ``chunk`` at a time as they
    come: 150,000 SLA clock rows are never all held at once, nor their whole text (155 MB)."""
    whole = _bytes(_json({**head, key: []}))
    empty = b"[]\n}"  # the last value, an empty list, closes the text
    if not whole.endswith(empty):
        raise ValueError(f"{key!r} must be the last key and hold a list")
    _write_json(whole[:-len(empty)])
    # each chunk as {key: chunk}: its items are written at their depth in the whole text, and are
    # cut out of it as they are (indenting each line again cost 0.15 s at 100k records)
    opening = _bytes(_json({key: []}))[:-len(empty)] + b"[\n"
    closing = b"\n  ]\n}"
    items, first = iter(items), True
    while batch := list(itertools.islice(items, chunk)):
        text = _bytes(_json({key: batch}))
        _write_json((b"[\n" if first else b",\n") + text[len(opening):-len(closing)])
        first = False
    _write_json(b"[]\n}\n" if first else closing + b"\n")


def _bytes(text: bytes | str) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def _write_json(text: bytes | str) -> None:
    """A piece of a JSON text (`_json`'s) to standard output."""
    write_json = getattr(sys.stdout, "write_json", None)
    if write_json is not None:
        write_json(_bytes(text))
    else:
        sys.stdout.write(text if isinstance(text, str) else text.decode())


def _json(value) -> bytes | str:
    """``json_text``'s text: orjson's UTF-8 bytes, 10x json's C encoder (155 MB of SLA clocks at
    100k records: 0.3 s against 3.3 s), or where orjson's text would differ the exact walk's str:
    a value orjson refuses (an integer past 64 bits, a lone surrogate, a type json cannot write
    either) or a float below 1e-4, which json spells ``1e-05`` or ``1e-07`` and orjson ``0.00001``
    or ``1e-7`` (found by a scan of the text; a string holding the same letters only costs the
    walk)."""
    try:
        text = orjson.dumps(value, option=_ORJSON)
    except orjson.JSONEncodeError:
        return _walk_text(value)
    if b"0.0000" in text or _SHORT_EXPONENT.search(text):
        return _walk_text(value)
    return text


# json.dumps's options, keys that are not text written as json.dumps writes them; dates,
# dataclasses and the like are no JSON for json.dumps: they go to orjson's (absent) default, fail
_ORJSON = (orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
           | orjson.OPT_PASSTHROUGH_DATACLASS)
# orjson's 1e-7, json's 1e-07; "e-" first: a literal the scan skips to (a leading [0-9] made it 1.3 s)
_SHORT_EXPONENT = re.compile(rb"e-(?<=[0-9]e-)[0-9](?![0-9])")


def _walk_text(value) -> str:
    """json.dumps(value, ensure_ascii=False, indent=2) in a fraction of its time: with ``indent``
    Python's json falls back to its pure-Python encoder. Every container that holds only scalars
    goes through the C encoder, whose item separator carries the newline and the indentation;
    only the containers above them are walked in Python."""
    out: list[str] = []
    _json_into(value, 0, out)
    return "".join(out)


# exact types: a subclass (an IntEnum, a dict subclass) takes the walk, which is always right
_SCALARS = frozenset((str, int, float, bool, type(None)))
_C_ENCODERS: dict[int, object] = {}


def _c_encoder(depth: int):
    enc = _C_ENCODERS.get(depth)
    if enc is None:
        enc = json.JSONEncoder(ensure_ascii=False, separators=(",\n" + "  " * (depth + 1), ": "))
        _C_ENCODERS[depth] = enc
    return enc


def _json_into(value, depth: int, out: list[str]) -> None:
    if isinstance(value, dict):
        items, opening, closing = value.values(), "{", "}"
    elif isinstance(value, (list, tuple)):
        items, opening, closing = value, "[", "]"
    else:
        out.append(json.dumps(value, ensure_ascii=False))
        return
    if not value:
        out.append(opening + closing)
        return
    inner = "  " * (depth + 1)
    if _SCALARS.issuperset(map(type, items)):  # map(type) runs in C: no Python call per value
        text = _c_encoder(depth).encode(value)  # "{" first item ",\n<inner>" next ... "}"
        out.append(f"{opening}\n{inner}{text[1:-1]}\n{'  ' * depth}{closing}")
        return
    out.append(opening + "\n")
    last = len(value) - 1
    if isinstance(value, dict):
        for i, (key, v) in enumerate(value.items()):
            out.append(f"{inner}{json.dumps(key if isinstance(key, str) else _json_key(key), ensure_ascii=False)}: ")
            _json_into(v, depth + 1, out)
            out.append(",\n" if i < last else "\n")
    else:
        for i, v in enumerate(value):
            out.append(inner)
            _json_into(v, depth + 1, out)
            out.append(",\n" if i < last else "\n")
    out.append("  " * depth + closing)


def _json_key(key) -> str:
    """A non-text key as json.dumps writes it (True -> "true", 1.5 -> "1.5", None -> "null")."""
    return json.dumps(key)
