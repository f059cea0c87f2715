"""The MkDocs plugin: a thin shell over `pages.generate`.

- `on_files`: loads the corpus, generates every page in memory and adds it with
  `File.generated(...)`, so nothing is written into docs/ and nothing generated is committed.
  Hand-written docs may come in two languages: `x.md` (English) and `x.zh.md` (Chinese); the build
  of each language keeps its own version at `x.md`.
- `on_serve`: watches records/ and schemas/, so `mkdocs serve` rebuilds when a record changes.
- `on_pre_build` / `on_post_build`: when `alternate_config` is set (the Chinese default build), the
  other language's config is built by a second `mkdocs build` process running alongside this one
  (the machine has two cores and the builds share nothing), into a temporary folder that replaces
  `site/<alternate_dir>/` when both are done, so one `mkdocs build` gives both languages. Both
  builds are pinned to the same `as_of`.
- Progress: page generation and page rendering are logged every `progress_every` pages.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path, PurePosixPath

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import Abort
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.utils import clean_directory

from . import pages
from . import people
from .i18n import LANGS, t
from .markup import TEMPLATES, title_text
from .rawhtml import RawHtmlExtension
from servicebook.load.collector import collect_rarely
from servicebook.load.instants import InstantError, now, parse_instant
from servicebook.load.lifecycle import LifecycleError
from servicebook.write.pagestore import (PageStore, complete_search_index, keep_last_search_index, keep_site_config,
                                         page_folder, site_config_changed, site_config_digest,
                                         search_copy)

log = logging.getLogger("mkdocs.plugins.servicebook")

CSS_PATH = "assets/servicebook.css"
# Generated pages a hand-written docs page of the same path replaces (sections others fill).
PLACEHOLDERS = {"kb/index.md"}
# One page per case chain / customer / archive page: reachable from the index pages, not the nav.
NOT_IN_NAV = ("cases/", "customers/", "kb/", "pipeline/", "delivery/", "people/")
NAV_PAGES = {"kb/index.md", "kb/cases.md", "pipeline/index.md", "delivery/index.md", "customers/value.md",
             "people/index.md", "people/satisfaction.md", "people/times.md"}


# The options that shape the generated pages, with their defaults (`servicebook site generate`
# uses these defaults; a build takes them from mkdocs.yml).
PAGE_OPTIONS = {
    "show_personal_data": False,    # internal builds only
    "detail_window_days": 180,
    "closed_case_pages_max": 1000,  # the page budget for closed case chains
    "archive_page_size": 200,
}


class ServicebookConfig(Config):
    lang = c.Choice(LANGS, default="zh")
    root = c.Optional(c.Type(str))                      # repository root; default: beside mkdocs.yml
    show_personal_data = c.Type(bool, default=PAGE_OPTIONS["show_personal_data"])
    detail_window_days = c.Type(int, default=PAGE_OPTIONS["detail_window_days"])
    closed_case_pages_max = c.Type(int, default=PAGE_OPTIONS["closed_case_pages_max"])
    archive_page_size = c.Type(int, default=PAGE_OPTIONS["archive_page_size"])
    as_of = c.Optional(c.Type(str))                     # instant; default: env SERVICEBOOK_AS_OF or now
    progress_every = c.Type(int, default=500)
    alternate_config = c.Optional(c.Type(str))          # e.g. mkdocs.en.yml, built after this one
    alternate_dir = c.Type(str, default="en")
    alternate_on_serve = c.Type(bool, default=False)
    keep_pages = c.Type(bool, default=True)             # generated pages kept in .cache/ (rebuilds)


def generate(corpus, root: Path, lang: str, as_of: datetime, options: dict, *,
             use_directory_urls: bool = True, progress=None, store: PageStore | None = None) -> dict[str, str | Path]:
    """Every generated page (docs-relative path -> Markdown) and the stylesheet: what a build
    adds to the site, and what `servicebook site generate` writes as files. With a ``store`` the
    pages are kept there between builds (`servicebook.write.pagestore`) and given by their files."""
    generated = pages.generate(corpus, {
        "lang": lang, "root": str(root), "as_of": as_of, **options,
        "progress": progress, "use_directory_urls": use_directory_urls, "store": store,
    })
    generated[CSS_PATH] = (TEMPLATES / "servicebook.css").read_text(encoding="utf-8")
    return generated


class ServicebookPlugin(BasePlugin[ServicebookConfig]):
    supports_multiple_instances = False

    def __init__(self):
        super().__init__()
        self.command = "build"
        self.dirty = False
        self.rendered = 0
        self.total_pages = 0
        self.started = 0.0
        self.pinned_as_of: datetime | None = None
        self.alternate: tuple[subprocess.Popen, Path, Path] | None = None
        self.store: PageStore | None = None  # this build's kept pages (`write.pagestore`), locked
        self.raw_html = RawHtmlExtension()  # registered in each build's configuration (`on_config`)
        self.site_config = b""  # the configuration this build renders with (`write.pagestore.site_config_digest`)
        self.page_urls: set[str] = set()        # every page of this build
        self.rendered_urls: set[str] = set()    # the pages this build rendered (fewer when --dirty)

    # --- lifecycle -----------------------------------------------------------------------------
    def on_startup(self, *, command, dirty):
        self.command = command
        self.dirty = dirty
        collect_rarely()  # a build keeps the records and their pages alive (`load.collector`)

    def root(self, config) -> Path:
        if self.config.root:
            base = Path(config.config_file_path or ".").parent
            return (base / self.config.root).resolve()
        return Path(config.config_file_path or ".").resolve().parent

    def as_of(self) -> datetime:
        if self.pinned_as_of is None:
            self.pinned_as_of = self._as_of()
        return self.pinned_as_of

    def _as_of(self) -> datetime:
        text = self.config.as_of or os.environ.get("SERVICEBOOK_AS_OF")
        if text:
            try:
                return parse_instant(text)
            except InstantError as err:
                raise ValueError(f"servicebook: as_of: {err}") from None
        return now()  # the build's command line: the one place the site reads the wall clock

    def on_config(self, config):
        self.pinned_as_of = None  # one instant per build; `mkdocs serve` rebuilds move it on
        if CSS_PATH not in config.extra_css:
            config.extra_css.append(CSS_PATH)
        if people.LOOKUP_JS not in config.extra_javascript:  # find a record by ID from the search box
            config.extra_javascript.append(people.LOOKUP_JS)
        self.raw_html = RawHtmlExtension()  # our tables, not re-parsed (`site.rawhtml`)
        config.markdown_extensions.append(self.raw_html)
        return config

    def _setup_search_words(self, extra: list[str] = ()) -> None:
        # in `on_files`, after the other language's build started (`on_pre_build`): loading jieba's
        # dictionary takes a second, which that build's start-up then overlaps
        import jieba  # noqa: PLC0415 - a dependency (Material's search segments Chinese with it): no silent skip

        jieba.setLogLevel(logging.WARNING)
        for word in t("search.words", "zh").split() + list(extra):
            if word and len(word) < 40:
                jieba.add_word(word)

    # --- files -----------------------------------------------------------------------------------
    def on_files(self, files: Files, *, config):
        from servicebook.derive import checked  # noqa: PLC0415

        lang = self.config.lang
        self._localise_docs(files, config, lang)
        started = time.monotonic()
        root = self.root(config)
        try:
            corpus = checked.load(root)
        except LifecycleError as err:  # every page needs the statuses: say which file, where
            raise Abort(f"servicebook: {err}") from None
        log.info("servicebook (%s): loaded %d records (%d problems) in %.1f s",
                 lang, len(corpus.records), len(corpus.problems), time.monotonic() - started)
        self._setup_search_words([str(r.data.get("name")) for r in corpus.of_kind("product")
                                  if isinstance(r.data, dict) and isinstance(r.data.get("name"), str)])
        every = max(1, self.config.progress_every)

        def progress(done, total):
            if done % every == 0 or done == total:
                log.info("servicebook (%s): generating pages %d/%d", lang, done, total)

        store = self.store
        generated = generate(corpus, root, lang, self.as_of(),
                             {key: self.config[key] for key in PAGE_OPTIONS},
                             use_directory_urls=config.use_directory_urls, progress=progress, store=store)
        for path, content in generated.items():
            existing = files.get_file_from_path(path)
            if existing is not None:
                if path in PLACEHOLDERS:
                    continue
                log.warning("servicebook: docs/%s is replaced by the generated page; remove it", path)
                files.remove(existing)
            inclusion = (InclusionLevel.NOT_IN_NAV if path.startswith(NOT_IN_NAV) and path not in NAV_PAGES
                         else InclusionLevel.UNDEFINED)
            if isinstance(content, Path):  # kept: `--dirty` renders it again only when its file changed
                files.append(File.generated(config, path, abs_src_path=str(content), inclusion=inclusion))
            else:
                files.append(File.generated(config, path, content=content, inclusion=inclusion))
        if self.dirty and store is not None:
            self._remove_outputs(store.removed, files, config)
        config.nav = self._nav(files, lang)
        self.total_pages = sum(1 for f in files if f.is_documentation_page())
        self.page_urls = {f.url for f in files.documentation_pages()}
        self.rendered_urls = set()
        self.rendered = 0
        self.started = time.monotonic()
        return files

    @staticmethod
    def _remove_outputs(pages: list[str], files: Files, config) -> None:
        """A dirty build renders over the last build's output: the page of a record deleted since
        (a customer's, with their personal data) must not stay there to be served."""
        for page in pages:
            if files.get_file_from_path(page) is not None:  # a hand-written page took its place
                continue
            dest = Path(File(page, None, config.site_dir, config.use_directory_urls).abs_dest_path)
            dest.unlink(missing_ok=True)
            if dest.name == "index.html" and page.endswith(".md"):
                with contextlib.suppress(OSError):  # not empty: other pages live under it
                    dest.parent.rmdir()

    def _localise_docs(self, files: Files, config, lang: str) -> None:
        """`x.<lang>.md` is the `lang` version of `x.md`; other languages' versions are dropped."""
        for f in list(files):
            if not f.is_documentation_page() or f.generated_by:
                continue
            stem = PurePosixPath(f.src_uri)
            parts = stem.name.split(".")
            if len(parts) >= 3 and parts[-2] in LANGS:
                files.remove(f)
                if parts[-2] != lang:
                    continue
                target = str(stem.with_name(".".join(parts[:-2] + parts[-1:])))
                base = files.get_file_from_path(target)
                if base is not None:
                    files.remove(base)
                files.append(File.generated(config, target, abs_src_path=f.abs_src_path))

    def _nav(self, files: Files, lang: str) -> list:
        def has(path):
            return files.get_file_from_path(path) is not None

        def label(key):
            return t(key, lang)

        def section(key, paths):
            present = [p for p in paths if has(p)]
            return {label(key): present} if present else None

        forms = ["forms/index.md"] + sorted(f.src_uri for f in files
                                            if f.src_uri.startswith("forms/") and f.src_uri.endswith(".md")
                                            and f.src_uri != "forms/index.md")
        guides = [p for p in ("guide/submit.md", "guide/approve.md", "guide/fix.md", "guide/holidays.md", "guide/forms.md", "commands.md", "approvals.md", "performance.md")
                  if has(p)]
        nav = [
            {label("nav.home"): "index.md"},
            {label("nav.cases"): "cases/index.md"},
            {label("nav.customers"): "customers/index.md"},
            {label("nav.sla"): "sla/index.md"},
            {label("nav.approvals_pending"): "approvals/pending.md"} if has("approvals/pending.md") else None,
            {label("nav.weekly"): "weekly.md"},
            section("nav.people", [people.INDEX, people.SATISFACTION, people.TIMES]),
            section("nav.presales", ["pipeline/index.md", "delivery/index.md"]),
            section("nav.aftersales", ["inspections/index.md", "parts/index.md", "technicians/index.md",
                                       "customers/value.md", "feedback/index.md"]),
            section("nav.kb", ["kb/index.md", "kb/cases.md"]),
            section("nav.forms", forms),
            {label("nav.guide"): guides} if guides else None,
            {label("nav.problems"): "problems.md"},
        ]
        return [item for item in nav if item]

    # --- titles: the one edge where page text enters the theme unescaped --------------------------
    def on_page_content(self, html, *, page, config, files):
        """Every page's title (and the front-matter fields the theme prints raw) as inert text.

        Runs after each page's Markdown is rendered and before any template is: MkDocs renders
        every page's content first, so the navigation and the previous/next links, which print
        other pages' titles, see the safe titles too. Hand-written pages go through it as well:
        one rule for every page, not a template-by-template fix."""
        if page.present_anchor_ids is not None:  # MkDocs no longer sees the ids in our stashed blocks
            page.present_anchor_ids |= self.raw_html.ids
        if page.title is not None:
            page.title = title_text(page.title)
        for key in ("title", "description", "author"):
            if isinstance(page.meta.get(key), str):
                page.meta[key] = title_text(page.meta[key])
        return html

    # --- progress ------------------------------------------------------------------------------
    def on_post_page(self, output, *, page, config):
        self.rendered += 1
        self.rendered_urls.add(page.url)
        every = max(1, self.config.progress_every)
        if self.rendered % every == 0 or self.rendered == self.total_pages:
            rate = self.rendered / max(0.001, time.monotonic() - self.started) * 60
            log.info("servicebook (%s): rendered %d/%d pages (%.0f pages/min)", self.config.lang, self.rendered, self.total_pages, rate)
        return output

    # --- serve -------------------------------------------------------------------------------------
    def on_serve(self, server, *, config, builder):
        root = self.root(config)
        for sub in ("records", "schemas"):
            path = root / sub
            if path.is_dir():
                server.watch(str(path))
        server.watch(str(Path(__file__).parent))
        return server

    # --- the other language -------------------------------------------------------------------------
    def on_pre_build(self, *, config):
        if self.dirty:
            # Material's search keeps the last index under `serve --dirty` and merges this build's
            # pages into it assuming one page changed; `on_post_build` completes the index from the
            # kept copy instead, for any number of pages (see `complete_search_index`)
            search = config.plugins.get("material/search") or config.plugins.get("search")
            if search is not None and hasattr(search, "search_index_prev"):
                search.search_index_prev = None
        # the kept pages, locked for this build until MkDocs has read them (`on_post_build`)
        self._close_store()
        folder = self._folder(config)
        self.site_config = site_config_digest(Path(config.config_file_path or "mkdocs.yml"))
        if self.dirty and site_config_changed(folder, self.site_config):
            # every page's HTML changes with the configuration, not its Markdown: without their old
            # output, MkDocs renders every page again (the other language builds whole, beside)
            log.info("servicebook (%s): the site's configuration changed: every page is rendered", self.config.lang)
            clean_directory(config.site_dir)  # as a full build cleans it (hidden entries such as .git stay)
        self.store = PageStore(folder) if self.config.keep_pages else None
        if self.dirty:
            keep_last_search_index(_search_index(config), search_copy(folder))
        self._start_alternate(config)

    def _folder(self, config) -> Path:
        return page_folder(self.root(config), self.config.lang, self.config.show_personal_data)

    def _close_store(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _start_alternate(self, config):
        alt = self.config.alternate_config
        if not alt:
            return
        if self.command == "serve" and not self.config.alternate_on_serve:
            log.info("servicebook: serving one language; preview the other with mkdocs serve -f %s", alt)
            return
        path = Path(config.config_file_path).parent / alt
        site_dir = Path(config.site_dir)
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        dest = site_dir / self.config.alternate_dir
        if self.dirty and dest.is_dir():
            # a dirty build renders only what changed, over the last output: build in place
            out = dest
        else:
            # beside site/ (same file system, so it can be renamed into place), outside what is cleaned
            out = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}-{self.config.alternate_dir}-", dir=site_dir.parent))
        cmd = [sys.executable, "-m", "mkdocs", "build", "-f", str(path), "-d", str(out)]
        if config.strict:
            cmd.append("--strict")
        if out == dest:
            cmd.append("--dirty")
        env = {**os.environ, "SERVICEBOOK_AS_OF": self.as_of().isoformat()}
        log.info("servicebook: building %s alongside, into %s/%s", alt, site_dir, self.config.alternate_dir)
        self.alternate = (subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL), out, dest)

    def on_post_build(self, *, config):
        if self.dirty:
            log.info("servicebook (%s): rendered %d of %d pages (--dirty: the others were unchanged)",
                     self.config.lang, len(self.rendered_urls), len(self.page_urls))
        try:
            complete_search_index(_search_index(config), search_copy(self._folder(config)),
                                  self.rendered_urls, self.page_urls, self.dirty)
            keep_site_config(self._folder(config), self.site_config)
        finally:
            self._close_store()
        if self.alternate is None:
            return
        proc, out, dest = self.alternate
        self.alternate = None
        try:
            if proc.wait() != 0:
                raise Abort(f"servicebook: the {self.config.alternate_dir} build ({self.config.alternate_config}) "
                            f"failed with exit code {proc.returncode}; its messages are above")
            if out != dest:  # built beside site/ (a dirty build works in place)
                shutil.rmtree(dest, ignore_errors=True)
                out.rename(dest)
        finally:
            if out != dest:
                shutil.rmtree(out, ignore_errors=True)

    def on_build_error(self, *, error):
        self._close_store()
        if self.alternate is not None:
            proc, out, dest = self.alternate
            self.alternate = None
            proc.kill()
            proc.wait()
            if out != dest:
                shutil.rmtree(out, ignore_errors=True)


def _search_index(config) -> Path:
    """The search index the search plugin writes into the built site."""
    return Path(config.site_dir) / "search" / "search_index.json"
