"""The YAML gate's number-form test (``yamlload._has_number_form``: one pattern per value
position, found by their literal text) answers exactly as the single pattern it replaced, kept
here as the specification, on every record file, on every tricky scalar at every value position,
and on generated text made of the characters that matter."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from servicebook.load import yamlload

REPO = Path(__file__).resolve().parents[1]

# the pattern before the split, verbatim
SPECIFICATION = re.compile(
    r"""[:\-\[,{](?:(?<=[:-])[ \t]+|(?<![:-])[ \t]*)   # a value position: ': ', '- ', or [ , {
    [-+]?(?:
        0[0-9xXoObB_]                 # leading zero, hex, octal, binary: 0123 0x1F
      | \.[0-9iInN]                   # leading dot, .inf, .nan
      | [0-9]+(?:_|\.(?![0-9])|[eE][-+]?[0-9])   # 1_000, 1., 1e3
    )""",
    re.VERBOSE,
)

SCALARS = ["0", "-0", "+12", "0123", "-0123", "+0x1F", "0o17", "0x1F", "0b101", "0_1", "1e3", "1E-3",
           "-1e+3", "1.5e3", ".5", "-.5", "1.", "1.5", "12.50", "1_000", ".inf", "-.inf", ".nan", ".NaN",
           ".x", "2026-11-23", "2026-11-23T09:30:00+08:00", "17:30", "13800138000", "王先生", "'0123'",
           '"1e3"', "a1e3", "e3", "00", "9", "99.", "9.9.9", "1e", "1ex", "٠١٢", "１２"]
LEADS = [":", "-", "[", ",", "{", "?", "a", "", "\n", "中"]
BLANKS = ["", " ", "  ", "\t", " \t", "\t "]


def _agree(text: str) -> None:
    assert yamlload._has_number_form(text) == bool(SPECIFICATION.search(text)), repr(text)


def test_every_record_file():
    files = [p for base in (REPO / "records", REPO / "tests" / "fixtures") if base.exists()
             for p in base.rglob("*.yaml")]
    assert files
    for p in files:
        _agree(p.read_text(encoding="utf-8"))


def test_every_scalar_at_every_value_position():
    found = 0
    for lead, blank, scalar, after in itertools.product(LEADS, BLANKS, SCALARS, ["", "\n", " x", ",", "]"]):
        text = f"key{lead}{blank}{scalar}{after}"
        _agree(text)
        found += bool(SPECIFICATION.search(text))
    assert found > 1000  # both answers were given many times


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=":-[,{}? \t\n+-0123456789.xXoObB_eEiInNa中٣", max_size=40))
def test_generated_text(text):
    _agree(text)
