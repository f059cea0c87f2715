"""The rules that tie the forms together (issue #16), declared in schemas/lifecycle.yaml
(`requires:`) and applied by check/process.py: each example of the issue, made on a copy of the
demo, is a located problem of the exact rule in `validate`, and `status` refuses to make it.

Demo facts used: SO-20261113-KQNJ42 is a solution the sales manager approved; its feasibility
FS-20261116-Y6Q2H9 is still `submitted` to the general manager. CT-20260616-NAJGNS is signed on
FS-20260610-28G7VF (approved by the GM); IN-20260622-BVKD1S is its installation, ordered by
P-yang-fan (administration). P-li-na is a salesperson."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from conftest import REPO, sb

AT = "2026-11-30T10:00:00+08:00"


def path_of(root, rid):
    (found,) = list((root / "records").rglob(f"{rid}.yaml"))
    return found


def edit(root, rid, change):
    path = path_of(root, rid)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems(root):
    """validate's exit code and its errors (warnings, e.g. a calendar running out, aside)."""
    proc = sb("validate", "--format", "json", "--root", str(root), cwd=root)
    return proc.returncode, [(p["file"].rsplit("/", 1)[-1][:-5], p["rule"], p["path"], p["message"])
                             for p in json.loads(proc.stdout) if p["severity"] == "error"]


def enter(data, status, by, at=AT, **fields):
    data["status"] = status
    data["history"].append({"at": at, "by": by, "status": status})
    data.update(fields)


def test_a_solution_is_not_proposed_before_the_gm_approved_its_feasibility(demo):
    edit(demo, "SO-20261113-KQNJ42", lambda d: enter(d, "proposed", "P-li-na"))
    code, found = problems(demo)
    assert code == 1
    ((rid, rule, path, message),) = found
    assert (rid, rule) == ("SO-20261113-KQNJ42", "process.step") and path.startswith("history[")
    assert "FS-20261116-Y6Q2H9 was 'submitted'" in message and "feasibility 'approved'" in message
    # and the writing command refuses the same move, file untouched
    demo2 = demo.parent / "again"
    shutil.copytree(REPO / "schemas", demo2 / "schemas")
    shutil.copytree(REPO / "records", demo2 / "records")
    before = path_of(demo2, "SO-20261113-KQNJ42").read_bytes()
    proc = sb("status", "SO-20261113-KQNJ42", "proposed", "--by", "P-li-na", "--at", AT, "--root", str(demo2), cwd=demo2)
    assert proc.returncode == 1 and "[process.step]" in proc.stderr
    assert path_of(demo2, "SO-20261113-KQNJ42").read_bytes() == before


def test_after_the_gm_approves_the_proposal_may_go_out(demo):
    edit(demo, "FS-20261116-Y6Q2H9", lambda d: enter(d, "approved", "P-zhao-guoqiang", "2026-11-30T09:00:00+08:00"))
    edit(demo, "SO-20261113-KQNJ42", lambda d: enter(d, "proposed", "P-li-na"))
    assert problems(demo) == (0, [])


@pytest.mark.parametrize("change, expected", [
    # no feasibility appraisal at all: neither named nor naming the contract's solution
    (lambda d: d.pop("feasibility"), "with no feasibility;"),
    # one the general manager never approved (not even filled yet when the contract was signed)
    (lambda d: d.update(feasibility="FS-20261116-Y6Q2H9"), "FS-20261116-Y6Q2H9 was not yet filled"),
])
def test_a_contract_is_signed_only_on_a_feasibility_the_gm_approved(demo, change, expected):
    def orphan(d):
        change(d)
        d["solution"] = "SO-20261113-KQNJ42" if "feasibility" in d else "SO-20261026-STJ0C2"  # one with no FS
    edit(demo, "CT-20260616-NAJGNS", orphan)
    code, found = problems(demo)
    assert code == 1
    steps = [f for f in found if f[1] == "process.step"]
    assert [(f[0], f[2]) for f in steps] == [("CT-20260616-NAJGNS", steps[0][2])] and steps[0][2].startswith("history[")
    assert expected in steps[0][3]


