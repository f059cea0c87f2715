"""Each reader's question answered on the first screen (issue #17), in real Chromium at a desktop
(1366x900) and a phone (390x844) viewport: the element that answers it lies inside the viewport
without scrolling, and what it says agrees with the command line's figures for the same instant.

* the service manager: what is late now (how many, per customer class), who owns the first one
  and for which customer -- the home page against `servicebook sla --format json`;
* the field engineer: the late clocks with who owns each and the deadline (the SLA page), and
  their own queue one click from the home page's first screen (`people/<person>`);
* the sales manager: deals per stage with their value -- the pipeline page against
  `servicebook pipeline --format json`.

Screenshots go to $SERVICEBOOK_SCREENSHOTS (default: a temporary folder); CI uploads them.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from browser_kit import Visit, serve
from conftest import sb
from test_site_reading import DEMO_AS_OF as AS_OF, build
from servicebook.derive import pipeline
from servicebook.derive.sla.reports import format_duration

REPO = Path(__file__).resolve().parents[1]
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(build(REPO, tmp_path_factory.mktemp("reader") / "site", AS_OF)) as base:
        yield base


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("SERVICEBOOK_SCREENSHOTS")
    folder = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def sla():
    return json.loads(sb("sla", "--format", "json", "--at", AS_OF, "--lang", "zh", "--root", str(REPO), cwd=REPO).stdout)


@pytest.fixture(scope="module")
def deals():
    return json.loads(sb("pipeline", "--format", "json", "--at", AS_OF, "--lang", "zh", "--root", str(REPO), cwd=REPO).stdout)["deals"]


def late_now(sla_json) -> list[dict]:
    """What is late now, from the command's rows: past the deadline and still open (the newest
    cycle), most overdue first."""
    rows = [c for c in sla_json["clocks"] if c["state"] == "breached" and c["open"] and c["last_cycle"]]
    return sorted(rows, key=lambda c: (-c["overdue_seconds"], c["case"], c["clock"]))


def open_page(browser, base: str, path: str, viewport: str):
    visit = Visit(browser, base)
    width, height = VIEWPORTS[viewport]
    visit.page.set_viewport_size({"width": width, "height": height})
    return visit, visit.open(path)


def on_first_screen(page, locator) -> bool:
    """The element lies wholly inside the viewport, the page not scrolled."""
    assert page.evaluate("window.scrollY") == 0
    box = locator.bounding_box()
    size = page.viewport_size
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5 \
        and box["y"] + box["height"] <= size["height"] + 0.5


def table_after(page, heading: str):
    return page.locator(f"xpath=//article//h2[contains(., '{heading}')]/following::table[1]")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_service_manager_sees_what_is_late_and_who_owns_it(browser, server, sla, shots, viewport):
    late = late_now(sla)
    assert late, "nothing late at this instant: the question would go untested"
    visit, page = open_page(browser, server, "/", viewport)
    # how many, per customer class
    summary = page.locator("article p", has_text="当前已超时").first
    assert on_first_screen(page, summary)
    text = summary.inner_text()
    assert re.search(rf"当前已超时 {len(late)}\b", text), text
    shown = {cls: int(n) for cls, n in re.findall(r"(\w+) 类 (\d+)", text.split("\n")[0])}
    expected = Counter(c["customer_class"] for c in late if c["customer_class"])
    assert shown and all(shown[cls] == expected.get(cls, 0) for cls in shown) and sum(shown.values()) == sum(expected.values())
    at_risk = [c for c in sla["clocks"] if c["state"] == "at_risk" and c["last_cycle"]]
    assert re.search(rf"临近超时 {len(at_risk)}\b", text), text
    # the first late clock: how late, who owns it, for which customer and what that customer is worth
    first = late[0]
    row = table_after(page, "当前已超时").locator("tbody tr").first
    cells = row.locator("td")
    for i, want in ((0, format_duration(first["overdue_seconds"])), (1, first["owner_name"]), (2, first["customer_name"])):
        assert cells.nth(i).inner_text().strip() == want
        assert on_first_screen(page, cells.nth(i)), f"column {i} is off the first screen"
    assert f"{first['customer_value']:.2f}" in cells.nth(3).inner_text()
    # every section is one click away, the navigation too
    for label in ("时效报告", "销售漏斗", "知识库"):
        assert page.locator("article a", has_text=label).count() >= 1
    page.screenshot(path=str(shots / f"service-manager-home-{viewport}.png"))
    visit.check_clean()
    visit.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_field_engineer_sees_late_clocks_with_owner_and_deadline(browser, server, sla, shots, viewport):
    late = late_now(sla)
    visit, page = open_page(browser, server, "/sla/", viewport)
    heading = page.locator("article h2", has_text="当前已超时").first
    assert on_first_screen(page, heading)
    assert f"({len(late)})" in heading.inner_text()
    first = late[0]
    cells = table_after(page, "当前已超时").locator("tbody tr").first.locator("td")
    assert cells.nth(0).inner_text().strip() == format_duration(first["overdue_seconds"])
    assert cells.nth(2).inner_text().strip() == f"{first['owner_name']} ({first['owner']})"
    for i in (0, 1, 2):  # how late, the deadline and the owner: never off-screen on a phone
        assert on_first_screen(page, cells.nth(i)), f"column {i} is off the first screen"
    page.screenshot(path=str(shots / f"field-engineer-sla-{viewport}.png"))
    visit.check_clean()
    visit.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_field_engineer_finds_their_queue_from_the_first_screen(browser, server, sla, shots, viewport):
    """My open cases: the engineer owning the most overdue clock follows their name on the home
    page's first screen to their queue, whose first screen says how many of theirs are open, late
    and at risk, the most overdue first."""
    late = late_now(sla)
    owner = late[0]["owner"]  # whose clock is the most overdue: the first row of the home page
    mine = [c for c in sla["clocks"] if c["owner"] == owner and c["last_cycle"] and c["open"]]
    mine_late = [c for c in late if c["owner"] == owner]
    mine_risk = [c for c in mine if c["state"] == "at_risk"]
    visit, page = open_page(browser, server, "/", viewport)
    name = next(c["owner_name"] for c in late if c["owner"] == owner)
    link = table_after(page, "当前已超时").locator("tbody td a", has_text=name).first
    assert on_first_screen(page, link), "the engineer's name is not on the home page's first screen"
    # the table is an HTML block in the page's Markdown (issue #19): Material still wraps it to
    # scroll sideways and styles it as it does a Markdown table
    wrapped = table_after(page, "当前已超时").locator(
        "xpath=parent::div[contains(concat(' ', @class, ' '), ' md-typeset__table ')]"
        "/parent::div[contains(concat(' ', @class, ' '), ' md-typeset__scrollwrap ')]")
    assert wrapped.count() == 1
    # and its link carries the URL the page is served at: it leads to the queue, not a 404
    link.click()
    page.wait_for_load_state("load")
    assert re.search(rf"/people/{re.escape(owner)}/$", page.url), page.url
    summary = page.locator("article p", has_text="未完成时限").first
    assert on_first_screen(page, summary)
    assert summary.inner_text().strip() == \
        f"未完成时限 {len(mine)} 项:已超时 {len(mine_late)} 项,临近超时 {len(mine_risk)} 项。"
    first = page.locator("article table").first.locator("tbody tr").first.locator("td").first
    assert first.inner_text().strip() == mine_late[0]["case"] and on_first_screen(page, first)
    page.screenshot(path=str(shots / f"field-engineer-queue-{viewport}.png"))
    visit.check_clean()
    visit.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_sales_manager_sees_deals_by_stage_with_value(browser, server, deals, shots, viewport):
    count, value = Counter(), defaultdict(float)
    for d in deals:
        count[d["stage"]] += 1
        if d["value"]:
            value[d["stage"]] += d["value"]["amount"]
    assert sum(value.values()) > 0, "no deal has a value: the column would go untested"
    visit, page = open_page(browser, server, "/pipeline/", viewport)
    summary = page.locator("article table").first
    assert on_first_screen(page, summary)
    rows = summary.locator("tbody tr")
    seen = {}
    for i in range(rows.count()):
        stage, n, worth = (rows.nth(i).locator("td").nth(j).inner_text().strip() for j in range(3))
        seen[stage] = (int(n), worth)
    expected = {pipeline.STAGE_LABELS[s][1]: (count[s], f"{value[s]:,.2f} CNY" if value.get(s) else "—")
                for s in pipeline.STAGES if count[s]}
    assert seen == expected
    # a deal is a link to its case, its customer a link to the customer's page
    first = page.locator("xpath=//article//h2/following::table[1]//tbody/tr[1]").first
    assert first.locator("td").nth(0).locator("a").count() == 1 and first.locator("td").nth(1).locator("a").count() == 1
    page.screenshot(path=str(shots / f"sales-manager-pipeline-{viewport}.png"))
    visit.check_clean()
    visit.close()
