"""What validation finds, and the three ways of printing it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about one file. ``line``/``column`` are 1-based; ``path`` is dotted
    (``issues[0].problem``), empty for the whole file."""

    file: str
    line: int
    column: int
    path: str
    rule: str
    message: str
    severity: str = "error"
    # what the message says, as data, for a reader in another language (the site words a rule's
    # message from them: role and status keys, person IDs); not part of the JSON output
    params: dict = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict:
        out = asdict(self)
        del out["params"]
        return out


def format_text(problems: list[Problem]) -> str:
    out = []
    for p in problems:
        where = f"{p.file}:{p.line}:{p.column}"
        field = f" {p.path}:" if p.path else ""
        out.append(f"{where}: {p.severity} [{p.rule}]{field} {p.message}")
    return "\n".join(out)


def format_json(problems: list[Problem]) -> str:
    return json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2)


def _escape_github(value: str, prop: bool = False) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def format_github(problems: list[Problem]) -> str:
    out = []
    for p in problems:
        level = "error" if p.severity == "error" else "warning"
        title = _escape_github(f"{p.rule} {p.path}".strip(), prop=True)
        out.append(
            f"::{level} file={_escape_github(p.file, True)},line={p.line},col={p.column},"
            f"title={title}::{_escape_github(p.message)}"
        )
    return "\n".join(out)


FORMATTERS = {"text": format_text, "json": format_json, "github": format_github}
