"""Inline SVG charts for the linkage quality report (linkage/report.py).

Hand-written and dependency-free so the report is one file that opens offline: no fonts,
scripts or stylesheets to fetch (text inherits the page's system font). Every chart is one
`<svg role="img">` with a `<title>` and `<desc>`, so a screen reader announces it as one
image; the report puts the same numbers in a table beside each chart. Bars carry a `<title>`
too, which browsers show as a tooltip. Colours are from one palette (`PALETTE`) chosen for
contrast on white and to stay apart for red-green colour blindness (blue against red/orange);
meaning never rests on colour alone (signs, labels and markers say it too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = {
    "ink": "#1b1f24",
    "muted": "#57606a",
    "grid": "#d8dee4",
    "axis": "#8c959f",
    "m": "#1f5fa8",  # m-probability (matches): blue
    "u": "#b35900",  # u-probability (non-matches): dark orange
    "positive": "#2166ac",
    "negative": "#b2182b",
    "below": "#9aa4b1",  # histogram: pairs below the threshold
    "problem": "#b3261e",
    "check": "#8a5a00",
    "pass": "#1a7f37",
    "band": "#fde2b8",
    "linked": "#1f5fa8",
    "unlinked": "#9aa4b1",
    "quarantined": "#b35900",
}
FONT = 12  # px; labels are estimated at CHAR px per character
CHAR = 7.4  # DejaVu Sans, the widest common fallback, at 12 px
ROW = 22


def label_width(labels: Sequence[str], minimum: float = 40) -> float:
    return max([minimum, *(len(s) * CHAR + 10 for s in labels)])


def fmt_prob(x: float) -> str:
    """Probabilities as a data engineer reads them: 0.921, 0.00385, 1.0e-6."""
    if x == 0:
        return "0"
    if abs(x) >= 0.001:
        return f"{x:.3g}"
    mantissa, exp = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exp)}"


def fmt_count(x: float) -> str:
    return f"{x:,.0f}"


def fmt_share(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}%"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] with about n intervals."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(k * mag for k in (1, 2, 2.5, 5, 10) if k * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


@dataclass
class Scale:
    """Linear map from a data domain onto pixels."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return self.r0
        v = min(max(v, self.d0), self.d1)
        return self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


@dataclass
class Svg:
    """One chart: collects elements and renders them inside an accessible <svg>."""

    id: str
    width: float
    height: float
    title: str
    desc: str
    parts: list[str] = field(default_factory=list)

    def text(
        self,
        x: float,
        y: float,
        s: str,
        anchor: str = "start",
        fill: str = PALETTE["ink"],
        size: float = FONT,
        bold: bool = False,
    ) -> None:
        weight = ' font-weight="600"' if bold else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
            f'font-size="{size}"{weight}>{escape(s)}</text>'
        )

    def rect(
        self, x: float, y: float, w: float, h: float, fill: str, tip: str = "", stroke: str = ""
    ) -> None:
        w, h = max(w, 0.0), max(h, 0.0)
        line = f' stroke="{stroke}" stroke-width="1.5"' if stroke else ""
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{line}>'
            f"{inner}</rect>"
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        stroke: str = PALETTE["axis"],
        width: float = 1,
        dash: str = "",
    ) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}" stroke-width="{width}"{d}/>'
        )

    def circle(self, x: float, y: float, r: float, fill: str, stroke: str, tip: str = "") -> None:
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="2">{inner}</circle>'
        )

    def x_axis(
        self,
        scale: Scale,
        y: float,
        ticks: Sequence[float],
        fmt: Callable[[float], str],
        top: float | None = None,
    ) -> None:
        """Tick labels below `y`; grid lines up to `top` when given."""
        self.line(scale.r0, y, scale.r1, y)
        for t in ticks:
            x = scale(t)
            if top is not None:
                self.line(x, top, x, y, stroke=PALETTE["grid"])
            self.line(x, y, x, y + 4)
            self.text(x, y + 16, fmt(t), anchor="middle", fill=PALETTE["muted"], size=11)

    def render(self) -> str:
        t, d = f"{self.id}-title", f"{self.id}-desc"
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" id="{self.id}" role="img" '
            f'aria-labelledby="{t} {d}" viewBox="0 0 {self.width:.0f} {self.height:.0f}" '
            f'width="{self.width:.0f}" height="{self.height:.0f}" class="chart">'
            f'<title id="{t}">{escape(self.title)}</title><desc id="{d}">{escape(self.desc)}</desc>'
            + "".join(self.parts)
            + "</svg>"
        )


