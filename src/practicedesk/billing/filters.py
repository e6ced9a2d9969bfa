"""Billing list filters (one FilterSet per model, for pages and the API alike)."""

import django_filters
from django import forms
from django.db.models import Q

from practicedesk.billing.models import (
    Claim,
    ClaimBatch,
    CollectionCase,
    EligibilityCheck,
    FeeSchedule,
    FinancialAssistanceApproval,
    FinancialAssistanceBand,
    PaymentPlan,
    ReconciliationItem,
    Remittance,
    ServiceCode,
    StatementRun,
    Underpayment,
)
from practicedesk.core.filters import SearchFilterSet
from practicedesk.patients.models import Payer
from practicedesk.scheduling.models import Appointment, Provider

# Remittances (835), reconciliation, underpayments


class RemittanceFilterSet(SearchFilterSet):
    search_fields = ("trace_number", "payer_name", "lines__claim_number")
    payer = django_filters.ModelChoiceFilter(queryset=Payer.objects.all(), label="Payer")

    class Meta:
        model = Remittance
        fields = ["q", "payer"]

    def search(self, queryset, name, value):
        return super().search(queryset, name, value).distinct()


class ReconciliationItemFilterSet(SearchFilterSet):
    search_fields = ("claim_number", "description", "remittance__trace_number")
    status = django_filters.ChoiceFilter(
        choices=ReconciliationItem.Status.choices, empty_label="Any status"
    )

    class Meta:
        model = ReconciliationItem
        fields = ["q", "status"]


class UnderpaymentFilterSet(SearchFilterSet):
    search_fields = ("claim__claim_number", "remittance_line__procedure_code")
    status = django_filters.ChoiceFilter(
        choices=Underpayment.Status.choices, empty_label="Any status"
    )
    payer = django_filters.ModelChoiceFilter(
        field_name="claim__payer", queryset=Payer.objects.all(), label="Payer"
    )

    class Meta:
        model = Underpayment
        fields = ["q", "status", "payer"]


# Service codes, fee schedules, eligibility


class ServiceCodeFilterSet(SearchFilterSet):
    search_fields = ("code", "description")

    class Meta:
        model = ServiceCode
        fields = ["q", "is_active"]


class FeeScheduleFilterSet(SearchFilterSet):
    search_fields = ("name", "payer__name")
    practice_only = django_filters.BooleanFilter(
        field_name="payer", lookup_expr="isnull", label="The practice's own"
    )
    payer = django_filters.ModelChoiceFilter(queryset=Payer.objects.all(), label="Payer")

    class Meta:
        model = FeeSchedule
        fields = ["q", "practice_only", "payer"]


