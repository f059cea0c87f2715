"""`servicebook site generate --out DIR`: the pages a MkDocs build generates, written as files."""

from __future__ import annotations


from mkdocs.config import load_config
from mkdocs.structure.files import Files

from conftest import with_site
from servicebook.cli import main

AT = "2026-11-21T00:00:00+08:00"


def _plugin_pages(root, lang_config: str) -> dict[str, str]:
    """What the plugin adds to a real build of ``root`` with its own mkdocs config."""
    config = load_config(str(root / lang_config))
    config = config.plugins.on_config(config)  # as `mkdocs build` runs the events
    files = config.plugins.on_files(Files([]), config=config)
    return {f.src_uri: f.content_string for f in files if f.generated_by == "servicebook"}


def test_writes_the_pages_a_build_generates(demo, tmp_path, monkeypatch):
    with_site(demo, docs=False)
    (demo / "docs").mkdir()  # no hand-written pages: only what the plugin generates
    monkeypatch.setenv("SERVICEBOOK_AS_OF", AT)
    for lang, config in (("zh", "mkdocs.yml"), ("en", "mkdocs.en.yml")):
        out = tmp_path / f"pages-{lang}"
        assert main(["site", "generate", "--out", str(out), "--lang", lang, "--at", AT,
                     "--root", str(demo)]) == 0
        written = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
                   for p in out.rglob("*") if p.is_file()}
        expected = _plugin_pages(demo, config)
        assert len(written) > 50 and "index.md" in written and any(p.startswith("cases/") for p in written)
        assert written == expected


def test_refuses_a_folder_that_holds_files(demo, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["site", "generate", "--out", str(out), "--at", AT, "--root", str(demo)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
