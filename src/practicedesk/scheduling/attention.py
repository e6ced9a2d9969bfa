"""What scheduling puts on the manager's attention list: patients waiting too long today,
encounters unsigned past the chart-closure limit, records requests past their due date, and
recalls overdue. Each kind is capped at ``LIMIT`` items, oldest first."""

import datetime

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.kpi import AttentionItem
from practicedesk.scheduling import selectors
from practicedesk.scheduling.availability import local_datetime
from practicedesk.scheduling.models import Appointment

AREA = "scheduling"
LIMIT = 50
Status = Appointment.Status


def long_waits(today: datetime.date) -> list[AttentionItem]:
    """Patients of today who have waited, since arriving or being roomed, longer than
    FLOW_WAIT_LIMIT_MINUTES."""
    now = timezone.now()
    limit = settings.FLOW_WAIT_LIMIT_MINUTES
    since = now - datetime.timedelta(minutes=limit)
    waiting = (
        Appointment.objects.filter(
            start__gte=local_datetime(today, datetime.time.min),
            start__lt=local_datetime(today + datetime.timedelta(days=1), datetime.time.min),
        )
        .filter(
            Q(status=Status.ARRIVED, arrived_at__lt=since)
            | Q(status=Status.ROOMED, roomed_at__lt=since)
        )
        .select_related("patient", "provider", "location")
        .order_by("arrived_at", "pk")[:LIMIT]
    )
    items = []
    for appointment in waiting:
        since_at = appointment.roomed_at if appointment.status == Status.ROOMED else None
        since_at = since_at or appointment.arrived_at
        minutes = int((now - since_at).total_seconds() // 60)
        where = "in the exam room" if appointment.status == Status.ROOMED else "in the waiting room"
        items.append(
            AttentionItem(
                key=f"scheduling.long_wait.{appointment.pk}.{appointment.status}",
                title=f"{appointment.patient.display_name} has waited {minutes} min {where} "
                f"({appointment.location})",
                severity="critical",
                due=today,
                owner_hint="Front desk",
                url=reverse("scheduling:flow_board") + f"?location={appointment.location_id}",
                area=AREA,
                detail=f"Seeing {appointment.provider}; limit {limit} min.",
            )
        )
    return items


def unsigned_encounters(today: datetime.date) -> list[AttentionItem]:
    hours = settings.CHART_CLOSURE_HOURS
    return [
        AttentionItem(
            key=f"scheduling.unsigned_encounter.{encounter.pk}",
            title=f"Encounter of {encounter.date_of_service} unsigned past {hours} hours "
            f"({encounter.provider})",
            severity="warning",
            due=timezone.localdate(encounter.opened_at + datetime.timedelta(hours=hours)),
            owner_hint=str(encounter.provider),
            url=encounter.get_absolute_url(),
            area=AREA,
            detail=f"Patient {encounter.patient}.",
        )
        for encounter in selectors.encounters_unsigned_overdue()[:LIMIT]
    ]


def overdue_records_requests(today: datetime.date) -> list[AttentionItem]:
    return [
        AttentionItem(
            key=f"scheduling.records_request.{request.pk}",
            title=f"Records request for {request.patient} overdue since {request.due_date}",
            severity="critical",
            due=request.due_date,
            owner_hint="Front desk",
            url=request.get_absolute_url(),
            area=AREA,
            detail=f"Requested by {request.requested_by} on {request.received_date}.",
        )
        for request in selectors.records_requests_overdue(today).order_by("due_date", "pk")[:LIMIT]
    ]


def overdue_recalls(today: datetime.date) -> list[AttentionItem]:
    return [
        AttentionItem(
            key=f"scheduling.recall.{recall.pk}",
            title=f"Recall of {recall.patient} due {recall.due_date} not booked",
            severity="info",
            due=recall.due_date,
            owner_hint="Front desk",
            url=recall.get_absolute_url(),
            area=AREA,
            detail=recall.reason,
        )
        for recall in selectors.recalls_overdue(today).order_by("due_date", "pk")[:LIMIT]
    ]


def attention_items(today: datetime.date) -> list[AttentionItem]:
    return [
        *long_waits(today),
        *unsigned_encounters(today),
        *overdue_records_requests(today),
        *overdue_recalls(today),
    ]
