"""`servicebook new KIND --interactive` (issue #18, item 2): the real command in its own process,
answers piped to its stdin. It asks field by field, required fields first, with the Chinese and
English title and description, an enum's numbered choices with their labels, and defaults from the
filler's person record (found by the checkout's git e-mail) and the customer's record; a bad answer
is said and asked again; what it writes validates; input that ends early writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml


AT = "2026-12-10T10:00:00+08:00"


def _run(repo, answers: list[str | bytes], *args: str, email: str = "sun-li@example.com"):
    config = repo.root.parent / "gitconfig"
    config.write_text(f"[user]\n\temail = {email}\n", encoding="utf-8")
    env = dict(os.environ, GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1")
    piped = b"".join((a if isinstance(a, bytes) else a.encode("utf-8")) + b"\n" for a in answers)
    proc = subprocess.run([sys.executable, "-m", "servicebook", "new", *args, "--interactive", "--print",
                           "--at", AT, "--root", str(repo.root)], input=piped, capture_output=True,
                          cwd=repo.root, env=env)
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8"),
                                       proc.stderr.decode("utf-8"))
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


COMPLAINT_ANSWERS = [
    "CU-nobody", "CU-hengda-logistics",           # customer: no such record, asked again
    "",                                           # filled_by: the git e-mail's person
    "tomorrow", "2026-12-10T09:00:00+08:00",      # received_at: not an instant, asked again
    "9", "1",                                     # channel: no choice 9; 1) phone
    "质量投诉",                                    # kind: by its Chinese label
    "", "-", "", "-",                             # caller: name and phone from the customer's first contact
    "", "通话断续", "电源老化", "更换电源", "", "y", "",   # issue 1: problem required, asked again
    "y", "噪音大", "", "", "", "", "n",             # issue 2, then no third
    "y", "", "", "",                              # customer block: name, address from the customer; no contact
    *[""] * 30,                                   # every other optional field skipped
]


def test_a_complaint_asked_field_by_field_is_written_and_validates(mini):
    proc = _run(mini, COMPLAINT_ANSWERS, "complaint")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rel = proc.stdout.strip()
    data = yaml.safe_load((mini.root / rel).read_text(encoding="utf-8"))
    assert data["customer"] == "CU-hengda-logistics"
    assert data["filled_by"] == "P-sun-li" and data["history"][0]["by"] == "P-sun-li"
    assert data["received_at"] == "2026-12-10T09:00:00+08:00"
    assert (data["channel"], data["kind"]) == ("phone", "quality_complaint")
    assert data["caller"] == {"name": "刘海涛", "phone": "025-5210 8831"}
    assert data["issues"] == [
        {"problem": "通话断续", "cause": "电源老化", "resolution_steps": ["更换电源"], "customer_satisfied": True},
        {"problem": "噪音大"},
    ]
    assert data["customer_block"] == {"name": "恒达物流股份有限公司", "address": "江苏省南京市江宁区秣陵街道物流园路 88 号"}
    assert not {"contract", "device", "remarks", "cs_part"} & set(data)
    code, problems = mini.validate(rel)
    assert code == 0, problems
    asked = proc.stderr
    # bilingual titles and descriptions, numbered choices with labels, defaults, re-asking
    assert "受理渠道 / Channel  [channel]  (必填 required)" in asked and "How the customer reached us." in asked
    assert "  1) phone (电话 / Phone)" in asked and "  2) quality_complaint (质量投诉 / Quality complaint)" in asked
    assert "no customer record CU-nobody" in asked
    assert "> [P-sun-li] " in asked and "> [刘海涛] " in asked
    assert "got 'tomorrow'" in asked and "got '9'" in asked and "必填 / required" in asked
    # required fields are asked before optional ones
    assert asked.index("[issues]") < asked.index("[customer_block]") < asked.index("[remarks]")


def test_a_person_with_numbers_lists_and_booleans(mini):
    answers = ["徐磊", "technical_engineer", "99", "技术经理", "", "技术部",  # name, roles (a list of choices), department
               "Xu Lei", "", "3.5", "4",                                   # name_en, region skipped, grade: whole numbers only
               "n", "n", "", ""]                                           # no git, no keys, active: default true
    proc = _run(mini, answers, "person", "--id", "P-xu-lei")
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = yaml.safe_load((mini.root / proc.stdout.strip()).read_text(encoding="utf-8"))
    assert data["roles"] == ["technical_engineer", "technical_manager"]
    assert (data["department"], data["name_en"], data["technical_grade"], data["active"]) == \
        ("technical", "Xu Lei", 4, True)
    assert "got '3.5'" in proc.stderr and "got '99'" in proc.stderr
    assert mini.validate(proc.stdout.strip())[0] == 0


def test_options_given_are_not_asked_again(mini):
    proc = _run(mini, ["-", *[""] * 40], "person", "--id", "P-xu-lei", "--set", "name=徐磊",
                "--add", "roles=technical_engineer", "--set", "department=technical")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[name]" not in proc.stderr and "[roles]" not in proc.stderr and "[name_en]" in proc.stderr


def test_input_that_ends_early_writes_nothing(mini):
    before = mini.snapshot()
    proc = _run(mini, ["CU-hengda-logistics", ""], "complaint")
    assert proc.returncode == 2
    assert "the input ended before received_at was answered; nothing written" in proc.stderr
    assert mini.snapshot() == before


def test_without_a_person_for_the_git_email_the_filler_has_no_default(mini):
    before = mini.snapshot()
    proc = _run(mini, ["CU-hengda-logistics", ""], "complaint", email="stranger@example.com")
    assert proc.returncode == 2 and "input ended before filled_by" in proc.stderr
    assert "必填 / required" in proc.stderr
    assert mini.snapshot() == before



def test_what_the_first_status_requires_is_asked_as_required_with_its_role(mini):
    """An installation order must name who issued it, an administration person (the lifecycle's
    `requires` for `ordered`), though the schema leaves the field optional. An answer that is not
    UTF-8 is asked again too."""
    proc = _run(mini, ["", "P-nobody", "P-sun-li", "周敏".encode("gbk"), "P-liu-yang", *[""] * 20], "installation",
                "--by", "P-liu-yang", "--set", "customer=CU-hengda-logistics",
                "--set", "contract=CT-20261116-8FJ4QE", "--add", "devices.brand=鼎信",
                "--add", "devices.model=DX-GW32", "--set", "customer_block.name=恒达物流")
    assert proc.returncode == 0, proc.stderr[-3000:]
    asked = proc.stderr
    assert "[order_issued_by]  (必填 required)" in asked
    assert "no person record P-nobody" in asked and "P-sun-li 不担任 / does not hold administration" in asked
    assert "not UTF-8 text; answer again" in asked
    data = yaml.safe_load((mini.root / proc.stdout.strip()).read_text(encoding="utf-8"))
    assert data["order_issued_by"] == "P-liu-yang"
    assert mini.validate(proc.stdout.strip())[0] == 0
