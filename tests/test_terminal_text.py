"""Record text printed by a command is shown, never obeyed by the terminal: an escape sequence in a
name (retitle the window, clear the screen, hide text) or a bidirectional override comes out as its
code, in every command's output, through the real console command."""
from __future__ import annotations

import pytest

from conftest import sb_process

HOSTILE = '"孙丽\\e]0;pwned\\a\\e[2J\\u202e\\x9b31m\\rX"'  # YAML double-quoted escapes
CONTROLS = ("\x1b", "\x07", "\u202e", "\x9b")


@pytest.fixture
def repo(mini):
    mini.edit("P-sun-li", "name: 孙丽", f"name: {HOSTILE}")
    return mini


@pytest.mark.parametrize("args", [
    ["show", "CP-20261202-7KQ2XM"],
    ["show", "P-sun-li"],
    ["report", "workload", "--at", "2026-12-02T12:00:00+08:00"],
    ["report", "cases", "--at", "2026-12-02T12:00:00+08:00"],
])
def test_control_characters_are_shown_as_codes(repo, args):
    proc = sb_process(*args, "--root", str(repo.root), cwd=repo.root)
    assert proc.returncode in (0, 1), proc.stderr
    text = proc.stdout + proc.stderr
    assert not any(c in text for c in CONTROLS), repr(text[:400])
    assert "\r" not in text.replace("\r\n", "")
    if args[1] == "P-sun-li":
        assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\u009b31m\\x0dX" in text


# every character shown as a code that a JSON text holds as it is: DEL, C1 controls, bidi controls
JSON_HOSTILE = "\x7f\x85\x9b31m\u202e\u2066\x1b]0;x\x07"


@pytest.mark.parametrize("args", [
    ["show", "CU-beiguo-pharma", "--format", "json"],
    ["show", "P-chen-gang", "--format", "json"],
    ["report", "workload", "--format", "json"],
    ["report", "cases", "--format", "json"],
    ["sla", "--format", "json"],
    ["pipeline", "--format", "json"],
])
def test_json_output_stays_json_holding_the_records_own_text(demo, args):
    """Every person's and customer's names end in control characters. Each is shown as its code;
    in JSON the code is JSON's escape of the same character, so the output parses, to the
    records' own text."""
    import json
    import re

    for folder in ("person", "customer"):
        for path in (demo / "records" / folder).glob("*.yaml"):
            text = re.sub(r"^((?:short_)?name(?:_en)?): (.+)$",
                          lambda m: f"{m[1]}: {json.dumps(m[2] + JSON_HOSTILE)}",
                          path.read_text(encoding="utf-8"), flags=re.M)
            path.write_text(text, encoding="utf-8")
    proc = sb_process(*args, "--at", "2026-11-24T10:00:00+08:00", "--root", str(demo), cwd=demo) \
        if args[0] != "show" else sb_process(*args, "--root", str(demo), cwd=demo)
    assert proc.returncode in (0, 1), proc.stderr
    assert not any(c in proc.stdout for c in "\x7f\x85\x9b\u202e\u2066\x1b\x07"), repr(proc.stdout[:400])
    found = [t for t in _texts(json.loads(proc.stdout)) if "\x7f" in t]
    assert found and all(v.endswith(JSON_HOSTILE) for v in found), found


def _texts(value) -> list[str]:
    """Every text in a JSON value."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [value] if isinstance(value, str) else []


def test_the_quick_scan_finds_exactly_the_characters_shown_as_codes():
    """Output is translated only when the scan finds a character to show: the scan must find
    every one of them and nothing else, or text would slip through untranslated."""
    from servicebook import cli

    for c in range(0x30000):
        assert bool(cli._ANY_SHOWN.search(f"a{chr(c)}b")) == (c in cli._SHOWN), hex(c)


@pytest.mark.parametrize("encoder", ["json", "orjson"])
def test_the_json_scan_finds_exactly_the_characters_shown_as_codes(encoder):
    """`_Shown.write_json` passes a JSON text's bytes through untranslated when the byte scan
    finds nothing: in the text as each encoder writes it, the scan must find every character
    shown as a code and nothing else (below space the encoders write escapes, not characters)."""
    import json

    import orjson

    from servicebook import cli

    for c in range(0x30000):
        if 0xD800 <= c < 0xE000:  # surrogates: no UTF-8
            continue
        value = [f"a{chr(c)}b", {f"k{chr(c)}": 1}]
        data = (json.dumps(value, ensure_ascii=False, indent=2).encode() if encoder == "json"
                else orjson.dumps(value, option=orjson.OPT_INDENT_2))
        assert cli._any_shown_in_json(data) == bool(cli._ANY_SHOWN.search(data.decode())), hex(c)


@pytest.mark.parametrize("text", ["孙丽 plain", "孙丽\x1b]0;pwned\x07\u202e\x9b31m\rX\r\n", "a\r\nb\rc", "—“引号”…·\x7f"])
def test_json_written_as_its_text_would_be(text):
    import io
    import json

    from servicebook import cli

    data = json.dumps({"name": text}, ensure_ascii=False, indent=2) + "\n"

    def shown(write):
        stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
        out = cli._Shown(stream)
        out.write("first ")  # text written before the bytes stays before them
        write(out)
        stream.flush()
        return stream.buffer.getvalue()

    assert shown(lambda out: out.write_json(data.encode())) == shown(lambda out: out.write(data))
