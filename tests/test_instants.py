"""One instant parser and one time-zone setting (issue #14): ``servicebook.load.instants``.

What an instant is (RFC 3339 text with an offset or Z, a bare date as midnight in the company zone,
aware datetimes, epoch seconds; a time without offset refused and never guessed), that nothing
else in the package parses instants or names the zone, and that a bad ``--at`` is the same usage
error (exit 2) in every command, never written into a record."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from servicebook.load import instants as I
from servicebook.load.instants import InstantError
from conftest import sb

PKG = Path(__file__).resolve().parents[1] / "tools" / "servicebook"
CST = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc


# ------------------------------------------------------------------ the parser

@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T17:30:00+08:00", dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)),
    ("2026-11-20T09:30:00Z", dt.datetime(2026, 11, 20, 9, 30, tzinfo=UTC)),
    ("2026-11-20T04:30:00-05:00", dt.datetime(2026, 11, 20, 4, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5)))),
    ("2026-11-20T17:30:00.250+08:00", dt.datetime(2026, 11, 20, 17, 30, 0, 250000, tzinfo=CST)),
    ("2026-11-20 17:30:00+08:00", dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)),   # RFC 3339 allows a space
    ("2026-11-20T17:30+08:00", dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)),      # seconds optional when reading
    ("  2026-11-20T17:30:00+08:00\n", dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)),
    ("2026-11-20", dt.datetime(2026, 11, 20, 0, 0, tzinfo=CST)),                      # a date: local midnight
])
def test_instant_text(text, expected):
    got = I.parse_instant(text)
    assert got == expected and got.utcoffset() == expected.utcoffset()
    assert I.instant_or_none(text) == expected
    assert I.to_timestamp(text) == expected.timestamp()


def test_a_bare_date_is_midnight_in_the_company_zone_or_the_zone_given():
    assert I.parse_instant("2026-11-20").tzinfo is I.ZONE
    assert I.parse_instant(dt.date(2026, 11, 20)) == dt.datetime(2026, 11, 20, tzinfo=CST)
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert I.parse_instant("2026-11-20", berlin) == dt.datetime(2026, 11, 20, tzinfo=berlin)
    assert I.start_of_day(dt.date(2026, 11, 20)) == dt.datetime(2026, 11, 20, tzinfo=CST)


def test_objects_and_epoch_seconds():
    aware = dt.datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert I.parse_instant(aware) is aware
    assert I.parse_instant(1_763_631_000) == dt.datetime(2025, 11, 20, 17, 30, tzinfo=CST)
    assert I.parse_instant(1_763_631_000.5).tzinfo is I.ZONE
    assert I.to_timestamp(1_763_631_000) == 1_763_631_000.0 and I.to_timestamp(1.5) == 1.5


@pytest.mark.parametrize("value", ["2026-11-20T17:30:00", "2026-11-20 17:30", dt.datetime(2026, 11, 20, 17, 30)])
def test_a_time_without_offset_is_refused_never_guessed(value):
    with pytest.raises(InstantError, match="no UTC offset"):
        I.parse_instant(value)
    with pytest.raises(InstantError, match="no UTC offset"):
        I.to_timestamp(value)
    assert I.instant_or_none(value) is None
    assert I.date_or_none(value) is None


@pytest.mark.parametrize("value", [
    "garbage", "", "yesterday", "2026-13-01", "2026-02-30", "2026-11-20T25:00:00+08:00",
    "2026-W47-5", "2026-W47-5T10:00:00+08:00", "20261120T173000+0800", "2026-11-20T17+08:00",
    "1763631000", None, True, [], {}, float("nan"), 1e20,
])
def test_garbage(value):
    with pytest.raises(InstantError, match="not an instant"):
        I.parse_instant(value)
    with pytest.raises(InstantError):
        I.to_timestamp(value) if not isinstance(value, float) else I.parse_instant(value)
    assert I.instant_or_none(value) is None
    assert issubclass(InstantError, ValueError)


def test_the_message_says_what_to_write():
    with pytest.raises(InstantError) as err:
        I.parse_instant("next tuesday")
    assert str(err.value) == ("not an instant: 'next tuesday' "
                              "(expected e.g. 2026-11-20T17:30:00+08:00, or a date 2026-11-20)")


def test_dates():
    assert I.parse_date("2026-11-20") == dt.date(2026, 11, 20)
    assert I.parse_date(dt.date(2026, 11, 20)) == dt.date(2026, 11, 20)
    # an instant's date is its date in the company zone
    assert I.parse_date("2026-11-19T20:00:00Z") == dt.date(2026, 11, 20)
    assert I.date_or_none(dt.datetime(2026, 11, 19, 20, tzinfo=UTC)) == dt.date(2026, 11, 20)
    assert I.local_date(dt.datetime(2026, 11, 19, 15, 59, tzinfo=UTC)) == dt.date(2026, 11, 19)
    for bad in ("2026-02-30", "20261120", "garbage", None, 3.5j):
        assert I.date_or_none(bad) is None
        with pytest.raises(InstantError):
            I.parse_date(bad)


def test_schema_formats_are_exactly_rfc3339():
    assert I.is_instant_text("2026-11-20T17:30:00+08:00") and I.is_instant_text("2026-11-20T09:30:00.5Z")
    for bad in ("2026-11-20T17:30+08:00", "2026-11-20 17:30:00+08:00", "2026-11-20T17:30:00",
                "2026-11-20", "2026-02-30T10:00:00+08:00", None):
        assert not I.is_instant_text(bad), bad
    assert I.is_date_text("2026-11-20")
    assert not any(I.is_date_text(v) for v in ("2026-02-30", "2026-11-20T00:00:00+08:00", " 2026-11-20", 20261120))


def test_localize_and_format_for_the_v0_migration_and_records():
    assert I.localize(dt.datetime(2026, 11, 20, 17, 30)) == dt.datetime(2026, 11, 20, 17, 30, tzinfo=CST)
    assert I.format_instant(I.parse_instant("2026-11-20T17:30+08:00")) == "2026-11-20T17:30:00+08:00"
    assert I.now().tzinfo is I.ZONE and I.now().microsecond == 0


def test_fast_path_is_fromisoformat_plus_a_check():
    """The SLA engine reads hundreds of thousands of instants: text goes straight to
    ``datetime.fromisoformat``. Generous bound (shared machines): under 4x the bare call."""
    import timeit

    text = "2026-11-20T17:30:00+08:00"
    bare = min(timeit.repeat(lambda: dt.datetime.fromisoformat(text).timestamp(), number=20000, repeat=5))
    ours = min(timeit.repeat(lambda: I.to_timestamp(text), number=20000, repeat=5))
    lenient = min(timeit.repeat(lambda: I.instant_or_none(text), number=20000, repeat=5))
    assert ours < 4 * bare and lenient < 4 * bare, (bare, ours, lenient)


# ------------------------------------------------------------------ one setting, one parser

# What may not appear in tools/servicebook outside load/instants.py: another parser, another zone.
FORBIDDEN = {
    "fromisoformat(": re.compile(r"fromisoformat\("),
    "timedelta(hours=8)": re.compile(r"timedelta\(\s*hours\s*=\s*8\s*\)"),
    '"+08:00"': re.compile(r"""["']\+08:00["']"""),
    'ZoneInfo("Asia/Shanghai")': re.compile(r"""ZoneInfo\(\s*["']Asia/Shanghai"""),
    "Asia/Shanghai": re.compile(r"Asia/Shanghai"),
    "a zone of its own (timezone(...), ZoneInfo(...))": re.compile(r"\btimezone\(\s*(?:_?dt\.)?timedelta|\bZoneInfo\("),
    "the wall clock (now())": re.compile(r"\bnow\(|\butcnow\("),
}
# Documented exceptions, by file (relative to tools/servicebook) and the rule they break.
ALLOWED = {
    ("load/instants.py", rule) for rule in FORBIDDEN  # the one place
} | {
    # A calendar record (records/calendar/*.yaml) has its own `timezone` for its working hours;
    # the default is load.instants.ZONE_NAME.
    ("derive/sla/calendar.py", "a zone of its own (timezone(...), ZoneInfo(...))"),
    # The command line is the one reader of the wall clock (default --at), and the MkDocs plugin's
    # default as_of (the `mkdocs build` command line).
    ("commands/_common.py", "the wall clock (now())"),
    ("site/plugin.py", "the wall clock (now())"),
}


