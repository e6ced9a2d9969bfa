"""Scheduling reads: the waitlist, recalls, reminders due, chart closure, records requests,
and the scheduling figures of the manager's dashboard.

Every figure is aggregated by the database (``aggregate`` / ``annotate`` with filtered
``Count``, ``Avg``, ``Sum``, percentiles); Python only divides the totals it gets back. A
figure is ``None`` when the period holds nothing to measure, so the dashboard can say "no data"
instead of a misleading 0.
"""

import datetime
import math

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from practicedesk.core.kpi import shared
from practicedesk.patients.models import Patient
from practicedesk.scheduling.availability import local_datetime, subtract
from practicedesk.scheduling.models import (
    Appointment,
    Encounter,
    Provider,
    Recall,
    RecordsRequest,
    ReminderToken,
    ScheduleException,
    ScheduleTemplate,
    WaitlistEntry,
)

Status = Appointment.Status
OPEN_STATUSES = (Status.SCHEDULED, Status.CONFIRMED)
# The patient came: the visit started, whatever happened after.
ATTENDED_STATUSES = (Status.ARRIVED, Status.ROOMED, Status.WITH_PROVIDER, Status.CHECKED_OUT)
RECORDS_REQUEST_OPEN = (RecordsRequest.Status.RECEIVED, RecordsRequest.Status.IN_PROGRESS)
FREED_SLOT_DAYS = 14


# Waitlist and recalls.


def waitlist_entries() -> QuerySet:
    return WaitlistEntry.objects.select_related(
        "patient", "appointment_type", "provider", "location", "offered_appointment"
    )


def waitlist_for_slot(appointment: Appointment) -> dict[str, list[WaitlistEntry]]:
    """Who could take the time a cancelled appointment freed, and who was offered it."""
    from practicedesk.scheduling.services import waitlist_matches

    offered = list(
        waitlist_entries().filter(
            offered_appointment=appointment, status=WaitlistEntry.Status.OFFERED
        )
    )
    return {"matches": waitlist_matches(appointment), "offered": offered}


def freed_slots_upcoming(*, location_id: int | None = None, limit: int = 10) -> list:
    """Cancelled appointments of the next two weeks whose time nobody has taken again and
    which someone on the waitlist wants (same location and type)."""
    now = timezone.now()
    rebooked = Appointment.objects.booked().filter(
        provider=OuterRef("provider"), start__lt=OuterRef("end"), end__gt=OuterRef("start")
    )
    waiting = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.WAITING,
        location=OuterRef("location"),
        appointment_type=OuterRef("appointment_type"),
    ).filter(Q(provider__isnull=True) | Q(provider=OuterRef("provider")))
    slots = (
        Appointment.objects.filter(
            status=Status.CANCELLED,
            start__gt=now,
            start__lt=now + datetime.timedelta(days=FREED_SLOT_DAYS),
        )
        .filter(Exists(waiting))
        .exclude(Exists(rebooked))
        .select_related("provider", "location", "appointment_type")
        .order_by("start")
    )
    if location_id is not None:
        slots = slots.filter(location_id=location_id)
    return list(slots[:limit])


def recalls() -> QuerySet:
    return Recall.objects.select_related("patient", "appointment_type", "provider", "appointment")


def recalls_overdue(today: datetime.date | None = None) -> QuerySet:
    """Open recalls whose due date has passed: patients to call and book."""
    today = today or timezone.localdate()
    return recalls().filter(status=Recall.Status.OPEN, due_date__lt=today)


# Reminders.


def reminders_due(now: datetime.datetime | None = None) -> QuerySet:
    """Booked visits starting within REMINDER_HOURS_BEFORE that have had no reminder yet, of
    patients who agreed to email reminders and gave an address."""
    now = now or timezone.now()
    return (
        Appointment.objects.filter(
            status__in=OPEN_STATUSES,
            reminder_sent_at__isnull=True,
            start__gt=now,
            start__lte=now + datetime.timedelta(hours=settings.REMINDER_HOURS_BEFORE),
            patient__reminder_email_consent=True,
            patient__status=Patient.Status.ACTIVE,
        )
        .exclude(patient__email="")
        .order_by("start")
    )


