"""The KPI registry: every installed app's ``kpis.py`` collected into one list of ``Kpi``.

Apps declare their figures with ``core.kpi.Kpi``. An app that still declares its own
dataclass (scheduling's ``KpiDeclaration``: key, name, definition, unit, good direction,
selector, shape) is read by its attributes, and what it does not declare yet (the role area,
default targets and their sources, the records behind the number) comes from ``EXTRAS``
below, keyed by KPI key.
"""

import dataclasses
from decimal import Decimal
from functools import cache
from importlib import import_module

from django.apps import apps
from django.db.models import DurationField, ExpressionWrapper, F
from django.utils import timezone

from practicedesk.core.kpi import GOOD_DIRECTIONS, SHAPES, Kpi, KpiRecord
from practicedesk.core.roles import AREAS
from practicedesk.patients.models import Patient
from practicedesk.scheduling import selectors as scheduling
from practicedesk.scheduling.models import Appointment, Encounter, Recall

RECORDS_LIMIT = 200
D = Decimal


# The records behind scheduling's figures.


def _visit_record(appointment: Appointment, detail: str) -> KpiRecord:
    return KpiRecord(
        label=f"{appointment.patient} with {appointment.provider}",
        url=appointment.get_absolute_url(),
        date=timezone.localdate(appointment.start),
        detail=detail,
    )


def no_shows(start_date, end_date, location_id=None) -> list[KpiRecord]:
    visits = (
        scheduling.appointments_in(start_date, end_date, location_id)
        .filter(status=Appointment.Status.NO_SHOW)
        .select_related("patient", "provider", "location")
        .order_by("-start")[:RECORDS_LIMIT]
    )
    return [_visit_record(a, f"{a.location}, {timezone.localtime(a.start):%H:%M}") for a in visits]


def late_cancellations(start_date, end_date, location_id=None) -> list[KpiRecord]:
    visits = (
        scheduling.appointments_in(start_date, end_date, location_id)
        .filter(status=Appointment.Status.CANCELLED, is_late_cancel=True)
        .select_related("patient", "provider")
        .order_by("-start")[:RECORDS_LIMIT]
    )
    return [_visit_record(a, a.cancel_reason or "no reason given") for a in visits]


def longest_waits(measure: str):
    field = scheduling.WAIT_MEASURES[measure]

    def records(start_date, end_date, location_id=None) -> list[KpiRecord]:
        visits = (
            scheduling.appointments_in(start_date, end_date, location_id)
            .filter(arrived_at__isnull=False, **{f"{field}__isnull": False})
            .annotate(
                wait=ExpressionWrapper(F(field) - F("arrived_at"), output_field=DurationField())
            )
            .select_related("patient", "provider")
            .order_by("-wait", "pk")[:RECORDS_LIMIT]
        )
        return [_visit_record(a, f"{scheduling.minutes_of(a.wait)} min") for a in visits]

    return records


