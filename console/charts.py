"""Charts drawn on the server as inline SVG: no script, no library from elsewhere, readable
without colour (every bar carries its value in a <title>, the chart a text alternative)."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 220  # the viewBox; the SVG scales to the page's width
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 4, 34, 26
FONT = 17  # label size in viewBox units: about 12 px when the chart is 20rem wide


def bars(values: list[float | None], labels: list[str], shown: list[str], title: str,
         colour: str = "#1f6f8b") -> Markup:
    """A bar per value (None: no bar), `labels` under every other bar, `shown` the values as
    the page writes them (in the staff's digits), `title` the chart's accessible name."""
    n = max(len(values), 1)
    top = max([v for v in values if v is not None] or [0]) or 1
    slot = (WIDTH - PAD_LEFT) / n
    plot = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" '
             f'y2="{HEIGHT - PAD_BOTTOM}" stroke="#555" stroke-width="1"/>']
    for i, (value, label, text) in enumerate(zip(values, labels, shown)):
        x = PAD_LEFT + i * slot + slot * 0.15
        w = slot * 0.7
        if value is not None:
            h = plot * value / top
            y = HEIGHT - PAD_BOTTOM - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>')
            if i == len(values) - 1:  # this week's value, written; the others in <title>
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                             f'font-size="{FONT}" fill="#222">{escape(text)}</text>')
        if i % 2 == (n - 1) % 2:  # every other label, always the last (this week)
            parts.append(f'<text x="{x + w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                         f'font-size="{FONT}" fill="#333">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
