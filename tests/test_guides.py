"""The guides under docs/guide/ are run, command by command, against a scratch repository.

A guide is what a new member of staff follows; a command in it that no longer works (a renamed
option, an ID that does not exist, an output that changed) fails here. Each guide's shell blocks
run in order in one bash script, in a git repository holding a copy of the demo records, with a
home folder of its own (the guides set up git and SSH keys), exactly as a user would type them.

Markers, as HTML comments the published page does not show, say what a reader does by hand:

- ``<!-- guide-file: PATH -->`` before a ``yaml`` block: the reader saves the block as PATH.
- ``<!-- guide-merge: PATH -->`` before a ``yaml`` block: the reader adds its entries to PATH.
- ``<!-- guide-step: NAME -->``: somebody else acts (``STEPS`` below: administration adds a key).
- ``<!-- guide-exit: N -->`` before a ``sh`` block: its last command exits with N (validate, 1).
- ``<!-- guide-output -->`` before a ``text`` block: each of its lines is printed by the block before.
- ``<!-- guide-skip: WHY -->`` before a ``sh`` block: not runnable here (a hosted service).

The English and Chinese guide show the same commands: the test fails when they differ.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

GUIDES = REPO / "docs" / "guide"
# Somebody else's part of a guide, done between the reader's commands.
STEPS = {
    # Administration adds the approver's new public key to the person record, on main.
    "admin-adds-key": r"""
