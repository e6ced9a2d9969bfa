"""The records behind scheduling's dashboard figures: the no-shows, the long waits, the
unsigned encounters. Each takes ``(start_date, end_date, location_id=None)`` and returns at
most ``RECORDS_LIMIT`` ``KpiRecord``s, most telling first."""

from django.db.models import DurationField, ExpressionWrapper, F
from django.utils import timezone

from practicedesk.core.kpi import KpiRecord
from practicedesk.patients.models import Patient
from practicedesk.scheduling import selectors
from practicedesk.scheduling.models import Appointment, Encounter, Recall

RECORDS_LIMIT = 200


def _visit_record(appointment: Appointment, detail: str) -> KpiRecord:
    return KpiRecord(
        label=f"{appointment.patient} with {appointment.provider}",
        url=appointment.get_absolute_url(),
        date=timezone.localdate(appointment.start),
        detail=detail,
    )


def no_shows(start_date, end_date, location_id=None) -> list[KpiRecord]:
    visits = (
        selectors.appointments_in(start_date, end_date, location_id)
        .filter(status=Appointment.Status.NO_SHOW)
        .select_related("patient", "provider", "location")
        .order_by("-start")[:RECORDS_LIMIT]
    )
    return [_visit_record(a, f"{a.location}, {timezone.localtime(a.start):%H:%M}") for a in visits]


def late_cancellations(start_date, end_date, location_id=None) -> list[KpiRecord]:
    visits = (
        selectors.appointments_in(start_date, end_date, location_id)
        .filter(status=Appointment.Status.CANCELLED, is_late_cancel=True)
        .select_related("patient", "provider")
        .order_by("-start")[:RECORDS_LIMIT]
    )
    return [_visit_record(a, a.cancel_reason or "no reason given") for a in visits]


def longest_waits(measure: str):
    field = selectors.WAIT_MEASURES[measure]

    def records(start_date, end_date, location_id=None) -> list[KpiRecord]:
        visits = (
            selectors.appointments_in(start_date, end_date, location_id)
            .filter(arrived_at__isnull=False, **{f"{field}__isnull": False})
            .annotate(
                wait=ExpressionWrapper(F(field) - F("arrived_at"), output_field=DurationField())
            )
            .select_related("patient", "provider")
            .order_by("-wait", "pk")[:RECORDS_LIMIT]
        )
        return [_visit_record(a, f"{selectors.minutes_of(a.wait)} min") for a in visits]

    return records


def unsigned_encounters(start_date, end_date, location_id=None) -> list[KpiRecord]:
    encounters = Encounter.objects.filter(
        date_of_service__gte=start_date,
        date_of_service__lte=end_date,
        status=Encounter.Status.OPEN,
        opened_at__lt=selectors.chart_closure_cutoff(),
    )
    if location_id is not None:
        encounters = encounters.filter(appointment__location_id=location_id)
    encounters = encounters.select_related("patient", "provider").order_by("opened_at")
    return [
        KpiRecord(
            label=f"{encounter.patient} with {encounter.provider}",
            url=encounter.get_absolute_url(),
            date=encounter.date_of_service,
            detail="unsigned",
        )
        for encounter in encounters[:RECORDS_LIMIT]
    ]


def recalls_missed(start_date, end_date, location_id=None) -> list[KpiRecord]:
    recalls = (
        Recall.objects.filter(
            due_date__gte=start_date, due_date__lte=end_date, status=Recall.Status.OPEN
        )
        .select_related("patient")
        .order_by("due_date", "pk")[:RECORDS_LIMIT]
    )
    return [
        KpiRecord(
            label=str(recall.patient),
            url=recall.get_absolute_url(),
            date=recall.due_date,
            detail=f"{recall.reason}: not booked",
        )
        for recall in recalls
    ]


def new_patients(start_date, end_date, location_id=None) -> list[KpiRecord]:
    low, high = selectors.period_bounds(start_date, end_date)
    patients = Patient.objects.filter(created_at__gte=low, created_at__lt=high).exclude(
        status=Patient.Status.MERGED
    )
    if location_id is not None:
        patients = patients.filter(home_location_id=location_id)
    return [
        KpiRecord(
            label=str(patient),
            url=patient.get_absolute_url(),
            date=timezone.localdate(patient.created_at),
            detail="registered",
        )
        for patient in patients.order_by("-created_at")[:RECORDS_LIMIT]
    ]
