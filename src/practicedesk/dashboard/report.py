"""The monthly KPI report as CSV rows and as a one-page PDF (ReportLab, pure Python)."""

from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CSV_HEADER = [
    "key",
    "name",
    "period_start",
    "period_end",
    "location",
    "value",
    "unit",
    "previous_value",
    "change",
    "target",
    "warning",
    "status",
    "definition",
    "target_source",
]
STATUS_COLOURS = {
    "on_target": colors.HexColor("#e4f4ea"),
    "warning": colors.HexColor("#fff4dc"),
    "off_target": colors.HexColor("#fde8e9"),
}


# The PDF's standard fonts (WinAnsi) lack these signs.
PDF_SUBSTITUTES = {"≥": ">=", "≤": "<=", "−": "-"}


def pdf_text(value: str) -> str:
    for sign, substitute in PDF_SUBSTITUTES.items():
        value = value.replace(sign, substitute)
    return value


def plain(value) -> str:
    return "" if value is None else str(value)


def csv_row(tile, period, location) -> list[str]:
    target = tile.target
    return [
        tile.kpi.key,
        tile.kpi.name,
        period.start.isoformat(),
        period.end.isoformat(),
        location.name if location else "All locations",
        plain(tile.value),
        tile.kpi.unit,
        plain(tile.previous),
        plain(tile.change),
        plain(target.target) if tile.kpi.good_direction != "none" else "",
        plain(target.warning) if tile.kpi.good_direction != "none" else "",
        tile.status_label,
        tile.kpi.definition,
        target.source,
    ]


def pdf(data: dict) -> bytes:
    """One landscape letter page: the figures of the period with target, status and change,
    and the count of open attention items."""
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(letter),
        leftMargin=0.5 * inch,
        rightMargin=0.5 * inch,
        topMargin=0.5 * inch,
        bottomMargin=0.5 * inch,
        title=f"KPI report {data['period'].label}",
        author="Practice Desk",
    )
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    cell = styles["BodyText"].clone("cell", fontSize=7.5, leading=9)
    organization = data.get("organization")
    where = data["location"].name if data["location"] else "All locations"
    story = [
        Paragraph(
            f"KPI report · {escape(organization.name) if organization else 'Practice Desk'}",
            styles["Title"],
        ),
        Paragraph(
            f"{data['period'].label} ({data['period_kind'].lower()}), {escape(where)}; "
            f"compared with {data['previous'].label}. "
            f"Generated {data['generated_at']:%Y-%m-%d %H:%M}.",
            small,
        ),
        Spacer(1, 6),
    ]
    header = ["KPI", "Value", "Target", "Warning", "Status", "Previous", "Change"]
    rows = [header]
    styles_table = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#edf0f4")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9dee5")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for index, tile in enumerate(data["tiles"], start=1):
        rows.append(
            [
                Paragraph(escape(tile.kpi.name), cell),
                *(
                    pdf_text(text)
                    for text in (
                        tile.value_display,
                        tile.target_display,
                        tile.warning_display,
                        tile.status_label,
                        tile.previous_display,
                        f"{tile.change_display} {tile.change_word}"
                        if tile.change is not None
                        else "—",
                    )
                ),
            ]
        )
        colour = STATUS_COLOURS.get(tile.status)
        if colour is not None:
            styles_table.append(("BACKGROUND", (4, index), (4, index), colour))
    table = Table(
        rows,
        colWidths=[
            2.6 * inch,
            1.5 * inch,
            1.1 * inch,
            1.0 * inch,
            1.4 * inch,
            1.4 * inch,
            1.0 * inch,
        ],
        repeatRows=1,
    )
    table.setStyle(TableStyle(styles_table))
    story.append(table)
    attention = data.get("attention")
    if attention is not None:
        counts = {"critical": 0, "warning": 0, "info": 0}
        for row in attention:
            counts[row.item.severity] = counts.get(row.item.severity, 0) + 1
        story += [
            Spacer(1, 6),
            Paragraph(
                f"Needs attention: {len(attention)} open items ({counts['critical']} critical, "
                f"{counts['warning']} warning, {counts['info']} for information).",
                small,
            ),
        ]
    story.append(
        Paragraph(
            "Status compares each value with the manager's target, or the published default "
            "shown on the KPI targets page. A figure with no data for the period shows "
            "“No data for this period”.",
            small,
        )
    )
    document.build(story)
    return buffer.getvalue()
