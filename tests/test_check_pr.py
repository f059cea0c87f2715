"""servicebook check-pr: status moves and form parts against the author's roles."""

from __future__ import annotations

import json

import pytest
import yaml

from approvals_repo import CP_ID, CP_PATH, FS_PATH, Repo, approved, feasibility
from servicebook.derive.audit import pull_request
from servicebook.cli import main


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")


def complaint(history, **extra):
    data = {"id": CP_ID, "schema_version": 1, "customer": "CU-hengda-logistics",
            "filled_by": "P-sun-li", "created_at": "2026-11-05T09:12:00+08:00",
            "status": history[-1][2],
            "history": [{"at": a, "by": b, "status": s} for a, b, s in history],
            "issues": [{"problem": "外线打不出去"}],
            "cs_part": {"remarks": "客户着急"}}
    data.update(extra)
    return data


OPEN = [("2026-11-05T09:12:00+08:00", "P-sun-li", "open")]
FIXED = OPEN + [("2026-11-05T15:30:00+08:00", "P-wang-qiang", "resolved")]


def branch(repo, name="pr"):
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", name)
    return base


def check(repo, base, author):
    return pull_request.check_pr(repo.path, base, "HEAD", author)


def rules(problems, severity="error"):
    return sorted({p.rule for p in problems if p.severity == severity})


def test_customer_service_opens_a_complaint(repo):
    base = branch(repo)
    repo.save("P-sun-li", CP_PATH, complaint(OPEN), "New complaint")
    assert rules(check(repo, base, "sun.li@example.com")) == []


def test_engineer_may_not_open_a_complaint(repo):
    base = branch(repo)
    repo.save("P-wang-qiang", CP_PATH, complaint(OPEN), "New complaint")
    assert rules(check(repo, base, "wang.qiang@example.com")) == ["permission.part",
                                                                  "permission.transition"]


def test_technical_part_belongs_to_engineers(repo):
    repo.save("P-sun-li", CP_PATH, complaint(OPEN), "New complaint")
    base = branch(repo)
    fixed = complaint(FIXED, technical_part={"remarks": "换电源"},
                      issues=[{"problem": "外线打不出去", "cause": "电源老化"}])
    repo.save("P-wang-qiang", CP_PATH, fixed, "Fixed")
    assert rules(check(repo, base, "wangqiang-bc")) == []  # by handle
    problems = check(repo, base, "P-sun-li")  # by person id: CS may not write the technical part
    assert rules(problems) == ["permission.part"]
    assert {p.path for p in problems} == {"technical_part.remarks", "issues[0].cause"}


def test_cs_may_not_fill_technical_part_but_engineer_may_not_fill_cs_part(repo):
    repo.save("P-sun-li", CP_PATH, complaint(OPEN), "New complaint")
    base = branch(repo)
    repo.save("P-wang-qiang", CP_PATH, complaint(OPEN, cs_part={"remarks": "改了"}), "edit")
    problems = check(repo, base, "wang.qiang@example.com")
    assert [(p.rule, p.path) for p in problems] == [("permission.part", "cs_part.remarks")]