def reminder_refusal(appointment: Appointment, now: datetime.datetime | None = None) -> str:
    """Why this appointment gets no reminder now ("" when it should get one)."""
    now = now or timezone.now()
    patient = appointment.patient
    if appointment.status not in OPEN_STATUSES:
        return f"The appointment is {appointment.get_status_display().lower()}."
    if appointment.reminder_sent_at is not None:
        return "A reminder was sent already."
    if not patient.reminder_email_consent:
        return "The patient has not agreed to email reminders."
    if not patient.email:
        return "The patient has no email address."
    if patient.status != Patient.Status.ACTIVE:
        return "The patient record is not active."
    if appointment.start <= now:
        return "The appointment has started."
    return ""


def reminder_refusal_of_token(reminder: ReminderToken, now=None) -> str:
    """Why a reminder link cannot be used ("" when it can)."""
    now = now or timezone.now()
    appointment = reminder.appointment
    if reminder.used_at is not None:
        return "used"
    if reminder.expires_at <= now:
        return "expired"
    if appointment.status not in OPEN_STATUSES or appointment.start <= now:
        return "closed"
    return ""


def reminder_token_usable(token: str) -> ReminderToken | None:
    """The reminder link's record if it can still confirm or cancel its visit, else None."""
    from practicedesk.scheduling.services import reminder_token_hash

    reminder = (
        ReminderToken.objects.select_related("appointment__location")
        .filter(token_hash=reminder_token_hash(token))
        .first()
    )
    if reminder is None or reminder_refusal_of_token(reminder):
        return None
    return reminder


# Encounters (chart closure) and records requests.


def chart_closure_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(hours=settings.CHART_CLOSURE_HOURS)


def encounters_unsigned_overdue(now: datetime.datetime | None = None) -> QuerySet:
    """Encounters still open more than CHART_CLOSURE_HOURS after the visit was checked out."""
    return (
        Encounter.objects.filter(
            status=Encounter.Status.OPEN, opened_at__lt=chart_closure_cutoff(now)
        )
        .select_related("patient", "provider", "appointment")
        .order_by("opened_at")
    )


def chart_closure_by_provider(now: datetime.datetime | None = None) -> list[dict]:
    """Per provider: how many encounters are past the chart-closure lag, and the oldest."""
    return list(
        Encounter.objects.filter(
            status=Encounter.Status.OPEN, opened_at__lt=chart_closure_cutoff(now)
        )
        .values("provider_id", "provider__first_name", "provider__last_name")
        .annotate(count=Count("id"), oldest=Min("date_of_service"))
        .order_by("-count", "provider__last_name")
    )


def records_requests() -> QuerySet:
    return RecordsRequest.objects.select_related("patient")


def records_requests_overdue(today: datetime.date | None = None) -> QuerySet:
    today = today or timezone.localdate()
    return records_requests().filter(status__in=RECORDS_REQUEST_OPEN, due_date__lt=today)


# Dashboard figures. Each takes (start_date, end_date, location_id=None, provider_id=None);
# the period is the local days from start_date to end_date, both included.


def period_bounds(start_date: datetime.date, end_date: datetime.date):
    return (
        local_datetime(start_date, datetime.time.min),
        local_datetime(end_date + datetime.timedelta(days=1), datetime.time.min),
    )


def appointments_in(start_date, end_date, location_id=None, provider_id=None) -> QuerySet:
    low, high = period_bounds(start_date, end_date)
    appointments = Appointment.objects.filter(start__gte=low, start__lt=high)
    if location_id is not None:
        appointments = appointments.filter(location_id=location_id)
    if provider_id is not None:
        appointments = appointments.filter(provider_id=provider_id)
    return appointments


