"""The published site: page generation (`pages`) and the thin MkDocs plugin (`plugin`).

Page generation is independent of MkDocs: `pages.generate(corpus, options)` returns a mapping
of docs-relative path -> content (Markdown pages, SVG charts). The plugin only feeds that mapping
to MkDocs as in-memory files, so nothing generated is ever written to docs/ or committed.
"""