def level_chart(
    id: str,
    title: str,
    levels: Sequence[str],
    m: Sequence[float],
    u: Sequence[float],
    weights: Sequence[float],
    weight_limit: float,
    flagged: set[int],
    label_w: float = 0.0,
) -> str:
    """Per comparison level, three panels on one row: m (bars 0-1), u (bars 0-1) and the
    match weight log2(m/u) diverging from 0, on a +-weight_limit axis shared by every
    comparison of the report (Splink's match weights chart, per comparison). Flagged levels
    get a marker and red label. `label_w` aligns the panels of several charts."""
    labels = [("! " if i in flagged else "") + lv for i, lv in enumerate(levels)]
    lw = max(label_w, label_width(labels, 120))
    panel_mu, gap, panel_w = 190.0, 46.0, 330.0
    top, bottom = 34.0, 34.0
    width = lw + 2 * (panel_mu + gap) + panel_w + 50
    height = top + ROW * len(levels) + bottom
    svg = Svg(
        id,
        width,
        height,
        title,
        f"Bars per comparison level of m (share of matching pairs at the level), u (share of "
        f"non-matching pairs) and the match weight log2(m/u); {len(flagged)} level(s) flagged.",
    )
    x_m = lw
    x_u = x_m + panel_mu + gap
    x_w = x_u + panel_mu + gap
    sm = Scale(0, 1, x_m, x_m + panel_mu)
    su = Scale(0, 1, x_u, x_u + panel_mu)
    sw = Scale(-weight_limit, weight_limit, x_w, x_w + panel_w)
    y_axis = top + ROW * len(levels)
    svg.text(x_m, 16, "m: P(level | match)", fill=PALETTE["m"], bold=True)
    svg.text(x_u, 16, "u: P(level | non-match)", fill=PALETTE["u"], bold=True)
    svg.text(x_w, 16, "match weight log2(m/u)", bold=True)
    svg.text(
        x_w + panel_w, 16, "− against, + for a match", anchor="end", fill=PALETTE["muted"], size=11
    )
    svg.x_axis(sm, y_axis, [0, 0.5, 1], lambda t: f"{t:g}", top=top - 6)
    svg.x_axis(su, y_axis, [0, 0.5, 1], lambda t: f"{t:g}", top=top - 6)
    wt = nice_ticks(-weight_limit, weight_limit, 6)
    svg.x_axis(sw, y_axis, wt, lambda t: f"{t:+g}" if t else "0", top=top - 6)
    for i, lv in enumerate(levels):
        y = top + ROW * i
        mid = y + ROW / 2
        bad = i in flagged
        svg.text(
            lw - 8,
            mid + 4,
            labels[i],
            anchor="end",
            fill=PALETTE["problem"] if bad else PALETTE["ink"],
            bold=bad,
        )
        for scale, v, colour, name in (
            (sm, m[i], PALETTE["m"], "m"),
            (su, u[i], PALETTE["u"], "u"),
        ):
            svg.rect(
                scale.r0, y + 4, scale(v) - scale.r0, ROW - 8, colour, f"{lv}: {name} = {v:.6g}"
            )
            svg.text(
                max(scale(v), scale.r0 + 1) + 4,
                mid + 4,
                fmt_prob(v),
                fill=PALETTE["muted"],
                size=11,
            )
        w = weights[i]
        x0, x1 = sw(0), sw(w)
        colour = PALETTE["positive"] if w >= 0 else PALETTE["negative"]
        svg.rect(min(x0, x1), y + 4, abs(x1 - x0), ROW - 8, colour, f"{lv}: weight {w:+.2f}")
        clipped = abs(w) > weight_limit
        label = f"{w:+.2f}" + (" (off scale)" if clipped else "")
        # negative labels go right of the zero line, so they never reach the u panel
        svg.text((x1 if w >= 0 else x0) + 4, mid + 4, label, fill=PALETTE["muted"], size=11)
    svg.line(sw(0), top - 6, sw(0), y_axis, stroke=PALETTE["ink"])
    return svg.render()