def percent(part, whole) -> float | None:
    if not whole:
        return None
    return round(100 * part / whole, 2)


def minutes_of(duration: datetime.timedelta | None) -> float | None:
    if duration is None:
        return None
    return round(duration.total_seconds() / 60, 2)


def provider_label(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}"


@shared
def appointment_counts(start_date, end_date, location_id=None, provider_id=None) -> dict:
    """The period's appointments: all, no-shows, attended, and cancelled late (one scan)."""
    return appointments_in(start_date, end_date, location_id, provider_id).aggregate(
        booked=Count("id"),
        no_shows=Count("id", filter=Q(status=Status.NO_SHOW)),
        attended=Count("id", filter=Q(status__in=ATTENDED_STATUSES)),
        late=Count("id", filter=Q(status=Status.CANCELLED, is_late_cancel=True)),
    )


def no_show_rate(start_date, end_date, location_id=None, provider_id=None) -> float | None:
    """No-shows ÷ (no-shows + visits the patient came to), in percent."""
    totals = appointment_counts(start_date, end_date, location_id, provider_id)
    return percent(totals["no_shows"], totals["no_shows"] + totals["attended"])


def late_cancellation_rate(
    start_date, end_date, location_id=None, provider_id=None
) -> float | None:
    """Cancellations inside LATE_CANCEL_HOURS ÷ every appointment booked for the period, in
    percent."""
    totals = appointment_counts(start_date, end_date, location_id, provider_id)
    return percent(totals["late"], totals["booked"])


def available_minutes_by_provider(
    start_date, end_date, location_id=None, provider_id=None
) -> dict[int, float]:
    """Working minutes per provider: template hours on each day minus holidays, blocks and
    leave. Computed from the few template and exception rows, day by day."""
    templates = ScheduleTemplate.objects.filter(effective_from__lte=end_date).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=start_date)
    )
    low, high = period_bounds(start_date, end_date)
    exceptions = ScheduleException.objects.filter(start__lt=high, end__gt=low)
    if location_id is not None:
        templates = templates.filter(location_id=location_id)
        exceptions = exceptions.filter(Q(location__isnull=True) | Q(location_id=location_id))
    if provider_id is not None:
        templates = templates.filter(provider_id=provider_id)
        exceptions = exceptions.filter(Q(provider__isnull=True) | Q(provider_id=provider_id))
    templates = list(templates)
    closed = list(exceptions.values_list("provider_id", "location_id", "start", "end"))
    minutes: dict[int, float] = {}
    day = start_date
    while day <= end_date:
        for template in templates:
            if not template.applies_on(day):
                continue
            window = (
                local_datetime(day, template.start_time),
                local_datetime(day, template.end_time),
            )
            busy = [
                (start, end)
                for exc_provider, exc_location, start, end in closed
                if exc_provider in (None, template.provider_id)
                and exc_location in (None, template.location_id)
            ]
            open_minutes = sum(
                (end - start).total_seconds() / 60 for start, end in subtract([window], busy)
            )
            minutes[template.provider_id] = minutes.get(template.provider_id, 0) + open_minutes
        day += datetime.timedelta(days=1)
    return minutes


def booked_duration():
    return ExpressionWrapper(F("end") - F("start"), output_field=DurationField())


