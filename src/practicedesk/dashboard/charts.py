"""Charts as hand-written SVG: presentation attributes only (no <style>, no style=, no
script), so they pass the strict Content-Security-Policy, work offline and print."""

import datetime
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from practicedesk.dashboard.selectors import format_value

INK = "#1b2430"
MUTED = "#6b7585"
GRID = "#d9dee5"
LINE = "#0b5d7a"
TARGET = "#17653a"
WARNING = "#8a5300"
BAR = "#0b5d7a"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
MAX_BARS = 20


def svg(width: int, height: int, title: str, body: list[str], description: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family={quoteattr(FONT)} '
        f'font-size="11" fill="{INK}">'
        f"<title>{escape(title)}</title>"
        + (f"<desc>{escape(description)}</desc>" if description else "")
        + f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(body)
        + "</svg>"
    )


def text(x: float, y: float, value: str, **attributes) -> str:
    extra = "".join(
        f" {name.replace('_', '-')}={quoteattr(str(v))}" for name, v in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(value)}</text>'


def trend_chart(
    title: str,
    points: list[tuple[datetime.date, Decimal | None]],
    unit: str,
    *,
    target: Decimal | None = None,
    warning: Decimal | None = None,
    width: int = 320,
    height: int = 130,
) -> str:
    """A line over the months, with the target (and warning threshold) as dashed lines; a
    month with no data leaves a gap."""
    left, right, top, bottom = 44, 10, 12, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [value for _, value in points if value is not None]
    description = "; ".join(
        f"{month:%b %Y}: {format_value(value, unit)}" for month, value in points
    )
    if not values:
        body = [
            text(
                width / 2, height / 2, "No data for these months", text_anchor="middle", fill=MUTED
            )
        ]
        return svg(width, height, title, body, description)
    reference = [value for value in (target, warning) if value is not None]
    low = min([*values, *reference, Decimal(0)])
    high = max([*values, *reference])
    if high == low:
        high = low + 1
    span = high - low

    def x_of(index: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * index / (len(points) - 1)

    def y_of(value: Decimal) -> float:
        return top + plot_h * float((high - value) / span)

    body = [
        hline(left, left + plot_w, top + plot_h, GRID),
        hline(left, left + plot_w, top, GRID),
        text(left - 4, top + 4, short(high, unit), text_anchor="end", fill=MUTED),
        text(left - 4, top + plot_h + 4, short(low, unit), text_anchor="end", fill=MUTED),
    ]
    for value, colour, label in ((warning, WARNING, "warning"), (target, TARGET, "target")):
        if value is not None:
            y = y_of(value)
            body.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                f'stroke="{colour}" stroke-width="1" stroke-dasharray="4 3">'
                f"<title>{label} {escape(format_value(value, unit))}</title></line>"
            )
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x_of(index):.1f},{y_of(value):.1f}")
    if segment:
        segments.append(segment)
    for part in segments:
        body.append(
            f'<polyline points="{" ".join(part)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
        )
    for index, (month, value) in enumerate(points):
        x = x_of(index)
        if value is not None:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y_of(value):.1f}" r="2.5" fill="{LINE}">'
                f"<title>{month:%b %Y}: {escape(format_value(value, unit))}</title></circle>"
            )
        if index % 2 == (len(points) - 1) % 2:
            body.append(text(x, height - 6, f"{month:%b}", text_anchor="middle", fill=MUTED))
    return svg(width, height, title, body, description)


def hline(x1: float, x2: float, y: float, colour: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" stroke="{colour}"/>'


def short(value: Decimal, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "$":
        return f"${value:,.0f}"
    return f"{value:,.0f}"


def bar_chart(
    title: str,
    rows: list[tuple[str, Decimal | None]],
    unit: str,
    *,
    width: int = 520,
) -> str:
    """Horizontal bars, one per provider, payer or bucket, with their values written out."""
    rows = [(label, value) for label, value in rows][:MAX_BARS]
    row_h, top, label_w, value_w = 26, 8, 160, 110
    height = top * 2 + row_h * max(len(rows), 1)
    description = "; ".join(f"{label}: {format_value(value, unit)}" for label, value in rows)
    if not rows:
        body = [
            text(
                width / 2,
                height / 2 + 4,
                "No data for this period",
                text_anchor="middle",
                fill=MUTED,
            )
        ]
        return svg(width, height, title, body, description)
    numbers = [value for _, value in rows if value is not None]
    high = max([*numbers, Decimal(0)]) or Decimal(1)
    low = min([*numbers, Decimal(0)])
    span = (high - low) or Decimal(1)
    plot_w = width - label_w - value_w
    zero_x = label_w + plot_w * float(-low / span)
    body = []
    for index, (label, value) in enumerate(rows):
        y = top + index * row_h
        body.append(text(label_w - 6, y + 15, clip(label, 26), text_anchor="end"))
        if value is None:
            body.append(text(label_w + 4, y + 15, "no data", fill=MUTED))
            continue
        bar_w = plot_w * float(abs(value) / span)
        x = zero_x if value >= 0 else zero_x - bar_w
        body.append(
            f'<rect x="{x:.1f}" y="{y + 4}" width="{max(bar_w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{BAR}"><title>{escape(label)}: {escape(format_value(value, unit))}</title>'
            "</rect>"
        )
        body.append(text(label_w + plot_w + 6, y + 15, format_value(value, unit)))
    body.append(
        f'<line x1="{zero_x:.1f}" y1="{top}" x2="{zero_x:.1f}" y2="{height - top}" '
        f'stroke="{GRID}"/>'
    )
    return svg(width, height, title, body, description)


def clip(label: str, length: int) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"