class EligibilityCheckFilterSet(SearchFilterSet):
    search_fields = (
        "trace_number",
        "coverage__member_id",
        "coverage__patient__last_name",
        "coverage__patient__mrn",
    )
    status = django_filters.ChoiceFilter(
        choices=EligibilityCheck.Status.choices, empty_label="Any status"
    )
    payer = django_filters.ModelChoiceFilter(
        field_name="coverage__payer", queryset=Payer.objects.all(), label="Payer"
    )
    appointment_from = django_filters.DateFilter(
        field_name="appointment__start",
        lookup_expr="date__gte",
        label="Appointments from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    appointment_to = django_filters.DateFilter(
        field_name="appointment__start",
        lookup_expr="date__lte",
        label="Appointments to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = EligibilityCheck
        fields = ["q", "status", "payer", "appointment_from", "appointment_to"]


class VisitToBillFilterSet(SearchFilterSet):
    search_fields = ("patient__last_name", "patient__first_name", "patient__mrn")
    provider = django_filters.ModelChoiceFilter(queryset=Provider.objects.all(), label="Provider")
    visit_from = django_filters.DateFilter(
        field_name="start",
        lookup_expr="date__gte",
        label="Visits from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    visit_to = django_filters.DateFilter(
        field_name="start",
        lookup_expr="date__lte",
        label="Visits to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Appointment
        fields = ["q", "provider", "location", "visit_from", "visit_to"]


# Claims and claim batches (837P)


class ClaimFilterSet(SearchFilterSet):
    search_fields = (
        "claim_number",
        "patient__last_name",
        "patient__first_name",
        "patient__mrn",
    )
    status = django_filters.ChoiceFilter(choices=Claim.Status.choices, empty_label="Any status")
    payer = django_filters.ModelChoiceFilter(queryset=Payer.objects.all(), label="Payer")
    serviced_from = django_filters.DateFilter(
        field_name="date_of_service",
        lookup_expr="gte",
        label="Date of service from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    serviced_to = django_filters.DateFilter(
        field_name="date_of_service",
        lookup_expr="lte",
        label="to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Claim
        fields = ["q", "status", "payer", "serviced_from", "serviced_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["q"].field.help_text = "Claim number, patient name or MRN"

    def search(self, queryset, name, value):
        value = value.strip()
        words = value.split()
        if len(words) > 1:
            # "Last, First" or "First Last": every word must match the patient's name.
            for word in words:
                word = word.strip(",")
                queryset = queryset.filter(
                    Q(patient__last_name__icontains=word) | Q(patient__first_name__icontains=word)
                )
            return queryset
        return super().search(queryset, name, value)


class ClaimBatchFilterSet(SearchFilterSet):
    search_fields = ("claims__claim_number",)
    payer = django_filters.ModelChoiceFilter(queryset=Payer.objects.all(), label="Payer")

    class Meta:
        model = ClaimBatch
        fields = ["q", "payer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["q"].field.help_text = "A claim number in the batch"

    def search(self, queryset, name, value):
        return super().search(queryset, name, value).distinct()


# Payment plans, financial assistance


class PaymentPlanFilterSet(SearchFilterSet):
    search_fields = ("patient__search_name", "patient__mrn")
    status = django_filters.ChoiceFilter(
        choices=PaymentPlan.Status.choices, empty_label="Any status"
    )
    frequency = django_filters.ChoiceFilter(
        choices=PaymentPlan.Frequency.choices, empty_label="Any"
    )

    class Meta:
        model = PaymentPlan
        fields = ["q", "status", "frequency"]


class FinancialAssistanceBandFilterSet(SearchFilterSet):
    search_fields = ("name",)

    class Meta:
        model = FinancialAssistanceBand
        fields = ["q", "is_active"]


class FinancialAssistanceApprovalFilterSet(SearchFilterSet):
    search_fields = ("patient__search_name", "patient__mrn")
    band = django_filters.ModelChoiceFilter(
        queryset=FinancialAssistanceBand.objects.all(), label="Band"
    )
    valid_on = django_filters.DateFilter(
        method="filter_valid_on",
        label="Valid on",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = FinancialAssistanceApproval
        fields = ["q", "band", "valid_on"]

    def filter_valid_on(self, queryset, name, value):
        return queryset.filter(valid_from__lte=value, valid_until__gte=value)


# Statements


class StatementRunFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=StatementRun.Status.choices, empty_label="Any status"
    )

    class Meta:
        model = StatementRun
        fields = ["status"]


# Collections


class CollectionCaseFilterSet(SearchFilterSet):
    search_fields = ("patient__search_name", "patient__mrn")
    stage = django_filters.ChoiceFilter(
        choices=CollectionCase.Stage.choices, empty_label="Any stage"
    )
    status = django_filters.ChoiceFilter(
        choices=CollectionCase.Status.choices, empty_label="Open and closed"
    )
    needs = django_filters.ChoiceFilter(
        label="Needs",
        method="filter_needs",
        empty_label="Anything",
        choices=[
            ("disputed", "Disputed"),
            ("broken_promise", "A broken promise"),
            ("write_off", "A write-off to approve"),
            ("agency", "Ready for an agency"),
        ],
    )

    class Meta:
        model = CollectionCase
        fields = ["q", "stage", "status", "needs"]

    def filter_needs(self, queryset, name, value):
        from practicedesk.billing.collections import ready_for_agency

        if value == "disputed":
            return queryset.filter(disputed=True)
        if value == "broken_promise":
            return queryset.filter(broken_promise=True)
        if value == "write_off":
            return queryset.filter(write_off_pending=True)
        if value == "agency":
            return queryset.filter(ready_for_agency())
        return queryset
