"""Charts as inline SVG made on the server: no chart library, no CDN, nothing to fetch (agency
networks have no internet). Every label is escaped: vendor names and categories are crawled text."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

PALETTE = ("#3b6ea8", "#d9822b", "#4f9a64", "#b0413e", "#7a5ea8", "#3a9aa0", "#a8893b", "#8a8a8a")


def bars(items: list[tuple[str, int]], title: str, width: int = 460, href: str | None = None) -> str:
    """Horizontal bars, largest first. ``href`` (with {value}, URL-quoted) makes each bar a link."""
    if not items:
        return f'<p class="empty">{escape(title)}: nothing yet</p>'
    row, label_w = 22, 150
    top = max(count for _, count in items) or 1
    height = row * len(items) + 30
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f"<title>{escape(title)}</title>",
             f'<text x="0" y="14" class="chart-title">{escape(title)}</text>']
    for i, (label, count) in enumerate(items):
        y = 26 + i * row
        length = max(2, (width - label_w - 50) * count / top)
        bar = (f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label[:22])}</text>'
               f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{PALETTE[0]}">'
               f"<title>{escape(label)}: {count}</title></rect>"
               f'<text x="{label_w + length + 4:.1f}" y="{y + 14}">{count}</text>')
        if href:
            bar = f'<a href="{escape(href.format(value=quote(label, safe="")), quote=True)}">{bar}</a>'
        parts.append(bar)
    parts.append("</svg>")
    return "".join(parts)


def stacked_columns(periods: list[str], series: dict[str, list[int]], title: str, width: int = 720) -> str:
    """Columns per period, stacked by series (categories over time), with a legend."""
    if not periods or not series:
        return f'<p class="empty">{escape(title)}: nothing yet</p>'
    height, left, bottom, legend_w = 240, 36, 40, 210
    plot_w, plot_h = width - left - legend_w, height - bottom - 24
    totals = [sum(values[i] for values in series.values()) for i in range(len(periods))]
    top = max(totals) or 1
    step = plot_w / len(periods)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f"<title>{escape(title)}</title>", f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
             f'<text x="{left - 4}" y="{24 + 10}" text-anchor="end">{top}</text>',
             f'<line x1="{left}" y1="{24 + plot_h}" x2="{left + plot_w}" y2="{24 + plot_h}" class="axis"/>']
    for i, period in enumerate(periods):
        base = float(24 + plot_h)
        for s, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / top
            if h:
                parts.append(f'<rect x="{left + i * step + 2:.1f}" y="{base - h:.1f}" width="{step - 4:.1f}" '
                             f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                             f"<title>{escape(name)}, {escape(period)}: {values[i]}</title></rect>")
                base -= h
        parts.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                     f"{escape(period[2:])}</text>")
    for s, name in enumerate(series):
        y = 30 + s * 18
        parts.append(f'<rect x="{width - legend_w + 8}" y="{y}" width="12" height="12" '
                     f'fill="{PALETTE[s % len(PALETTE)]}"/><text x="{width - legend_w + 26}" y="{y + 10}">'
                     f"{escape(name[:30])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def price_line(points: list[tuple[datetime, float]], currency: str, width: int = 520) -> str:
    """The listing's price over time (a step line: a price holds until it changes)."""
    if not points:
        return '<p class="empty">no price recorded</p>'
    height, left, pad = 180, 64, 24
    if len(points) == 1:
        points = points * 2
    times = [p[0].timestamp() for p in points]
    prices = [p[1] for p in points]
    t0, t1 = min(times), max(times) or 1
    low, high = min(prices), max(prices)
    if high == low:
        low, high = low * 0.9, high * 1.1 or 1
    span_t = (t1 - t0) or 1

    def xy(t: float, price: float) -> tuple[float, float]:
        return (left + (width - left - pad) * (t - t0) / span_t,
                pad + (height - 2 * pad) * (1 - (price - low) / (high - low)))

    path: list[str] = []
    previous: float | None = None
    for t, price in zip(times, prices):
        x, y = xy(t, price)
        if previous is not None:
            path.append(f"L{x:.1f},{previous:.1f}")
        path.append(f"{'M' if not path else 'L'}{x:.1f},{y:.1f}")
        previous = y
    cur = escape(currency)
    dots = "".join(f'<circle cx="{xy(t, p)[0]:.1f}" cy="{xy(t, p)[1]:.1f}" r="3"><title>'
                   f"{datetime.fromtimestamp(t).date()}: {p:,.2f} {cur}</title></circle>" for t, p in zip(times, prices))
    return (f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f"<title>price history</title>"
            f'<text x="{left - 6}" y="{pad + 4}" text-anchor="end">{high:,.0f}</text>'
            f'<text x="{left - 6}" y="{height - pad}" text-anchor="end">{low:,.0f}</text>'
            f'<text x="{left}" y="{height - 4}">{datetime.fromtimestamp(t0).date()}</text>'
            f'<text x="{width - pad}" y="{height - 4}" text-anchor="end">{datetime.fromtimestamp(t1).date()}</text>'
            f'<path d="{" ".join(path)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>{dots}</svg>')


def lines(periods: list[str], series: list[tuple[str, list[float | None]]], title: str, unit: str = "",
          width: int = 760) -> str:
    """One line per series over the periods (months or weeks on the axis, a gap where a series
    has no value), a y axis with its unit, and a legend."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not periods or not values:
        return f'<p class="empty">{escape(title)}: nothing in these periods</p>'
    height, left, bottom, top_pad, legend_w = 290, 64, 44, 38, 200
    plot_w, plot_h = width - left - legend_w, height - bottom - top_pad
    high = max(values) * 1.05 or 1
    step = plot_w / max(len(periods) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top_pad + plot_h * (1 - v / high)

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f"<title>{escape(title)}</title>", f'<text x="0" y="14" class="chart-title">{escape(title)}</text>']
    for fraction in (0, 0.5, 1):
        y = top_pad + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{high * fraction:,.0f}</text>')
    if unit:
        parts.append(f'<text x="{left - 6}" y="{top_pad - 10}" text-anchor="end" class="axis-unit">{escape(unit)}</text>')
    every = -(-len(periods) // 7)  # at most seven period labels: they must not overlap
    for i, period in enumerate(periods):
        if i % every == 0 or i == len(periods) - 1:
            parts.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                         f"{escape(period)}</text>")
    for s, (name, vs) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        path, pen = [], "M"
        for i, v in enumerate(vs):
            if v is None:
                pen = "M"
                continue
            x, y = xy(i, v)
            path.append(f"{pen}{x:.1f},{y:.1f}")
            pen = "L"
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)}, '
                         f"{escape(periods[i])}: {v:,.2f}{(' ' + escape(unit)) if unit else ''}</title></circle>")
        if path:
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        y = top_pad + s * 18
        parts.append(f'<rect x="{width - legend_w + 8}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{width - legend_w + 26}" y="{y + 10}">{escape(name[:30])}</text>')
    parts.append("</svg>")
    return "".join(parts)
