"""Billing reads: balances as sums of ledger entries, fees in force, claim queues."""

import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

from practicedesk.billing.models import Charge, Claim, Fee, LedgerEntry
from practicedesk.core.money import MoneySum

ZERO_SUM = MoneySum("amount")


def balance(entries: QuerySet[LedgerEntry]) -> Decimal:
    return entries.aggregate(total=ZERO_SUM)["total"]


def patient_balance(patient_id: int) -> Decimal:
    """What the patient owes now (patient responsibility only)."""
    return balance(
        LedgerEntry.objects.filter(
            patient_id=patient_id, responsibility=LedgerEntry.Responsibility.PATIENT
        )
    )


def insurance_balance(patient_id: int) -> Decimal:
    return balance(
        LedgerEntry.objects.filter(
            patient_id=patient_id, responsibility=LedgerEntry.Responsibility.INSURANCE
        )
    )


def claim_balance(claim: Claim) -> Decimal:
    """What the claim's payer still owes on the claim's service lines.

    Charges are posted before any claim exists, so a claim's balance is read through its lines:
    the insurance-responsibility entries of those charges that name the claim's payer.
    """
    return balance(
        LedgerEntry.objects.filter(
            charge__claim_lines__claim=claim,
            payer_id=claim.payer_id,
            responsibility=LedgerEntry.Responsibility.INSURANCE,
        )
    )


def charge_balance(charge_id: int, responsibility: str | None = None) -> Decimal:
    entries = LedgerEntry.objects.filter(charge_id=charge_id)
    if responsibility:
        entries = entries.filter(responsibility=responsibility)
    return balance(entries)


def payer_balance(payer_id: int) -> Decimal:
    return balance(
        LedgerEntry.objects.filter(
            payer_id=payer_id, responsibility=LedgerEntry.Responsibility.INSURANCE
        )
    )


def fee_in_force(
    service_code_id: int, on: datetime.date, payer_id: int | None = None
) -> Fee | None:
    """The fee of the schedule in force on ``on``: the practice's (payer None) or a payer's."""
    return (
        Fee.objects.filter(
            service_code_id=service_code_id,
            fee_schedule__payer_id=payer_id,
            fee_schedule__effective_from__lte=on,
        )
        .filter(Q(fee_schedule__effective_to__isnull=True) | Q(fee_schedule__effective_to__gte=on))
        .select_related("fee_schedule")
        .order_by("-fee_schedule__effective_from")
        .first()
    )


def open_charges_of_visit(appointment_id: int) -> QuerySet[Charge]:
    """Posted, not reversed, not reversal charges of a visit."""
    return (
        Charge.objects.filter(
            appointment_id=appointment_id, reverses__isnull=True, reversed_by__isnull=True
        )
        .select_related("service_code")
        .order_by("pk")
    )


def claims_in_status(*statuses: str) -> QuerySet[Claim]:
    return Claim.objects.filter(status__in=statuses).select_related("patient", "payer")
