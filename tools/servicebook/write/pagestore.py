"""Generated pages kept between site builds, so a rebuild after one record change redoes only the
pages that change.

Every generated page of a build is a file under `.cache/servicebook/pages/<lang>/` (outside git), in
the docs layout (`cases/SV-1.md`). Two things make a rebuild cheap:

- A page's file is written only when its text changed, so its modification time says when it last
  changed: MkDocs's `--dirty` mode (`mkdocs serve --dirty`, `mkdocs build --dirty`) renders a page
  again only when its source is newer than its output.
- A page that is expensive to make (a case page: every form of the chain) is stored with a key: a
  digest of every input it is made from (`site/pagekeys.py`). While the key is unchanged the page is
  not generated at all; its file is already right.
- Pages made together by one function (a list or report section: the pre-sales pages, the parts
  page, ...) are a group kept under one key, a digest of the slice of the corpus the function reads
  (`pagekeys.group_key`): while it is unchanged none of them is generated.

The store is a cache: its manifest (page -> key) is one marshal file written atomically after the
files; a damaged or foreign manifest is ignored (every page is generated again), never trusted. A
page no longer generated is removed with its key.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path, PurePosixPath

if sys.platform == "win32":  # no POSIX locks: one build at a time there
    fcntl = None
else:
    import fcntl

from servicebook.load.cache import content_hash, installed, read_store, source_digest, write_store
from servicebook.load.records import fingerprint
from servicebook.write.writer import umask_mode

PAGES_DIR = Path(".cache") / "servicebook" / "pages"
_FORMAT = "servicebook-pages-3"


def site_config_digest(config_file: Path) -> bytes:
    """What every built page's HTML depends on besides its own Markdown: the MkDocs configuration
    files beside ``config_file`` (a language's file inherits the other's) and the installed
    packages (the theme among them)."""
    h = hashlib.blake2b(installed(), digest_size=16)
    for path in sorted(Path(config_file).parent.glob("mkdocs*.y*ml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.digest()


def _site_config_file(folder: Path) -> Path:
    """Beside the kept pages (``folder``), as the search copy is: not a page, which `finish` would
    remove; sealed as every store is, so a file this machine did not write says nothing."""
    return folder.with_name(f"{folder.name}.site-config.marshal")


def site_config_changed(folder: Path, digest: bytes) -> bool:
    """Whether the last build that finished with these kept pages had another configuration (or
    none is known): a dirty build must then render every page again, as MkDocs renders only pages
    whose file is newer than their output, and a kept page's file does not change with the site's
    name, theme or navigation."""
    return read_store(_site_config_file(folder)).get("config") != digest


def keep_site_config(folder: Path, digest: bytes) -> None:
    """Note the configuration a finished build rendered its pages with (`site_config_changed`)."""
    try:
        write_store(_site_config_file(folder), {"config": digest})
    except OSError:
        pass  # not noted: the next dirty build renders every page, which is only slower


def page_folder(root: Path, lang: str, personal: bool = False) -> Path:
    """The kept pages of one language; an internal build's (personal data shown) apart, so it never
    shares page files with the public build of the same language."""
    return root / PAGES_DIR / (f"{lang}-personal" if personal else lang)


class PageStore:
    """The kept pages of one language's build (see the module's docstring)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.manifest = folder / "manifest.marshal"
        # held until `close`, after MkDocs has read the page files (`on_post_build`)
        self._lock = _locked(folder / ".lock")
        self.keys: dict[str, tuple[str, str]] = {}  # page -> (key, digest of its file)
        self.groups: dict[str, tuple[str, tuple[str, ...]]] = {}  # group -> (key, its pages)
        self._read_keys()
        self.groups_seen: set[str] = set()
        self.groups_kept: set[str] = set()   # groups of this build not made again
        self.seen: set[str] = set()     # pages of this build
        self.written = 0                # files whose text changed this build
        self.kept = 0                   # pages not generated: their key was unchanged
        self.removed: list[str] = []    # pages of the last build this one no longer makes

    def _read_keys(self) -> None:
        loaded = read_store(self.manifest)  # sealed; {} when missing, damaged or not made here
        if not (loaded.get("format") == _FORMAT and isinstance(loaded.get("keys"), dict)
                and isinstance(loaded.get("groups"), dict)):
            return
        self.keys = {k: v for k, v in loaded["keys"].items()
                     if isinstance(k, str) and type(v) is tuple and len(v) == 2 and all(isinstance(x, str) for x in v)}
        self.groups = {k: v for k, v in loaded["groups"].items()
                       if isinstance(k, str) and type(v) is tuple and len(v) == 2 and isinstance(v[0], str)
                       and type(v[1]) is tuple and all(isinstance(x, str) for x in v[1])}

    def file(self, page: str) -> Path:
        """Where a page's text is kept. Page paths are the generator's own (built from safe IDs);
        anything that could leave the folder is refused."""
        rel = PurePosixPath(page)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"not a page path: {page!r}")
        return self.folder.joinpath(*rel.parts)

    def kept_page(self, page: str, key: str) -> bool:
        """Whether ``page`` is kept with exactly this key and its file holds the text kept with it
        (a file put there by anything else — a checkout of a branch that force-added it — is not
        trusted): then it need not be generated, and counts as a page of this build."""
        if not self._intact(page, key):
            return False
        self.seen.add(page)
        self.kept += 1
        return True

    def _intact(self, page: str, key: str) -> bool:
        kept = self.keys.get(page)
        if kept is None or kept[0] != key:
            return False
        try:
            return content_hash(self.file(page).read_bytes()).hex() == kept[1]
        except OSError:
            return False

    def kept_group(self, group: str, key: str) -> tuple[str, ...] | None:
        """The pages of ``group`` when the group is kept with exactly this key and every page of it
        is intact (`kept_page`); they count as pages of this build. None: make the group again."""
        self.groups_seen.add(group)
        kept = self.groups.get(group)
        if kept is None or kept[0] != key or not all(self._intact(page, key) for page in kept[1]):
            return None
        for page in kept[1]:
            self.kept_page(page, key)
        self.groups_kept.add(group)
        return kept[1]

    def put_group(self, group: str, key: str, pages: dict[str, str]) -> dict[str, Path]:
        """Keep the pages ``group`` made (path -> text) under its ``key``."""
        self.groups_seen.add(group)
        self.groups[group] = (key, tuple(pages))
        return {page: self.put(page, text, key) for page, text in pages.items()}

    def put(self, page: str, text: str, key: str | None = None) -> Path:
        """Keep a page's text (written only when it differs from the file's) and its key, if any."""
        path = self.file(page)
        data = text.encode("utf-8")
        try:
            same = path.stat().st_size == len(data) and path.read_bytes() == data
        except OSError:
            same = False
        if not same:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, data)
            self.written += 1
        self.seen.add(page)
        if key is None:
            self.keys.pop(page, None)
        else:
            self.keys[page] = (key, content_hash(data).hex())
        return path

    def finish(self) -> None:
        """Drop the pages this build did not make, then write the manifest."""
        for page in [p for p in self.keys if p not in self.seen]:
            del self.keys[page]
        for group in [g for g in self.groups if g not in self.groups_seen]:
            del self.groups[group]
        if self.folder.is_dir():
            for path in self.folder.rglob("*"):
                if path.is_file() and path not in (self.manifest, self.folder / ".lock"):
                    page = path.relative_to(self.folder).as_posix()
                    if page not in self.seen:
                        path.unlink()
                        self.removed.append(page)
        write_store(self.manifest, {"format": _FORMAT, "keys": self.keys, "groups": self.groups})

    def close(self) -> None:
        """Let another build of this language use the store: once MkDocs has read its page files
        (`on_post_build`), or when the build failed."""
        if self._lock is not None:
            self._lock.close()  # which releases the lock
            self._lock = None


