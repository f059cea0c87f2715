"""servicebook site generate --out DIR — the site's generated pages as Markdown files.

What the MkDocs plugin adds to a build (every case, customer, report and index page, and the
stylesheet), written as files instead: to look at, diff between two runs, or feed to another
static-site engine. Hand-written docs/ pages are not copied.
"""

from __future__ import annotations

import time
from pathlib import Path

from servicebook.commands._common import add_root, at_or_now, fail, find_root

NAME = "site"
HELP = "The site's generated pages as Markdown files (生成站点页面文件)."

LANGS = ("zh", "en")


def configure(parser):
    sub = parser.add_subparsers(dest="site_action", metavar="ACTION", required=True)
    g = sub.add_parser("generate", help="write every generated page as a file under --out",
                       description="Write every page the site build generates (cases, customers, "
                                   "reports, indexes) as Markdown files under --out.")
    g.add_argument("--out", type=Path, required=True,
                   help="folder to write the pages to (created; must be empty if it exists)")
    g.add_argument("--lang", choices=LANGS, default="zh", help="language of the pages (default: zh)")
    g.add_argument("--at", metavar="INSTANT",
                   help="as of this instant, e.g. 2026-11-23T10:00:00+08:00 (default: now)")
    add_root(g)


def run(args) -> int:
    from servicebook.derive import checked
    from servicebook.site import plugin
    from servicebook.write.tree import write_tree

    root = find_root(args.root).resolve()
    as_of = at_or_now(args.at)
    started = time.perf_counter()
    corpus = checked.load(root)
    generated = plugin.generate(corpus, root, args.lang, as_of, dict(plugin.PAGE_OPTIONS))
    try:
        count = write_tree(args.out, generated)
    except FileExistsError as err:
        return fail(str(err))
    print(f"wrote {count} pages to {args.out} in {time.perf_counter() - started:.1f}s")
    return 0
