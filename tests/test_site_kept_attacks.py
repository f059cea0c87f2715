"""Edits that once left a kept page stale (`site/pagekeys.py`, the groups of `pages._Generator.group`):
each changes one input a kept page shows but its key left out, and the kept pages must still equal
pages generated from scratch (`test_site_incremental._agree`, byte for byte)."""

from __future__ import annotations

import re

from test_site_incremental import AT, _agree, _edit


def test_delivery_pages_follow_an_installation_handed_over_on_another_day(demo):
    """A contract's delivery ends when its first installation is handed over: the reports due
    (daily notes, weekly reports) are counted up to that day. The pre-sales group read no
    installation, so a hand-over moved (or undone) left the delivery pages' counts as they were."""
    _agree(demo, AT)
    inst = next((demo / "records" / "installation").rglob("IN-20260612-QTS3GK.yaml"))  # CT-20260609-CY7MTS's
    text = inst.read_text(encoding="utf-8")
    handed = re.search(r"- at: '(\S+)'\n  by: \S+\n  status: handed_over", text)
    assert handed, "the demo installation's hand-over entry"
    _edit(inst, handed.group(0), handed.group(0).replace(handed.group(1), "2026-07-06T11:00:00+08:00"))
    store = _agree(demo, AT)
    assert "presales" not in store.groups_kept
    # undone: the installation is back to installed, delivery runs on
    _edit(inst, "  status: handed_over", "  status: installed")
    _edit(inst, "\nstatus: handed_over", "\nstatus: installed")
    _agree(demo, AT)
    # what the reports do not read of an installation keeps the group
    _edit(inst, "  note: 三批割接完成", "  note: 三批割接完成,改")
    assert "presales" in _agree(demo, AT).groups_kept


def test_parts_page_follows_a_customer_renamed(demo):
    """The parts page lists the repairs waiting for parts with their customer's name and region:
    the parts group must be made again when that customer's record changes."""
    _agree(demo, AT)
    customer = demo / "records" / "customer" / "CU-yuxin-road.yaml"  # a repair of theirs waits for a part
    parts = _agree(demo, AT).file("parts/index.md").read_text(encoding="utf-8")
    assert "CU-yuxin-road" in parts
    _edit(customer, "short_name: ", "short_name: 改名")
    _agree(demo, AT)
    _edit(customer, "region: ", "region: 西北")
    _agree(demo, AT)
    _agree(demo, AT, lang="en")
    _edit(customer, "\nname: ", "\nname: 改")  # the English site shows the full name (no short name in English)
    _agree(demo, AT, lang="en")


def test_a_dirty_build_after_a_site_option_changed_renders_the_pages_again(demo, monkeypatch):
    """A kept page is given to MkDocs by its file, which a rebuild leaves untouched when its text is
    unchanged; `--dirty` (`make serve`) then renders it only when that file is newer than its
    output. A change of mkdocs.yml (the site's name, the theme, the navigation's labels) changes
    every page's HTML but no page's Markdown, so a dirty build left every page as it was."""
    import subprocess

    from conftest import with_site
    from test_site_incremental import MKDOCS

    with_site(demo)
    monkeypatch.setenv("SERVICEBOOK_AS_OF", AT)
    subprocess.run([MKDOCS, "build", "-q"], cwd=demo, check=True, capture_output=True)
    _edit(demo / "mkdocs.yml", "site_name: servicebook", "site_name: 新站名")
    subprocess.run([MKDOCS, "build", "-q", "--dirty"], cwd=demo, check=True, capture_output=True)
    stale = [p.relative_to(demo / "site").as_posix() for p in sorted((demo / "site").rglob("index.html"))
             if "新站名" not in p.read_text(encoding="utf-8") and not p.is_relative_to(demo / "site" / "en")]
    assert not stale, f"{len(stale)} pages still show the old site name: {stale[:5]}"
