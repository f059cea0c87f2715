"""Charts that read: every SVG a built site emits (chart files and inline charts of the pages),
with each text's extent estimated from its characters (a CJK character is as wide as the font
size, any other about 0.6 of it), so a label that runs outside the drawing is caught without a
browser; and the tick labels of each time axis (dates and months) counted."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

SVG_NS = "{http://www.w3.org/2000/svg}"
_INLINE = re.compile(r"<svg\b.*?</svg>", re.S)
# a tick label of a time axis: 2026-11, 2026-11-05, 11-05, 11月, 2026年11月
TIME_LABEL = re.compile(r"^(\d{4}-\d{2}(-\d{2})?|\d{2}-\d{2}|\d{1,2}月|\d{4}年\d{1,2}月)$")


def char_width(ch: str, size: float) -> float:
    return size if ord(ch) > 0x2E80 else size * 0.6


def text_width(text: str, size: float) -> float:
    return sum(char_width(c, size) for c in text)


def svgs(site: Path):
    """(where, svg text) of every chart file and every inline chart of every page under `site`."""
    for path in sorted(site.rglob("*")):
        if "assets" in path.relative_to(site).parts:
            continue
        if path.suffix == ".svg":
            yield str(path.relative_to(site)), path.read_text(encoding="utf-8")
        elif path.suffix == ".html":
            page = path.read_text(encoding="utf-8")
            for i, m in enumerate(_INLINE.finditer(page)):
                if "<text" in m.group(0):  # the theme's icons have no text
                    yield f"{path.relative_to(site)}#svg{i}", m.group(0)


def _num(value, default=0.0) -> float:
    m = re.match(r"\s*(-?\d+(?:\.\d+)?)", str(value)) if value is not None else None
    return float(m.group(1)) if m else default


def problems(where: str, svg: str) -> list[str]:
    """What does not read in one chart: texts outside its viewBox, a time axis with fewer than
    two labelled ticks."""
    root = ET.fromstring(svg)
    box = [_num(v) for v in (root.get("viewBox") or "").replace(",", " ").split()]
    if len(box) != 4:
        return [f"{where}: no viewBox"]
    x0, y0, w, h = box
    found = []
    base_size = _num(root.get("font-size"), 16.0)
    times = []

    def walk(node, size, anchor):
        size = _num(node.get("font-size"), size)
        anchor = node.get("text-anchor") or anchor
        if node.tag == f"{SVG_NS}text":
            text = " ".join(((node.text or "") + "".join((c.tail or "") if c.tag == f"{SVG_NS}title"
                                                       else "".join(c.itertext()) + (c.tail or "") for c in node)).split())
            if TIME_LABEL.match(text):
                times.append(text)
            width = text_width(text, size)
            x, y = _num(node.get("x")), _num(node.get("y"))
            left = {"middle": x - width / 2, "end": x - width}.get(anchor, x)
            right = left + width
            if left < x0 - 1 or right > x0 + w + 1 or y - size * 0.8 < y0 - 1 or y > y0 + h + 1:
                found.append(f"{where}: {text!r} runs outside the viewBox ({left:.0f}..{right:.0f} x {y:.0f}; "
                             f"box {x0:.0f}..{x0 + w:.0f} x {y0:.0f}..{y0 + h:.0f})")
            return
        for child in node:
            if child.tag in (f"{SVG_NS}title", f"{SVG_NS}desc"):
                continue
            walk(child, size, anchor)

    walk(root, base_size, "start")
    if times and len(set(times)) < 2:
        found.append(f"{where}: a time axis with {len(set(times))} labelled tick ({times})")
    return found
