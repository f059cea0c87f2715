"""One source of truth for routine inspections (issue #14).

For every installation, the schedule ``servicebook report inspections --format json`` gives
(months, due dates, the inspection matched to each, done on time / late / missed / open) is what
``servicebook sla --format json`` says of the installation's inspection clocks (deadline, met /
breached / open, when stopped), and the site's inspections page shows the same states; on the
demo records and on a synthetic repository to which inspections of every sort are added (naming
their month or not, early, late, missed, duplicated, a month the plan lacks, before hand-over,
without ``done_on``, after the as-of moment).

IN-20260622-BVKD1S, the installation of the issue, is computed by hand first.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from conftest import sb
from site_tables import page_tables
from servicebook.load import corpus
from servicebook.write import synth
from servicebook.site import i18n, pages

ROOT = Path(__file__).resolve().parents[1]
CST = timezone(timedelta(hours=8))
AT = "2026-11-23T10:00:00+08:00"
# the as-of moments compared: the demo's, one between a due date and a missed record, and a
# midnight that is exactly the deadline of months due on 28 February 2027
MOMENTS = (AT, "2026-09-11T12:00:00+08:00", "2027-03-01T00:00:00+08:00")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def cli_json(*argv: str, code: int = 0) -> dict:
    proc = sb(*argv, cwd=ROOT)
    assert proc.returncode == code, (argv, proc.stderr)
    return json.loads(proc.stdout)


def report_items(root: Path, at: str, unscheduled: dict | None = None) -> dict[tuple[str, int], dict]:
    data = cli_json("report", "inspections", "--format", "json", "--at", at, "--root", str(root))
    items = {(i["installation"], i["month"]): i for i in data["schedule"]}
    assert len(items) == len(data["schedule"])
    if unscheduled is None:
        assert data["unscheduled"] == []
    else:
        unscheduled.update({u["installation"]: u["error"] for u in data["unscheduled"]})
    return items


def sla_clocks(root: Path, at: str, errors: dict | None = None) -> dict[tuple[str, int], dict]:
    data = cli_json("sla", "--format", "json", "--kind", "installation", "--at", at, "--root", str(root),
                    code=1 if errors is not None else 0)
    clocks = {}
    for c in data["clocks"]:
        if c["policy"] != "SLA-installation":
            continue
        if c["state"] == "error":
            assert errors is not None and c["clock"] == "inspection", c
            errors[c["case"]] = c["error"]
            continue
        assert c["clock"] == f"inspection_{c['occurrence']}m"
        clocks[(c["case"], c["occurrence"])] = c
    return clocks


def expected_clock(item: dict) -> tuple[set[str], bool]:
    """The SLA states and `open` a report item stands for."""
    state = item["state"]
    if state == "done":
        return ({"breached"} if item["late"] else {"met"}), False
    if state == "missed":
        return {"breached"}, False
    if state == "overdue":
        return {"breached"}, True
    return {"running", "at_risk"}, True      # due, upcoming


def end_of_day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=CST) + timedelta(days=1)


def assert_agree(items: dict, clocks: dict) -> None:
    # the SLA has a clock for no other month; a cancelled installation's clocks the report omits
    assert set(items) <= set(clocks)
    assert all(clocks[k]["state"] == "cancelled" for k in set(clocks) - set(items))
    for key, item in items.items():
        c = clocks[key]
        states, is_open = expected_clock(item)
        assert (c["state"] in states, c["open"]) == (True, is_open), (key, item, c)
        assert c["deadline"] == item["deadline"] == end_of_day(date.fromisoformat(item["due_on"])).isoformat(), key
        if item["state"] == "done":
            stopped = datetime.fromisoformat(c["stopped_at"])
            # done on the day the report says: by its end for a visit known by its date
            assert stopped.astimezone(CST).date().isoformat() == item["done_on"] or \
                stopped == end_of_day(date.fromisoformat(item["done_on"])), (key, item, c)
        elif item["state"] == "missed":
            assert c["stopped_at"] is not None and c["overdue_seconds"] >= 0
        else:
            assert c["stopped_at"] is None


_ID = re.compile(r"([A-Z]+-[A-Za-z0-9-]+)")


def site_rows(root: Path, at: str, unscheduled: set | None = None) -> dict[tuple[str, int], tuple[str, str, str, bool]]:
    """(installation, month) -> (due, state label, inspection, late) from the "Full schedule"
    table of the site's inspections page (English), built as the site builds it (masked); the
    installations it lists as having no schedule go into ``unscheduled``."""
    moment = datetime.fromisoformat(at)
    out = pages.generate(corpus.load(root), {"lang": "en", "as_of": moment, "root": root})
    page = out["inspections/index.md"]
    schedule = [tbl for heading, tbl in page_tables(page) if heading == i18n.t("aftersales.insp.schedule", "en")]
    assert len(schedule) == 1
    rows = {}
    for cells, links in zip(schedule[0].rows, schedule[0].links):
        assert links[1], cells  # the installation, linked to where it is shown
        inst = _ID.fullmatch(cells[1]).group(1)
        insp = _ID.fullmatch(cells[8]) if links[8] else None  # an inspection is a link; "—" is none
        rows[(inst, int(cells[4]))] = (cells[5], cells[7], insp.group(1) if insp else None, cells[9].endswith("⚠"))
    heading = "## " + i18n.t("aftersales.insp.unscheduled", "en")
    listed = set()
    if heading in page:
        listed = {re.search(r">([A-Z]+-[A-Za-z0-9-]+)</a>", line).group(1) for line in page[page.index(heading):].splitlines()[1:]
                  if line.startswith("- ")}
    if unscheduled is None:
        assert not listed
    else:
        unscheduled |= listed
    return rows


def assert_site_agrees(rows: dict, items: dict) -> None:
    assert set(rows) == set(items)
    for key, item in items.items():
        assert rows[key] == (item["due_on"], i18n.t(f"aftersales.state.{item['state']}", "en"),
                             item["inspection"], item["late"]), key


# ------------------------------------------------------------------------------ demo records

def test_the_installation_of_the_issue_by_hand():
    """IN-20260622-BVKD1S: handed over 10 Jul 2026 (field handed_over_on), an IPBX-800 (months
    1, 3, 6, 12) and three VG-2000 gateways (a new product: 1, 2, 3, 6, 9, 12): months 1, 2, 3,
    6, 9, 12, due on the 10th, by the end of the day (VIP customer: 7x24 calendar; the due dates
    are the same for every tier). IS-20260803-4KCN2X names month 1, done 7 Aug: on time.
    IS-20260901-ZPJSPE names month 2 and was recorded missed on 12 Sep 09:00: breached, closed
    then, 33 hours after the deadline. IS-20261002-JZQ0VB names month 3, done 9 Oct: on time (it
    is month 3's, not month 2's). Months 6, 9, 12 are open; as of 23 Nov 10:00 month 6 has 48
    days 14 hours left, more than the 14 days from which the policy puts it at risk."""
    items = report_items(ROOT, AT)
    clocks = sla_clocks(ROOT, AT)
    inst = "IN-20260622-BVKD1S"
    got = {m: (i["due_on"], i["state"], i["late"], i["inspection"], i["done_on"])
           for (case, m), i in items.items() if case == inst}
    assert got == {
        1: ("2026-08-10", "done", False, "IS-20260803-4KCN2X", "2026-08-07"),
        2: ("2026-09-10", "missed", False, "IS-20260901-ZPJSPE", None),
        3: ("2026-10-10", "done", False, "IS-20261002-JZQ0VB", "2026-10-09"),
        6: ("2027-01-10", "upcoming", False, None, None),
        9: ("2027-04-10", "upcoming", False, None, None),
        12: ("2027-07-10", "upcoming", False, None, None),
    }
    sla = {m: (c["state"], c["open"], c["deadline"], c["stopped_at"], c["overdue_seconds"])
           for (case, m), c in clocks.items() if case == inst}
    assert sla == {
        1: ("met", False, "2026-08-11T00:00:00+08:00", "2026-08-08T00:00:00+08:00", 0),
        2: ("breached", False, "2026-09-11T00:00:00+08:00", "2026-09-12T09:00:00+08:00", 33 * 3600),
        3: ("met", False, "2026-10-11T00:00:00+08:00", "2026-10-10T00:00:00+08:00", 0),
        6: ("running", True, "2027-01-11T00:00:00+08:00", None, 0),
        9: ("running", True, "2027-04-11T00:00:00+08:00", None, 0),
        12: ("running", True, "2027-07-11T00:00:00+08:00", None, 0),
    }
    assert [c["remaining_seconds"] for (case, m), c in clocks.items() if case == inst and m == 6] == \
        [(48 * 24 + 14) * 3600]
    # before the miss was recorded, month 2 was overdue: open, its planned inspection matched
    before = report_items(ROOT, "2026-09-11T12:00:00+08:00")[(inst, 2)]
    assert (before["state"], before["inspection"]) == ("overdue", "IS-20260901-ZPJSPE")
    c = sla_clocks(ROOT, "2026-09-11T12:00:00+08:00")[(inst, 2)]
    assert (c["state"], c["open"]) == ("breached", True)


@pytest.mark.parametrize("at", MOMENTS)
def test_demo_report_and_sla_agree(at):
    items = report_items(ROOT, at)
    assert items or at == MOMENTS[1]
    assert_agree(items, sla_clocks(ROOT, at))


def test_demo_site_page_shows_the_same():
    assert_site_agrees(site_rows(ROOT, AT), report_items(ROOT, AT))


# ------------------------------------------------------------------------- synthetic records

def _id(rng: random.Random, day: date) -> str:
    return f"IS-{day:%Y%m%d}-" + "".join(rng.choice(CROCKFORD) for _ in range(6))


def _inspection(rng, inst: dict, month, kind: str, day: date, done_on: bool = True) -> dict:
    """An inspection record of ``inst`` planned 5 days before ``day`` and then, per ``kind``,
    done or missed on ``day`` (at 16:00) or left planned."""
    planned = datetime(day.year, day.month, day.day, 9, tzinfo=CST) - timedelta(days=5)
    history = [{"at": planned.isoformat(), "by": inst["_eng"], "status": "planned"}]
    if kind in ("done", "missed"):
        history.append({"at": datetime(day.year, day.month, day.day, 16, tzinfo=CST).isoformat(),
                        "by": inst["_eng"], "status": kind})
    rid = _id(rng, planned.date())
    data = {"id": rid, "schema_version": 1, "customer": inst["customer"], "filled_by": inst["_eng"],
            "created_at": planned.isoformat(), "status": history[-1]["status"], "history": history,
            "installation": inst["id"], "product": inst["_product"], "due_on": day.isoformat(),
            "engineer": inst["_eng"]}
    if month is not None:
        data["schedule_month"] = month
    if kind == "done" and done_on:
        data["done_on"] = day.isoformat()
    return data


def _add_inspections(root: Path, seed: int) -> int:
    """Inspections for the synthetic repository's handed-over installations, of every sort the
    matching rule tells apart; returns how many were written."""
    rng = random.Random(seed)
    products = {}
    for p in (root / "records" / "product").glob("*.yaml"):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        products[data["id"]] = data.get("service_plan") or {}
    written = 0
    for p in sorted((root / "records" / "installation").rglob("*.yaml")):
        inst = yaml.safe_load(p.read_text(encoding="utf-8"))
        if "handed_over_on" not in inst or not inst.get("devices"):
            continue
        handed = date.fromisoformat(inst["handed_over_on"])
        inst["_eng"] = (inst.get("installer") or {}).get("by") or inst["filled_by"]
        inst["_product"] = inst["devices"][0]["product"]
        months = sorted({m for d in inst["devices"] for m in products.get(d["product"], {}).get("inspection_months", [])})
        records = []
        for m in months or [1, 3]:
            due = handed + timedelta(days=round(30.4 * m))
            sort = rng.choice(("on_time", "late", "missed", "planned", "none", "plain", "plain_missed",
                               "twice", "no_done_on", "odd_month", "early"))
            if sort == "on_time":
                records.append(_inspection(rng, inst, m, "done", due - timedelta(days=rng.randint(0, 9))))
            elif sort == "late":
                records.append(_inspection(rng, inst, m, "done", due + timedelta(days=rng.randint(1, 20))))
            elif sort == "missed":
                records.append(_inspection(rng, inst, m, "missed", due + timedelta(days=rng.randint(-6, 6))))
            elif sort == "planned":
                records.append(_inspection(rng, inst, m, "planned", due))
            elif sort == "plain":
                records.append(_inspection(rng, inst, None, "done", due + timedelta(days=rng.randint(-15, 15))))
            elif sort == "plain_missed":
                records.append(_inspection(rng, inst, None, "missed", due + timedelta(days=rng.randint(-5, 5))))
            elif sort == "twice":
                records.append(_inspection(rng, inst, m, "missed", due - timedelta(days=3)))
                records.append(_inspection(rng, inst, m, "done", due + timedelta(days=rng.randint(-2, 4))))
                records.append(_inspection(rng, inst, m, "done", due + timedelta(days=8)))
            elif sort == "no_done_on":
                records.append(_inspection(rng, inst, m, "done", due + timedelta(days=rng.randint(-1, 1)), done_on=False))
            elif sort == "odd_month":
                records.append(_inspection(rng, inst, 7, "done", due))
            elif sort == "early":
                records.append(_inspection(rng, inst, m, "done", handed + timedelta(days=3)))
        if rng.random() < 0.2:   # done before the hand-over: counts for nothing (validation
            # reports such a record: process.order)
            records.append(_inspection(rng, inst, 1, "done", handed - timedelta(days=2)))
        for data in records:
            folder = root / "records" / "inspection" / data["id"][3:7]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{data['id']}.yaml").write_text(
                yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
            written += 1
    return written


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("agreement") / "repo"
    synth.generate(root, 600, seed=14, source=ROOT)
    assert _add_inspections(root, seed=14) > 20
    return root


# the synthetic installations are handed over in the corpus's last weeks: moments after them
SYNTH_AT = "2027-04-15T10:00:00+08:00"
SYNTH_MOMENTS = ("2026-12-20T12:00:00+08:00", SYNTH_AT, "2027-12-01T00:00:00+08:00")


@pytest.mark.parametrize("at", SYNTH_MOMENTS)
def test_synthetic_report_and_sla_agree(synthetic, at):
    items = report_items(synthetic, at)
    assert_agree(items, sla_clocks(synthetic, at))
    if at == SYNTH_AT:   # the sorts the data was made of show up
        states = {(i["state"], i["late"]) for i in items.values()}
        assert {("done", False), ("done", True), ("missed", False), ("overdue", False),
                ("upcoming", False)} <= states


def test_synthetic_agree_at_a_deadline(synthetic):
    """As of the very instant a month's deadline is reached (the next midnight), it is not late
    yet, in the report as in the SLA; a second later it is."""
    never_done = [i for i in report_items(synthetic, SYNTH_MOMENTS[-1]).values()
                  if i["state"] == "overdue" and i["inspection"] is None]
    deadline = min(i["deadline"] for i in never_done)
    items = report_items(synthetic, deadline)
    assert_agree(items, sla_clocks(synthetic, deadline))
    at_deadline = [items[(i["installation"], i["month"])] for i in never_done if i["deadline"] == deadline]
    assert at_deadline and all(i["state"] == "due" for i in at_deadline)
    later = (datetime.fromisoformat(deadline) + timedelta(seconds=1)).isoformat()
    items = report_items(synthetic, later)
    assert_agree(items, sla_clocks(synthetic, later))
    assert all(items[(i["installation"], i["month"])]["state"] == "overdue" for i in at_deadline)


def test_synthetic_site_page_shows_the_same(synthetic):
    assert_site_agrees(site_rows(synthetic, SYNTH_AT), report_items(synthetic, SYNTH_AT))


# ------------------------------------------------------------------------------ broken dates

def test_a_date_that_is_none_is_an_error_everywhere_and_located(tmp_path):
    """A hand-over date of 31 June and a done_on of 32 October: the SLA gives those installations
    an error row, the report and the site list them as having no schedule (no crash, no guessed
    schedule), validation locates both, and every other installation still agrees."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "schemas", root / "schemas")
    shutil.copytree(ROOT / "records", root / "records")
    broken = {"IN-20260612-QTS3GK": ("records/installation/2026/IN-20260612-QTS3GK.yaml",
                                     "handed_over_on: '2026-06-26'", "handed_over_on: '2026-06-31'"),
              "IN-20260622-BVKD1S": ("records/inspection/2026/IS-20261002-JZQ0VB.yaml",
                                     "done_on: '2026-10-09'", "done_on: '2026-10-32'")}
    for _, (rel, old, new) in broken.items():
        text = (root / rel).read_text(encoding="utf-8")
        assert text.count(old) == 1
        (root / rel).write_text(text.replace(old, new), encoding="utf-8")
    unscheduled, errors, listed = {}, {}, set()
    items = report_items(root, AT, unscheduled)
    assert_agree(items, sla_clocks(root, AT, errors))
    assert set(unscheduled) == set(errors) == set(broken)
    assert unscheduled == errors and "2026-06-31" in errors["IN-20260612-QTS3GK"]
    assert not any(key[0] in broken for key in items)
    assert_site_agrees(site_rows(root, AT, listed), items)
    assert listed == set(broken)
    located = {(p.file, p.path, p.rule) for p in corpus.load(root).problems}
    assert {(rel, old.split(":")[0], "schema.format") for rel, old, _ in broken.values()} <= located
