"""Reads for the remittance pages, the reconciliation and underpayment queues, and the payer
comparison report. Reports aggregate in the database."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from practicedesk.billing.ledger import round_money
from practicedesk.billing.models import (
    ZERO,
    Fee,
    ReconciliationItem,
    Remittance,
    RemittanceLine,
    Underpayment,
)
from practicedesk.core.models import AuditEvent
from practicedesk.core.money import MoneySum

DENIED_CODE = "4"
REVERSAL_CODE = "22"
MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)


def remittances() -> QuerySet[Remittance]:
    return Remittance.objects.select_related("payer", "imported_by")


def remittance_lines(remittance: Remittance) -> QuerySet[RemittanceLine]:
    return remittance.lines.select_related(
        "claim__patient", "claim__payer", "charge__service_code"
    ).order_by("pk")


def remittance_claims(remittance: Remittance) -> QuerySet:
    """One row per claim of the remittance: its lines' billed, paid and patient share."""
    return (
        remittance.lines.values("claim_number", "claim_id", "claim__status", "claim_status_code")
        .annotate(
            lines=Count("pk"),
            posted_lines=Count("pk", filter=Q(charge__isnull=False)),
            billed=MoneySum("billed"),
            paid=MoneySum("paid"),
            patient_responsibility=MoneySum("patient_responsibility"),
        )
        .order_by("claim_number")
    )


@dataclass
class RemittanceTotals:
    payment_amount: Decimal
    posted_total: Decimal
    posted_to_claims: Decimal
    held_for_reconciliation: Decimal

    @property
    def difference(self) -> Decimal:
        return self.payment_amount - self.posted_total

    @property
    def balanced(self) -> bool:
        return self.difference == ZERO


def remittance_totals(remittance: Remittance) -> RemittanceTotals:
    """BPR02 against what the remittance accounts for: posted to claims or held for a biller."""
    posted = remittance.lines.filter(charge__isnull=False).aggregate(total=MoneySum("paid"))[
        "total"
    ]
    return RemittanceTotals(
        payment_amount=remittance.payment_amount,
        posted_total=remittance.posted_total,
        posted_to_claims=posted,
        held_for_reconciliation=remittance.posted_total - posted,
    )


def remittance_import_notes(remittance: Remittance) -> dict:
    """What the import said about this remittance (warnings, differences), from its audit event."""
    event = (
        AuditEvent.objects.filter(
            name="remittance_import",
            content_type=ContentType.objects.get_for_model(Remittance),
            object_id=str(remittance.pk),
        )
        .order_by("-at", "-pk")
        .first()
    )
    return event.detail if event is not None else {}


class ContractedFees:
    """A payer's fees for some service codes, read in one query: ``selectors.fee_in_force``
    for any of those codes and any day without a query each."""

    def __init__(self, payer_id: int, service_code_ids: set[int]):
        self.by_code: dict[int, list[Fee]] = {}
        fees = Fee.objects.filter(
            fee_schedule__payer_id=payer_id, service_code_id__in=service_code_ids
        ).select_related("fee_schedule")
        # The schedule that took effect last comes first (the later one made, on a tie).
        for fee in sorted(
            fees, key=lambda fee: (fee.fee_schedule.effective_from, fee.fee_schedule_id)
        ):
            self.by_code.setdefault(fee.service_code_id, []).insert(0, fee)

    def in_force(self, service_code_id: int, on: datetime.date) -> Fee | None:
        for fee in self.by_code.get(service_code_id, ()):
            schedule = fee.fee_schedule
            if schedule.effective_from <= on and (
                schedule.effective_to is None or schedule.effective_to >= on
            ):
                return fee
        return None


def reconciliation_items(*, status: str | None = None) -> QuerySet[ReconciliationItem]:
    items = ReconciliationItem.objects.select_related("remittance", "resolved_by")
    return items.filter(status=status) if status else items


