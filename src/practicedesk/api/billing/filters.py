"""Filters of the billing lists: the pages' own FilterSets where the pages list the same
records (payers, service codes, fee schedules, claims, payment plans), these where they do
not."""

import django_filters

from practicedesk.billing.filters import ClaimFilterSet as PageClaimFilterSet
from practicedesk.billing.filters import PaymentPlanFilterSet as PagePaymentPlanFilterSet
from practicedesk.billing.models import (
    Charge,
    Claim,
    CollectionCase,
    Fee,
    LedgerEntry,
    Payment,
    PaymentPlan,
    Statement,
)
from practicedesk.core.models import Location
from practicedesk.patients.models import Patient, Payer
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


# Patient accounts


class PaymentFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    payer = django_filters.ModelChoiceFilter(queryset=Payer.objects.all())
    method = django_filters.MultipleChoiceFilter(choices=Payment.Method.choices)
    status = django_filters.ChoiceFilter(choices=Payment.Status.choices)
    location = django_filters.ModelChoiceFilter(queryset=Location.objects.all())
    plan = django_filters.ModelChoiceFilter(queryset=PaymentPlan.objects.all())
    received_from = django_filters.DateFilter(
        field_name="received_on", lookup_expr="gte", label="Received on or after"
    )
    received_to = django_filters.DateFilter(
        field_name="received_on", lookup_expr="lte", label="Received on or before"
    )
    receipt_number = django_filters.CharFilter(lookup_expr="iexact")
    check_number = django_filters.CharFilter()

    class Meta:
        model = Payment
        fields = [
            "patient",
            "payer",
            "method",
            "status",
            "location",
            "plan",
            "received_from",
            "received_to",
            "receipt_number",
            "check_number",
        ]


class AllocationFilterSet(django_filters.FilterSet):
    payment = django_filters.ModelChoiceFilter(queryset=Payment.objects.all())
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    charge = django_filters.ModelChoiceFilter(queryset=Charge.objects.all())
    posted_from = django_filters.DateFilter(
        field_name="posted_on", lookup_expr="gte", label="Posted on or after"
    )
    posted_to = django_filters.DateFilter(
        field_name="posted_on", lookup_expr="lte", label="Posted on or before"
    )

    class Meta:
        model = LedgerEntry
        fields = ["payment", "patient", "charge", "posted_from", "posted_to"]


class PaymentPlanFilterSet(PagePaymentPlanFilterSet):
    """The plan list page's filters, and the patient."""

    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())

    class Meta(PagePaymentPlanFilterSet.Meta):
        fields = [*PagePaymentPlanFilterSet.Meta.fields, "patient"]


class CollectionCaseFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    status = django_filters.ChoiceFilter(choices=CollectionCase.Status.choices)
    stage = django_filters.MultipleChoiceFilter(choices=CollectionCase.Stage.choices)

    class Meta:
        model = CollectionCase
        fields = ["patient", "status", "stage", "disputed"]


class StatementFilterSet(django_filters.FilterSet):
    guarantor = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    dated_from = django_filters.DateFilter(
        field_name="statement_date", lookup_expr="gte", label="Statement dated on or after"
    )
    dated_to = django_filters.DateFilter(
        field_name="statement_date", lookup_expr="lte", label="Statement dated on or before"
    )
    statement_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Statement
        fields = ["guarantor", "run", "delivery", "dated_from", "dated_to", "statement_number"]
