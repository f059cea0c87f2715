"""A record gets a page of its own only under a well-formed ID of its kind: an invalid record named
like a generated page (`index`, `satisfaction`, `times`) cannot take that page's place (the build
goes on for invalid records, so this is the site's own rule, not validate's)."""
from __future__ import annotations

import pytest

from conftest import sb

AT = "2026-11-20T10:00:00+08:00"


@pytest.mark.parametrize("name", ["index", "satisfaction", "times", "value"])
def test_a_record_named_like_a_page_does_not_replace_it(demo, tmp_path, name):
    for kind, source in (("person", "P-chen-gang"), ("customer", "CU-beiguo-pharma")):
        text = (demo / "records" / kind / f"{source}.yaml").read_text(encoding="utf-8")
        fake = text.replace(f"id: {source}", f"id: {name}").replace("\nname: ", "\nname: FAKE-PAGE ", 1)
        (demo / "records" / kind / f"{name}.yaml").write_text(fake, encoding="utf-8")
    out = tmp_path / "pages"
    proc = sb("site", "generate", "--out", out, "--at", AT, "--root", demo, cwd=demo)
    assert proc.returncode == 0, proc.stderr
    pages = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in out.rglob("*.md")}
    assert "people/index.md" in pages and "customers/index.md" in pages
    own = [path for path, text in pages.items() if text.lstrip("# ").startswith(("FAKE-PAGE", name))
           or f"/{name}.md" in f"/{path}" and "FAKE-PAGE" in text.split("\n", 3)[-1][:200]]
    assert not [p for p in own if p.split("/")[0] in ("people", "customers")], own
    assert "FAKE-PAGE" not in pages["people/index.md"].split("\n", 2)[0]
    assert "FAKE-PAGE" not in pages["customers/index.md"].split("\n", 2)[0]
