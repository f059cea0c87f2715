"""Writing records: atomically, never over an existing file, keeping comments and key order.

Only commands a person runs on purpose write (``new``, ``status``, ``kb promote``...). Every
write goes to a temporary file in the same folder first, so a crash leaves either the old file
or the new one, never half of each.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


class WriteRefused(Exception):
    """The write would lose or overwrite something; nothing was changed."""


# Characters YAML readers treat as line breaks: written raw they fold into spaces on the way
# back in, so any text holding one is written double-quoted, where they are escaped (\N \L \P).
_YAML_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(representer, value: str):
    if any(ch in value for ch in _YAML_BREAKS):
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return representer.represent_str(value)


def yaml_rt() -> YAML:
    """ruamel round-trip YAML with the indentation ``new`` writes, so edits keep the layout."""
    y = YAML(typ="rt")
    y.representer.add_representer(str, _represent_str)
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 1 << 16  # never fold a long line that was written on one
    y.preserve_quotes = True
    y.allow_unicode = True
    return y


def dump(data: Any, yaml: YAML | None = None) -> str:
    buf = io.StringIO()
    (yaml or yaml_rt()).dump(data, buf)
    text = buf.getvalue()
    return text.replace("\n", "\r\n") if getattr(yaml, "crlf", False) else text


def load_for_edit(text: str) -> tuple[Any, YAML]:
    """Load a record for editing with a YAML instance that writes back the file's own
    indentation, so an edit changes only the lines it means to. The round-trip reader is stricter
    than the records' reader in places (a tab where YAML allows one): what it cannot read is
    refused, never guessed at."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        # ruamel's guess: where a sequence item's content starts under its key (``sequence``) and
        # where its dash is (``offset``); the mapping indentation is read from the file itself
        _, sequence, offset = load_yaml_guess_indent(text)
        y = yaml_rt()
        offset = offset or 0
        sequence = sequence or 2
        y.indent(mapping=_mapping_indent(text) or max(2, sequence - offset), sequence=sequence, offset=offset)
        y.crlf = "\r\n" in text  # written back with the file's own line ends
        return y.load(text.replace("\r\n", "\n")), y
    except YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        raise WriteRefused(f"cannot edit this file without changing its layout{at}: "
                           f"{getattr(err, 'problem', None) or err}; edit it by hand") from None


def _mapping_indent(text: str) -> int | None:
    """How far a nested mapping is indented in ``text`` (the first key under a key that opens a
    mapping), or None when the file has none."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for above, line in zip(lines, lines[1:]):
        head = len(above) - len(above.lstrip())
        if above.rstrip().endswith(":") and not above.lstrip().startswith("- "):
            stripped = line.lstrip()
            if not stripped.startswith("-") and len(line) - len(stripped) > head:
                return len(line) - len(stripped) - head
    return None


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` as a normally created file would get it (mkstemp makes files 0600)."""
    current = os.umask(0)
    os.umask(current)
    return mode & ~current


def _write_temp(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".servicebook-", suffix=".tmp", dir=folder)
    os.fchmod(fd, umask_mode())
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return Path(tmp)


def create(path: Path, text: str) -> None:
    """Write a new file; refuse if anything exists at ``path`` (checked atomically by link)."""
    tmp = _write_temp(path.parent, text)
    try:
        os.link(tmp, path)  # fails if path exists, even if it appeared a microsecond ago
    except FileExistsError:
        raise WriteRefused(f"{path} already exists; servicebook never overwrites a record") from None
    finally:
        tmp.unlink(missing_ok=True)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def replace(path: Path, text: str, expected_digest: str) -> None:
    """Replace an existing file, but only if it still holds what we read (``expected_digest``):
    an edit made meanwhile, by a person or a ``git pull``, is never lost."""
    tmp = _write_temp(path.parent, text)
    try:
        if digest(path.read_bytes()) != expected_digest:
            raise WriteRefused(f"{path} changed while it was being edited; nothing was written")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
