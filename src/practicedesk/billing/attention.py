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
from practicedesk.billing.receivables import account_url
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
    """Patient balances owed longer than the first-notice rule, with no collection case and
    no payment plan in good standing: the daily collections run takes them in next."""
    from practicedesk.billing.collections import (
        Stage,
        accounts_due_for_collections,
        collection_rules,
    )

    days = collection_rules()[Stage.FIRST_NOTICE]
    return [
        AttentionItem(
            key=f"billing.collections.{account.patient_id}",
            title=f"{account.label} owes {account.past_due} for more than {days} days",
            severity="warning",
            due=None,
            owner_hint="Biller",
            url=account_url(account.patient_id),
            area=AREA,
            action=ACTION,
            detail=f"Patient balance {account.balance}; no collection case or payment plan yet.",
        )
        for account in accounts_due_for_collections(today, limit=LIMIT)
    ]


def statement_runs_due(today: datetime.date) -> list[AttentionItem]:
    """The statement cycle day has passed and no statements have been run since, while some
    guarantor owes enough to get one."""
    from practicedesk.billing.statements import guarantors_to_bill, last_cycle_without_run

    cycle = last_cycle_without_run(today)
    if cycle is None or all(row.skip for row in guarantors_to_bill(today)):
        return []
    late = (today - cycle).days
    return [
        AttentionItem(
            key=f"billing.statement_run_due.{cycle:%Y-%m-%d}",
            title=f"Statements for the cycle of {cycle:%Y-%m-%d} have not been run",
            severity="critical" if late > 7 else "warning",
            due=cycle,
            owner_hint="Practice manager",
            url=reverse("billing:statement_run_list"),
            area=AREA,
            action="approve",
            detail="Patients get no statement until the run is started from the Statements page.",
        )
    ]


def broken_promises(today: datetime.date) -> list[AttentionItem]:
    """Promises to pay broken in the last 30 days, on cases still open."""
    from practicedesk.billing.models import CollectionCase, CollectionContact

    promises = (
        CollectionContact.objects.filter(
            promise_status=CollectionContact.PromiseStatus.BROKEN,
            promise_checked_at__gte=timezone.now() - datetime.timedelta(days=RECENT_DAYS),
            case__status=CollectionCase.Status.OPEN,
        )
        .select_related("case__patient")
        .order_by("promise_date", "pk")[:LIMIT]
    )
    return [
        AttentionItem(
            key=f"billing.broken_promise.{promise.pk}",
            title=f"{promise.case.patient} broke a promise to pay {promise.promise_amount} by "
            f"{promise.promise_date:%Y-%m-%d}",
            severity="warning",
            due=promise.promise_date,
            owner_hint="Biller",
            url=promise.case.get_absolute_url(),
            area=AREA,
            action=ACTION,
            detail=promise.note,
        )
        for promise in promises
    ]


def write_offs_to_approve(today: datetime.date) -> list[AttentionItem]:
    """Bad-debt write-offs a biller asked for, waiting for a practice manager."""
    from practicedesk.billing.models import CollectionWriteOff

    requests = (
        CollectionWriteOff.objects.filter(status=CollectionWriteOff.Status.PENDING)
        .select_related("case__patient", "requested_by")
        .order_by("requested_at", "pk")[:LIMIT]
    )
    return [
        AttentionItem(
            key=f"billing.write_off_request.{request.pk}",
            title=f"Approve or reject writing off {request.amount} of {request.case.patient}",
            severity="warning",
            due=timezone.localdate(request.requested_at) + datetime.timedelta(days=7),
            owner_hint="Practice manager",
            url=request.case.get_absolute_url(),
            area=AREA,
            action="approve",
            detail=f"Asked by {request.requested_by}: {request.reason}",
        )
        for request in requests
    ]


def cases_ready_for_agency(today: datetime.date) -> list[AttentionItem]:
    """Cases past their final notice by the agency rule's days: place them or work them."""
    from practicedesk.billing.collections import ready_for_agency
    from practicedesk.billing.models import CollectionCase

    cases = (
        CollectionCase.objects.filter(ready_for_agency())
        .select_related("patient")
        .order_by("stage_changed_at", "pk")[:LIMIT]
    )
    return [
        AttentionItem(
            key=f"billing.ready_for_agency.{case.pk}",
            title=f"{case.patient}: final notice sent {case.stage_changed_at:%Y-%m-%d}, ready "
            "for a collection agency",
            severity="warning",
            due=None,
            owner_hint="Biller",
            url=case.get_absolute_url(),
            area=AREA,
            action=ACTION,
        )
        for case in cases
    ]


def attention_items(today: datetime.date) -> list[AttentionItem]:
    return [
        *claims_near_timely_filing(today),
        *denials_not_worked(today),
        *returned_checks(today),
        *plans_in_default(today),
        *accounts_ready_for_collections(today),
        *statement_runs_due(today),
        *broken_promises(today),
        *write_offs_to_approve(today),
        *cases_ready_for_agency(today),
    ]
