"""Static SVG charts rendered at build time: no JavaScript, no web fonts, no network.

Every text in a chart is XML-escaped; charts are written as separate `.svg` files and shown with
`<img>` (Markdown image syntax), so a chart can never run script in the page.
"""
from __future__ import annotations

from markupsafe import escape

from .markup import plain

GREEN = "#2e7d32"
RED = "#c62828"
AMBER = "#ef8f00"
GREY = "#9e9e9e"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\""


def _e(text) -> str:
    return str(escape(plain(text)))


def _text_width(text: str, size: float) -> float:
    # Rough: CJK glyphs are square, Latin about 0.6 em.
    return sum(size if ord(c) > 0x2E80 else size * 0.6 for c in text)


def compliance_bars(rows: list[tuple[str, int, int, float | None]], title: str, no_data: str = "No data") -> str:
    """Horizontal stacked bars: one row per (label, met, breached, compliance %), the figure
    printed as the SLA report computed it (``derive.sla.reports.compliance``: the table beside
    the chart shows the same); the bar's length is only drawing."""
    size = 13
    bar_h, gap = 18, 8
    label_w = min(260, max([_text_width(plain(r[0]), size) for r in rows] + [60]) + 12)
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
        out.append(f'<text x="{label_w - 6:.0f}" y="{y + 13}" text-anchor="end" fill="#212121">{_e(label)}</text>')
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
    width = max(240, 40 + len(rows) * (col_w + gap))
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
