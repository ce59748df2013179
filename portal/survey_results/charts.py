"""Small bar charts as SVG, drawn on the server.

The CSP forbids inline styles, so the SVG uses presentation attributes only
(fill=, stroke=), never <style> or style="". Each chart has a <title> and a
<desc>, and the page shows the same numbers in a table beside it. Suppressed
values draw no bar and say "fewer than N".
"""

from __future__ import annotations

from markupsafe import Markup, escape

from portal import privacy

BAR = "#1d4f91"      # --color-primary
TEXT = "#1b1f24"     # --color-text
MUTED = "#4f5862"    # --color-muted
GRID = "#c4cbd3"     # --color-border


def bar_chart(chart_id: str, title: str, description: str,
              rows: list[tuple[str, float | None, str]]) -> Markup:
    """Horizontal bars. rows: (label, value 0..100 or None if suppressed, value text)."""
    label_w, bar_w, row_h, pad = 230, 300, 28, 8
    height = pad * 2 + row_h * max(len(rows), 1)
    width = label_w + bar_w + 110
    t_id, d_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{t_id} {d_id}" focusable="false">',
        f'<title id="{t_id}">{escape(title)}</title>',
        f'<desc id="{d_id}">{escape(description)}</desc>',
        f'<line x1="{label_w}" y1="{pad}" x2="{label_w}" y2="{height - pad}" '
        f'stroke="{GRID}" stroke-width="1"/>',
    ]
    for i, (label, value, text) in enumerate(rows):
        y = pad + i * row_h
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end" '
                     f'font-size="13" fill="{TEXT}">{escape(short)}</text>')
        if value is None:
            parts.append(f'<text x="{label_w + 6}" y="{y + 18}" font-size="13" '
                         f'fill="{MUTED}">{escape(privacy.suppressed_label())}</text>')
            continue
        w = max(0.0, min(100.0, value)) / 100 * bar_w
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" '
                     f'fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 18}" font-size="13" '
                     f'fill="{TEXT}">{escape(text)}</text>')
    parts.append("</svg>")
    # Every text above went through escape(); the rest is fixed markup.
    return Markup("".join(parts))  # noqa: S704  # nosec B704