def histogram_chart(
    id: str,
    title: str,
    lows: Sequence[float],
    counts: Sequence[int],
    bin_width: float,
    threshold: float,
    threshold_label: str,
    above: int | None = None,
) -> str:
    """The match-weight distribution of candidate pairs, twice on one x axis: counts on a
    linear scale (where the mass is) and on a log scale (the thin valley between non-matches
    and matches, where the threshold should sit). Bars at or above the threshold are blue.
    `above` is the exact count of pairs at or above it (the bins only approximate it)."""
    width, left, right = 940.0, 64.0, 20.0
    panel_h, top, gap = 150.0, 26.0, 44.0
    height = top + 2 * panel_h + gap + 46
    lo = min([*lows, threshold]) - bin_width
    hi = max([*(x + bin_width for x in lows), threshold]) + bin_width
    lo, hi = math.floor(lo), math.ceil(hi)
    sx = Scale(lo, hi, left, width - right)
    total = sum(counts)
    if above is None:
        above = sum(c for x, c in zip(lows, counts, strict=True) if x >= threshold)
    svg = Svg(
        id,
        width,
        height,
        title,
        f"Histogram of {total:,} candidate pairs by match weight (bins of {bin_width:g}); "
        f"{above:,} at or above the threshold weight {threshold:.2f}. Top: linear counts; "
        f"bottom: log-scale counts.",
    )
    peak = max(counts, default=1) or 1
    ticks_x = nice_ticks(lo, hi, 12)
    for p, (kind, y0) in enumerate((("linear", top), ("log", top + panel_h + gap))):
        y1 = y0 + panel_h
        if kind == "linear":
            sy = Scale(0, peak, y1, y0)
            yt = nice_ticks(0, peak, 4)

            def y_of(c: float, sy: Scale = sy) -> float:
                return sy(c)

            label = "pairs (linear)"
        else:
            top_exp = max(1, math.ceil(math.log10(peak)))
            sy = Scale(0, top_exp, y1, y0)
            yt = [float(10**e) for e in range(top_exp + 1)]

            def y_of(c: float, sy: Scale = sy) -> float:
                return sy(math.log10(c)) if c >= 1 else sy.r0

            label = "pairs (log scale)"
        for t in yt:
            y = y_of(t)
            svg.line(left, y, width - right, y, stroke=PALETTE["grid"])
            svg.text(left - 6, y + 4, fmt_count(t), anchor="end", fill=PALETTE["muted"], size=11)
        svg.text(left, y0 - 8, label, fill=PALETTE["muted"], size=11, bold=True)
        for x, c in zip(lows, counts, strict=True):
            if c <= 0:
                continue
            yb = y_of(c)
            fill = PALETTE["positive"] if x >= threshold else PALETTE["below"]
            svg.rect(
                sx(x),
                yb,
                max(sx(x + bin_width) - sx(x) - 0.5, 0.8),
                y1 - yb,
                fill,
                f"weight {x:g} to {x + bin_width:g}: {c:,} pairs",
            )
        svg.x_axis(sx, y1, ticks_x, lambda t: f"{t:g}")
        xt = sx(threshold)
        svg.line(xt, y0 - 2, xt, y1, stroke=PALETTE["ink"], width=1.5, dash="5 3")
        if p == 0:
            svg.text(xt + 6, y0 + 12, threshold_label, bold=True)
            svg.text(xt + 6, y0 + 28, f"{above:,} pairs at or above", fill=PALETTE["positive"])
            svg.text(
                xt - 6, y0 + 28, f"{total - above:,} below", anchor="end", fill=PALETTE["muted"]
            )
    svg.text(
        (left + width - right) / 2,
        height - 6,
        "match weight (log2 of the odds of a match, prior included)",
        anchor="middle",
        fill=PALETTE["muted"],
    )
    return svg.render()