def test_approval_step_is_proposed_and_routed(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    base = branch(repo)
    repo.save("P-li-na", FS_PATH, approved(feasibility()), "Ask GM")
    problems = check(repo, base, "li.na@example.com")
    assert rules(problems) == []
    assert rules(problems, "notice") == ["approval.required"]


def test_approval_by_wrong_person_in_history(repo):
    repo.save("P-li-na", FS_PATH, feasibility(), "Feasibility")
    base = branch(repo)
    repo.save("P-li-na", FS_PATH, approved(feasibility(), by="P-zhao-lei"), "Ask")
    assert rules(check(repo, base, "li.na@example.com")) == ["approval.role"]


def test_handing_filled_by_to_someone_else_in_the_approving_change(repo):
    form = feasibility(filled_by="P-chen-jing")
    repo.save("P-chen-jing", FS_PATH, form, "GM fills the form")
    base = branch(repo)
    repo.save("P-chen-jing", FS_PATH,
              approved(feasibility(filled_by="P-li-na", history=form["history"])), "Approve")
    assert "approval.self" in rules(check(repo, base, "chen.jing@example.com"))


def test_unknown_author(repo):
    base = branch(repo)
    repo.save("P-sun-li", CP_PATH, complaint(OPEN), "New complaint")
    assert rules(check(repo, base, "stranger@example.org")) == ["author.unknown"]


def test_bot_acts_for_the_person_in_the_history(repo):
    base = branch(repo)
    repo.save("P-sun-li", CP_PATH, complaint(OPEN), "Intake form")
    assert rules(check(repo, base, "github-actions[bot]")) == []


def test_pr_cannot_grant_itself_a_role(repo):
    base = branch(repo)
    data = yaml.safe_load((repo.path / "records/person/P-wang-qiang.yaml").read_text())
    data["roles"] = ["customer_service"]
    repo.write("records/person/P-wang-qiang.yaml", data)
    repo.write(CP_PATH, complaint(OPEN))
    repo.commit("P-wang-qiang", "promote myself", "records")
    problems = check(repo, base, "wang.qiang@example.com")
    assert "permission.edit" in rules(problems)  # people are changed by administration only
    assert "permission.transition" in rules(problems)  # roles are read at the merge base


def test_deleting_a_case_record(repo):
    repo.save("P-sun-li", CP_PATH, complaint(OPEN), "New complaint")
    base = branch(repo)
    repo.git("rm", "-q", CP_PATH)
    repo.git("commit", "-q", "-m", "oops", who="P-sun-li")
    assert rules(check(repo, base, "sun.li@example.com")) == ["permission.delete"]


def test_cli_formats_and_exit_codes(repo, capsys):
    base = branch(repo)
    repo.save("P-wang-qiang", CP_PATH, complaint(OPEN), "New complaint")
    args = ["check-pr", "--base", base, "--root", str(repo.path)]
    assert main(args) == 1  # author of HEAD: the engineer
    assert "permission.transition" in capsys.readouterr().out
    assert main(args + ["--author", "sun.li@example.com", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out or "[]") == []
    assert main(args + ["--format", "github"]) == 1
    assert capsys.readouterr().out.startswith("::error file=records/complaint/")
    assert main(["check-pr", "--base", "no-such-rev", "--root", str(repo.path)]) == 2


def test_personal_data_in_an_unmarked_field_is_warned_about(repo):
    base = branch(repo)
    leaky = complaint(OPEN, cs_part={"remarks": "客户说有事打他手机 138-0013-8000"})
    repo.save("P-sun-li", CP_PATH, leaky, "New complaint")
    problems = check(repo, base, "sun.li@example.com")
    assert rules(problems) == []  # a warning, not an error
    [warning] = [p for p in problems if p.rule == "privacy.unmarked"]
    assert (warning.severity, warning.path) == ("warning", "cs_part.remarks")
    # the same number in the caller's phone field, which the schema marks personal: fine
    repo.save("P-sun-li", CP_PATH, complaint(OPEN, caller={"name": "王", "phone": "13800138000"}), "fix")
    assert not [p for p in check(repo, base, "sun.li@example.com") if p.rule == "privacy.unmarked"]


def test_personal_data_patterns():
    from servicebook.derive.privacy import found_in

    assert found_in("请回电 13800138000") == ["phone"]
    assert found_in("座机 025-5210 8831") == ["phone"]
    assert found_in("邮件 li@example.com") == ["email"]
    assert found_in("订单 20261123 型号 HB48C-6RZ 序列号 ZY48C-2503-0112") == []


@pytest.mark.parametrize("written, what", [
    ("138·0013·8061", "phone"), ("138\u200b0013\u200b8061", "phone"), ("138_0013_8061", "phone"),
    ("138,0013,8061", "phone"), ("138~0013~8061", "phone"), ("138 。0013。8061", "phone"),
    ("１３８－００１３－８０６１", "phone"), ("025\u00ad5210\u20608831", "phone"),
    ("sun.liwei＠example.com", "email"), ("ｓｕｎ．ｌｉｗｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email"),
    ("sun.li\u200bwei@example.com", "email"),
])
def test_personal_data_patterns_in_look_alike_writing(written, what):
    from servicebook.derive.privacy import found_in

    assert found_in(f"客户说打 {written} 找他") == [what]


def test_the_email_pattern_is_linear():
    import time

    from servicebook.derive.privacy import found_in

    started = time.perf_counter()
    assert found_in("a" * 20_000 + " " + "a." * 10_000) == []
    assert time.perf_counter() - started < 1



CUSTOMER_PATH = "records/customer/CU-hengda-logistics.yaml"
CUSTOMER = {"id": "CU-hengda-logistics", "schema_version": 1, "name": "恒达物流股份有限公司",
            "address": "江苏省南京市江宁区秣陵街道物流园路 88 号",
            "contacts": [{"name": "刘海涛", "position": "信息部经理", "phone": "13912345678",
                          "email": "liu_haitao@hengda.example.com"}]}


def test_a_known_personal_value_in_free_text_is_warned_about_by_file_line_and_field(repo):
    repo.save("P-he-fang", CUSTOMER_PATH, CUSTOMER, "Customer")
    base = branch(repo)
    leaky = complaint(OPEN, cs_part={"remarks": "刘海涛来电,请回 139-1234-5678 或发 liu_haitao@hengda.example.com"},
                      issues=[{"problem": "外线打不出去"}])
    repo.save("P-sun-li", CP_PATH, leaky, "New complaint")
    problems = check(repo, base, "sun.li@example.com")
    assert rules(problems) == []  # warnings, not errors
    found = [p for p in problems if p.rule.startswith("privacy.")]
    assert sorted((p.rule, p.path) for p in found) == [("privacy.personal-in-text", "cs_part.remarks")] * 3
    # the line of the field in the file, and the values named masked, never as written
    lines = (repo.path / CP_PATH).read_text(encoding="utf-8").splitlines()
    assert {p.line for p in found} == {next(i for i, line in enumerate(lines, 1) if "刘海涛来电" in line)}
    text = " ".join(p.message for p in found)
    assert "刘**" in text and "****78" in text and "l***@hengda.example.com" in text
    assert "刘海涛" not in text and "1234" not in text and "liu_haitao" not in text
    assert all(p.severity == "warning" for p in found)


def test_look_alike_personal_data_is_warned_about(repo):
    """Written with spaces, invisible characters, odd separators or full-width characters, a
    known value is still the known value, and an unknown number or address still one."""
    repo.save("P-he-fang", CUSTOMER_PATH, CUSTOMER, "Customer")
    base = branch(repo)
    remarks = ("刘\u200b海涛来电,请回 139·1234·5678 或发 liu_haitao＠hengda.example.com;"
               "他同事刘 海涛说另一个号码 138_0013_8061,邮箱 ｓｕｎ．ｌｉｗｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ")
    repo.save("P-sun-li", CP_PATH, complaint(OPEN, cs_part={"remarks": remarks}), "New complaint")
    found = [p for p in check(repo, base, "sun.li@example.com") if p.rule.startswith("privacy.")]
    assert sorted((p.rule, p.message.split("(")[1].split(")")[0] if p.rule.endswith("in-text") else "")
                  for p in found) == [("privacy.personal-in-text", "****78"),
                                      ("privacy.personal-in-text", "l***@hengda.example.com"),
                                      ("privacy.personal-in-text", "刘**"),
                                      ("privacy.unmarked", ""), ("privacy.unmarked", "")]
    assert {p.path for p in found} == {"cs_part.remarks"} and all(p.severity == "warning" for p in found)
    text = " ".join(p.message for p in found)
    assert "海涛" not in text and "1234" not in text and "liu_haitao" not in text and "0013" not in text


def test_a_name_from_the_pull_request_itself_and_a_phone_it_does_not_know(repo):
    base = branch(repo)
    data = complaint(OPEN, caller={"name": "王建华", "phone": "13800138000"},
                     issues=[{"problem": "王建华反映外线打不出去,另留座机 025-5210 8831"}])
    repo.save("P-sun-li", CP_PATH, data, "New complaint")
    found = {(p.rule, p.path, p.message.split("(")[1].split(")")[0] if p.rule.endswith("in-text") else "")
             for p in check(repo, base, "sun.li@example.com") if p.rule.startswith("privacy.")}
    assert found == {("privacy.personal-in-text", "issues[0].problem", "王**"),
                     ("privacy.unmarked", "issues[0].problem", "")}
    # a change that leaves the text alone is not warned about again
    repo.save("P-sun-li", CP_PATH, dict(data, cs_part={"remarks": "已安排工程师"}), "remarks")
    base2 = repo.git("rev-parse", "HEAD~1")
    assert not [p for p in check(repo, base2, "sun.li@example.com") if p.rule.startswith("privacy.")]


def test_check_pr_shows_the_line_in_github_format(repo, capsys):
    repo.save("P-he-fang", CUSTOMER_PATH, CUSTOMER, "Customer")
    base = branch(repo)
    repo.save("P-sun-li", CP_PATH, complaint(OPEN, cs_part={"remarks": "联系刘海涛"}), "New complaint")
    assert main(["check-pr", "--base", base, "--root", str(repo.path), "--author", "sun.li@example.com",
                 "--format", "github"]) == 0
    out = capsys.readouterr().out
    line = next(i for i, text in enumerate((repo.path / CP_PATH).read_text(encoding="utf-8").splitlines(), 1)
                if "联系刘海涛" in text)
    assert f"::warning file={CP_PATH},line={line}" in out and "privacy.personal-in-text" in out
    assert "刘海涛" not in out
