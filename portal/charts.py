"""Small server-rendered SVG charts for the leadership reports.

Written by hand with presentation attributes (fill=, stroke=) only: the CSP
forbids <style> elements and style attributes, so no chart library output is
embedded. Every chart carries a <title> and <desc> (role="img"), shapes and
text carry the meaning as well as colour, and each page puts the same numbers
in a table next to the chart.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

TEXT = "#1b1f24"
MUTED = "#4f5862"
GRID = "#c4cbd3"
PRIMARY = "#1d4f91"
ACCENT = "#a3470b"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
# A diverging scale from ColorBrewer RdBu; the neutral midpoint is a light grey.
DIVERGING = {1: "#b2182b", 2: "#ef8a62", 3: "#d9d9d9", 4: "#67a9cf", 5: "#2166ac"}
DIVERGING_TEXT = {1: "#ffffff", 2: TEXT, 3: TEXT, 4: TEXT, 5: "#ffffff"}

_ids = itertools.count(1)


@dataclass(frozen=True)
class Interval:
    """One labelled estimate with its interval (None where not shown)."""

    label: str
    value: float | None
    lo: float | None = None
    hi: float | None = None


def _f(x: float) -> str:
    return f"{x:.1f}"


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 12,
          fill: str = TEXT, weight: str = "normal") -> str:
    return (f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}">{escape(s)}</text>')


def _line(x1, y1, x2, y2, stroke=GRID, width=1, dash: str | None = None) -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
            f'stroke="{stroke}" stroke-width="{width}"{d}/>')


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    uid = next(_ids)
    tid, did = f"chart-{uid}-title", f"chart-{uid}-desc"
    # Every piece of text inside went through escape(); the rest are numbers we format.
    return Markup(  # noqa: S704  # nosec B704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{tid} {did}" font-family="{FONT}">'
        f'<title id="{tid}">{escape(title)}</title><desc id="{did}">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _empty(title: str, desc: str, reason: str = "") -> Markup:
    """No chart is drawn empty: one sentence says why there is nothing to draw."""
    reason = reason or "There are no figures to draw yet; the table gives what there is."
    return Markup('<p class="chart-empty">{}</p>').format(reason)


def _not_drawn_note(labels: Sequence[str], why: str) -> Markup:
    """One sentence under a chart for every row left out of it, instead of a line in
    each row."""
    if not labels:
        return Markup("")
    return Markup('<p class="chart-note">Not drawn, {}: {}. The table below gives what '
                  "can be shown.</p>").format(why, ", ".join(labels))


def dot_whisker(items: Sequence[Interval], title: str, desc: str, lo: float = 0.0,
                hi: float = 1.0, percent: bool = True, axis_label: str = "",
                label_width: int = 56, width: int = 640) -> Markup:
    """Ranked dots with interval whiskers, one row per item (already in rank order).
    `label_width`: room left of the axis for the row labels (names need more)."""
    items = [i for i in items if i.value is not None]
    if not items:
        return _empty(title, desc)
    left, right, top, row = label_width, 24, 34, 24
    height = top + row * len(items) + 40
    x = _scale(lo, hi, left, width - right)
    body = []
    for t in _ticks(lo, hi):
        body.append(_line(x(t), top - 8, x(t), height - 34))
        body.append(_text(x(t), height - 18, _tick_label(t, percent), "middle", 11, MUTED))
    if axis_label:
        body.append(_text((left + width - right) / 2, height - 3, axis_label, "middle", 11,
                          MUTED))
    for n, item in enumerate(items):
        y = top + n * row + row / 2
        body.append(_text(left - 8, y + 4, item.label, "end", 12, TEXT, "bold"))
        if item.lo is not None and item.hi is not None:
            body.append(_line(x(item.lo), y, x(item.hi), y, PRIMARY, 2))
            body.append(_line(x(item.lo), y - 5, x(item.lo), y + 5, PRIMARY, 2))
            body.append(_line(x(item.hi), y - 5, x(item.hi), y + 5, PRIMARY, 2))
        body.append(f'<circle cx="{_f(x(item.value))}" cy="{_f(y)}" r="5" fill="{PRIMARY}" '
                    f'stroke="#ffffff" stroke-width="1.5"/>')
    return _svg(width, height, title, desc, body)


def _ticks(lo: float, hi: float) -> list[float]:
    if (lo, hi) == (0.0, 1.0):
        return [0, 0.25, 0.5, 0.75, 1.0]
    step = 0.5 if hi - lo <= 4 else 1.0
    out, t = [], lo
    while t <= hi + 1e-9:
        out.append(round(t, 2))
        t += step
    return out


def _tick_label(t: float, percent: bool) -> str:
    return f"{100 * t:.0f}%" if percent else f"{t:g}"


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float


def scatter(points: Sequence[Point], x_centre: float | None, y_centre: float | None,
            title: str, desc: str, x_label: str = "Mean importance",
            y_label: str = "Mean performance", lo: float = 1.0, hi: float = 5.0) -> Markup:
    """Importance (x) against performance (y): crosshairs at the centres, the diagonal
    where the two are equal, quadrant names in the corners and labelled points."""
    if not points:
        return _empty(title, desc)
    # Zoom onto the data (still 1..5 bounded) so the points do not huddle together.
    xs = [p.x for p in points] + [c for c in (x_centre,) if c is not None]
    ys = [p.y for p in points] + [c for c in (y_centre,) if c is not None]
    vlo = max(lo, min(min(xs), min(ys)) - 0.25)
    vhi = min(hi, max(max(xs), max(ys)) + 0.25)
    vlo, vhi = _nice(vlo, "down"), _nice(vhi, "up")
    size, pad_l, pad_b, pad_t, pad_r = 560, 64, 56, 20, 20
    x = _scale(vlo, vhi, pad_l, size - pad_r)
    y = _scale(vlo, vhi, size - pad_b, pad_t)
    body = [f'<rect x="{pad_l}" y="{pad_t}" width="{size - pad_l - pad_r}" '
            f'height="{size - pad_t - pad_b}" fill="#ffffff" stroke="{GRID}"/>']
    for t in _ticks(vlo, vhi):
        body.append(_text(x(t), size - pad_b + 18, f"{t:g}", "middle", 11, MUTED))
        body.append(_text(pad_l - 8, y(t) + 4, f"{t:g}", "end", 11, MUTED))
    body.append(_text((pad_l + size - pad_r) / 2, size - 12, x_label, "middle", 12, TEXT))
    body.append(f'<text x="16" y="{_f((pad_t + size - pad_b) / 2)}" text-anchor="middle" '
                f'font-size="12" fill="{TEXT}" transform="rotate(-90 16 '
                f'{_f((pad_t + size - pad_b) / 2)})">{escape(y_label)}</text>')
    body.append(_line(x(vlo), y(vlo), x(vhi), y(vhi), MUTED, 1, "2 4"))
    # The diagonal's name sits low on the line, clear of the corner names at the top.
    d = vlo + 0.18 * (vhi - vlo)
    diag = (x(d) + 8, y(d) + 4, "performance = importance")
    body.append(_text(diag[0], diag[1], diag[2], "start", 10, MUTED))
    obstacles = [_box(diag[0], diag[1], diag[2], "start", 10)]
    if x_centre is not None and y_centre is not None:
        body.append(_line(x(x_centre), pad_t, x(x_centre), size - pad_b, ACCENT, 1.5, "6 4"))
        body.append(_line(pad_l, y(y_centre), size - pad_r, y(y_centre), ACCENT, 1.5, "6 4"))
        corners = [
            (size - pad_r - 6, size - pad_b - 8, "end", "Concentrate here"),
            (size - pad_r - 6, pad_t + 16, "end", "Keep up the good work"),
            (pad_l + 6, size - pad_b - 8, "start", "Low priority"),
            (pad_l + 6, pad_t + 16, "start", "Possible overkill"),
        ]
        for cx, cy, anchor, label in corners:
            body.append(_text(cx, cy, label, anchor, 11, ACCENT, "bold"))
            obstacles.append(_box(cx, cy, label, anchor, 11))
    centres = [(x(p.x), y(p.y)) for p in points]
    for cx, cy in centres:
        body.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="4.5" fill="{PRIMARY}"/>')
    dots = [(cx - 5, cy - 5, cx + 5, cy + 5) for cx, cy in centres]
    plot = (pad_l, pad_t, size - pad_r, size - pad_b)
    unplaced = []
    for p, spot in zip(points, _place_labels(centres, [p.label for p in points],
                                            obstacles + dots, plot), strict=True):
        if spot is None:
            unplaced.append(p)
            continue
        lx, ly, anchor = spot
        body.append(_text(lx, ly, p.label, anchor, 11, TEXT, "bold"))
    svg = _svg(size, size, title, desc, body)
    if not unplaced:
        return svg
    # No room beside these points: their names go into a small table under the chart.
    row = Markup('<tr><th scope="row">{}</th><td>{:.2f}</td><td>{:.2f}</td></tr>')
    rows = Markup("").join(row.format(p.label, p.x, p.y) for p in unplaced)
    return svg + Markup('<table class="chart-legend"><caption>Points not labelled in the '
                        "chart for lack of room</caption><thead><tr><th scope=\"col\">Point"
                        "</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr>"
                        "</thead><tbody>").format(x_label, y_label) + rows + Markup(
                        "</tbody></table>")


def _box(x: float, y: float, text: str, anchor: str, size: int) -> tuple[float, ...]:
    """The rough box a label of `size` px takes (bold sans: about 0.62 em a character)."""
    w = 0.62 * size * len(text)
    left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return (left, y - size, left + w, y + 3)


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# Where a point's label may go, in order of preference: (dx, dy, anchor).
_SPOTS = ((7, -5, "start"), (7, 13, "start"), (-7, -5, "end"), (-7, 13, "end"),
          (0, -9, "middle"), (0, 19, "middle"), (12, 4, "start"), (-12, 4, "end"))


def _place_labels(centres, labels, obstacles, plot) -> list[tuple[float, float, str] | None]:
    """A spot for each label that overlaps no other label, point or fixed text and stays
    inside the plot; None where there is none. Greedy, crowded points first."""
    placed: list[tuple[float, ...]] = []
    out: list[tuple[float, float, str] | None] = [None] * len(labels)

    def crowd(i: int) -> int:
        cx, cy = centres[i]
        return -sum(1 for ox, oy in centres if abs(ox - cx) < 40 and abs(oy - cy) < 24)

    for i in sorted(range(len(labels)), key=crowd):
        cx, cy = centres[i]
        for dx, dy, anchor in _SPOTS:
            box = _box(cx + dx, cy + dy, labels[i], anchor, 11)
            inside = (box[0] >= plot[0] + 2 and box[2] <= plot[2] - 2
                      and box[1] >= plot[1] + 2 and box[3] <= plot[3] - 2)
            own = (cx - 5, cy - 5, cx + 5, cy + 5)
            if inside and not any(_overlaps(box, o) for o in placed + obstacles
                                  if o != own):
                placed.append(box)
                out[i] = (cx + dx, cy + dy, anchor)
                break
    return out


def _nice(v: float, direction: str) -> float:
    import math

    return (math.floor if direction == "down" else math.ceil)(v * 2) / 2


def gap_bars(items: Sequence[Interval], title: str, desc: str) -> Markup:
    """Horizontal bars from zero (performance minus importance) with interval whiskers.

    Negative gaps (performing below importance) point left and are drawn in the
    accent colour with a hatched pattern, so colour is not the only cue."""
    items = [i for i in items if i.value is not None]
    if not items:
        return _empty(title, desc)
    vals = [v for i in items for v in (i.value, i.lo, i.hi) if v is not None]
    span = max(0.5, max(abs(v) for v in vals))
    span = _nice(span + 0.1, "up")
    left, right, top, row, width = 56, 24, 20, 24, 640
    height = top + row * len(items) + 44
    x = _scale(-span, span, left, width - right)
    uid = next(_ids)
    body = [f'<defs><pattern id="hatch-{uid}" width="6" height="6" '
            f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="{ACCENT}"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/>'
            f'</pattern></defs>']
    for t in _ticks(-span, span):
        body.append(_line(x(t), top - 6, x(t), height - 38))
        body.append(_text(x(t), height - 22, f"{t:+g}" if t else "0", "middle", 11, MUTED))
    body.append(_line(x(0), top - 6, x(0), height - 38, TEXT, 1.5))
    body.append(_text(x(-span), height - 4, "◀ performance below importance", "start", 11,
                      MUTED))
    body.append(_text(x(span), height - 4, "performance above importance ▶", "end", 11,
                      MUTED))
    for n, item in enumerate(items):
        y = top + n * row + row / 2
        body.append(_text(left - 8, y + 4, item.label, "end", 12, TEXT, "bold"))
        x0, x1 = sorted((x(0), x(item.value)))
        fill = f"url(#hatch-{uid})" if item.value < 0 else PRIMARY
        body.append(f'<rect x="{_f(x0)}" y="{_f(y - 7)}" width="{_f(max(x1 - x0, 1))}" '
                    f'height="14" fill="{fill}"/>')
        if item.lo is not None and item.hi is not None:
            body.append(_line(x(item.lo), y, x(item.hi), y, TEXT, 1.5))
            body.append(_line(x(item.lo), y - 4, x(item.lo), y + 4, TEXT, 1.5))
            body.append(_line(x(item.hi), y - 4, x(item.hi), y + 4, TEXT, 1.5))
    return _svg(width, height, title, desc, body)


@dataclass(frozen=True)
class Distribution:
    """Counts of answers 1..5 for one row; `hidden` counts suppressed answers."""

    label: str
    counts: dict[int, int | None]
    # Where only groups of answers are published (a segment row with small cells):
    # the count of each group, e.g. {(1, 2): 40, (3,): 90, (4, 5): 300}.
    groups: dict[tuple[int, ...], int] | None = None


def diverging(rows: Sequence[Distribution], title: str, desc: str,
              labels: dict[int, str]) -> Markup:
    """Diverging stacked bars: 1-2 to the left of the neutral midpoint, 4-5 to the
    right, 3 straddling it. A row with a suppressed answer is not drawn, and says so."""
    rows = [r for r in rows if any(v is None or v > 0 for v in r.counts.values())
            or (r.groups and any(r.groups.values()))]
    # A bar from the visible answers alone would mislead, so a row with a hidden answer
    # (or only coarse groups) is left out, and one sentence under the chart names it.
    skipped = [r.label for r in rows if not _drawable(r)]
    rows = [r for r in rows if _drawable(r)]
    why = ("to protect small groups (some answers come from fewer members than the "
           "privacy threshold)")
    if not rows:
        return _empty(title, desc, "No bar can be drawn: every row has answers from fewer "
                      "members than the privacy threshold. The table below gives what can "
                      "be shown." if skipped else "")
    left, right, top, row, width = 220, 24, 44, 34, 760
    height = top + row * len(rows) + 60
    x = _scale(-1, 1, left, width - right)
    body = []
    for t in (-1, -0.5, 0, 0.5, 1):
        body.append(_line(x(t), top - 10, x(t), height - 56, GRID if t else TEXT))
        body.append(_text(x(t), height - 40, f"{abs(100 * t):.0f}%", "middle", 11, MUTED))
    # Legend across the top: colour swatch plus the number and its label.
    lx = left
    for score in (1, 2, 3, 4, 5):
        body.append(f'<rect x="{_f(lx)}" y="8" width="12" height="12" '
                    f'fill="{DIVERGING[score]}" stroke="{MUTED}" stroke-width="0.5"/>')
        body.append(_text(lx + 16, 18, f"{score} {labels.get(score, '')}", "start", 10))
        lx += 16 + 7 * len(f"{score} {labels.get(score, '')}") + 10
    for n, r in enumerate(rows):
        y = top + n * row
        label = r.label if len(r.label) <= 30 else r.label[:29] + "…"
        body.append(_text(left - 8, y + row / 2 + 4, label, "end", 12, TEXT, "bold"))
        if r.groups is not None:
            body.extend(_grouped_bar(r.groups, x, y, row))
            continue
        visible = {s: (r.counts.get(s) or 0) for s in (1, 2, 3, 4, 5)}
        total = sum(visible.values())
        share = {s: visible[s] / total for s in visible}
        start = -(share[1] + share[2] + share[3] / 2)
        pos = start
        for s in (1, 2, 3, 4, 5):
            w = share[s]
            if w <= 0:
                continue
            body.append(f'<rect x="{_f(x(pos))}" y="{_f(y + 4)}" '
                        f'width="{_f(x(pos + w) - x(pos))}" height="{row - 10}" '
                        f'fill="{DIVERGING[s]}" stroke="#ffffff" stroke-width="1"/>')
            if w >= 0.07:
                body.append(_text(x(pos + w / 2), y + row / 2 + 4, f"{100 * w:.0f}%",
                                  "middle", 10, DIVERGING_TEXT[s]))
            pos += w
    body.append(_text(x(-0.5), height - 20, "◀ rated low (1–2)", "middle", 11, MUTED))
    body.append(_text(x(0.5), height - 20, "rated high (4–5) ▶", "middle", 11, MUTED))
    return _svg(width, height, title, desc, body) + _not_drawn_note(skipped, why)


def _drawable(r: Distribution) -> bool:
    if r.groups is not None:
        return set(r.groups) == set(GROUPS_DRAWN)
    return all(r.counts.get(s) is not None for s in (1, 2, 3, 4, 5))


GROUPS_DRAWN = ((1, 2), (3,), (4, 5))


def _grouped_bar(groups: dict[tuple[int, ...], int], x, y: float, row: float) -> list[str]:
    """One diverging bar from the counts of 1–2, 3 and 4–5; coarser groups cannot be
    placed around the midpoint, and say so."""
    total = sum(groups.values())
    share = {g: groups[g] / total for g in GROUPS_DRAWN} if total else {}
    if not share:
        return []
    colour = {(1, 2): 2, (3,): 3, (4, 5): 4}
    body, pos = [], -(share[(1, 2)] + share[(3,)] / 2)
    for g in GROUPS_DRAWN:
        w = share[g]
        if w > 0:
            body.append(f'<rect x="{_f(x(pos))}" y="{_f(y + 4)}" '
                        f'width="{_f(x(pos + w) - x(pos))}" height="{row - 10}" '
                        f'fill="{DIVERGING[colour[g]]}" stroke="#ffffff" stroke-width="1"/>')
            if w >= 0.07:
                body.append(_text(x(pos + w / 2), y + row / 2 + 4, f"{100 * w:.0f}%",
                                  "middle", 10, DIVERGING_TEXT[colour[g]]))
        pos += w
    return body


@dataclass(frozen=True)
class Pair:
    label: str
    before: Interval
    after: Interval


def dumbbell(rows: Sequence[Pair], title: str, desc: str, before_label: str,
             after_label: str, lo: float = 0.0, hi: float = 1.0,
             percent: bool = True) -> Markup:
    """Two rounds side by side: a hollow circle for the earlier round, a filled square
    for the later one, each with its interval, joined by a line."""
    rows = [r for r in rows if r.before.value is not None or r.after.value is not None]
    if not rows:
        return _empty(title, desc)
    left, right, top, row, width = 56, 24, 40, 28, 640
    height = top + row * len(rows) + 40
    x = _scale(lo, hi, left, width - right)
    body = [
        f'<circle cx="{left + 6}" cy="14" r="5" fill="#ffffff" stroke="{MUTED}" '
        f'stroke-width="2"/>', _text(left + 16, 18, before_label, "start", 11),
        f'<rect x="{left + 206}" y="9" width="10" height="10" fill="{PRIMARY}"/>',
        _text(left + 222, 18, after_label, "start", 11),
    ]
    for t in _ticks(lo, hi):
        body.append(_line(x(t), top - 6, x(t), height - 34))
        body.append(_text(x(t), height - 18, _tick_label(t, percent), "middle", 11, MUTED))
    for n, r in enumerate(rows):
        y = top + n * row + row / 2
        body.append(_text(left - 8, y + 4, r.label, "end", 12, TEXT, "bold"))
        b, a = r.before, r.after
        if b.value is not None and a.value is not None:
            body.append(_line(x(b.value), y, x(a.value), y, MUTED, 3))
        for est, dy, colour in ((b, -5, MUTED), (a, 5, PRIMARY)):
            if est.value is None or est.lo is None or est.hi is None:
                continue
            body.append(_line(x(est.lo), y + dy, x(est.hi), y + dy, colour, 1.2))
        if b.value is not None:
            body.append(f'<circle cx="{_f(x(b.value))}" cy="{_f(y)}" r="5" fill="#ffffff" '
                        f'stroke="{MUTED}" stroke-width="2"/>')
        if a.value is not None:
            body.append(f'<rect x="{_f(x(a.value) - 5)}" y="{_f(y - 5)}" width="10" '
                        f'height="10" fill="{PRIMARY}"/>')
    return _svg(width, height, title, desc, body)


@dataclass(frozen=True)
class Bar:
    """One labelled percentage; value None means the figure was suppressed."""

    label: str
    value: float | None
    text: str


def bars(rows: Sequence[Bar], title: str, desc: str, suppressed_text: str) -> Markup:
    """Horizontal percentage bars (0..100), one per row, value text at the bar's end.

    A suppressed row draws no bar and reads `suppressed_text` ("fewer than 10"); when
    every row is suppressed there is no chart, only a sentence."""
    if not rows:
        return _empty(title, desc)
    if all(r.value is None for r in rows):
        return _empty(title, desc, "No bar can be drawn: every figure here is hidden to "
                      "protect small groups. The table below gives what can be shown.")
    label_w, bar_w, row_h, pad = 230, 300, 28, 8
    height = pad * 2 + row_h * len(rows)
    width = label_w + bar_w + 110
    body = [_line(label_w, pad, label_w, height - pad)]
    for i, r in enumerate(rows):
        y = pad + i * row_h
        short = r.label if len(r.label) <= 34 else r.label[:33] + "…"
        body.append(_text(label_w - 6, y + 18, short, "end", 13))
        if r.value is None:
            body.append(_text(label_w + 6, y + 18, suppressed_text, size=13, fill=MUTED))
            continue
        w = max(0.0, min(100.0, r.value)) / 100 * bar_w
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{_f(w)}" height="{row_h - 10}" '
                    f'fill="{PRIMARY}"/>')
        body.append(_text(label_w + w + 6, y + 18, r.text, size=13))
    return _svg(width, height, title, desc, body)