@dataclass
class BarRow:
    label: str
    values: list[float]  # one per series
    target: float | None = None  # a tick the value should reach
    note: str = ""  # text after the bars
    bad: bool = False  # label in red with a marker


def bar_chart(
    id: str,
    title: str,
    rows: Sequence[BarRow],
    series: Sequence[tuple[str, str]],
    fmt: Callable[[float], str],
    domain: tuple[float, float] | None = None,
    axis_label: str = "",
    desc: str = "",
    tick_fmt: Callable[[float], str] | None = None,
) -> str:
    """Horizontal bars, one group per row and one bar per series (name, colour). `domain`
    zooms the axis (a value below it gets a marker at the left edge). Rows with a target get
    a black tick there; their values then stand in a column right of the plot, clear of the
    ticks, and a bad row's bar turns red."""
    labels = [("! " if r.bad else "") + r.label for r in rows]
    lw = label_width(labels, 80)
    targets = any(r.target is not None for r in rows)
    plot_w = 430.0
    value_w = 70.0 if targets else 60.0
    note_w = max([60.0, *(len(r.note) * CHAR + 20 for r in rows)])
    bar_h = 14.0
    group_h = max(ROW, bar_h * len(series) + 8)
    legend = 22.0 if len(series) > 1 or axis_label else 8.0
    top = legend + 8
    width = lw + plot_w + value_w + note_w + 10
    height = top + group_h * len(rows) + (54 if targets else 40)
    allv = [v for r in rows for v in r.values] + [r.target for r in rows if r.target is not None]
    d0, d1 = domain or (0.0, max([*allv, 1e-12]))
    sx = Scale(d0, d1, lw, lw + plot_w)
    svg = Svg(id, width, height, title, desc or title)
    x = lw
    for name, colour in series if len(series) > 1 else []:
        svg.rect(x, 6, 12, 12, colour)
        svg.text(x + 16, 16, name)
        x += 16 + len(name) * CHAR + 18
    if axis_label:
        svg.text(lw + plot_w, 16, axis_label, anchor="end", fill=PALETTE["muted"], size=11)
    y_axis = top + group_h * len(rows)
    svg.x_axis(sx, y_axis, nice_ticks(d0, d1, 5), tick_fmt or fmt, top=top - 4)
    for i, r in enumerate(rows):
        y = top + group_h * i
        colour_label = PALETTE["problem"] if r.bad else PALETTE["ink"]
        svg.text(lw - 8, y + group_h / 2 + 4, labels[i], "end", colour_label, bold=r.bad)
        for j, (name, colour) in enumerate(series):
            v = r.values[j]
            yb = y + 4 + j * bar_h
            end = sx(v)
            fill = PALETTE["problem"] if r.bad and targets else colour
            svg.rect(lw, yb, end - lw, bar_h - 2, fill, f"{r.label}, {name}: {fmt(v)}")
            text = ("◀ " if v < d0 else "") + fmt(v)
            tx = lw + plot_w + 8 if targets else end + 4
            svg.text(tx, yb + bar_h - 4, text, fill=colour_label, size=11, bold=r.bad)
        if r.target is not None:
            xt = sx(r.target)
            svg.line(xt, y + 1, xt, y + group_h - 1, stroke=PALETTE["ink"], width=2.5)
        if r.note:
            svg.text(lw + plot_w + value_w, y + group_h / 2 + 4, r.note, fill=PALETTE["muted"])
    if targets:
        svg.line(lw, height - 10, lw, height - 22, stroke=PALETTE["ink"], width=2.5)
        svg.text(lw + 6, height - 11, "target", fill=PALETTE["muted"], size=11)
    return svg.render()


