"""`servicebook validate` on real files: every rule has a bad record and the exact error expected."""

from __future__ import annotations


import pytest
from conftest import sb

SURVEY = "SV-20261103-4M8QZA"
APPRAISAL = "AP-20261104-9TX3KD"
SOLUTION = "SO-20261104-2HVN6P"
COMPLAINT = "CP-20261202-7KQ2XM"
PERSON = "P-zhang-wei"


def only(problems, rule):
    found = [p for p in problems if p["rule"] == rule]
    assert found, f"no {rule} in {problems}"
    return found


def test_fixture_repository_is_valid(mini):
    code, problems = mini.validate()
    assert (code, problems) == (0, [])


# -- file-level problems: each names file and line, and leaves the file untouched ---------------

FILE_CASES = {
    "duplicate key": (lambda t: t.replace("survey_date: '2026-11-03'\n",
                                          "survey_date: '2026-11-03'\nsurvey_date: '2026-11-04'\n"),
                      "yaml.duplicate-key", 18),
    "nested duplicate key": (lambda t: t.replace("  has_pbx: true\n", "  has_pbx: true\n  has_pbx: false\n"),
                             "yaml.duplicate-key", 34),
    "several documents": (lambda t: t + "---\nid: x\n", "yaml.multiple-documents", None),
    "tab indentation": (lambda t: t.replace("  has_pbx: true", "\thas_pbx: true"), "yaml.tab", 33),
    "syntax error": (lambda t: t.replace("status: handed_over\n", "status: [handed_over\n", 1),
                     "yaml.syntax", None),
    "unsafe tag": (lambda t: t.replace("salesperson: P-zhang-wei",
                                       "salesperson: !!python/object/apply:os.system [ls]"),
                   "yaml.tag", 52),
    "timestamp tag": (lambda t: t.replace("survey_date: '2026-11-03'", "survey_date: !!timestamp 2026-11-03"),
                      "yaml.tag", 17),
    "empty file": (lambda t: "# only a comment\n", "yaml.empty", 1),
    "a list, not a record": (lambda t: "- a\n- b\n", "yaml.not-mapping", 1),
    "alias bomb": (lambda t: t + "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i-1}'] * 9) if i else 'a, a, a, a, a, a, a, a, a'}]\n"
        for i in range(7)), "yaml.alias-bound", 1),
    "deep nesting": (lambda t: t + "deep: " + "[" * 5000 + "]" * 5000 + "\n", "yaml.depth", None),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_broken_file_is_located_and_left_alone(mini, case):
    transform, rule, line = FILE_CASES[case]
    path = mini.path(SURVEY)
    path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")
    before = mini.snapshot()
    code, problems = mini.validate()
    assert code == 1
    mine = [p for p in problems if p["file"] == mini.rel(SURVEY)]
    assert [p["rule"] for p in mine] == [rule], problems
    if line is not None:
        assert mine[0]["line"] == line
    assert mini.snapshot() == before


@pytest.mark.parametrize("raw,rule", [
    (b"\xef\xbb\xbfid: x\n", "yaml.encoding"),
    ("id: 客户\n".encode("gbk"), "yaml.encoding"),
    (b"id: x\x00\n", "yaml.encoding"),
])
def test_bytes_that_are_not_plain_utf8(mini, raw, rule):
    mini.path(SURVEY).write_bytes(raw)
    code, problems = mini.validate()
    assert code == 1
    assert only(problems, rule)[0]["file"] == mini.rel(SURVEY)


