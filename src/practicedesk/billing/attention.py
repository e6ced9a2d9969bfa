"""What billing puts on the manager's attention list: claims about to miss timely filing,
denials nobody has worked, returned checks, payment plans in default, accounts ready for
collections. Each kind is capped at ``LIMIT`` items, oldest first, so one backlog cannot bury
the rest of the list. Queues over every account need billing ``export`` to be seen.
"""

import datetime

from django.db.models import Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from practicedesk.billing import models
from practicedesk.billing.models import Claim
from practicedesk.billing.receivables import PATIENT, aging_by_patient
from practicedesk.core.kpi import AttentionItem
from practicedesk.patients.models import Payer

AREA = "billing"
ACTION = "export"
LIMIT = 50
TIMELY_FILING_NOTICE_DAYS = 14
DENIAL_WORK_DAYS = 7
RECENT_DAYS = 30
NOT_YET_WITH_PAYER = (Claim.Status.DRAFT, Claim.Status.READY, Claim.Status.REJECTED)


def url_of(obj, fallback_url_name: str, *args) -> str:
    """The record's own page, or a list page while the record's page is not built yet."""
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:
        return reverse(fallback_url_name, args=args)


def claims_near_timely_filing(today: datetime.date) -> list[AttentionItem]:
    """Claims not yet accepted by the payer whose filing deadline (date of service + the
    payer's timely-filing days) is within 14 days or already past."""
    near = Q(pk__in=[])
    for days in set(Payer.objects.values_list("timely_filing_days", flat=True)):
        latest_service = today + datetime.timedelta(days=TIMELY_FILING_NOTICE_DAYS - days)
        near |= Q(payer__timely_filing_days=days, date_of_service__lte=latest_service)
    claims = (
        Claim.objects.filter(near, status__in=NOT_YET_WITH_PAYER)
        .select_related("payer", "patient")
        .order_by("date_of_service", "pk")[:LIMIT]
    )
    items = []
    for claim in claims:
        deadline = claim.date_of_service + datetime.timedelta(days=claim.payer.timely_filing_days)
        left = (deadline - today).days
        when = f"{-left} days past" if left < 0 else f"{left} days left"
        items.append(
            AttentionItem(
                key=f"billing.timely_filing.{claim.pk}",
                title=f"Claim {claim.claim_number} to {claim.payer}: file by {deadline} ({when})",
                severity="critical" if left <= 3 else "warning",
                due=deadline,
                owner_hint="Biller",
                url=claim.get_absolute_url(),
                area=AREA,
                action=ACTION,
                detail=f"{claim.get_status_display()} claim of {claim.patient}, service on "
                f"{claim.date_of_service}.",
            )
        )
    return items


def denials_not_worked(today: datetime.date) -> list[AttentionItem]:
    """Claims still denied more than 7 days after the denial (not appealed, rebilled or
    closed)."""
    cutoff = timezone.now() - datetime.timedelta(days=DENIAL_WORK_DAYS)
    claims = (
        Claim.objects.filter(status=Claim.Status.DENIED)
        .annotate(
            denied_at=Max(
                "status_changes__at", filter=Q(status_changes__to_status=Claim.Status.DENIED)
            )
        )
        .filter(denied_at__lt=cutoff)
        .select_related("payer", "patient")
        .order_by("denied_at", "pk")[:LIMIT]
    )
    items = []
    for claim in claims:
        denied_on = timezone.localdate(claim.denied_at)
        age = (today - denied_on).days
        items.append(
            AttentionItem(
                key=f"billing.denial.{claim.pk}",
                title=f"Denied claim {claim.claim_number} ({claim.payer}) not worked for {age} "
                "days",
                severity="critical" if age > RECENT_DAYS else "warning",
                due=denied_on + datetime.timedelta(days=DENIAL_WORK_DAYS),
                owner_hint="Biller",
                url=claim.get_absolute_url(),
                area=AREA,
                action=ACTION,
                detail=claim.denial_reason or "No reason given.",
            )
        )
    return items


def returned_checks(today: datetime.date) -> list[AttentionItem]:
    """Checks returned unpaid in the last 30 days: the patient must pay by other means."""
    Payment = getattr(models, "Payment", None)
    if Payment is None:
        return []
    payments = (
        Payment.objects.filter(
            status=Payment.Status.RETURNED,
            returned_on__gte=today - datetime.timedelta(days=RECENT_DAYS),
        )
        .select_related("patient")
        .order_by("returned_on", "pk")[:LIMIT]
    )
    return [
        AttentionItem(
            key=f"billing.returned_check.{payment.pk}",
            title=f"Returned check {payment.check_number} of {payment.amount} from "
            f"{payment.patient}",
            severity="warning",
            due=payment.returned_on + datetime.timedelta(days=7),
            owner_hint="Front desk",
            url=url_of(payment, "patients:patient_detail", payment.patient_id),
            area=AREA,
            action=ACTION,
            detail=payment.returned_reason,
        )
        for payment in payments
        if payment.patient_id
    ]


def plans_in_default(today: datetime.date) -> list[AttentionItem]:
    """Payment plans with missed instalments (delinquent) or defaulted in the last 30 days."""
    PaymentPlan = getattr(models, "PaymentPlan", None)
    if PaymentPlan is None:
        return []
    recent = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    plans = (
        PaymentPlan.objects.filter(
            Q(status=PaymentPlan.Status.DELINQUENT)
            | Q(status=PaymentPlan.Status.DEFAULTED, ended_at__gte=recent)
        )
        .select_related("patient")
        .order_by("delinquent_since", "pk")[:LIMIT]
    )
    items = []
    for plan in plans:
        defaulted = plan.status == PaymentPlan.Status.DEFAULTED
        missed = (
            f" (instalment due {plan.delinquent_since} unpaid)" if plan.delinquent_since else ""
        )
        items.append(
            AttentionItem(
                key=f"billing.payment_plan.{plan.pk}.{plan.status}",
                title=f"Payment plan of {plan.patient} "
                f"{'defaulted' if defaulted else 'is behind'}{missed}",
                severity="critical" if defaulted else "warning",
                due=plan.delinquent_since,
                owner_hint="Biller",
                url=url_of(plan, "patients:patient_detail", plan.patient_id),
                area=AREA,
                action=ACTION,
            )
        )
    return items


def accounts_ready_for_collections(today: datetime.date) -> list[AttentionItem]:
    """Patient balances owed more than 90 days, with no collection case and no payment plan
    running."""
    in_hand = Q()
    if hasattr(models, "CollectionCase"):
        in_hand |= Q(patient__collection_cases__status=models.CollectionCase.Status.OPEN)
    if hasattr(models, "PaymentPlan"):
        in_hand |= Q(patient__payment_plans__status__in=models.PaymentPlan.LIVE_STATUSES)
    aging = aging_by_patient(
        today,
        responsibility=PATIENT,
        over_90_only=True,
        exclude=in_hand or None,
        limit=LIMIT,
    )
    return [
        AttentionItem(
            key=f"billing.collections.{row.object_id}",
            title=f"{row.label} owes {row.over_90} for more than 90 days",
            severity="warning",
            due=None,
            owner_hint="Biller",
            url=row.url or "",
            area=AREA,
            action=ACTION,
            detail=f"Patient balance {row.total}; no collection case or payment plan yet.",
        )
        for row in aging.rows
    ]


def attention_items(today: datetime.date) -> list[AttentionItem]:
    return [
        *claims_near_timely_filing(today),
        *denials_not_worked(today),
        *returned_checks(today),
        *plans_in_default(today),
        *accounts_ready_for_collections(today),
    ]