def test_an_installation_follows_a_signed_contract_of_its_customer_ordered_by_administration(demo):
    edit(demo, "IN-20260622-BVKD1S", lambda d: d.update(contract="CT-20261123-HWJ83P"))  # a draft contract
    code, found = problems(demo)
    # (filled before the contract it follows, too: process.order, the older rule)
    assert code == 1 and [f[:2] for f in found] == [("IN-20260622-BVKD1S", "process.order"),
                                                    ("IN-20260622-BVKD1S", "process.step")]
    assert "CT-20261123-HWJ83P was not yet filled" in found[1][3]
    # a contract that exists but is not signed when the installation is handed over
    def late(d):
        d["contract"] = "CT-20261117-SMTHR0"  # pending the GM's approval since 2026-11-17
        d["history"][-1]["at"] = AT
    edit(demo, "IN-20260622-BVKD1S", late)
    code, found = problems(demo)
    steps = [f for f in found if f[1] == "process.step"]
    assert [f[0] for f in steps] == ["IN-20260622-BVKD1S"]
    assert "CT-20261117-SMTHR0 was 'pending_approval'" in steps[0][3]

    edit(demo, "IN-20260622-BVKD1S", lambda d: d.update(contract="CT-20260609-CY7MTS"))  # another customer's
    code, found = problems(demo)
    assert [f[:2] for f in found] == [("IN-20260622-BVKD1S", "process.step")]
    assert "CT-20260609-CY7MTS is for customer CU-tianfu-software" in found[0][3]

    edit(demo, "IN-20260622-BVKD1S", lambda d: d.update(contract="CT-20260616-NAJGNS", order_issued_by="P-li-na"))
    code, found = problems(demo)
    assert found == [("IN-20260622-BVKD1S", "process.role", "order_issued_by",
                      "P-li-na holds salesperson; order_issued_by must be a administration")]

    edit(demo, "IN-20260622-BVKD1S", lambda d: d.pop("order_issued_by"))
    code, found = problems(demo)
    assert [f[:3] for f in found] == [("IN-20260622-BVKD1S", "process.incomplete", "status")]
    assert "order_issued_by" in found[0][3]


def test_a_quality_complaint_is_closed_only_when_the_form_is_complete(demo):
    closed = next(p.stem for p in (demo / "records" / "complaint").rglob("*.yaml")
                  if "status: closed" in p.read_text(encoding="utf-8")
                  and "kind: quality_complaint" in p.read_text(encoding="utf-8"))

    def strip(d):
        for issue in d["issues"]:
            issue.pop("cause", None)
            issue["resolution_steps"] = []
            issue.pop("customer_satisfied", None)
        d.pop("cs_part", None)
        d["technical_part"] = {"remarks": "已处理"}
    edit(demo, closed, strip)
    code, found = problems(demo)
    assert code == 1
    ((rid, rule, path, message),) = found
    assert (rid, rule, path) == (closed, "process.incomplete", "status")
    for missing in ("issues[0].cause", "issues[0].resolution_steps", "issues[0].customer_satisfied",
                    "cs_part.signer", "technical_part.signer"):
        assert missing in message
    # an enquiry answered on the phone needs no full record
    edit(demo, closed, lambda d: d.update(kind="enquiry"))
    assert problems(demo) == (0, [])


def test_customer_satisfied_answered_no_is_an_answer(demo):
    closed = next(p.stem for p in (demo / "records" / "complaint").rglob("*.yaml")
                  if "status: closed" in p.read_text(encoding="utf-8")
                  and "kind: quality_complaint" in p.read_text(encoding="utf-8"))
    edit(demo, closed, lambda d: [i.update(customer_satisfied=False) for i in d["issues"]])
    assert problems(demo) == (0, [])


def test_a_technical_appraisal_is_done_only_with_its_signer(demo):
    edit(demo, "AP-20260602-B146VH", lambda d: d.pop("appraiser"))
    code, found = problems(demo)
    assert code == 1
    assert [f[:3] for f in found] == [("AP-20260602-B146VH", "process.incomplete", "status")]
    assert "appraiser" in found[0][3]


