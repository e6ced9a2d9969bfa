"""The PDFs billing sends to patients: statements (one per guarantor, or a printable batch of
them) and collection letters. ReportLab only: pure Python, no system libraries.

Every function takes plain figures (selectors compute them) and returns the PDF's bytes.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

GRID = colors.HexColor("#d9dee5")
HEAD = colors.HexColor("#edf0f4")
# The standard PDF fonts (WinAnsi) lack these signs.
SUBSTITUTES = {"≥": ">=", "≤": "<=", "−": "-", "→": "->", "“": '"', "”": '"', "’": "'"}


def pdf_text(value) -> str:
    text = "" if value is None else str(value)
    for sign, substitute in SUBSTITUTES.items():
        text = text.replace(sign, substitute)
    return text


def para(value, style) -> Paragraph:
    return Paragraph(escape(pdf_text(value)).replace("\n", "<br/>"), style)


@dataclass(frozen=True)
class Practice:
    name: str
    address_lines: list[str]
    phone: str
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class Addressee:
    name: str
    address_lines: list[str]
    account_number: str


@dataclass(frozen=True)
class StatementLine:
    day: datetime.date
    patient: str
    description: str
    amount: Decimal


@dataclass
class StatementData:
    practice: Practice
    addressee: Addressee
    statement_number: str
    statement_date: datetime.date
    period_start: datetime.date
    due_date: datetime.date
    previous_balance: Decimal
    new_charges: Decimal
    payments_and_credits: Decimal
    amount_due: Decimal
    insurance_pending: Decimal
    aging: list[tuple[str, Decimal]]
    lines: list[StatementLine]
    how_to_pay: str
    notes: list[str] = field(default_factory=list)


@dataclass
class LetterData:
    practice: Practice
    addressee: Addressee
    letter_date: datetime.date
    title: str
    paragraphs: list[str]
    balance: Decimal
    how_to_pay: str


def styles():
    sheet = getSampleStyleSheet()
    return {
        "title": sheet["Title"].clone("pd_title", fontSize=16, leading=19, alignment=0),
        "heading": sheet["Heading3"].clone("pd_heading", spaceBefore=8, spaceAfter=3),
        "body": sheet["BodyText"].clone("pd_body", fontSize=9.5, leading=12.5),
        "small": sheet["BodyText"].clone("pd_small", fontSize=8, leading=10),
        "practice": sheet["BodyText"].clone("pd_practice", fontSize=13, leading=16),
    }


def table(rows, widths, *, header=True, align_right_from=None, bold_last=False) -> Table:
    commands = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("GRID", (0, 0), (-1, -1), 0.25, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands += [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ]
    if align_right_from is not None:
        commands.append(("ALIGN", (align_right_from, 0), (-1, -1), "RIGHT"))
    if bold_last:
        commands.append(("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 9))
    result = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    result.setStyle(TableStyle(commands))
    return result


def letterhead(practice: Practice, addressee: Addressee, facts: list[tuple[str, str]], st):
    """The practice on the left, the document's key facts on the right, then the addressee."""
    left = [para(practice.name, st["practice"])]
    left += [para(line, st["small"]) for line in practice.address_lines]
    contact = " · ".join(
        part for part in (practice.phone, practice.email, practice.website) if part
    )
    if contact:
        left.append(para(contact, st["small"]))
    right = table(
        [[pdf_text(label), pdf_text(value)] for label, value in facts],
        [1.3 * inch, 1.5 * inch],
        header=False,
    )
    head = Table([[left, right]], colWidths=[4.2 * inch, 2.9 * inch])
    head.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )
    to = [para(addressee.name, st["body"])] + [
        para(line, st["body"]) for line in addressee.address_lines
    ]
    return [head, Spacer(1, 14), *to, Spacer(1, 12)]


def statement_story(data: StatementData, st) -> list:
    story = letterhead(
        data.practice,
        data.addressee,
        [
            ("Statement", data.statement_number),
            ("Statement date", f"{data.statement_date:%Y-%m-%d}"),
            ("Account", data.addressee.account_number),
            ("Amount due", f"{data.amount_due}"),
            ("Please pay by", f"{data.due_date:%Y-%m-%d}"),
        ],
        st,
    )
    story.append(para("Statement of account", st["title"]))
    story.append(
        table(
            [
                ["Previous balance", "New charges", "Payments and credits", "Amount due"],
                [
                    f"{data.previous_balance}",
                    f"{data.new_charges}",
                    f"{data.payments_and_credits}",
                    f"{data.amount_due}",
                ],
            ],
            [1.775 * inch] * 4,
            align_right_from=0,
        )
    )
    story.append(
        para(
            f"Activity from {data.period_start:%Y-%m-%d} to {data.statement_date:%Y-%m-%d}",
            st["heading"],
        )
    )
    if data.lines:
        rows = [["Date", "Patient", "Description", "Amount"]]
        rows += [
            [
                f"{line.day:%Y-%m-%d}",
                para(line.patient, st["small"]),
                para(line.description, st["small"]),
                f"{line.amount}",
            ]
            for line in data.lines
        ]
        story.append(
            table(rows, [0.9 * inch, 1.7 * inch, 3.5 * inch, 1.0 * inch], align_right_from=3)
        )
    else:
        story.append(para("No new charges or payments since your last statement.", st["body"]))
    story.append(para("How long the balance has been owed", st["heading"]))
    story.append(
        table(
            [[label for label, _ in data.aging], [f"{amount}" for _, amount in data.aging]],
            [1.42 * inch] * len(data.aging),
            align_right_from=0,
        )
    )
    if data.insurance_pending > 0:
        story.append(Spacer(1, 4))
        story.append(
            para(
                f"Insurance has not yet paid {data.insurance_pending}; it is not part of the "
                "amount due.",
                st["small"],
            )
        )
    for note in data.notes:
        story.append(para(note, st["small"]))
    story.append(
        KeepTogether(
            [
                para("How to pay", st["heading"]),
                para(data.how_to_pay, st["body"]),
                Spacer(1, 4),
                para(
                    f"Please write account {data.addressee.account_number} on your check. "
                    f"Questions about this statement: call {data.practice.phone}.",
                    st["small"],
                ),
            ]
        )
    )
    return story


def build(story: list, *, title: str) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=0.7 * inch,
        rightMargin=0.7 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=pdf_text(title),
        author="Practice Desk",
    )
    document.build(story)
    return buffer.getvalue()


def statement_pdf(data: StatementData) -> bytes:
    return build(statement_story(data, styles()), title=f"Statement {data.statement_number}")


def statements_batch_pdf(statements: list[StatementData], *, title: str) -> bytes:
    """Every statement to print and mail, each starting on a new page."""
    st = styles()
    story: list = []
    for index, data in enumerate(statements):
        if index:
            story.append(PageBreak())
        story += statement_story(data, st)
    return build(story, title=title)


def letter_pdf(data: LetterData) -> bytes:
    st = styles()
    story = letterhead(
        data.practice,
        data.addressee,
        [
            ("Date", f"{data.letter_date:%Y-%m-%d}"),
            ("Account", data.addressee.account_number),
            ("Balance", f"{data.balance}"),
        ],
        st,
    )
    story.append(para(data.title, st["title"]))
    for text in data.paragraphs:
        story.append(para(text, st["body"]))
        story.append(Spacer(1, 6))
    story.append(para("How to pay", st["heading"]))
    story.append(para(data.how_to_pay, st["body"]))
    story.append(Spacer(1, 14))
    story.append(para(f"Billing office, {data.practice.name} · {data.practice.phone}", st["body"]))
    return build(story, title=data.title)