def underpayments(*, status: str | None = None) -> QuerySet[Underpayment]:
    rows = Underpayment.objects.select_related(
        "claim__payer",
        "claim__patient",
        "remittance_line__remittance",
        "remittance_line__charge__service_code",
        "decided_by",
    )
    return rows.filter(status=status) if status else rows


@dataclass
class PayerComparisonRow:
    code: str
    description: str
    payer_id: int
    payer: str
    lines: int
    billed: Decimal | None
    contracted: Decimal | None
    average_allowed: Decimal | None
    average_paid: Decimal | None
    average_days_to_payment: float | None
    claims: int
    claims_denied: int

    @property
    def denial_rate(self) -> float | None:
        return self.claims_denied / self.claims if self.claims else None


def payer_comparison(
    *, start: datetime.date, end: datetime.date, code: str = ""
) -> list[PayerComparisonRow]:
    """Which payer reimburses best for a code: per code and payer, over service dates in range.

    Lines are the remittance lines posted to a charge here (reversals left out). Averages of
    allowed, paid and days to payment (payment date − date of service) are over lines that were
    paid, not denied; the denial rate is claims denied ÷ claims adjudicated. ``contracted`` is
    the payer's contracted amount in force today.
    """
    today = timezone.localdate()
    contracted = (
        Fee.objects.filter(
            service_code_id=OuterRef("charge__service_code_id"),
            fee_schedule__payer_id=OuterRef("claim__payer_id"),
            fee_schedule__effective_from__lte=today,
        )
        .filter(
            Q(fee_schedule__effective_to__isnull=True) | Q(fee_schedule__effective_to__gte=today)
        )
        .order_by("-fee_schedule__effective_from")
        .values("amount")[:1]
    )
    paid_lines = ~Q(claim_status_code=DENIED_CODE)
    lines = (
        RemittanceLine.objects.filter(
            charge__isnull=False,
            claim__isnull=False,
            service_date__gte=start,
            service_date__lte=end,
        )
        .exclude(claim_status_code=REVERSAL_CODE)
        .annotate(
            days_to_payment=ExpressionWrapper(
                F("remittance__payment_date") - F("service_date"), output_field=DurationField()
            )
        )
    )
    if code:
        lines = lines.filter(charge__service_code__code=code.strip().upper())
    rows = (
        lines.values(
            "charge__service_code_id",
            "charge__service_code__code",
            "charge__service_code__description",
            "claim__payer_id",
            "claim__payer__name",
        )
        .annotate(
            line_count=Count("pk"),
            average_billed=Avg("billed", output_field=MONEY_FIELD),
            contracted=Subquery(contracted, output_field=MONEY_FIELD),
            average_allowed=Avg("allowed", filter=paid_lines, output_field=MONEY_FIELD),
            average_paid=Avg("paid", filter=paid_lines, output_field=MONEY_FIELD),
            average_days=Avg("days_to_payment", filter=paid_lines),
            claim_count=Count("claim", distinct=True),
            denied_count=Count("claim", distinct=True, filter=Q(claim_status_code=DENIED_CODE)),
        )
        .order_by("charge__service_code__code", F("average_paid").desc(nulls_last=True))
    )
    return [
        PayerComparisonRow(
            code=row["charge__service_code__code"],
            description=row["charge__service_code__description"],
            payer_id=row["claim__payer_id"],
            payer=row["claim__payer__name"],
            lines=row["line_count"],
            billed=cents(row["average_billed"]),
            contracted=row["contracted"],
            average_allowed=cents(row["average_allowed"]),
            average_paid=cents(row["average_paid"]),
            average_days_to_payment=days(row["average_days"]),
            claims=row["claim_count"],
            claims_denied=row["denied_count"],
        )
        for row in rows
    ]


def cents(value) -> Decimal | None:
    if value is None:
        return None
    return round_money(Decimal(str(value)))


def days(value) -> float | None:
    """An average duration as days with one decimal (the databases return a timedelta)."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return round(value.total_seconds() / 86400, 1)
    return round(float(value) / 86_400_000_000, 1)  # microseconds, where a backend says so