def unsigned_encounters(start_date, end_date, location_id=None) -> list[KpiRecord]:
    encounters = Encounter.objects.filter(
        date_of_service__gte=start_date,
        date_of_service__lte=end_date,
        status=Encounter.Status.OPEN,
        opened_at__lt=scheduling.chart_closure_cutoff(),
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
    low, high = scheduling.period_bounds(start_date, end_date)
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


PRACTICE_DEFAULT = "Practice default (no single published benchmark); adjust to your practice."
WAIT_DEFAULTS = {
    "arrival_to_roomed": (D("10"), D("15"), D("20"), D("30")),
    "arrival_to_provider": (D("15"), D("20"), D("30"), D("45")),
    "arrival_to_checkout": (D("60"), D("75"), D("90"), D("120")),
}

EXTRAS: dict[str, dict] = {
    "no_show_rate": {
        "default_target": D("5"),
        "default_warning": D("10"),
        "target_source": "MGMA: practice no-show rates average 5–7%; above 10% needs a "
        "reminder and overbooking policy.",
        "drilldown_url_name": "scheduling:appointment_list",
        "records": no_shows,
    },
    "late_cancellation_rate": {
        "default_target": D("5"),
        "default_warning": D("10"),
        "target_source": PRACTICE_DEFAULT,
        "drilldown_url_name": "scheduling:appointment_list",
        "records": late_cancellations,
    },
    "schedule_utilisation": {
        "default_target": D("85"),
        "default_warning": D("75"),
        "target_source": "MGMA: provider schedule (template) utilisation of 85–90%.",
        "drilldown_url_name": "scheduling:calendar",
    },
    "utilisation_by_provider": {"row_label": "provider", "row_value": "utilisation"},
    "new_patients": {
        "area": "patients",
        "target_source": "No default: new-patient volume depends on the practice's size "
        "and growth plan.",
        "drilldown_url_name": "patients:patient_list",
        "records": new_patients,
    },
    "new_patients_by_month": {"area": "patients", "row_label": "month", "row_value": "count"},
    "visits_per_provider_day": {
        "target_source": "No target: more visits a day is not better or worse by itself.",
    },
    "visits_per_provider_per_day": {"row_label": "provider", "row_value": "per_day"},
    "recall_compliance": {
        "default_target": D("80"),
        "default_warning": D("70"),
        "target_source": PRACTICE_DEFAULT,
        "per_location": False,
        "drilldown_url_name": "scheduling:recall_list",
        "records": recalls_missed,
    },
    "unsigned_encounters": {
        "default_target": D("0"),
        "default_warning": D("5"),
        "target_source": "Chart-closure policy: every encounter signed within "
        "CHART_CLOSURE_HOURS (CMS expects timely authentication of records).",
        "drilldown_url_name": "scheduling:encounter_list",
        "records": unsigned_encounters,
    },
    **{
        f"wait_{measure}_{statistic}": {
            "default_target": values[0 if statistic == "average" else 2],
            "default_warning": values[1 if statistic == "average" else 3],
            "target_source": "Press Ganey / Vitals surveys: patients wait about 18–20 minutes "
            "on average; under 15 minutes to the provider is good."
            if measure == "arrival_to_provider"
            else PRACTICE_DEFAULT,
            "drilldown_url_name": "scheduling:flow_board",
            "records": longest_waits(measure),
        }
        for measure, values in WAIT_DEFAULTS.items()
        for statistic in ("average", "p90")
    },
}

DEFAULTS = {field.name: field.default for field in dataclasses.fields(Kpi)}


def adapt(declaration, app_label: str) -> Kpi:
    """A ``Kpi`` from an app's declaration, completed from ``EXTRAS`` where it is silent."""
    extra = EXTRAS.get(declaration.key, {})
    if isinstance(declaration, Kpi):
        kpi = declaration
    else:
        kpi = Kpi(
            key=declaration.key,
            name=declaration.name,
            definition=declaration.definition,
            unit=declaration.unit,
            good_direction=declaration.good_direction,
            selector=declaration.selector,
            area=extra.get("area") or getattr(declaration, "area", app_label),
            shape=getattr(declaration, "shape", "number"),
        )
    missing = {
        name: value
        for name, value in extra.items()
        if name != "area" and getattr(kpi, name) == DEFAULTS.get(name)
    }
    return dataclasses.replace(kpi, **missing) if missing else kpi


def check(kpi: Kpi) -> None:
    problems = []
    if not kpi.key or not kpi.name or not kpi.definition or not kpi.unit:
        problems.append("key, name, definition and unit are required")
    if kpi.good_direction not in GOOD_DIRECTIONS:
        problems.append(f"good_direction must be one of {GOOD_DIRECTIONS}")
    if kpi.shape not in SHAPES:
        problems.append(f"shape must be one of {SHAPES}")
    if kpi.area not in AREAS:
        problems.append(f"area {kpi.area!r} is not a role area")
    if not callable(kpi.selector):
        problems.append("selector must be callable")
    if problems:
        raise ValueError(f"KPI {kpi.key!r}: " + "; ".join(problems))


@cache
def registry() -> tuple[Kpi, ...]:
    kpis: list[Kpi] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("practicedesk."):
            continue
        name = f"{config.name}.kpis"
        try:
            module = import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        for declaration in getattr(module, "KPIS", []):
            kpi = adapt(declaration, config.label)
            check(kpi)
            kpis.append(kpi)
    keys = [kpi.key for kpi in kpis]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"KPI keys declared twice: {', '.join(duplicates)}")
    return tuple(kpis)


def all_kpis() -> list[Kpi]:
    return list(registry())


def kpi_by_key(key: str) -> Kpi | None:
    return next((kpi for kpi in registry() if kpi.key == key), None)
