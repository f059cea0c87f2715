"""Find anything by ID or name from the search box (issue #17), in real Chromium on the built demo
site, Chinese and English: case pages are out of Material's full-text index (their size at company
scale), so `assets/servicebook/lookup.json` and `lookup.js` (site/people.py) find them. Typing a
case ID or a customer's Chinese name shows the page's link above the full-text results; Enter goes
there. Nothing is fetched from outside the site."""
from __future__ import annotations

import pytest

from browser_kit import READY, build_site, serve  # noqa: E402
from conftest import demo_site  # noqa: E402

AT = "2026-11-20T10:00:00+08:00"
CASE = "RP-20261120-YZ04XP"          # a repair with its own case page (out of the search index)
IN_CHAIN, CHAIN = "IN-20260727-W9GPEZ", "SV-20260707-87NCMT"  # an inspection, shown on its deal's page
CUSTOMER, CUSTOMER_NAME = "CU-shuncheng-concrete", "顺成商砼"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = demo_site(tmp_path_factory.mktemp("lookup") / "repo")
    with serve(build_site(root, AT)) as base:
        yield base


def lookup(page, query: str, lang: str):
    box = page.locator("input.md-search__input")
    box.click()
    page.locator(".md-search-result__meta", has_text=READY[lang]).wait_for(timeout=30000)
    box.fill(query)
    box.press("End")
    links = page.locator(".sb-lookup a")
    links.first.wait_for(timeout=20000)
    return links


@pytest.mark.parametrize("lang, start", [("zh", "/"), ("en", "/en/customers/")])
def test_a_case_id_typed_into_search_leads_to_its_page(visit, server, lang, start):
    page = visit.open(start)
    links = lookup(page, CASE.lower(), lang)
    assert links.first.inner_text().startswith(CASE)
    prefix = "/en" if lang == "en" else ""
    assert links.first.get_attribute("href") == f"{server}{prefix}/cases/{CASE}/#rec-{CASE}"
    page.locator("input.md-search__input").press("Enter")
    page.wait_for_url(f"**{prefix}/cases/{CASE}/#rec-{CASE}")
    assert CASE in page.locator("h1").first.inner_text()


def test_a_record_on_its_chain_page_is_found_by_id(visit, server):
    page = visit.open("/cases/")
    links = lookup(page, IN_CHAIN, "zh")
    assert links.first.get_attribute("href") == f"{server}/cases/{CHAIN}/#rec-{IN_CHAIN}"
    page.locator("input.md-search__input").press("Enter")
    page.wait_for_url(f"**/cases/{CHAIN}/#rec-{IN_CHAIN}")


@pytest.mark.parametrize("lang, start", [("zh", "/sla/"), ("en", "/en/")])
def test_a_customer_name_typed_into_search_leads_to_the_customer(visit, server, lang, start):
    page = visit.open(start)
    links = lookup(page, CUSTOMER_NAME, lang)
    prefix = "/en" if lang == "en" else ""
    assert links.first.get_attribute("href") == f"{server}{prefix}/customers/{CUSTOMER}/"
    assert CUSTOMER_NAME in links.first.inner_text()
    page.locator("input.md-search__input").press("Enter")
    page.wait_for_url(f"**{prefix}/customers/{CUSTOMER}/")


def test_a_person_name_links_to_their_queue(visit, server):
    page = visit.open("/people/")
    page.locator("a", has_text="P-chu-tianyu").first.click()
    page.wait_for_url("**/people/P-chu-tianyu/")
    assert page.locator("table").count() >= 1
