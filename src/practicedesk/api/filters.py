"""Filters of the REST lists (query parameters, documented in the OpenAPI schema)."""

import django_filters
from django.db.models import Q

from practicedesk.core.models import Location
from practicedesk.patients.models import Coverage, Patient
from practicedesk.patients.selectors import patient_search
from practicedesk.scheduling.models import Appointment, AppointmentType, Provider


class PatientFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label='As the patients page searches: a name fragment ("smi", "smith jo"), a date of '
        "birth, an MRN or a phone number",
    )
    last_name = django_filters.CharFilter(lookup_expr="istartswith")
    first_name = django_filters.CharFilter(lookup_expr="istartswith")
    date_of_birth = django_filters.DateFilter()
    mrn = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=Patient.Status.choices)

    class Meta:
        model = Patient
        fields = ["q", "last_name", "first_name", "date_of_birth", "mrn", "status"]

    def search(self, queryset, name, value):
        return patient_search(value, queryset)


class CoverageFilterSet(django_filters.FilterSet):
    active_on = django_filters.DateFilter(method="filter_active_on", label="Active on date")

    class Meta:
        model = Coverage
        fields = ["patient", "payer", "order", "active_on"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(effective_date__lte=value).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=value)
        )


class ProviderFilterSet(django_filters.FilterSet):
    location = django_filters.ModelChoiceFilter(
        field_name="locations", queryset=Location.objects.all()
    )
    npi = django_filters.CharFilter()

    class Meta:
        model = Provider
        fields = ["location", "npi", "is_active", "specialty"]


class LocationFilterSet(django_filters.FilterSet):
    class Meta:
        model = Location
        fields = ["code", "state", "is_active"]


class AppointmentTypeFilterSet(django_filters.FilterSet):
    class Meta:
        model = AppointmentType
        fields = ["is_active", "patient_kind"]


class AppointmentFilterSet(django_filters.FilterSet):
    date = django_filters.DateFilter(field_name="start", lookup_expr="date", label="On date")
    date_from = django_filters.DateFilter(
        field_name="start", lookup_expr="date__gte", label="On or after date"
    )
    date_to = django_filters.DateFilter(
        field_name="start", lookup_expr="date__lte", label="On or before date"
    )
    status = django_filters.MultipleChoiceFilter(choices=Appointment.Status.choices)

    class Meta:
        model = Appointment
        fields = [
            "date",
            "date_from",
            "date_to",
            "patient",
            "provider",
            "location",
            "appointment_type",
            "status",
        ]
