"""The command reference is complete and true (issue #14), as sqlite-utils and Datasette check theirs.

The parser (``cli.build_parser()``) is the truth. Every command and sub-command has a section
``## servicebook <command>`` in ``docs/commands.md`` and in ``docs/commands.zh.md``, every long
option (but ``--help``) and every allowed value of a choice is named inside that section in both
files, and each section shows the command in an example. The other way round, nothing documented
may be gone: a section for a command that does not exist, an option named in a section that its
command does not have, or a ``servicebook ...`` command line (in a code span or a code block, in
the reference, the README or any hand-written page under docs/) naming an unknown command or
option fails. The README names every command and links the reference.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from servicebook import cli

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = {"en": ROOT / "docs" / "commands.md", "zh": ROOT / "docs" / "commands.zh.md"}
README = ROOT / "README.md"
PROG = "servicebook"

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SPAN = re.compile(r"(`+)(.+?)\1", re.S)
FENCE = re.compile(r"^\s*(```|~~~)")
# a command line: servicebook, .venv/bin/servicebook, $ servicebook ...
INVOCATION = re.compile(r"^(?:\$\s+)?(?:[\w./-]*/)?servicebook(?:\s+(.*))?$", re.S)
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_-]*$")


# --- the parser --------------------------------------------------------------------------------

def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + (name,))


PARSERS = dict(_walk(cli.build_parser()))          # () -> the program, ("kb", "match") -> ...
COMMANDS = sorted(p for p in PARSERS if p)         # every command and sub-command


def title(path: tuple[str, ...]) -> str:
    return " ".join((PROG, *path))


def options(path: tuple[str, ...]) -> set[str]:
    return {s for a in PARSERS[path]._actions for s in a.option_strings
            if s.startswith("--") and s != "--help"}


def choices(path: tuple[str, ...]) -> set[str]:
    return {str(c) for a in PARSERS[path]._actions
            if a.choices is not None and not isinstance(a, argparse._SubParsersAction) for c in a.choices}


def subcommands(path: tuple[str, ...]) -> set[str]:
    return {name for a in PARSERS[path]._actions if isinstance(a, argparse._SubParsersAction)
            for name in a.choices}


ALL_OPTIONS = set().union(*(options(p) for p in PARSERS)) | {"--help"}


# --- the documents -----------------------------------------------------------------------------

def sections(text: str) -> dict[str, str]:
    """``## heading`` -> the text up to the next ``## `` heading (``""``: before the first one).
    Headings inside code blocks do not count."""
    out: dict[str, list[str]] = {"": []}
    current, fenced = "", False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            current = line[3:].strip()
            assert current not in out, f"two sections named {current!r}"
            out[current] = []
            continue
        out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def code_lines(text: str) -> tuple[list[str], str]:
    """(the lines of code blocks, continuation lines joined; the text outside code blocks)."""
    code, prose, fenced, pending = [], [], False, ""
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            prose.append(line)
            continue
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        code.append(line)
    return code, "\n".join(prose)


def resolve(words: str) -> tuple[tuple[str, ...] | None, list[str]]:
    """The command a command line names, and the problems of the line (unknown command or
    option). None for a line whose command is a placeholder (``servicebook COMMAND --help``)."""
    words = re.sub(r"\s#.*$", "", words)               # a shell comment ends the line
    tokens = words.split()
    path: tuple[str, ...] = ()
    for token in tokens:
        if token.startswith("-") or not subcommands(path):
            break
        if PLACEHOLDER.match(token):
            return None, []
        if token not in subcommands(path):
            return path, [f"`{title(path)} {token}`: no such command"]
        path = path + (token,)
    unknown = sorted(set(OPTION.findall(words)) - options(path) - {"--help"})
    return path, [f"`{title(path)}` has no option {o}" for o in unknown]


def invocations(text: str) -> list[str]:
    """The arguments of every ``servicebook ...`` command line of a Markdown text: code-block lines
    and inline code spans."""
    code, prose = code_lines(text)
    found = [m.group(1) or "" for line in code if (m := INVOCATION.match(line.strip()))]
    found += [m.group(1) or "" for span in SPAN.finditer(prose)
              if (m := INVOCATION.match(span.group(2).strip()))]
    return found


def stale(text: str, where: str, own: tuple[str, ...] | None) -> list[str]:
    """Unknown commands and options named in a text. Command lines are checked against the
    command they name; every other option (prose, or a span like `--format json`) against
    ``own``, the command of the section (None: any option of any command)."""
    problems = []
    for words in invocations(text):
        problems += [f"{where}: {p}" for p in resolve(words)[1]]
    code, prose = code_lines(text)
    loose = SPAN.sub(lambda m: m.group(2) if m.group(2).lstrip().startswith("-") else " ", prose)
    allowed = ALL_OPTIONS if own is None else options(own) | {"--help"}
    for option in sorted(set(OPTION.findall(loose)) - allowed):
        problems.append(f"{where}: {option} is not an option of `{title(own) if own is not None else PROG}`")
    return problems


def mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.fixture(scope="module", params=sorted(REFERENCE))
def reference(request):
    lang = request.param
    return lang, sections(REFERENCE[lang].read_text(encoding="utf-8"))


# --- the tests ---------------------------------------------------------------------------------

def test_the_parser_is_walked():
    assert ("kb", "match") in PARSERS and ("kb", "promote") in PARSERS and ("validate",) in PARSERS
    assert "--root" in options(("kb", "match")) and "--help" not in options(("validate",))


def test_every_command_has_its_section(reference):
    lang, secs = reference
    missing = [title(p) for p in [(), *COMMANDS] if title(p) not in secs]
    assert not missing, f"{REFERENCE[lang].name}: no `## ...` section for {missing}"


def test_every_option_and_value_is_documented_in_its_section(reference):
    lang, secs = reference
    missing = []
    for path in [(), *COMMANDS]:
        body = secs.get(title(path), "")
        missing += [f"{title(path)} {o}" for o in sorted(options(path)) if not mentions(body, o)]
        missing += [f"{title(path)}: value {c!r}" for c in sorted(choices(path)) if not mentions(body, c)]
    assert not missing, f"{REFERENCE[lang].name}: not documented in the command's section: {missing}"


def test_every_section_shows_its_command_in_an_example(reference):
    lang, secs = reference
    bare = []
    for path in [(), *COMMANDS]:
        code, _ = code_lines(secs.get(title(path), ""))
        named = [resolve(m.group(1) or "")[0] for line in code if (m := INVOCATION.match(line.strip()))]
        if not any(n is not None and n[:len(path)] == path for n in named):
            bare.append(title(path))
    assert not bare, f"{REFERENCE[lang].name}: sections without an example: {bare}"


def test_the_reference_names_no_command_or_option_that_does_not_exist(reference):
    lang, secs = reference
    known = {title(p) for p in PARSERS}
    problems = [f"section `## {h}`: no such command" for h in secs
                if h.split(" ")[0] == PROG and h not in known]
    for heading, body in secs.items():
        own = tuple(heading.split(" ")[1:]) if heading in known else None
        problems += stale(body, f"{REFERENCE[lang].name} `## {heading}`", own)
    assert not problems, "\n".join(problems)


def test_both_languages_have_the_same_sections():
    en, zh = (set(h for h in sections(REFERENCE[lang].read_text(encoding="utf-8")) if h.startswith(PROG))
              for lang in ("en", "zh"))
    assert en == zh, f"only in English: {sorted(en - zh)}; only in Chinese: {sorted(zh - en)}"


def test_the_readme_names_every_command_and_links_the_reference():
    text = README.read_text(encoding="utf-8")
    missing = [title(p) for p in COMMANDS if not mentions(text, title(p))]
    assert not missing, f"README.md does not name {missing}"
    assert "(docs/commands.md)" in text, "README.md does not link docs/commands.md"


def test_no_page_names_a_command_or_option_that_does_not_exist():
    pages = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    problems = []
    for page in pages:
        for words in invocations(page.read_text(encoding="utf-8")):
            problems += [f"{page.relative_to(ROOT)}: {p}" for p in resolve(words)[1]]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_should():
    """The rules above, on small texts: a missing or unknown option, an unknown command."""
    secs = sections("intro\n## servicebook kb match\n`--text` `--limit`\n```sh\n# ## not a heading\n```\n"
                    "## servicebook nothing\n")
    assert set(secs) == {"", "servicebook kb match", "servicebook nothing"}
    assert not mentions(secs["servicebook kb match"], "--drafts") and mentions(secs["servicebook kb match"], "--text")
    assert not mentions("`--at-risk`", "--at")
    assert resolve("kb match --bogus X")[1] == ["`servicebook kb match` has no option --bogus"]
    assert resolve("kb frobnicate")[1] == ["`servicebook kb frobnicate`: no such command"]
    assert resolve("COMMAND --help") == (None, [])
    assert resolve("validate --format github  # also: --not-checked") == (("validate",), [])
    assert stale("`--limit` and --drafts, not --foo", "x", ("kb", "match")) == [
        "x: --foo is not an option of `servicebook kb match`"]
    assert stale("```sh\nservicebook sla \\\n    --breached --nope\n```\n", "x", ("sla",)) == [
        "x: `servicebook sla` has no option --nope"]
    assert stale("`git log --format=%B` stays git's", "x", ("validate",)) == []


def test_the_reference_is_in_the_site_navigation(tmp_path):
    from mkdocs.structure.files import File, Files

    from servicebook.site.plugin import ServicebookPlugin

    docs = ROOT / "docs"
    files = Files([File(str(p.relative_to(docs)), str(docs), str(tmp_path), True)
                   for p in docs.rglob("*.md") if not p.name.endswith(".zh.md")])

    def flat(nav):
        for item in nav:
            for value in (item.values() if isinstance(item, dict) else [item]):
                yield from (flat(value) if isinstance(value, list) else [value])

    for lang in ("zh", "en"):
        assert "commands.md" in set(flat(ServicebookPlugin()._nav(files, lang)))