def test_file_over_the_size_bound(mini):
    largest = max(p.stat().st_size for p in (mini.root / "records").rglob("*.yaml"))
    mini.edit(SURVEY, "remarks: ", "remarks: " + "很长的备注" * (largest // 10), 1)
    code, problems = mini.validate("--max-bytes", str(largest + 1))
    assert code == 1
    assert [p["file"] for p in only(problems, "yaml.too-large")] == [mini.rel(SURVEY)]


def test_every_broken_file_is_reported_not_just_the_first(mini):
    mini.path(SURVEY).write_text("a: 1\na: 2\n", encoding="utf-8")
    mini.path(COMPLAINT).write_text("", encoding="utf-8")
    mini.edit(APPRAISAL, "status: done\n", "status: finished\n", 1)
    code, problems = mini.validate()
    assert code == 1
    assert {p["file"] for p in problems} >= {mini.rel(SURVEY), mini.rel(COMPLAINT), mini.rel(APPRAISAL)}


# -- YAML 1.1 surprises: no silent corruption ---------------------------------------------------

def test_unquoted_dates_are_kept_as_text_and_validate(mini):
    mini.edit(SURVEY, "survey_date: '2026-11-03'", "survey_date: 2026-11-03")
    mini.edit(SURVEY, "created_at: '2026-11-03T15:20:00+08:00'", "created_at: 2026-11-03T15:20:00+08:00")
    assert mini.validate() == (0, [])


def test_yes_no_is_not_a_boolean(mini):
    line = mini.line_of(SURVEY, "has_pbx: true")
    mini.edit(SURVEY, "has_pbx: true", "has_pbx: yes")
    code, problems = mini.validate()
    [p] = only(problems, "schema.type")
    assert (code, p["line"], p["path"]) == (1, line, "pbx.has_pbx")
    assert "true or false" in p["message"]


def test_unquoted_number_in_a_text_field_suggests_quotes(mini):
    line = mini.line_of(SURVEY, "phone: 025-5210 8831")
    mini.edit(SURVEY, "phone: 025-5210 8831", "phone: 13800138000")
    code, problems = mini.validate()
    [p] = only(problems, "schema.type")
    assert (p["line"], p["path"]) == (line, "customer_block.contact.phone")
    assert "quotes" in p["message"] and "'13800138000'" in p["message"]


def test_leading_zero_stays_text(mini):
    mini.edit(SURVEY, "phone: 025-5210 8831", "phone: 02552108831")
    assert mini.validate() == (0, [])


def test_null_in_a_required_text_field(mini):
    line = mini.line_of(SURVEY, "salesperson:")
    mini.edit(SURVEY, "salesperson: P-zhang-wei", "salesperson: ~")
    code, problems = mini.validate()
    [p] = only(problems, "schema.type")
    assert (p["line"], p["path"]) == (line, "salesperson")
    assert "empty" in p["message"]


# -- schema rules -----------------------------------------------------------------------------

def test_unknown_field_points_at_the_key(mini):
    mini.edit(SURVEY, "salesperson: P-zhang-wei", "salesperson: P-zhang-wei\nsalesperon: P-li-na")
    line = mini.line_of(SURVEY, "salesperon:")
    code, problems = mini.validate()
    [p] = only(problems, "schema.unknown-field")
    assert (code, p["line"], p["path"]) == (1, line, "salesperon")
    assert "did you mean 'salesperson'" in p["message"]


def test_missing_required_field(mini):
    mini.edit(SURVEY, "salesperson: P-zhang-wei\n", "")
    code, problems = mini.validate()
    [p] = only(problems, "schema.required")
    assert (p["path"], p["line"]) == ("salesperson", 2)  # the record's mapping starts on line 2
    assert "业务员" in p["message"]


def test_invalid_enum_lists_the_allowed_values_with_labels(mini):
    line = mini.line_of(SURVEY, "saving_method:")
    mini.edit(SURVEY, "saving_method: ip_card", "saving_method: phone_card")
    code, problems = mini.validate()
    [p] = only(problems, "schema.enum")
    assert (p["line"], p["path"]) == (line, "long_distance.saving_method")
    assert "ip_card" in p["message"]


def test_invalid_calendar_date(mini):
    mini.edit(SURVEY, "survey_date: '2026-11-03'", "survey_date: '2026-02-30'")
    code, problems = mini.validate()
    [p] = only(problems, "schema.format")
    assert p["path"] == "survey_date" and "YYYY-MM-DD" in p["message"]


def test_instant_without_offset(mini):
    mini.edit(SURVEY, "created_at: '2026-11-03T15:20:00+08:00'", "created_at: '2026-11-03 15:20'")
    code, problems = mini.validate()
    # one mistake, one problem: the format (with an example), not also the pattern that spells it out
    [p] = [p for p in problems if p["path"] == "created_at"]
    assert p["rule"] == "schema.format" and "+08:00" in p["message"]


def test_reference_to_the_wrong_kind_of_id(mini):
    mini.edit(SURVEY, "customer: CU-hengda-logistics", "customer: PD-hb48-pump")
    code, problems = mini.validate()
    [p] = only(problems, "schema.pattern")
    assert p["path"] == "customer" and "record ID" in p["message"]


# -- cross-record rules ---------------------------------------------------------------------

def test_reference_to_a_missing_record(mini):
    line = mini.line_of(APPRAISAL, f"survey: {SURVEY}")
    mini.edit(APPRAISAL, f"survey: {SURVEY}", "survey: SV-20261103-ZZZZZZ")
    code, problems = mini.validate()
    [p] = only(problems, "ref.missing")
    assert (code, p["file"], p["line"], p["path"]) == (1, mini.rel(APPRAISAL), line, "survey")


def test_id_must_match_file_name(mini):
    mini.edit(SURVEY, f"id: {SURVEY}", "id: SV-20261103-AAAAAA")
    code, problems = mini.validate()
    [p] = only(problems, "id.filename")
    assert (p["file"], p["line"]) == (mini.rel(SURVEY), 2)


def test_record_in_the_wrong_folder(mini):
    src = mini.path(SURVEY)
    dest = mini.root / "records" / "complaint" / "2026" / src.name
    src.rename(dest)
    code, problems = mini.validate()
    assert "id.folder" in {p["rule"] for p in problems if p["file"].endswith(src.name)}


def test_unknown_kind_folder(mini):
    (mini.root / "records" / "ticket").mkdir()
    (mini.root / "records" / "ticket" / "T-1.yaml").write_text("id: T-1\n", encoding="utf-8")
    code, problems = mini.validate()
    [p] = only(problems, "id.folder")
    assert p["file"] == "records/ticket/T-1.yaml" and "survey" in p["message"]


def test_duplicate_id_across_folders(mini):
    src = mini.path(SURVEY)
    copy = src.parent.parent / "2025" / src.name
    copy.parent.mkdir()
    copy.write_bytes(src.read_bytes())
    code, problems = mini.validate()
    assert len(only(problems, "id.duplicate")) == 2


def test_history_out_of_order(mini):
    mini.edit(SURVEY, "at: '2026-11-04T09:10:00+08:00'", "at: '2026-11-03T09:10:00+08:00'")
    code, problems = mini.validate()
    [p] = only(problems, "history.order")
    assert p["path"] == "history[1].at"
    assert p["line"] == mini.line_of(SURVEY, "at: '2026-11-03T09:10:00+08:00'")


def test_status_must_match_last_history_entry(mini):
    mini.edit(SURVEY, "status: handed_over\n", "status: open\n", 1)
    code, problems = mini.validate()
    [p] = only(problems, "history.status")
    assert (p["line"], p["path"]) == (7, "status")


def test_illegal_transition(mini):
    # a complaint cannot wait for parts before anyone works on it
    mini.edit(COMPLAINT, "  status: in_progress\n", "  status: waiting_parts\n")
    code, problems = mini.validate()
    p = only(problems, "lifecycle.transition")[0]
    assert p["path"] == "history[1].status" and "'open' to 'waiting_parts'" in p["message"]


def test_initial_status(mini):
    mini.edit(SURVEY, "  status: open\n", "  status: handed_over\n", 1)
    code, problems = mini.validate()
    assert only(problems, "lifecycle.initial")[0]["path"] == "history[0].status"


def test_approval_by_a_person_without_the_role(mini):
    # the solution's manager approval (P-li-na) given by the salesperson's colleague instead
    mini.edit(SOLUTION, "  by: P-li-na\n  status: approved", "  by: P-wang-qiang\n  status: approved")
    code, problems = mini.validate()
    [p] = only(problems, "approval.role")
    assert p["path"] == "history[2].by" and "sales_manager" in p["message"]


def test_self_approval(mini):
    # the sales manager approving a solution she filled herself
    mini.edit(SOLUTION, "filled_by: P-zhang-wei", "filled_by: P-li-na")
    code, problems = mini.validate()
    [p] = only(problems, "approval.self")
    assert p["path"] == "history[2].by"


def test_process_order(mini):
    mini.edit(APPRAISAL, "created_at: '2026-11-04T10:00:00+08:00'", "created_at: '2026-11-02T10:00:00+08:00'")
    code, problems = mini.validate()
    [p] = only(problems, "process.order")
    assert p["file"] == mini.rel(APPRAISAL) and SURVEY in p["message"]


# -- the command itself -------------------------------------------------------------------

def run(*args, cwd):
    return sb(*args, cwd=cwd)


def test_github_annotations(mini):
    mini.edit(SURVEY, "salesperson: P-zhang-wei\n", "")
    proc = run("validate", "--format", "github", cwd=mini.root)
    assert proc.returncode == 1
    assert proc.stdout.startswith(f"::error file={mini.rel(SURVEY)},line=2,col=1,title=schema.required salesperson::")


def test_text_output_names_file_line_and_rule(mini):
    mini.edit(SURVEY, "saving_method: ip_card", "saving_method: phone_card")
    proc = run("validate", cwd=mini.root)
    line = mini.line_of(SURVEY, "saving_method:")
    assert proc.returncode == 1
    assert f"{mini.rel(SURVEY)}:{line}:" in proc.stdout and "[schema.enum]" in proc.stdout


def test_paths_limit_the_report_but_not_the_references(mini):
    mini.edit(SURVEY, "salesperson: P-zhang-wei\n", "")
    assert mini.validate(str(mini.path(APPRAISAL))) == (0, [])
    code, problems = mini.validate(str(mini.path(SURVEY)))
    assert code == 1 and {p["file"] for p in problems} == {mini.rel(SURVEY)}
    code, problems = mini.validate("records/survey")
    assert code == 1


def test_usage_errors_exit_2(mini, tmp_path):
    assert run("validate", "records/nope.yaml", cwd=mini.root).returncode == 2
    assert run("validate", "--format", "xml", cwd=mini.root).returncode == 2
    proc = run("validate", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
