"""Writing commands refuse what validate would reject. The content a command is about to write is
checked with every check `servicebook validate` runs, as validate would see it in that file, before
anything is written; when validate would report an error in it, nothing is written and the command
prints the same located problems validate would (exit 1)."""

from __future__ import annotations

from pathlib import Path

from servicebook.derive import checked
from servicebook.load.problems import Problem, format_text


class Invalid(Exception):
    """The candidate content of ``rel`` has errors; ``problems`` are validate's, located in it."""

    def __init__(self, rel: str, problems: list[Problem]):
        super().__init__(f"{rel}: not written, validate would reject it:\n{format_text(problems)}")
        self.rel = rel
        self.problems = problems


def require_text(rel: str, **values: str | None) -> None:
    """Raise ``Invalid`` when a value given to a writing command is not text a record can hold:
    an argument the shell passed as bytes that are not UTF-8 arrives with surrogates, which the
    writer would turn into escape codes."""
    for name, value in values.items():
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError as err:
            raise Invalid(rel, [Problem(rel, 1, 1, name, "yaml.encoding",
                                        f"not UTF-8 text ({err.object[err.start:err.end]!r}): pass the value as UTF-8")]) from None


def errors(root: Path, rel: str, text: str) -> list[Problem]:
    """Validate's errors in ``rel`` if it held ``text``."""
    corpus = checked.load(root, only=[rel], contents={rel: text.encode("utf-8")}, use_cache=False)
    return [p for p in corpus.problems if p.file == rel and p.severity == "error"]


def require_valid(root: Path, rel: str, text: str, blanks: frozenset[str] = frozenset()) -> None:
    """Raise ``Invalid`` when ``rel`` holding ``text`` has an error: a writing command leaves
    behind only what validate accepts, so a record already wrong is put right before it moves on
    (the problems say where). ``blanks``: fields a new form leaves for its writer to fill in
    (`servicebook new`): that they are empty is the form's prompt, not a mistake, and so are the
    problems of the whole record they cause (no SLA policy matches a complaint whose kind is
    still blank); what was given is judged."""
    found = [p for p in errors(root, rel, text)
             if not blanks or (p.path and top_field(p.path) not in blanks)]
    if found:
        raise Invalid(rel, found)


def top_field(path: str) -> str:
    """The top-level field of a dotted problem path: ``issues[0].cause`` -> ``issues``."""
    return path.split(".", 1)[0].split("[", 1)[0]


__all__ = ["Invalid", "errors", "require_text", "require_valid", "top_field"]