def _locked(path: Path):
    """An open lock file on which this process holds the only lock, waiting for it while another
    build of the same language (`mkdocs serve` beside `make site`) holds it: two builds at once
    could leave one's manifest beside the other's page files, and a later build would trust a
    page made from other inputs than its key says. None where there are no POSIX locks."""
    if fcntl is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+b")  # noqa: SIM115 - held until `PageStore.close`
    fcntl.flock(fh, fcntl.LOCK_EX)
    return fh


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, umask_mode())  # as an ordinary file (mkstemp makes it private)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)  # left behind only when the write failed


def digest(*parts) -> str:
    """A key from values whose `repr` is deterministic (text, numbers, tuples, lists, dicts built in
    a fixed order, datetimes)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def code_digest() -> str:
    """Digest of the package's own source (code, templates, catalogue) and of the installed
    distributions (Jinja, Markdown, the YAML parser are code too): pages kept by other code are made
    again. Once per process."""
    return source_digest(_FORMAT.encode(), installed()).hex()


def folder_digest(folder: Path) -> str:
    """Digest of every file under ``folder`` (names and bytes): the schemas, lifecycle and rules."""
    h = hashlib.blake2b(digest_size=16)
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def search_copy(folder: Path) -> Path:
    """Where a build keeps a copy of its whole search index: beside its kept pages (``folder``),
    sealed as every store is (`read_store`), so a copy this machine did not write is not merged."""
    return folder.with_name(f"{folder.name}.search.marshal")


def _read_copy(copy: Path) -> bytes | None:
    data = read_store(copy).get("index")
    return data if isinstance(data, bytes) else None


def _page_url(url: str) -> str:
    """A page's URL as the search index writes its location (the home page's `./` is ``)."""
    return "" if url in ("./", ".") else url


def complete_search_index(index: Path, copy: Path, rendered: set[str], pages: set[str], dirty: bool) -> None:
    """Make the search index a `--dirty` build wrote whole again, and keep a copy of it.

    The search plugin indexes the pages a build renders; a `--dirty` build renders only the pages
    whose files changed, so its index lacks every other page. The entries of the pages it did not
    render are taken from the copy the previous build kept (a page is an entry's location before its
    `#`), and those of pages that no longer exist are dropped. A full build's index is kept as is."""
    try:
        data = index.read_bytes()
    except OSError:
        return  # no search index in this build (the search plugin is off)
    if dirty:
        try:
            current = json.loads(data)
            before = json.loads(_read_copy(copy) or b"{}").get("docs", [])
        except (ValueError, AttributeError):
            before = []
        pages, rendered = {_page_url(u) for u in pages}, {_page_url(u) for u in rendered}
        kept = [d for d in before if isinstance(d, dict) and isinstance(d.get("location"), str)
                and (page := d["location"].split("#", 1)[0]) in pages and page not in rendered]
        if kept:
            current["docs"] = kept + current.get("docs", [])
            data = json.dumps(current, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            _write_atomic(index, data)
    write_store(copy, {"index": data})  # the whole index, as written: the next dirty build completes from it


def keep_last_search_index(index: Path, copy: Path) -> None:
    """Before a `--dirty` build: without a kept copy of the whole index (the kept pages were cleaned
    away, or the last build kept none), the index the last build left in the site is the whole one;
    keep it as the copy, or the entries of every page this build does not render would be lost."""
    if _read_copy(copy) is not None or not index.is_file():
        return
    write_store(copy, {"index": index.read_bytes()})


class KeptMasks:
    """Masked record data kept between builds: masking every record's text costs a build of 10k
    records seconds, and a record's masked data changes only with the record, the personal values
    of the corpus, the schemas or the code, which make the file's ``key``. Entries are checked
    against a digest of the record's data; a damaged or foreign file is ignored."""

    def __init__(self, path: Path, key: str):
        self.path, self.key = path, key
        self.masks: dict[str, tuple[str, object]] = {}
        self.used: set[str] = set()
        self.made = 0  # masks made this build (not found kept)
        loaded = read_store(path)  # checksummed: a flipped bit never shows as other text
        if loaded.get("format") == _FORMAT and loaded.get("key") == key and isinstance(loaded.get("masks"), dict):
            self.masks = loaded["masks"]

    def get(self, rec, make):
        """The masked data of record ``rec``: kept, or ``make()``."""
        rid, mark = rec.id, fingerprint(rec) or digest((rec.kind, rec.data))
        self.used.add(rid)
        hit = self.masks.get(rid)
        if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == mark:
            return hit[1]
        value = make()
        self.masks[rid] = (mark, value)
        self.made += 1
        return value

    def save(self, present) -> None:
        """Write the masks back, without those of records no longer ``present`` (IDs). A record's
        mask this build did not use is kept: with list pages kept too, a build may use few of
        them, and dropping the rest would make the next build that needs them mask them again.

        Not written for a handful of new masks among many (at most 1 in 100): writing 100k masks
        took 1 s of a one-change rebuild, masking the few records again next build takes
        milliseconds, and while they stay few nothing is ever written."""
        stale = [rid for rid in self.masks if rid not in self.used and rid not in present]
        if not stale and self.made * 100 <= len(self.masks):
            return
        for rid in stale:
            del self.masks[rid]
        try:
            write_store(self.path, {"format": _FORMAT, "key": self.key, "masks": self.masks})
        except OSError:
            pass  # not kept (a value marshal cannot write, a full disk): only costs time next build


def masks_file(root: Path) -> Path:
    return root / PAGES_DIR / "masked.marshal"
