"""Inline SVG trend charts: no script, no fetch, readable in any browser offline."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#b22222", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#555555")


def _range(values: Sequence[float]) -> tuple[float, float]:
    """Keep 100 at the top; zoom in when every score is high so a change stays visible,
    on a range that divides into four whole-number steps."""
    lo = min(values, default=100.0)
    for bottom in (96.0, 92.0, 80.0, 60.0):
        if lo >= bottom + 0.5:
            return bottom, 100.0
    return 0.0, 100.0


def line_chart(title: str, series: Sequence[tuple[str, Sequence[float | None]]],
               x_labels: Sequence[str], *, width: int = 520, height: int = 190) -> str:
    """A line chart of scores (0..100) over runs; None leaves a gap."""
    left, right, top, bottom = 44, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, ys in series for v in ys if v is not None]
    lo, hi = _range(values)
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo if hi > lo else 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for k in range(5):
        g = lo + (hi - lo) * k / 4
        parts.append(f'<line x1="{left}" y1="{y(g):.1f}" x2="{width - right}" y2="{y(g):.1f}" '
                     f'stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{y(g) + 4:.1f}" font-size="10" text-anchor="end" '
                     f'fill="#666">{g:.0f}</text>')
    if x_labels:
        shown = {0, n - 1} | ({n // 2} if n > 4 else set())
        for i in sorted(shown):
            anchor = "start" if i == 0 and n > 1 else ("end" if i == n - 1 and n > 1 else "middle")
            parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" font-size="10" '
                         f'text-anchor="{anchor}" fill="#666">{escape(x_labels[i])}</text>')
    for s, (name, ys) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(ys):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                             f'points="{" ".join(seg)}"/>')
        for i, v in enumerate(ys):
            if v is not None:
                parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}">'
                             f'<title>{escape(name)} {escape(x_labels[i] if i < len(x_labels) else "")}'
                             f'：{v:.1f}</title></circle>')
        last = next(((i, v) for i, v in reversed(list(enumerate(ys))) if v is not None), None)
        if last is not None and len(series) == 1:
            i, v = last
            parts.append(f'<text x="{x(i) - 4:.1f}" y="{y(v) - 7:.1f}" font-size="11" '
                         f'text-anchor="end" fill="{color}">{v:.1f}</text>')
    if len(series) > 1:
        for s, (name, _) in enumerate(series):
            lx = left + 8 + s * 70
            parts.append(f'<rect x="{lx}" y="{height - 9}" width="10" height="3" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"/>')
            parts.append(f'<text x="{lx + 13}" y="{height - 5}" font-size="10">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
