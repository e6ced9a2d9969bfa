"""Filters of the billing lists: the pages' own FilterSets where the pages list the same
records (payers, service codes, fee schedules, claims), these where they do not."""

import django_filters

from practicedesk.billing.filters import ClaimFilterSet as PageClaimFilterSet
from practicedesk.billing.models import Charge, Claim, Fee
from practicedesk.patients.models import Patient
from practicedesk.scheduling.models import Appointment


class ClaimFilterSet(PageClaimFilterSet):
    """The claim list page's filters, and what an integration also asks by."""

    status = django_filters.MultipleChoiceFilter(choices=Claim.Status.choices)
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    appointment = django_filters.ModelChoiceFilter(queryset=Appointment.objects.all())

    class Meta(PageClaimFilterSet.Meta):
        fields = [*PageClaimFilterSet.Meta.fields, "patient", "appointment"]


class ChargeFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    appointment = django_filters.ModelChoiceFilter(queryset=Appointment.objects.all())
    # Named as the claim list's date-of-service filters.
    serviced_from = django_filters.DateFilter(
        field_name="date_of_service", lookup_expr="gte", label="Date of service from"
    )
    serviced_to = django_filters.DateFilter(
        field_name="date_of_service", lookup_expr="lte", label="Date of service to"
    )

    class Meta:
        model = Charge
        fields = ["patient", "appointment", "serviced_from", "serviced_to", "service_code"]


class FeeFilterSet(django_filters.FilterSet):
    class Meta:
        model = Fee
        fields = ["fee_schedule", "service_code"]