def _code_lines(path: Path):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        yield n, line


def test_one_parser_and_one_time_zone_setting():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        for n, line in _code_lines(path):
            for rule, pattern in FORBIDDEN.items():
                if pattern.search(line) and (rel, rule) not in ALLOWED:
                    found.append(f"{rel}:{n}: {rule}: {line.strip()}")
    assert not found, ("instants are parsed and the company zone named only in load/instants.py "
                       "(parse_instant / instant_or_none / parse_date / date_or_none / ZONE):\n"
                       + "\n".join(found))


def test_the_one_setting_is_the_calendars_default():
    from servicebook.derive.sla import calendar as bc

    assert bc.DEFAULT_TIMEZONE == I.ZONE_NAME
    assert bc.china_standard().tz == I.ZONE
    # a calendar record's own zone governs its hours and the dates it reads
    berlin = bc.from_record({"id": "CAL-berlin", "timezone": "Europe/Berlin", "statutory_holidays": "none",
                             "covered_years": [2026]})
    assert berlin.add_working_hours("2026-11-20", 1).isoformat() == "2026-11-20T10:00:00+01:00"
    with pytest.raises(bc.CalendarError, match="no UTC offset"):
        berlin.working_seconds("2026-11-20T10:00:00", "2026-11-20T11:00:00+01:00")


