"""Claim reads for the claim pages: the list, one claim, visits to claim, batches, denials."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from practicedesk.billing.models import Charge, Claim, ClaimBatch, ClaimLine, ClaimStatusChange
from practicedesk.core.money import MoneySum
from practicedesk.scheduling.models import Appointment

Status = Claim.Status


def claims_for_list() -> QuerySet[Claim]:
    return Claim.objects.select_related("patient", "payer", "rendering_provider", "batch")


def claim_for_page() -> QuerySet[Claim]:
    return Claim.objects.select_related(
        "patient",
        "payer",
        "coverage__payer",
        "billing_location",
        "rendering_provider",
        "appointment__location",
        "primary_claim",
        "batch",
        "created_by",
    )


def claim_lines(claim: Claim) -> QuerySet[ClaimLine]:
    return claim.lines.select_related("charge__service_code").order_by("line_number")


def claim_history(claim: Claim) -> QuerySet[ClaimStatusChange]:
    return claim.status_changes.select_related("by").order_by("at", "pk")


def claims_of_visit(claim: Claim) -> QuerySet[Claim]:
    """The visit's other claims (its primary and secondary claims), for links."""
    return (
        Claim.objects.filter(appointment_id=claim.appointment_id)
        .exclude(pk=claim.pk)
        .select_related("payer")
        .order_by("payer_order", "pk")
    )


def visits_to_claim() -> QuerySet[Appointment]:
    """Visits with posted (not reversed) charges and no open primary claim yet."""
    open_charges = Charge.objects.filter(
        appointment=OuterRef("pk"), reverses__isnull=True, reversed_by__isnull=True
    )
    open_primary = Claim.objects.filter(appointment=OuterRef("pk"), payer_order=1).exclude(
        status=Status.CLOSED
    )
    return (
        Appointment.objects.filter(Exists(open_charges))
        .exclude(Exists(open_primary))
        .select_related("patient", "provider", "location", "coverage__payer")
        .order_by("-start")
    )


def ready_claims_by_payer() -> list[dict]:
    """How many claims wait to be exported, per payer (the export button's choices)."""
    return list(
        Claim.objects.filter(status=Status.READY)
        .values("payer_id", "payer__name")
        .annotate(count=Count("pk"), total=MoneySum("total_charge"))
        .order_by("payer__name")
    )


def claim_batches() -> QuerySet[ClaimBatch]:
    return ClaimBatch.objects.select_related("payer", "created_by").defer("content")


def claims_of_batch(batch: ClaimBatch) -> QuerySet[Claim]:
    return batch.claims.select_related("patient", "payer").order_by("pk")


@dataclass
class DenialGroup:
    reason: str
    count: int
    total: Decimal
    claims: list[Claim] = field(default_factory=list)


def denial_queue(payer_id: int | None = None) -> list[DenialGroup]:
    """Denied claims grouped by the payer's reason, largest group first.

    Counts and totals are aggregated by the database; the claims of each group come from one
    more query, each with the moment it was denied.
    """
    denied = Claim.objects.filter(status=Status.DENIED)
    if payer_id:
        denied = denied.filter(payer_id=payer_id)
    groups = (
        denied.values("denial_reason")
        .annotate(count=Count("pk"), total=MoneySum("total_charge"))
        .order_by("-count", "-total", "denial_reason")
    )
    claims = (
        denied.select_related("patient", "payer")
        .annotate(
            denied_at=Max("status_changes__at", filter=Q(status_changes__to_status=Status.DENIED))
        )
        .order_by("denied_at", "pk")
    )
    by_reason: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_reason[claim.denial_reason].append(claim)
    return [
        DenialGroup(
            reason=group["denial_reason"] or "No reason given",
            count=group["count"],
            total=group["total"],
            claims=by_reason[group["denial_reason"]],
        )
        for group in groups
    ]
