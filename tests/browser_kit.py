"""What every browser test shares: Debian's chromium driven by Playwright (no browser download), a
built site served on 127.0.0.1, and a visit that records console errors, page errors, dialogs and
any request that tries to leave the machine."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

# Debian's chromium; SERVICEBOOK_CHROMIUM names another build (a CI runner's Chrome)
CHROMIUM = os.environ.get("SERVICEBOOK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


def build_site(root: Path, as_of: str) -> Path:
    """`mkdocs build --strict` in `root` (both languages), as of a fixed instant; returns site/."""
    env = {**os.environ, "SERVICEBOOK_AS_OF": as_of, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([str(Path(sys.executable).with_name("mkdocs")), "build", "--strict"], cwd=root,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return root / "site"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(site: Path):
    """The built site over HTTP on 127.0.0.1; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def chromium():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Visit:
    """A page with every console error, page error, dialog and non-local request recorded."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.dialogs: list[str] = []

        def route(r):
            host = urlparse(r.request.url).hostname
            if r.request.url.startswith(("data:", "blob:", "about:")) or host == "127.0.0.1":
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        return self.page

    def close(self):
        self.context.close()

    def check_clean(self):
        assert not self.errors, self.errors
        assert not self.outside, f"requests left localhost: {self.outside}"
        assert not self.dialogs, self.dialogs


READY = {"zh": "键入以开始搜索", "en": "Type to start searching"}


def search(page, query: str, lang: str = "zh"):
    """Type a query into Material's search box; returns the result items once some are shown."""
    box = page.locator("input.md-search__input")
    box.click()
    # wait for the search worker to have loaded the index; a query typed earlier is dropped
    page.locator(".md-search-result__meta", has_text=READY[lang]).wait_for(timeout=30000)
    box.fill(query)   # the whole word at once, as an IME commits CJK text
    box.press("End")  # Material's search reacts to keyup
    results = page.locator(".md-search-result__item")
    results.first.wait_for(state="attached", timeout=20000)
    return results
