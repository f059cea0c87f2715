"""The ``servicebook`` command: a thin shell over the library.

Each sub-command is a module in ``servicebook/commands/`` defining NAME, HELP, configure(parser)
and run(args) -> exit code; they are found here, so adding one edits no shared file.
Exit codes: 0 fine, 1 findings, 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
import traceback

from servicebook import __version__, commands
from servicebook.commands._common import UsageError
from servicebook.load.collector import collect_rarely, exit_without_teardown
from servicebook.load.lifecycle import LifecycleError


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"servicebook.commands.{info.name}")
            if hasattr(module, "NAME") and hasattr(module, "run"):
                yield module


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="servicebook",
        description="Customer-service records in git: validate, create, report. "
        "客户服务记录:校验、新建、报表。",
    )
    parser.add_argument("--version", action="version", version=f"servicebook {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


# Record text reaches the terminal: a control character in it (an escape sequence that retitles the
# window, clears the screen or hides text; a bidirectional override that reorders a line) is shown
# as its code, never obeyed. Tab and line ends stay; a carriage return only as part of one. From
# DEL on (below space every JSON text escapes them itself) the code is JSON's own escape: a
# command's JSON output stays valid JSON holding the same text (``\x7f`` is no JSON escape).
_SHOWN = {c: f"\\x{c:02x}" for c in range(0x20) if chr(c) not in "\t\n\r"}
_SHOWN.update({c: f"\\u{c:04x}" for c in (*range(0x7f, 0xa0), *range(0x202a, 0x202f), *range(0x2066, 0x206a))})
_LONE_CR = re.compile(r"\r(?!\n)")
# Finding none of them is a C-speed scan; translating looks every character up (8 s for the
# 150 MB of `sla --format json` at 100k records), so it runs only when there is one to show.
_ANY_SHOWN = re.compile("[" + "".join(re.escape(chr(c)) for c in _SHOWN) + "]")
# The same scan over a command's JSON text as UTF-8 bytes, in C-speed steps (a character class
# scans 150 MB in ~1 s, deleting the one-byte characters and comparing lengths 0.24 s). A JSON text
# holds no control below space but escaped (JSON's grammar allows none raw in a string, and json
# and orjson escape them): DEL is the one one-byte character to look for. Each longer one is found
# by a pattern starting with its lead byte, looked for only when that byte is there at all.
_SHOWN_BY_LEAD = {}
for _c in sorted(c for c in _SHOWN if c >= 0x80):
    _SHOWN_BY_LEAD.setdefault(chr(_c).encode()[:1], []).append(chr(_c).encode())
_SHOWN_LONGER = tuple((lead, re.compile(re.escape(lead) + b"(?:" + b"|".join(re.escape(e[1:]) for e in encoded) + b")"))
                      for lead, encoded in _SHOWN_BY_LEAD.items())


def _any_shown_in_json(data: bytes) -> bool:
    """Whether the UTF-8 JSON text ``data`` holds a character ``_SHOWN`` writes as its code."""
    return b"\x7f" in data or any(lead in data and p.search(data) for lead, p in _SHOWN_LONGER)


class _Shown:
    """A text stream that writes control characters as their codes (see ``_SHOWN``)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        shown = text.translate(_SHOWN) if _ANY_SHOWN.search(text) else text
        if "\r" in shown:
            shown = _LONE_CR.sub(r"\\x0d", shown)
        return self._stream.write(shown)

    def write_json(self, data: bytes) -> None:
        """``write(data.decode())`` for a JSON text as UTF-8 ``data`` (json's or orjson's); when
        nothing in it is to be shown as a code the bytes go to the stream's buffer as they are
        (150 MB of JSON: decoding, scanning the text and encoding it again took 1.8 s)."""
        buffer = getattr(self._stream, "buffer", None)
        encoding = getattr(self._stream, "encoding", None) or ""
        if (buffer is None or encoding.lower().replace("-", "").replace("_", "") != "utf8"
                or b"\r" in data or _any_shown_in_json(data)):
            self.write(data.decode())
            return
        self._stream.flush()  # what was written as text goes first
        buffer.write(data)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Shown(out), _Shown(err)
    try:
        return _command(build_parser(), argv)
    except Exception as error:  # the last resort: anything uncaught is a bug; say so once, exit 2 (no wall of text)
        print(f"servicebook: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        if os.environ.get("SERVICEBOOK_DEBUG"):
            traceback.print_exc()
        else:
            print("servicebook: this is a bug; SERVICEBOOK_DEBUG=1 shows where", file=sys.stderr)
        return 2
    finally:
        sys.stdout, sys.stderr = out, err


def _command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help
        return int(exit_.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except (UsageError, LifecycleError) as err:  # bad arguments, not a repository, no lifecycle: exit 2
        print(f"servicebook: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def entry() -> None:
    """The console script. Exits without tearing down the interpreter: freeing 100k records one
    by one costs about a second and serves nothing (every write is atomic and already done). The
    cyclic collector runs rarely, and a command's records are kept to the end (`load.collector`)."""
    collect_rarely()
    exit_without_teardown()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