# ------------------------------------------------------------------ --at on the command line

GARBAGE_MESSAGE = "--at 'garbage': not an instant: 'garbage'"


def test_status_at_garbage_is_a_usage_error_and_writes_nothing(mini):
    before = mini.snapshot()
    proc = sb("status", "SV-20261103-4M8QZA", "dropped", "--by", "P-zhang-wei", "--at", "garbage",
              cwd=mini.root)
    assert proc.returncode == 2, proc.stderr
    assert GARBAGE_MESSAGE in proc.stderr
    assert mini.snapshot() == before
    proc = sb("status", "SV-20261103-4M8QZA", "dropped", "--by", "P-zhang-wei",
              "--at", "2026-11-20T17:30:00", cwd=mini.root)
    assert proc.returncode == 2 and "no UTC offset" in proc.stderr
    assert mini.snapshot() == before


def test_status_writes_the_at_as_records_hold_instants(mini):
    proc = sb("status", "SV-20261103-4M8QZA", "dropped", "--by", "P-zhang-wei", "--at", "2026-12-20T09:30Z",
              cwd=mini.root)
    assert proc.returncode == 0, proc.stderr
    assert "at: '2026-12-20T09:30:00+00:00'" in mini.text("SV-20261103-4M8QZA")


@pytest.mark.parametrize("argv", [
    ("sla",), ("pipeline",), ("delivery", "CT-x"), ("report", "parts"),
    ("new", "complaint", "--by", "P-sun-li"), ("kb", "promote", "RP-x"),
    ("status", "SV-20261103-4M8QZA", "dropped", "--by", "P-zhang-wei"),
])
def test_a_bad_at_is_the_same_usage_error_everywhere(mini, argv):
    before = mini.snapshot()
    proc = sb(*argv, "--at", "garbage", cwd=mini.root)
    assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
    assert GARBAGE_MESSAGE in proc.stderr, (argv, proc.stderr)
    assert mini.snapshot() == before


def test_an_integer_no_float_holds_is_not_an_instant(demo):
    """Epoch seconds pass through, but an unquoted integer of 400 digits is none (validate says
    to quote it): refused like any other non-instant, so ``sla`` shows an error row for its
    record instead of failing with an internal error."""
    with pytest.raises(InstantError, match="out of range"):
        I.to_timestamp(10 ** 400)
    path = sorted((demo / "records" / "complaint").rglob("CP-*.yaml"))[0]
    text = path.read_text(encoding="utf-8")
    first = re.search(r"^- at: (\S+)$", text, re.M)
    path.write_text(text[:first.start(1)] + "1" + "0" * 400 + text[first.end(1):], encoding="utf-8")
    proc = sb("sla", "--format", "json", "--at", "2026-11-20T10:00:00+08:00", cwd=demo)
    assert proc.returncode == 1 and "internal error" not in proc.stderr, proc.stderr  # 1: an error row
    assert "epoch seconds out of range" in proc.stdout and path.stem in proc.stdout
