"""The built site in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright; no
browser download): key pages show their content, Chinese search finds Chinese words, no console
errors, no request leaves localhost, and record text with HTML in it shows as text and never runs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from browser_kit import build_site, search, serve  # noqa: E402
from site_fixtures import APPROVED_ID, AS_OF, HOSTILE_ID, PENDING_ID, PHONE, make_git_repo  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # a git repository, so the audit trail and the approvals page have something to show
    root = make_git_repo(tmp_path_factory.mktemp("browser") / "repo")
    with serve(build_site(root, AS_OF)) as base:
        yield base


def heading(page) -> str:
    return page.locator("article h1").first.inner_text()


def test_home_dashboard(visit):
    page = visit.open("/")
    assert "服务看板" in heading(page)
    body = page.locator("article").inner_text()
    for section in ("各表单未结记录", "今日超时", "待审批", "最近动态"):
        assert section in body
    assert page.locator("article table").count() >= 2
    # the language switch leads to the English site
    page.goto(visit.base + "/en/")
    assert "Service dashboard" in heading(page)


def test_case_page(visit):
    page = visit.open("/cases/SV-20261103-4M8QZA/")
    assert "SV-20261103-4M8QZA" in heading(page)
    body = page.locator("article").inner_text()
    for text in ("流转时间线", "审批", "表单内容", "技术鉴定回执单", "合同"):
        assert text in body
    assert page.locator("#rec-CT-20261116-8FJ4QE").is_visible()


def test_record_html_renders_as_text_and_never_runs(visit):
    page = visit.open(f"/cases/{HOSTILE_ID}/")
    body = page.locator("article").inner_text()
    assert "<script>window.__pwned=1</script>" in body
    assert '<img src=x onerror="window.__pwned=2">' in body
    assert "[click](javascript:window.__pwned=3)" in body
    assert "{{ 7*7 }}" in body and "**bold**" in body
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("article script").count() == 0
    assert page.locator("article img[onerror]").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    page.get_by_text("[click](javascript:window.__pwned=3)").first.click()
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_sla_report(visit):
    page = visit.open("/sla/")
    assert "时效报告" in heading(page)
    charts = page.locator("article img[src$='.svg']")
    # per clock, tier, department and person; the fixture's clocks fall in one month, and one
    # month is no time series (a single tick): the month's table says it without a chart
    assert charts.count() == 4
    assert page.locator("article img[src$='month.svg']").count() == 0
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        assert charts.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    text = page.locator("article").inner_text()
    # what is late now comes first, with how late; the clocks that closed late are apart
    assert text.index("当前已超时 (") < text.index("临近超时队列") < text.index("已结但曾超时")
    assert "CP-20261209-HX55AA" in text[text.index("当前已超时 ("):text.index("临近超时队列")]


def test_customer_page_masks_contacts(visit):
    page = visit.open("/customers/CU-hengda-logistics/")
    body = page.locator("article").inner_text()
    assert "恒达物流" in heading(page) + body
    for text in ("客户档案", "已安装设备", "回访满意度", "用户价值指标"):
        assert text in body
    assert PHONE not in page.content() and PHONE not in body


def test_forms_reference(visit):
    page = visit.open("/forms/")
    assert "表单参考" in heading(page)
    page.get_by_role("link", name="complaint").first.click()
    page.wait_for_load_state("load")
    body = page.locator("article").inner_text()
    assert "客户技术质量投诉记录单" in heading(page)
    for text in ("Technical quality complaint record", "必填", "可选值", "quality_complaint", "Received at"):
        assert text in body


def test_approvals_page(visit):
    page = visit.open("/")
    page.locator("article").get_by_role("link", name="审批待办与违规").first.click()
    page.wait_for_load_state("load")
    assert "审批待办与违规" in heading(page)
    body = page.locator("article").inner_text()
    for text in ("待审批", PENDING_ID, "客服经理", "赵敏 (P-zhao-min)", "审计发现", "审批后被修改", "缺少审批",
                 "approval.changed-after"):
        assert text in body, text
    assert page.locator("article table").count() >= 3
    # in the navigation too
    assert page.locator("nav.md-nav a", has_text="审批待办与违规").count() >= 1
    # a finding leads to the record's form on its case page, where the audit trail shows it
    page.locator("article a", has_text=APPROVED_ID).first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"#rec-{APPROVED_ID}")
    assert page.locator(f"#rec-{APPROVED_ID}").is_visible()
    trail = page.locator("article").inner_text()
    assert "审计轨迹" in trail and "审批证据" in trail
    assert page.locator("article .admonition.danger", has_text="审批后被修改").count() == 1
    review = page.locator("article a", has_text="评审记录").first
    assert review.get_attribute("href") == "https://git.example.com/servicebook/pulls/12"


def test_repair_page_links_to_its_knowledge_base_entry(visit):
    page = visit.open("/cases/RP-20261208-5NC8WT/")
    body = page.locator("article").inner_text()
    assert "相关知识库条目" in body
    page.locator("article").get_by_role("link", name="HB56 泵车泵送压力跳动、报 E217").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/kb/KB-20261210-4QH7RN/")
    assert "HB56 泵车泵送压力跳动、报 E217" in heading(page)
    # the entry lists the repair it matches, linking back
    assert page.locator("article a", has_text="RP-20261208-5NC8WT").count() >= 1


def test_chinese_search_finds_chinese_words(visit):
    page = visit.open("/")
    results = search(page, "投诉")
    assert results.count() > 0
    text = page.locator(".md-search-result").inner_text()
    assert "投诉" in text


def test_english_site_andsearch(visit):
    page = visit.open("/en/forms/")
    assert "Forms reference" in heading(page)
    results = search(page, "complaint", "en")
    assert results.count() > 0


def test_search_finds_cases_and_customers_through_their_lists(visit):
    # case and customer pages are out of the full-text index: the lists that link to them are in
    # it, and the lookup (tests/test_people_browser.py) adds the customer's own page
    page = visit.open("/")
    assert search(page, "恒达物流").count() > 0
    links = [a.get_attribute("href") for a in page.locator(".md-search-result__item a").all()]
    assert any("customers/" in href for href in links), links
    page = visit.open("/")
    search(page, HOSTILE_ID)
    links = [a.get_attribute("href") for a in page.locator(".md-search-result__item a").all()]
    assert any("/cases/" in href for href in links), links  # the cases list, or the lookup's case page