@shared
def utilisation_by_provider(
    start_date, end_date, location_id=None, provider_id=None
) -> list[dict] | None:
    """Per provider: booked minutes (appointments that hold their time) ÷ available minutes."""
    booked = dict(
        appointments_in(start_date, end_date, location_id, provider_id)
        .booked()
        .values("provider_id")
        .annotate(minutes=Sum(booked_duration()))
        .values_list("provider_id", "minutes")
    )
    available = available_minutes_by_provider(start_date, end_date, location_id, provider_id)
    provider_ids = set(booked) | set(available)
    if not provider_ids:
        return None
    names = Provider.objects.filter(pk__in=provider_ids).order_by("last_name", "first_name")
    rows = []
    for provider in names:
        booked_minutes = minutes_of(booked.get(provider.pk)) or 0
        available_minutes = round(available.get(provider.pk, 0), 2)
        rows.append(
            {
                "provider_id": provider.pk,
                "provider": str(provider),
                "booked_minutes": booked_minutes,
                "available_minutes": available_minutes,
                "utilisation": percent(booked_minutes, available_minutes),
            }
        )
    return rows


def schedule_utilisation(start_date, end_date, location_id=None, provider_id=None) -> float | None:
    """All providers together: booked minutes ÷ available minutes, in percent."""
    rows = utilisation_by_provider(start_date, end_date, location_id, provider_id)
    if not rows:
        return None
    return percent(
        sum(row["booked_minutes"] for row in rows), sum(row["available_minutes"] for row in rows)
    )


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: ``percentile_cont(f) WITHIN GROUP (ORDER BY x)``."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile fraction is between 0 and 1.")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


WAIT_MEASURES = {
    "arrival_to_roomed": "roomed_at",
    "arrival_to_provider": "provider_at",
    "arrival_to_checkout": "checked_out_at",
}


def _wait(field: str):
    return ExpressionWrapper(F(field) - F("arrived_at"), output_field=DurationField())


def _percentile_ordered(queryset: QuerySet, field: str, count: int, fraction: float):
    """percentile_cont computed by the database without the function (SQLite): the one or
    two rows around the rank, fetched by ORDER BY ... LIMIT 2 OFFSET k, interpolated."""
    position = fraction * (count - 1)
    lower = math.floor(position)
    values = list(
        queryset.filter(**{f"{field}__isnull": False})
        .annotate(wait=_wait(field))
        .order_by("wait")
        .values_list("wait", flat=True)[lower : lower + 2]
    )
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * (position - lower)


@shared
def wait_times(
    start_date, end_date, location_id=None, provider_id=None, *, fraction: float = 0.9
) -> dict | None:
    """Average and 90th percentile, in minutes, from arrival to roomed, to the provider and to
    checkout, over the visits of the period that have both times."""
    visits = appointments_in(start_date, end_date, location_id, provider_id).filter(
        arrived_at__isnull=False
    )
    postgres = connection.vendor == "postgresql"
    aggregates = {}
    for key, field in WAIT_MEASURES.items():
        aggregates[f"{key}_count"] = Count(field)
        aggregates[f"{key}_average"] = Avg(_wait(field))
        if postgres:
            aggregates[f"{key}_p90"] = PercentileCont(
                _wait(field), fraction, output_field=DurationField()
            )
    totals = visits.aggregate(**aggregates)
    result = {}
    for key, field in WAIT_MEASURES.items():
        count = totals[f"{key}_count"]
        if not count:
            result[key] = None
            continue
        p90 = (
            totals[f"{key}_p90"]
            if postgres
            else _percentile_ordered(visits, field, count, fraction)
        )
        result[key] = {
            "count": count,
            "average": minutes_of(totals[f"{key}_average"]),
            "p90": minutes_of(p90),
        }
    if all(value is None for value in result.values()):
        return None
    return result


def wait_time_figure(
    start_date, end_date, location_id=None, provider_id=None, *, measure: str, statistic: str
) -> float | None:
    """One number of ``wait_times`` (e.g. the average from arrival to provider)."""
    figures = wait_times(start_date, end_date, location_id, provider_id)
    if figures is None or figures[measure] is None:
        return None
    return figures[measure][statistic]


def month_starts(start_date: datetime.date, end_date: datetime.date) -> list[datetime.date]:
    months = []
    month = start_date.replace(day=1)
    while month <= end_date:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