"$SB_PYTHON" - <<'PY'
import pathlib
person = pathlib.Path("records/person/P-zhao-guoqiang.yaml")
key = (pathlib.Path.home() / ".ssh" / "id_ed25519.pub").read_text().strip()
text = person.read_text(encoding="utf-8")
person.write_text(text.replace("signing_keys:\n", f"signing_keys:\n- key: {key}\n", 1), encoding="utf-8")
PY
git -c user.name=Admin -c user.email=admin@huaxin-service.example commit -q -am "Add Zhao Guoqiang's signing key"
""",
}
_MARKER = re.compile(r"<!--\s*guide-(file|merge|step|exit|output|skip)(?::\s*(.*?))?\s*-->")
_FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(path: Path) -> list[tuple[str, str, str | None, str]]:
    """(marker, marker argument, language, text) per fenced block or lone marker, in order."""
    out, pending, lines = [], None, path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        marker, fence = _MARKER.fullmatch(line), _FENCE.match(line)
        if marker and marker.group(1) == "step":
            out.append(("step", marker.group(2), None, ""))
        elif marker:
            pending = (marker.group(1), marker.group(2) or "")
        elif fence and fence.group(1):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            kind, arg = pending or ("", "")
            out.append((kind, arg, fence.group(1), "\n".join(lines[i + 1:end]) + "\n"))
            pending, i = None, end
        i += 1
    return out


def commands(path: Path) -> list[str]:
    """The command lines of a guide's shell blocks, comments left out (they are translated)."""
    return [re.sub(r"\s+#.*$", "", line).strip()
            for _, _, lang, text in blocks(path) if lang == "sh"
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def guide_pairs() -> list[Path]:
    return sorted(p for p in GUIDES.glob("*.md") if not p.name.endswith(".zh.md"))


@pytest.mark.parametrize("guide", guide_pairs(), ids=lambda p: p.stem)
def test_both_languages_show_the_same_commands(guide):
    zh = guide.with_name(guide.stem + ".zh.md")
    assert zh.exists(), f"{zh.name} missing"
    assert commands(guide) == commands(zh)
    assert [(k, a) for k, a, _, _ in blocks(guide) if k in {"file", "merge", "step", "exit"}] == \
           [(k, a) for k, a, _, _ in blocks(zh) if k in {"file", "merge", "step", "exit"}]


def test_every_guide_is_in_the_navigation():
    plugin = (REPO / "tools" / "servicebook" / "site" / "plugin.py").read_text(encoding="utf-8")
    for guide in guide_pairs():
        assert f'"guide/{guide.name}"' in plugin, guide.name


def script(path: Path) -> tuple[str, list[tuple[int, str]]]:
    """The guide as one bash script, and the expected output lines per shell block number."""
    parts, expected, n = ["set -euo pipefail", "exec 2>&1"], [], 0
    for kind, arg, lang, text in blocks(path):
        if kind == "step":
            parts.append(STEPS[arg])
        elif kind == "file":
            parts.append(f"mkdir -p \"$(dirname {arg})\"\ncat > {arg} <<'GUIDE_EOF'\n{text}GUIDE_EOF")
        elif kind == "merge":
            parts.append(f"\"$SB_PYTHON\" {Path(__file__).resolve()} merge {arg} <<'GUIDE_EOF'\n{text}GUIDE_EOF")
        elif kind == "output":
            expected.append((n, text))
        elif lang == "sh" and kind != "skip":
            n += 1
            if kind == "exit":
                parts.append(f"echo '@@block {n}@@'\nset +e\n(\nset -e\n{text})\nrc=$?\nset -e\n"
                             f"[ $rc -eq {int(arg)} ] || {{ echo \"block {n} exited $rc, not {arg}\" >&2; exit 99; }}")
            else:
                parts.append(f"echo '@@block {n}@@'\n{text}")
    return "\n".join(parts) + "\n", expected


def merge(target: Path, addition: dict) -> None:
    """Add a guide's YAML entries to a record: lists are extended, other values set."""
    record = yaml.safe_load(target.read_text(encoding="utf-8"))
    for key, value in addition.items():
        if isinstance(value, list):
            record.setdefault(key, [])
            record[key].extend(v for v in value if v not in record[key])
        else:
            record[key] = value
    target.write_text(yaml.safe_dump(record, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def scratch(tmp_path: Path) -> dict:
    """A git repository with the demo records, a home of its own and `servicebook` on the PATH."""
    root = tmp_path / "repo"
    for folder in ("schemas", "records"):
        shutil.copytree(REPO / folder, root / folder)
    (root / ".github").mkdir()
    shutil.copy(REPO / ".github" / "review-rules.yaml", root / ".github")
    shutil.copy(REPO / ".gitignore", root / ".gitignore")
    home, bin_ = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    bin_.mkdir()
    launcher = bin_ / "servicebook"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m servicebook "$@"\n')
    launcher.chmod(0o755)
    env = {"HOME": str(home), "PATH": f"{bin_}:{os.environ['PATH']}", "LANG": "C.UTF-8",
           "PYTHONPATH": str(REPO / "tools"), "GIT_CONFIG_NOSYSTEM": "1", "TZ": "UTC",
           "SB_PYTHON": sys.executable}
    # Whoever follows a guide has git set up already: a member of staff, until a guide says otherwise.
    (home / ".gitconfig").write_text("[user]\n\tname = Shen Yue\n\temail = shen.yue@huaxin-service.example\n")
    admin = ["-c", "user.name=Admin", "-c", "user.email=admin@huaxin-service.example"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*admin, "commit", "-q", "-m", "Import"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    return {"root": root, "env": env}


@pytest.mark.parametrize("guide", guide_pairs(), ids=lambda p: p.stem)
def test_guide_runs(guide, scratch):
    text, expected = script(guide)
    proc = subprocess.run(["bash", "-c", text], cwd=scratch["root"], env=scratch["env"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{guide.name}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stdout
    assert not re.search(r"created\s+by\s+<>", proc.stdout), "an audit line with nobody in it"
    output = dict(re.findall(r"@@block (\d+)@@\n(.*?)(?=@@block |\Z)", proc.stdout, re.S))
    for n, lines in expected:
        for line in filter(None, (line.strip() for line in lines.splitlines())):
            assert line in output.get(str(n), ""), f"{guide.name}: {line!r} not printed by block {n}"


if __name__ == "__main__" and sys.argv[1:2] == ["merge"]:
    merge(Path(sys.argv[2]), yaml.safe_load(sys.stdin.read()))
