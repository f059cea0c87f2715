"""Static SVG charts rendered at build time: no JavaScript, no web fonts, no network.

Every text in a chart is XML-escaped; charts are written as separate `.svg` files and shown with
`<img>` (Markdown image syntax), so a chart can never run script in the page.
"""
from __future__ import annotations

import datetime as _dt

from markupsafe import escape

from servicebook.load.instants import date_or_none

from .markup import md_escape, plain

GREEN = "#2e7d32"
RED = "#c62828"
AMBER = "#ef8f00"
GREY = "#9e9e9e"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\""


def _e(text) -> str:
    return str(escape(plain(text)))


def _text_width(text: str, size: float) -> float:
    # Rough: CJK glyphs are square, Latin about 0.6 em (tests/site_svg.py measures the same way).
    return sum(size if ord(c) > 0x2E80 else size * 0.6 for c in text)


def _fit(text: str, width: float, size: float) -> str:
    """`text` cut with "…" to fit `width` at `size` (the full text stays in the chart's table and
    in the label's tooltip)."""
    if _text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out.rstrip() + "…"


def _label(x: float, y: float, text: str, width: float, size: float, anchor: str = "start",
           fill: str = "#212121", esc=None) -> str:
    """A text that stays inside `width`; when cut, its full wording is the tooltip."""
    esc = esc or _e
    shown = _fit(text, width, size)
    tip = f"<title>{esc(text)}</title>" if shown != text else ""
    return (f'<g>{tip}<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" fill="{fill}">{esc(shown)}</text></g>'
            if tip else f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" fill="{fill}">{esc(shown)}</text>')


def compliance_bars(rows: list[tuple[str, int, int, float | None]], title: str, no_data: str = "No data") -> str:
    """Horizontal stacked bars: one row per (label, met, breached, compliance %), the figure
    printed as the SLA report computed it (``derive.sla.reports.compliance``: the table beside
    the chart shows the same); the bar's length is only drawing."""
    size = 13
    bar_h, gap = 18, 8
    label_w = min(300, max([_text_width(plain(r[0]), size) for r in rows] + [60]) + 12)
    bar_w = 360
    width = int(label_w + bar_w + 130)
    height = 34 + max(1, len(rows)) * (bar_h + gap) + 6
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" {FONT} font-size="{size}">',
        f"<title>{_e(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="4" y="18" font-weight="bold" fill="#212121">{_e(title)}</text>',
    ]
    if not rows:
        out.append(f'<text x="4" y="48" fill="#616161">{_e(no_data)}</text>')
    for i, (label, met, breached, compliance) in enumerate(rows):
        y = 30 + i * (bar_h + gap)
        total = max(0, met) + max(0, breached)
        share = (met / total) if total else 0.0
        met_w = bar_w * share
        out.append(_label(label_w - 6, y + 13, plain(label), label_w - 10, size, "end"))
        out.append(f'<rect x="{label_w:.0f}" y="{y}" width="{bar_w}" height="{bar_h}" fill="{GREY if not total else RED}" opacity="{0.25 if not total else 0.85}"/>')
        if met_w:
            out.append(f'<rect x="{label_w:.0f}" y="{y}" width="{met_w:.1f}" height="{bar_h}" fill="{GREEN}"/>')
        pct = f"{compliance:g}% ({met}/{total})" if compliance is not None else "—"
        out.append(f'<text x="{label_w + bar_w + 6:.0f}" y="{y + 13}" fill="#212121">{_e(pct)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def count_columns(rows: list[tuple[str, int]], title: str, no_data: str = "No data") -> str:
    """Vertical columns: one per (label, count), e.g. cases per month."""
    size = 12
    col_w, gap = 34, 10
    plot_h = 140
    width = int(max(240, 40 + len(rows) * (col_w + gap), _text_width(plain(title), size) + 12))
    height = plot_h + 70
    peak = max([c for _, c in rows] + [1])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" {FONT} font-size="{size}">',
        f"<title>{_e(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="4" y="16" font-weight="bold" fill="#212121">{_e(title)}</text>',
    ]
    if not rows:
        out.append(f'<text x="4" y="48" fill="#616161">{_e(no_data)}</text>')
    base_y = 30 + plot_h
    for i, (label, count) in enumerate(rows):
        x = 30 + i * (col_w + gap)
        h = plot_h * (count / peak) if peak else 0
        out.append(f'<rect x="{x}" y="{base_y - h:.1f}" width="{col_w}" height="{h:.1f}" fill="#3f51b5"/>')
        out.append(f'<text x="{x + col_w / 2:.0f}" y="{base_y - h - 4:.1f}" text-anchor="middle" fill="#212121">{count}</text>')
        out.append(f'<text x="{x + col_w / 2:.0f}" y="{base_y + 16}" text-anchor="middle" fill="#424242" font-size="10">{_e(label)}</text>')
    out.append(f'<line x1="26" y1="{base_y}" x2="{width - 4}" y2="{base_y}" stroke="#757575"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


COLORS = {"done": GREEN, "done_late": AMBER, "overdue": RED, "planned": GREY}


def _svg_text(text) -> str:
    """Record text for an inline SVG, in an element or a double-quoted attribute: one line,
    HTML/XML/Markdown specials and the quote as numeric references."""
    return str(md_escape(" ".join(str(text if text is not None else "").split()))).replace('"', "&#34;")


def _time_ticks(start: _dt.date, end: _dt.date) -> list[tuple[_dt.date, str]]:
    """Tick dates and labels of a time axis from `start` to `end`: month starts, else (a span
    shorter than two months' starts) every week, so every axis has at least two labelled ticks."""
    ticks = []
    d = _dt.date(start.year, start.month, 1)
    while d <= end:
        if d >= start:
            ticks.append((d, d.strftime("%Y-%m")))
        d = _dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    if len(ticks) >= 2:
        return ticks
    step = max(1, (end - start).days // 4)
    return [(start + _dt.timedelta(days=i), (start + _dt.timedelta(days=i)).strftime("%m-%d"))
            for i in range(0, (end - start).days + 1, step)]


def gantt(milestones: list[dict], today: _dt.date, title: str, today_label: str, legend: dict[str, str]) -> str:
    """A static SVG timeline: one row per milestone, a bar from the planned to the actual date
    (or to today when overdue), a diamond at the planned date, a dot at the actual date, and a
    line for today. Wrapped in a ``div`` so Markdown passes it through untouched. Every text stays
    inside the drawing (a tick or today's label near the right edge is anchored at its end)."""
    size = 12
    dates = [today]
    for m in milestones:
        for k in ("planned_on", "actual_on"):
            if date_or_none(m.get(k)):
                dates.append(date_or_none(m[k]))
    start, end = min(dates) - _dt.timedelta(days=2), max(dates) + _dt.timedelta(days=2)
    span = max(1, (end - start).days)
    label_w, chart_w, row_h, top = 220, 520, 26, 40
    width = label_w + chart_w + 20
    height = top + row_h * len(milestones) + 40

    def xpos(d: _dt.date) -> float:
        return label_w + chart_w * (d - start).days / span

    def placed(x: float, text: str) -> tuple[float, str]:
        """Where a label beside `x` starts, and its anchor: after x, or ending at x near the edge."""
        return (x + 2, "start") if x + 2 + _text_width(text, size) <= width - 2 else (x - 2, "end")

    out = [f'<div class="sb-gantt"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{_svg_text(title)}" {FONT} font-size="{size}">',
           f"<title>{_svg_text(title)}</title>",
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    for d, text in _time_ticks(start, end):
        x = xpos(d)
        out.append(f'<line x1="{x:.1f}" y1="{top - 14}" x2="{x:.1f}" y2="{height - 30}" stroke="#e0e0e0"/>')
        tx, anchor = placed(x, text)
        out.append(f'<text x="{tx:.1f}" y="{top - 18}" text-anchor="{anchor}" fill="#616161">{text}</text>')
    for i, m in enumerate(milestones):
        y = top + i * row_h
        planned, actual = date_or_none(m.get("planned_on")), date_or_none(m.get("actual_on"))
        color = COLORS.get(m.get("state"), GREY)
        name = str(m.get("name") or "")
        out.append(_label(label_w - 8, y + 16, " ".join(name.split()), label_w - 16, size, "end", esc=_svg_text))
        if planned:
            other = actual or (today if m.get("state") == "overdue" else planned)
            a, b = sorted((xpos(planned), xpos(other)))
            if b - a >= 1:
                out.append(f'<rect x="{a:.1f}" y="{y + 8}" width="{b - a:.1f}" height="8" fill="{color}" opacity="0.35"/>')
            px = xpos(planned)
            out.append(f'<path d="M{px:.1f} {y + 6} l6 6 l-6 6 l-6 -6 z" fill="#ffffff" stroke="{color}" stroke-width="2">'
                       f"<title>{_svg_text(name)}: {planned.isoformat()}</title></path>")
        if actual:
            out.append(f'<circle cx="{xpos(actual):.1f}" cy="{y + 12}" r="5" fill="{color}">'
                       f"<title>{_svg_text(name)}: {actual.isoformat()}</title></circle>")
    tx = xpos(today)
    out.append(f'<line x1="{tx:.1f}" y1="{top - 8}" x2="{tx:.1f}" y2="{height - 30}" stroke="#1a237e" stroke-dasharray="4 3"/>')
    lx, anchor = placed(tx + 1, today_label)
    out.append(f'<text x="{lx:.1f}" y="{top - 4}" text-anchor="{anchor}" fill="#1a237e">{_svg_text(today_label)}</text>')
    lx = 10
    for state, color in COLORS.items():
        label = legend.get(state, state)
        out.append(f'<rect x="{lx}" y="{height - 20}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{lx + 14}" y="{height - 11}" fill="#212121">{_svg_text(label)}</text>')
        lx += 14 + _text_width(label, size) + 16
    out.append("</svg></div>")
    return "\n".join(out) + "\n"
