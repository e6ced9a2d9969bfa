"""The FHIR resource types we serve: where each comes from, who may read it, how it is searched."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import NotFound

from practicedesk.api.fhir import mappers
from practicedesk.api.fhir.search import (
    DATE_FIELD_LOOKUPS,
    SearchError,
    date_bound,
    numeric_id,
    plain_date,
    reference_id,
    token,
    values,
)
from practicedesk.core.models import Location
from practicedesk.patients.models import Patient
from practicedesk.scheduling.availability import open_slots
from practicedesk.scheduling.models import Appointment, AppointmentType, Provider

MAX_SLOT_DAYS = 31
DEFAULT_SLOT_DAYS = 7


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str


def any_of(params, name: str, condition) -> Q | None:
    """AND across repeats of a parameter, OR across its comma-separated values."""
    combined = None
    for raw in params.getlist(name):
        alternatives = Q()
        for value in (part.strip() for part in raw.split(",")):
            if value:
                alternatives |= condition(value)
        combined = alternatives if combined is None else combined & alternatives
    return combined


def boolean(name: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise SearchError(f"{name} is true or false, not {value!r}.")
    return value == "true"


class FhirResource:
    type: str = ""
    area: str = ""
    read_areas: tuple[str, ...] = ()
    audited = False
    params: tuple[SearchParam, ...] = ()

    @property
    def supported(self) -> set[str]:
        return {param.name for param in self.params}

    def not_found(self, id: str) -> NotFound:
        return NotFound(f"{self.type}/{id} is not known here.")

    def get(self, id: str):
        raise NotImplementedError

    def search(self, params, count: int, offset: int) -> tuple[int, list]:
        raise NotImplementedError

    def to_fhir(self, obj) -> dict:
        raise NotImplementedError

    def object_id(self, obj) -> str:
        return str(obj.pk)


class ModelResource(FhirResource):
    """A resource backed by one model: filters build a queryset, paging slices it."""

    def get_queryset(self):
        raise NotImplementedError

    def get(self, id: str):
        if not id.isdigit():
            raise self.not_found(id)
        obj = self.get_queryset().filter(pk=int(id)).first()
        if obj is None:
            raise self.not_found(id)
        return obj

    def filter(self, queryset, params):
        for name in self.supported:
            method = getattr(self, f"filter_{name.lstrip('_').replace('-', '_')}", None)
            if method is not None and name in params:
                queryset = method(queryset, params)
        return queryset

    def filter_id(self, queryset, params):
        condition = any_of(params, "_id", lambda v: Q(pk=numeric_id("_id", v, self.type)))
        return queryset.filter(condition)

    def search(self, params, count, offset):
        queryset = self.filter(self.get_queryset(), params)
        total = queryset.count()
        return total, list(queryset[offset : offset + count])


ID_PARAM = SearchParam("_id", "token", "The resource id.")


class PatientResource(ModelResource):
    type = "Patient"
    area = "patients"
    audited = True
    params = (
        ID_PARAM,
        SearchParam("family", "string", "Legal last name starts with (case-insensitive)."),
        SearchParam("given", "string", "First, middle or preferred name starts with."),
        SearchParam("name", "string", "Any part of the name contains."),
        SearchParam("birthdate", "date", "Date of birth, YYYY-MM-DD; eq/ge/gt/le/lt prefixes."),
        SearchParam("identifier", "token", f"The MRN, as {mappers.MRN_SYSTEM}|value or value."),
        SearchParam("gender", "token", "female, male or unknown (sex at birth)."),
        SearchParam("active", "token", "true or false."),
    )

    def get_queryset(self):
        return Patient.objects.all()

    def to_fhir(self, obj):
        return mappers.patient_resource(obj)

    def filter_family(self, queryset, params):
        return queryset.filter(any_of(params, "family", lambda v: Q(last_name__istartswith=v)))

    def filter_given(self, queryset, params):
        def condition(value):
            return (
                Q(first_name__istartswith=value)
                | Q(middle_name__istartswith=value)
                | Q(preferred_name__istartswith=value)
            )

        return queryset.filter(any_of(params, "given", condition))

    def filter_name(self, queryset, params):
        return queryset.filter(any_of(params, "name", lambda v: Q(search_name__icontains=v)))

    def filter_birthdate(self, queryset, params):
        def condition(value):
            prefix, day = plain_date("birthdate", value)
            return Q(**{f"date_of_birth{DATE_FIELD_LOOKUPS[prefix]}": day})

        return queryset.filter(any_of(params, "birthdate", condition))

    def filter_identifier(self, queryset, params):
        def condition(value):
            system, code = token(value)
            if system not in (None, mappers.MRN_SYSTEM):
                return Q(pk__in=[])
            return Q(mrn=code)

        return queryset.filter(any_of(params, "identifier", condition))

    def filter_gender(self, queryset, params):
        ours = {theirs: code for code, theirs in mappers.GENDER.items()}

        def condition(value):
            if value not in ours:
                raise SearchError(f"gender is female, male or unknown, not {value!r}.")
            return Q(sex_at_birth=ours[value])

        return queryset.filter(any_of(params, "gender", condition))

    def filter_active(self, queryset, params):
        live = Q(status=Patient.Status.ACTIVE)
        return queryset.filter(
            any_of(params, "active", lambda v: live if boolean("active", v) else ~live)
        )


class PractitionerResource(ModelResource):
    type = "Practitioner"
    area = "scheduling"
    params = (
        ID_PARAM,
        SearchParam("identifier", "token", f"The NPI, as {mappers.NPI_SYSTEM}|value or value."),
        SearchParam("family", "string", "Last name starts with."),
        SearchParam("name", "string", "First or last name starts with."),
        SearchParam("active", "token", "true or false."),
    )

    def get_queryset(self):
        return Provider.objects.all()

    def to_fhir(self, obj):
        return mappers.practitioner_resource(obj)

    def filter_identifier(self, queryset, params):
        def condition(value):
            system, code = token(value)
            if system not in (None, mappers.NPI_SYSTEM):
                return Q(pk__in=[])
            return Q(npi=code)

        return queryset.filter(any_of(params, "identifier", condition))

    def filter_family(self, queryset, params):
        return queryset.filter(any_of(params, "family", lambda v: Q(last_name__istartswith=v)))

    def filter_name(self, queryset, params):
        return queryset.filter(
            any_of(
                params,
                "name",
                lambda v: Q(last_name__istartswith=v) | Q(first_name__istartswith=v),
            )
        )

    def filter_active(self, queryset, params):
        return queryset.filter(
            any_of(params, "active", lambda v: Q(is_active=boolean("active", v)))
        )


class LocationResource(ModelResource):
    type = "Location"
    area = "administration"
    read_areas = ("scheduling",)
    params = (
        ID_PARAM,
        SearchParam("name", "string", "Name starts with."),
        SearchParam(
            "identifier",
            "token",
            f"The location code ({mappers.LOCATION_CODE_SYSTEM}|code) or its NPI.",
        ),
        SearchParam("address-city", "string", "City starts with."),
        SearchParam("address-state", "string", "Two-letter state."),
        SearchParam("status", "token", "active or inactive."),
    )

    def get_queryset(self):
        return Location.objects.all()

    def to_fhir(self, obj):
        return mappers.location_resource(obj)

    def filter_name(self, queryset, params):
        return queryset.filter(any_of(params, "name", lambda v: Q(name__istartswith=v)))

    def filter_identifier(self, queryset, params):
        def condition(value):
            system, code = token(value)
            if system == mappers.LOCATION_CODE_SYSTEM:
                return Q(code__iexact=code)
            if system == mappers.NPI_SYSTEM:
                return Q(npi=code)
            if system is None:
                return Q(code__iexact=code) | Q(npi=code)
            return Q(pk__in=[])

        return queryset.filter(any_of(params, "identifier", condition))

    def filter_address_city(self, queryset, params):
        return queryset.filter(any_of(params, "address-city", lambda v: Q(city__istartswith=v)))

    def filter_address_state(self, queryset, params):
        return queryset.filter(any_of(params, "address-state", lambda v: Q(state__iexact=v)))

    def filter_status(self, queryset, params):
        def condition(value):
            if value not in ("active", "inactive"):
                raise SearchError(f"status is active or inactive, not {value!r}.")
            return Q(is_active=value == "active")

        return queryset.filter(any_of(params, "status", condition))


class AppointmentResource(ModelResource):
    type = "Appointment"
    area = "scheduling"
    audited = True
    params = (
        ID_PARAM,
        SearchParam(
            "date",
            "date",
            "Start: a day (YYYY-MM-DD) or date-time, with eq/ge/gt/le/lt prefixes; "
            "repeat for a range (date=ge2025-03-01&date=lt2025-04-01).",
        ),
        SearchParam("patient", "reference", "Patient/id or id."),
        SearchParam("practitioner", "reference", "Practitioner/id or id."),
        SearchParam("location", "reference", "Location/id or id."),
        SearchParam(
            "status",
            "token",
            "booked, arrived, checked-in, fulfilled, cancelled or noshow (comma = any of).",
        ),
    )

    def get_queryset(self):
        return Appointment.objects.select_related(
            "patient", "provider", "location", "appointment_type"
        ).order_by("start", "pk")

    def to_fhir(self, obj):
        return mappers.appointment_resource(obj)

    def filter_date(self, queryset, params):
        for raw in params.getlist("date"):
            queryset = queryset.filter(**date_bound("date", raw).q_lookups("start"))
        return queryset

    def filter_patient(self, queryset, params):
        return queryset.filter(
            any_of(params, "patient", lambda v: Q(patient_id=numeric_id("patient", v, "Patient")))
        )

    def filter_practitioner(self, queryset, params):
        def condition(value):
            return Q(provider_id=numeric_id("practitioner", value, "Practitioner"))

        return queryset.filter(any_of(params, "practitioner", condition))

    def filter_location(self, queryset, params):
        return queryset.filter(
            any_of(
                params, "location", lambda v: Q(location_id=numeric_id("location", v, "Location"))
            )
        )

    def filter_status(self, queryset, params):
        def condition(value):
            ours = mappers.STATUSES_FOR_FHIR.get(value)
            if ours is None:
                known = ", ".join(mappers.STATUSES_FOR_FHIR)
                raise SearchError(f"status {value!r} is not one we use; use one of {known}.")
            return Q(status__in=ours)

        return queryset.filter(any_of(params, "status", condition))


def parse_schedule_id(name: str, value: str) -> tuple[int, int]:
    schedule = reference_id(name, value, "Schedule")
    provider_id, _, location_id = schedule.partition("-")
    if not (provider_id.isdigit() and location_id.isdigit()):
        raise SearchError(f"{name}: a Schedule id is <practitioner>-<location>, e.g. 4-2.")
    return int(provider_id), int(location_id)


ProviderLocation = Provider.locations.through


class ScheduleResource(FhirResource):
    """One schedule per provider and location they work at."""

    type = "Schedule"
    area = "scheduling"
    params = (
        ID_PARAM,
        SearchParam("actor", "reference", "Practitioner/id or Location/id."),
        SearchParam("active", "token", "true or false."),
    )

    def queryset(self):
        return ProviderLocation.objects.select_related("provider", "location").order_by(
            "provider__last_name", "provider__first_name", "provider_id", "location__name"
        )

    def get(self, id):
        try:
            provider_id, location_id = parse_schedule_id("id", id)
        except SearchError as error:
            raise self.not_found(id) from error
        row = self.queryset().filter(provider_id=provider_id, location_id=location_id).first()
        if row is None:
            raise self.not_found(id)
        return row

    def search(self, params, count, offset):
        rows = self.queryset()
        if "_id" in params:

            def by_id(value):
                provider_id, location_id = parse_schedule_id("_id", value)
                return Q(provider_id=provider_id, location_id=location_id)

            rows = rows.filter(any_of(params, "_id", by_id))
        if "actor" in params:

            def by_actor(value):
                kind = value.strip().rstrip("/").split("/")[-2:-1]
                if kind == ["Location"]:
                    return Q(location_id=numeric_id("actor", value, "Location"))
                return Q(provider_id=numeric_id("actor", value, "Practitioner"))

            rows = rows.filter(any_of(params, "actor", by_actor))
        if "active" in params:

            def by_active(value):
                live = Q(provider__is_active=True, location__is_active=True)
                return live if boolean("active", value) else ~live

            rows = rows.filter(any_of(params, "active", by_active))
        total = rows.count()
        return total, list(rows[offset : offset + count])

    def to_fhir(self, obj):
        return mappers.schedule_resource(obj.provider, obj.location)

    def object_id(self, obj):
        return mappers.schedule_id(obj.provider_id, obj.location_id)


@dataclass(frozen=True)
class TypedSlot:
    slot: object
    appointment_type: AppointmentType


class SlotResource(FhirResource):
    """Free slots, computed from working hours, exceptions and bookings when asked for."""

    type = "Slot"
    area = "scheduling"
    params = (
        SearchParam("schedule", "reference", "Schedule/<practitioner>-<location>."),
        SearchParam(
            "start",
            "date",
            "A day, or a range with ge/gt/le/lt prefixes (at most 31 days); "
            "from today for 7 days if absent.",
        ),
        SearchParam(
            "appointment-type",
            "token",
            f"Appointment type id ({mappers.APPOINTMENT_TYPE_SYSTEM}|id); "
            "the shortest active type if absent.",
        ),
        SearchParam("service-type", "token", "Same as appointment-type."),
        SearchParam("status", "token", "Only free slots are published."),
    )

    def appointment_type(self, params) -> AppointmentType | None:
        raw = params.get("appointment-type") or params.get("service-type")
        active = AppointmentType.objects.filter(is_active=True)
        if not raw:
            return active.order_by("duration_minutes", "name").first()
        system, code = token(raw)
        if system not in (None, mappers.APPOINTMENT_TYPE_SYSTEM) or not code.isdigit():
            raise SearchError(
                f"appointment-type is an appointment type id "
                f"({mappers.APPOINTMENT_TYPE_SYSTEM}|id), not {raw!r}."
            )
        found = active.filter(pk=int(code)).first()
        if found is None:
            raise SearchError(f"There is no active appointment type {code}.")
        return found

    def window(self, params) -> tuple[datetime.date, int, list]:
        bounds = [date_bound("start", raw) for raw in params.getlist("start")]
        today = timezone.localdate()
        first, last = today, None
        for bound in bounds:
            if bound.prefix == "eq":
                first = timezone.localdate(bound.start)
                last = timezone.localdate(bound.end - datetime.timedelta(microseconds=1))
            elif bound.prefix in ("ge", "gt"):
                edge = bound.start if bound.prefix == "ge" else bound.end
                first = timezone.localdate(edge)
            else:
                edge = bound.end if bound.prefix == "le" else bound.start
                last = timezone.localdate(edge - datetime.timedelta(microseconds=1))
        if last is None:
            last = first + datetime.timedelta(days=DEFAULT_SLOT_DAYS - 1)
        days = (last - first).days + 1
        if days < 1:
            raise SearchError("start: the range ends before it begins.")
        if days > MAX_SLOT_DAYS:
            raise SearchError(f"start: search at most {MAX_SLOT_DAYS} days of slots at once.")
        return first, days, bounds

    def search(self, params, count, offset):
        provider = location_id = None
        if "schedule" in params:
            provider_id, location_id = parse_schedule_id("schedule", params["schedule"])
            provider = Provider.objects.filter(pk=provider_id).first()
            if provider is None:
                return 0, []
        statuses = values(params, "status")
        if statuses and "free" not in statuses:
            return 0, []
        appointment_type = self.appointment_type(params)
        first, days, bounds = self.window(params)
        if appointment_type is None:
            return 0, []
        slots = open_slots(
            appointment_type=appointment_type,
            location_id=location_id,
            provider=provider,
            first_day=first,
            days=days,
        )
        slots = [slot for slot in slots if all(bound.admits(slot.start) for bound in bounds)]
        page = slots[offset : offset + count]
        return len(slots), [TypedSlot(slot, appointment_type) for slot in page]

    def get(self, id):
        parts = id.split("-")
        if len(parts) != 4 or not all(part.isdigit() for part in parts):
            raise self.not_found(id)
        provider_id, location_id, type_id = (int(part) for part in parts[:3])
        try:
            start = datetime.datetime.strptime(parts[3], mappers.SLOT_ID_TIME).replace(
                tzinfo=datetime.UTC
            )
        except ValueError as error:
            raise self.not_found(id) from error
        provider = Provider.objects.filter(pk=provider_id).first()
        appointment_type = AppointmentType.objects.filter(pk=type_id, is_active=True).first()
        if provider is None or appointment_type is None:
            raise self.not_found(id)
        for slot in open_slots(
            appointment_type=appointment_type,
            location_id=location_id,
            provider=provider,
            first_day=timezone.localdate(start),
            days=1,
        ):
            if slot.start == start:
                return TypedSlot(slot, appointment_type)
        raise NotFound(f"Slot/{id} is not open (taken, closed or past).")

    def to_fhir(self, obj):
        return mappers.slot_resource(obj.slot, obj.appointment_type)

    def object_id(self, obj):
        return mappers.slot_id(obj.slot, obj.appointment_type)


RESOURCES: dict[str, FhirResource] = {
    resource.type: resource
    for resource in (
        PatientResource(),
        PractitionerResource(),
        LocationResource(),
        AppointmentResource(),
        ScheduleResource(),
        SlotResource(),
    )
}