def test_the_lifecycle_refuses_a_rule_naming_an_unknown_status(tmp_path):
    from servicebook.load.lifecycle import Lifecycle

    spec = yaml.safe_load((REPO / "schemas" / "lifecycle.yaml").read_text(encoding="utf-8"))
    spec["solution"]["statuses"]["proposed"]["requires"] = {"follows": [{"kind": "feasibility", "naming": "solution",
                                                                        "status": ["blessed"]}]}
    with pytest.raises(ValueError, match="blessed"):
        Lifecycle(spec)


# --- pre-sales zero defect (seed 000) ------------------------------------------------------------

BID = "BD-20261119-Q3D25V"  # preparing, one checkpoint checked, no communications
CHECKPOINTS = ("requirement_analysis", "technical_solution", "solution_review", "bid_document", "binding",
               "sealing", "submission")


def submit(d, checked=CHECKPOINTS):
    d["checklist"] = [{"item": i, "checked_by": "P-sun-jianjun", "checked_at": "2026-11-28T17:00:00+08:00", "ok": True}
                      for i in checked]
    d["history"].append({"at": "2026-11-29T09:00:00+08:00", "by": "P-sun-jianjun", "status": "reviewed"})
    enter(d, "submitted", "P-zheng-lei", submitted_at=AT)


def communication(root, rid, kind, day):
    path = root / "records" / "communication" / "2026" / f"{rid}.yaml"
    path.write_text(yaml.safe_dump({
        "id": rid, "schema_version": 1, "customer": "CU-haixia-port", "filled_by": "P-zheng-lei",
        "created_at": f"{day}T10:00:00+08:00", "deal": "SV-20261116-35VF29", "bid": BID, "kind": kind,
        "date": day, "parties": [{"name": "郑海波", "side": "customer"}], "summary": "书面确认"},
        allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_bid_is_submitted_only_with_every_checkpoint_and_its_key_communications(demo):
    edit(demo, BID, lambda d: submit(d, CHECKPOINTS[:-2]))
    code, found = problems(demo)
    assert code == 1
    mine = sorted((f[1], f[2], f[3]) for f in found if f[0] == BID)
    assert [m[:2] for m in mine] == [("process.incomplete", "status"), ("process.step", "history[2].status"),
                                     ("process.step", "history[2].status")]
    assert "no item sealing, submission" in mine[0][2]
    assert "no communication of kind quotation" in mine[1][2] + mine[2][2]
    assert "no communication of kind vendor_authorisation" in mine[1][2] + mine[2][2]

    edit(demo, BID, lambda d: d.update(checklist=[{"item": i, "checked_by": "P-sun-jianjun",
                                                   "checked_at": "2026-11-28T17:00:00+08:00", "ok": True}
                                                  for i in CHECKPOINTS]))
    communication(demo, "CM-20261127-QT0001", "quotation", "2026-11-27")
    communication(demo, "CM-20261201-VA0001", "vendor_authorisation", "2026-12-01")  # after the submission
    code, found = problems(demo)
    mine = [f for f in found if f[0] == BID]
    assert [(f[1], f[2]) for f in mine] == [("process.step", "history[2].status")]
    assert "CM-20261201-VA0001 was not yet filled" in mine[0][3]
    path = demo / "records" / "communication" / "2026" / "CM-20261201-VA0001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("2026-12-01", "2026-11-26"), encoding="utf-8")
    assert problems(demo) == (0, [])


def test_the_pull_request_path_finds_the_records_that_name_a_changed_one(demo):
    """Validating only the changed solution (the pull-request path reads a few files) still finds
    the feasibility appraisals that name it, so it neither misses the rule nor reports a false one."""
    rel = path_of(demo, "SO-20261113-KQNJ42").relative_to(demo).as_posix()
    assert sb("validate", rel, "--root", str(demo), cwd=demo).returncode == 0
    edit(demo, "SO-20261113-KQNJ42", lambda d: enter(d, "proposed", "P-li-na"))
    proc = sb("validate", rel, "--root", str(demo), cwd=demo)
    assert proc.returncode == 1 and "[process.step]" in proc.stdout and "FS-20261116-Y6Q2H9 was 'submitted'" in proc.stdout
    edit(demo, "FS-20261116-Y6Q2H9", lambda d: enter(d, "approved", "P-zhao-guoqiang", "2026-11-30T09:00:00+08:00"))
    assert sb("validate", rel, "--root", str(demo), cwd=demo).returncode == 0
