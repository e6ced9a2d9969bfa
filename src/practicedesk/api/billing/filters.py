"""Filters of the billing lists the pages do not list the same way (charges, claims, fees).

Payers, service codes and fee schedules use the pages' own FilterSets.
"""

import django_filters

from practicedesk.billing.models import Charge, Claim, Fee
from practicedesk.patients.models import Patient, Payer
from practicedesk.scheduling.models import Appointment


class ClaimFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Claim.Status.choices)
    payer = django_filters.ModelChoiceFilter(queryset=Payer.objects.all())
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    appointment = django_filters.ModelChoiceFilter(queryset=Appointment.objects.all())
    date_from = django_filters.DateFilter(
        field_name="date_of_service", lookup_expr="gte", label="Date of service on or after"
    )
    date_to = django_filters.DateFilter(
        field_name="date_of_service", lookup_expr="lte", label="Date of service on or before"
    )
    claim_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Claim
        fields = [
            "status",
            "payer",
            "patient",
            "appointment",
            "date_from",
            "date_to",
            "claim_number",
        ]


class ChargeFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    appointment = django_filters.ModelChoiceFilter(queryset=Appointment.objects.all())
    date_from = django_filters.DateFilter(
        field_name="date_of_service", lookup_expr="gte", label="Date of service on or after"
    )
    date_to = django_filters.DateFilter(
        field_name="date_of_service", lookup_expr="lte", label="Date of service on or before"
    )

    class Meta:
        model = Charge
        fields = ["patient", "appointment", "date_from", "date_to", "service_code"]


class FeeFilterSet(django_filters.FilterSet):
    class Meta:
        model = Fee
        fields = ["fee_schedule", "service_code"]
