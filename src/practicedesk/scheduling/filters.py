import django_filters
from django import forms

from practicedesk.core.filters import SearchFilterSet
from practicedesk.core.models import Location
from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Provider,
    Room,
    ScheduleException,
)


class ProviderFilterSet(SearchFilterSet):
    search_fields = ("first_name", "last_name", "npi", "specialty", "taxonomy_code")
    location = django_filters.ModelChoiceFilter(
        field_name="locations", queryset=Location.objects.all(), label="Location"
    )

    class Meta:
        model = Provider
        fields = ["q", "location", "is_active"]


class RoomFilterSet(SearchFilterSet):
    search_fields = ("name",)

    class Meta:
        model = Room
        fields = ["q", "location", "is_active"]


class AppointmentTypeFilterSet(SearchFilterSet):
    search_fields = ("name",)

    class Meta:
        model = AppointmentType
        fields = ["q", "patient_kind", "needs_room", "is_active"]


class ScheduleExceptionFilterSet(SearchFilterSet):
    search_fields = ("reason",)
    ends_after = django_filters.DateFilter(
        field_name="end",
        lookup_expr="date__gte",
        label="Ends on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = ScheduleException
        fields = ["q", "kind", "provider", "location", "ends_after"]


class AppointmentFilterSet(SearchFilterSet):
    search_fields = ("patient__search_name", "patient__mrn", "reason")
    date_from = django_filters.DateFilter(
        field_name="start",
        lookup_expr="date__gte",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="start",
        lookup_expr="date__lte",
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Appointment
        fields = ["q", "date_from", "date_to", "provider", "location", "status", "is_overbook"]
