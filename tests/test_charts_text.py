"""Text in an inline chart stays text: the gantt chart of a delivery page puts its title in a
double-quoted `aria-label` and in `<title>`, and each milestone's name (record text) in a label and
a `<title>`. With quotes, angle brackets, ampersands and line breaks in them, the drawing is
well-formed XML with no element or attribute but its own, and every text reads as it was given
(on one line)."""
from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from servicebook.site.charts import gantt

HOSTILE = 'x" onload="alert(1)" y="<script>alert(2)</script> & \'q\'\nnext'
ONE_LINE = " ".join(HOSTILE.split())


def test_gantt_texts_are_inert():
    svg = gantt([{"name": HOSTILE, "planned": dt.date(2026, 11, 2), "actual": dt.date(2026, 11, 9), "state": "late"},
                 {"name": "验收", "planned": dt.date(2026, 12, 1), "state": "overdue"}],
                dt.date(2026, 12, 2), HOSTILE, "today", {"late": "late", "overdue": "overdue"})
    root = ET.fromstring(svg)  # well-formed: no attribute or element was broken open
    drawing = root if root.tag.endswith("svg") else next(e for e in root.iter() if e.tag.endswith("svg"))
    assert set(drawing.attrib) == {"width", "height", "viewBox", "role", "aria-label", "font-family", "font-size"}
    assert drawing.attrib["aria-label"] == ONE_LINE
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in ("script", "foreignObject")]
    assert not [k for e in root.iter() for k in e.attrib if k.startswith("on")]
    titles = [e.text or "" for e in root.iter() if e.tag.split("}")[-1] == "title"]
    assert titles.count(ONE_LINE) >= 2  # the chart's and the milestone's: each whole, on one line