@shared
def new_patients_by_month(
    start_date, end_date, location_id=None, provider_id=None
) -> list[dict] | None:
    """Patients registered per calendar month (merged duplicates not counted); the location
    is the patient's home location. Months without any are listed with 0."""
    low, high = period_bounds(start_date, end_date)
    patients = Patient.objects.filter(created_at__gte=low, created_at__lt=high).exclude(
        status=Patient.Status.MERGED
    )
    if location_id is not None:
        patients = patients.filter(home_location_id=location_id)
    counts = dict(
        patients.annotate(month=TruncMonth("created_at", output_field=DateField()))
        .values("month")
        .annotate(count=Count("id"))
        .values_list("month", "count")
    )
    if not counts:
        return None
    return [
        {"month": month, "count": counts.get(month, 0)}
        for month in month_starts(start_date, end_date)
    ]


def new_patients_count(start_date, end_date, location_id=None, provider_id=None) -> int | None:
    rows = new_patients_by_month(start_date, end_date, location_id, provider_id)
    return None if rows is None else sum(row["count"] for row in rows)


@shared
def visits_per_provider_per_day(
    start_date, end_date, location_id=None, provider_id=None
) -> list[dict] | None:
    """Per provider: visits the patient came to, the days with visits, and visits per day."""
    rows = list(
        appointments_in(start_date, end_date, location_id, provider_id)
        .filter(status__in=ATTENDED_STATUSES)
        .values("provider_id", "provider__first_name", "provider__last_name")
        .annotate(
            visits=Count("id"),
            days=Count(TruncDate("start", tzinfo=timezone.get_current_timezone()), distinct=True),
        )
        .order_by("provider__last_name", "provider__first_name")
    )
    if not rows:
        return None
    return [
        {
            "provider_id": row["provider_id"],
            "provider": provider_label(row["provider__first_name"], row["provider__last_name"]),
            "visits": row["visits"],
            "days": row["days"],
            "per_day": round(row["visits"] / row["days"], 2),
        }
        for row in rows
    ]


def visits_per_provider_day(start_date, end_date, location_id=None, provider_id=None):
    """All providers together: visits ÷ provider-days with visits."""
    rows = visits_per_provider_per_day(start_date, end_date, location_id, provider_id)
    if not rows:
        return None
    return round(sum(row["visits"] for row in rows) / sum(row["days"] for row in rows), 2)


def recall_compliance(start_date, end_date, location_id=None, provider_id=None) -> float | None:
    """Recalls due in the period that were booked or completed ÷ recalls due (cancelled ones
    left out), in percent. Recalls have no location, so the location filter does not apply."""
    due = Recall.objects.filter(due_date__gte=start_date, due_date__lte=end_date).exclude(
        status=Recall.Status.CANCELLED
    )
    if provider_id is not None:
        due = due.filter(provider_id=provider_id)
    totals = due.aggregate(
        due=Count("id"),
        kept=Count("id", filter=Q(status__in=(Recall.Status.BOOKED, Recall.Status.COMPLETED))),
    )
    return percent(totals["kept"], totals["due"])


def unsigned_encounter_count(
    start_date, end_date, location_id=None, provider_id=None, *, now=None
) -> int | None:
    """Encounters of the period's visits still unsigned more than CHART_CLOSURE_HOURS after
    checkout (None when the period has no encounters at all)."""
    encounters = Encounter.objects.filter(
        date_of_service__gte=start_date, date_of_service__lte=end_date
    )
    if location_id is not None:
        encounters = encounters.filter(appointment__location_id=location_id)
    if provider_id is not None:
        encounters = encounters.filter(provider_id=provider_id)
    totals = encounters.aggregate(
        total=Count("id"),
        unsigned=Count(
            "id",
            filter=Q(status=Encounter.Status.OPEN, opened_at__lt=chart_closure_cutoff(now)),
        ),
    )
    return totals["unsigned"] if totals["total"] else None
