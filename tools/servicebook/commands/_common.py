"""Options and helpers shared by the commands."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"


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


def now_instant(tz: str = DEFAULT_TZ) -> str:
    return datetime.now(ZoneInfo(tz)).replace(microsecond=0).isoformat()


def at_or_now(value: str | None, parse=None):
    """An ``--at`` option: as given or now, parsed by ``parse``; a bad value is a usage error."""
    text = value or now_instant()
    try:
        return parse(text) if parse else text
    except (ValueError, TypeError) as err:
        raise UsageError(f"--at {text!r}: {err}") from None


def fail(message: str) -> int:
    print(f"servicebook: {message}", file=sys.stderr)
    return 2
