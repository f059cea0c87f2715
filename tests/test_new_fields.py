"""`servicebook new --set/--add` fill lists and nested fields, typed from the schema (issue #18,
item 2): a path reaches into mappings and list items, `--add` builds list items field by field,
and a value the schema would refuse (number, boolean, date, instant, enum) is refused before
anything is written, naming the option, the path and what was expected (exit 2)."""

from __future__ import annotations

import pytest
import yaml

from conftest import sb

AT = "2026-12-10T10:00:00+08:00"
COMPLETE = ["--by", "P-sun-li", "--at", AT, "--set", "customer=CU-hengda-logistics",
            "--set", "received_at=2026-12-10T09:00:00+08:00", "--set", "caller.name=王先生"]


def _new(mini, *args):
    proc = sb("new", "complaint", *COMPLETE, *args, "--print", cwd=mini.root)
    assert proc.returncode == 0, proc.stderr
    path = mini.root / proc.stdout.strip()
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))


def test_add_builds_list_items_field_by_field_and_the_record_validates(mini):
    path, data = _new(mini, "--set", "channel=phone", "--set", "kind=quality_complaint",
                      "--add", "issues.problem=通话断续", "--add", "issues.cause=电源老化",
                      "--add", "issues.problem=噪音大", "--add", "issues.resolution_steps=更换风扇",
                      "--add", "issues.resolution_steps=复测", "--set", "issues[0].customer_satisfied=true")
    assert data["issues"] == [
        {"problem": "通话断续", "cause": "电源老化", "customer_satisfied": True},
        {"problem": "噪音大", "resolution_steps": ["更换风扇", "复测"]},
    ]
    code, problems = mini.validate(str(path.relative_to(mini.root)))
    assert [p for p in problems if p["severity"] == "error"] == [] and code == 0


@pytest.mark.parametrize("spelling", ["issues[0].problem", "issues.0.problem"])
def test_an_index_is_read_where_the_schema_says_list(mini, spelling):
    """`issues.0.problem` used to make a mapping {'0': ...} that the schema then refused."""
    _path, data = _new(mini, "--set", f"{spelling}=漏水", "--set", "issues[0].cause=密封",
                       "--set", "issues[1].problem=噪音")
    assert data["issues"] == [{"problem": "漏水", "cause": "密封"}, {"problem": "噪音"}]


def test_values_are_typed_by_the_schema(mini):
    _path, data = _new(mini, "--set", "channel=电话", "--set", "kind=Quality complaint",
                       "--set", "received_at=2026-12-09", "--add", "issues.problem=x",
                       "--set", "issues[0].technical_quality=false")
    assert data["channel"] == "phone" and data["kind"] == "quality_complaint"  # zh and en labels
    assert data["received_at"] == "2026-12-09T00:00:00+08:00"  # a date is 00:00 company time
    assert data["issues"][0]["technical_quality"] is False
    proc = sb("new", "customer", "--id", "CU-x-test", "--set", "name=某公司", "--set", "size=small",
              "--set", "service_tier=vip", "--set", "since=2026-01-05",
              "--set", "value_inputs.annual_maintenance_fees.amount=1200.5",
              "--set", "value_inputs.annual_maintenance_fees.currency=人民币",
              "--set", "value_inputs.repurchase_intent=4", "--print", cwd=mini.root)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load((mini.root / proc.stdout.strip()).read_text(encoding="utf-8"))
    assert data["value_inputs"]["annual_maintenance_fees"] == {"amount": 1200.5, "currency": "CNY"}
    assert data["value_inputs"]["repurchase_intent"] == 4 and data["since"] == "2026-01-05"


@pytest.mark.parametrize("given,said", [
    (["--set", "received_at=tomorrow"], "--set received_at: received_at (受理时间 / Received at): "
                                        "expected a date and time with its offset"),
    (["--set", "channel=pigeon"], "--set channel: channel (受理渠道 / Channel): expected one of phone (电话 / Phone)"),
    (["--set", "issues[0].customer_satisfied=yes"], "issues[0].customer_satisfied (客户是否已经满意 / "
                                                    "Customer satisfied): expected true or false, got 'yes'"),
    (["--set", "issues.problem=x"], "--set issues.problem: issues is a list: name the item (issues[0]...) "
                                    "or use --add issues.problem=..."),
    (["--set", "caller.0=x"], "--set caller.0: 'caller' is not a list"),
    (["--set", "issues[2].problem=x"], "issues has 0 item(s); the next one is [0]"),
    (["--set", "chanel=phone"], "has no field 'chanel'; did you mean 'channel'?"),
    (["--add", "channel=phone"], "--add channel: channel is not a list, nor in one; use --set"),
    (["--set", "issues..problem=x"], "'issues..problem' is not a field path"),
    (["--set", "channel"], "--set expects PATH=VALUE"),
    # what the form writes itself cannot be given: a record back-dated or filled in another's name
    (["--set", "created_at=2020-01-01T00:00:00+08:00"], "--set created_at: the form fills created_at itself; --at"),
    (["--set", "history[0].by=P-zhou-min"], "--set history[0].by: the form fills history itself"),
    (["--set", "filled_by=P-zhou-min"], "the form fills filled_by itself; name the filler with --by"),
    (["--set", "status=closed"], "--set status: the form fills status itself"),
    (["--set", "id=CP-20261210-AAAAAA"], "--set id: the form fills id itself"),
])
def test_a_value_or_path_the_schema_refuses_is_a_usage_error_and_nothing_is_written(mini, given, said):
    before = mini.snapshot()
    proc = sb("new", "complaint", *COMPLETE, *given, cwd=mini.root)
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert mini.snapshot() == before


@pytest.mark.parametrize("value,expected", [("3.5", "expected a whole number, got '3.5'"),
                                            ("three", "expected a whole number, got 'three'")])
def test_numbers_are_checked(mini, value, expected):
    before = mini.snapshot()
    proc = sb("new", "person", "--id", "P-xu-lei", "--set", "name=徐磊",
              "--set", f"technical_grade={value}", cwd=mini.root)
    assert proc.returncode == 2 and f"technical_grade (技术等级 / Technical grade): {expected}" in proc.stderr
    assert mini.snapshot() == before