@dataclass
class Dot:
    label: str
    value: float
    counted: bool = True  # False: drawn hollow (too few pairs to count towards the gap)
    note: str = ""


def dot_chart(
    id: str,
    title: str,
    dots: Sequence[Dot],
    domain: tuple[float, float],
    band_label: str,
    fmt: Callable[[float], str],
    band_ok: bool,
    allowed_gap: float | None = None,
) -> str:
    """One dot per group on a zoomed axis, with the spread between the lowest and highest
    counted group shaded (the gap). With `allowed_gap`, a dashed line marks the lowest value
    the target allows (the highest counted value minus the gap): a dot left of it misses."""
    lw = label_width([d.label for d in dots], 80)
    plot_w, value_w = 430.0, 64.0
    note_w = max([160.0, *(len(d.note) * CHAR + 20 for d in dots)])
    top, bottom = 30.0, 40.0
    width = lw + plot_w + value_w + note_w
    height = top + ROW * len(dots) + bottom
    svg = Svg(id, width, height, title, f"{title}. {band_label}.")
    sx = Scale(domain[0], domain[1], lw, lw + plot_w)
    counted = [d.value for d in dots if d.counted]
    y_axis = top + ROW * len(dots)
    if len(counted) > 1:
        a, b = sx(min(counted)), sx(max(counted))
        svg.rect(a, top - 4, max(b - a, 2), y_axis - top + 4, PALETTE["band"], band_label)
    colour = PALETTE["pass"] if band_ok else PALETTE["problem"]
    svg.text(lw, 16, band_label, fill=colour, bold=True)
    ticks = nice_ticks(domain[0], domain[1], 5)
    svg.x_axis(sx, y_axis, ticks, lambda t: f"{t:g}", top=top - 4)
    if allowed_gap is not None and counted:
        floor = max(counted) - allowed_gap
        xf = sx(floor)
        svg.line(xf, top - 4, xf, y_axis, stroke=PALETTE["problem"], width=1.5, dash="4 3")
        svg.text(xf - 4, y_axis - 4, "target floor", "end", PALETTE["problem"], size=11)
    for i, d in enumerate(dots):
        y = top + ROW * i + ROW / 2
        svg.text(lw - 8, y + 4, d.label, anchor="end")
        svg.line(lw, y, lw + plot_w, y, stroke=PALETTE["grid"], dash="2 3")
        fill = PALETTE["m"] if d.counted else "#ffffff"
        svg.circle(sx(d.value), y, 5, fill, PALETTE["m"], f"{d.label}: {fmt(d.value)}")
        off = "◀ " if d.value < domain[0] else ""
        svg.text(lw + plot_w + 10, y + 4, off + fmt(d.value), fill=PALETTE["ink"], size=11)
        svg.text(lw + plot_w + value_w, y + 4, d.note, fill=PALETTE["muted"], size=11)
    return svg.render()


def stacked_bar(id: str, title: str, parts: Sequence[tuple[str, float, str]]) -> str:
    """One horizontal bar split into parts (label, count, colour), with a legend of counts."""
    width, left, right = 940.0, 10.0, 10.0
    total = sum(v for _, v, _ in parts) or 1
    svg = Svg(
        id,
        width,
        70,
        title,
        "; ".join(f"{lbl}: {v:,.0f} ({fmt_share(v / total)})" for lbl, v, _ in parts),
    )
    sx = Scale(0, total, left, width - right)
    x = left
    for lbl, v, colour in parts:
        w = sx(v) - left
        svg.rect(x, 8, w, 24, colour, f"{lbl}: {v:,.0f}")
        x += w
    lx = left
    for lbl, v, colour in parts:
        text = f"{lbl}: {v:,.0f} ({fmt_share(v / total)})"
        svg.rect(lx, 44, 12, 12, colour)
        svg.text(lx + 16, 54, text)
        lx += 16 + len(text) * CHAR + 24
    return svg.render()
