"""Follow-up pages: the waitlist and the slots it is offered, recalls, chart closure (unsigned
encounters), records requests, and the public page behind a reminder email's link.

Every write goes through a service in ``scheduling.services``; the forms, filters and tables
of these pages live here with them.
"""

from urllib.parse import urlencode

import django_filters
import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views import View
from django.views.generic import TemplateView

from practicedesk.core.models import Location, Organization
from practicedesk.core.permissions import can
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectListView
from practicedesk.patients.models import Patient
from practicedesk.patients.selectors import patient_search, patients_for_user
from practicedesk.scheduling import selectors, services
from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Encounter,
    Provider,
    Recall,
    RecordsRequest,
    ScheduleTemplate,
    WaitlistEntry,
)

WEEKDAY_NAMES = dict(ScheduleTemplate.Weekday.choices)
STATUS_BADGES = {
    "waiting": "badge-info",
    "offered": "badge-warn",
    "booked": "badge-ok",
    "removed": "badge-muted",
    "open": "badge-info",
    "completed": "badge-ok",
    "cancelled": "badge-muted",
    "signed": "badge-ok",
    "received": "badge-info",
    "in_progress": "badge-warn",
    "fulfilled": "badge-ok",
    "denied": "badge-muted",
}


def booking_url(**params) -> str | None:
    """The booking page, prefilled; None while that page does not exist."""
    try:
        url = reverse("scheduling:book")
    except NoReverseMatch:
        return None
    query = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def slot_booking_url(appointment: Appointment, patient: Patient, **extra) -> str | None:
    return booking_url(
        provider=appointment.provider_id,
        location=appointment.location_id,
        start=timezone.localtime(appointment.start).strftime("%Y-%m-%dT%H:%M"),
        appointment_type=appointment.appointment_type_id,
        patient=patient.pk,
        **extra,
    )


def status_badge(record) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        STATUS_BADGES.get(record.status, "badge-muted"),
        record.get_status_display(),
    )


def action_links(*links: tuple[str, str]) -> str:
    shown = [(url, label) for url, label in links if url]
    if not shown:
        return "—"
    return format_html_join(" ", '<a class="btn btn-small" href="{}">{}</a>', shown)


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# Forms.


class PatientMrnField(forms.CharField):
    """A patient picked by MRN (the number on every chart and label); cleans to the Patient."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Patient MRN")
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", "The medical record number, e.g. from the patient's page.")
        super().__init__(**kwargs)
        self.queryset = Patient.objects.all()

    def clean(self, value):
        mrn = super().clean(value).strip().upper()
        patient = self.queryset.filter(mrn=mrn).select_related("merged_into").first()
        if patient is None:
            raise ValidationError(f"No patient has the MRN {mrn}.")
        if patient.status == Patient.Status.MERGED:
            raise ValidationError(
                f"{mrn} was merged into {patient.merged_into}; use that record's MRN."
            )
        return patient


class PatientFormMixin:
    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["patient"].queryset = patients_for_user(user)


class WaitlistEntryForm(PatientFormMixin, forms.Form):
    patient = PatientMrnField()
    appointment_type = forms.ModelChoiceField(
        AppointmentType.objects.filter(is_active=True), label="Appointment type"
    )
    location = forms.ModelChoiceField(Location.objects.filter(is_active=True))
    provider = forms.ModelChoiceField(
        Provider.objects.filter(is_active=True), required=False, empty_label="Any provider"
    )
    preferred_weekdays = forms.MultipleChoiceField(
        choices=[(str(day), name) for day, name in WEEKDAY_NAMES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: any day.",
    )
    time_of_day = forms.ChoiceField(
        choices=WaitlistEntry.TimeOfDay.choices, initial=WaitlistEntry.TimeOfDay.ANY
    )
    wanted_before = forms.DateField(
        widget=date_input(),
        help_text="The patient's current appointment date, or the latest date that helps.",
    )
    notes = forms.CharField(max_length=200, required=False)


class RecallForm(PatientFormMixin, forms.Form):
    patient = PatientMrnField()
    reason = forms.CharField(
        max_length=200, help_text="e.g. Annual physical, 6-month diabetes check."
    )
    appointment_type = forms.ModelChoiceField(
        AppointmentType.objects.filter(is_active=True), label="Appointment type"
    )
    provider = forms.ModelChoiceField(
        Provider.objects.filter(is_active=True), required=False, empty_label="Any provider"
    )
    due_date = forms.DateField(widget=date_input())


class RecordsRequestForm(PatientFormMixin, forms.Form):
    patient = PatientMrnField()
    requested_by = forms.CharField(
        max_length=120, help_text="The patient, or who asks on their behalf (and their authority)."
    )
    received_date = forms.DateField(widget=date_input(), initial=timezone.localdate)
    notes = forms.CharField(max_length=200, required=False)


class FulfilForm(forms.Form):
    fulfilled_date = forms.DateField(
        widget=date_input(), initial=timezone.localdate, label="Date the copy was provided"
    )


class DenyForm(forms.Form):
    reason = forms.CharField(
        max_length=180, widget=forms.Textarea(attrs={"rows": 3}), help_text="The patient is told."
    )


# Filters.


class PatientSearchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Patient")

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(patient__in=patient_search(value).values("pk"))


class WaitlistFilterSet(PatientSearchFilterSet):
    status = django_filters.ChoiceFilter(choices=WaitlistEntry.Status.choices)
    location = django_filters.ModelChoiceFilter(queryset=Location.objects.all())
    provider = django_filters.ModelChoiceFilter(queryset=Provider.objects.all())
    appointment_type = django_filters.ModelChoiceFilter(
        queryset=AppointmentType.objects.all(), label="Type"
    )

    class Meta:
        model = WaitlistEntry
        fields = ["q", "status", "location", "provider", "appointment_type"]


class OverdueFilter(django_filters.BooleanFilter):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Overdue")
        kwargs.setdefault(
            "widget",
            forms.Select(choices=[("", "Any"), ("true", "Overdue only"), ("false", "Not overdue")]),
        )
        super().__init__(**kwargs)


class RecallFilterSet(PatientSearchFilterSet):
    status = django_filters.ChoiceFilter(choices=Recall.Status.choices)
    overdue = OverdueFilter(method="filter_overdue")
    provider = django_filters.ModelChoiceFilter(queryset=Provider.objects.all())
    appointment_type = django_filters.ModelChoiceFilter(
        queryset=AppointmentType.objects.all(), label="Type"
    )
    due_from = django_filters.DateFilter(
        field_name="due_date", lookup_expr="gte", label="Due from", widget=date_input()
    )
    due_to = django_filters.DateFilter(
        field_name="due_date", lookup_expr="lte", label="Due to", widget=date_input()
    )

    class Meta:
        model = Recall
        fields = ["q", "status", "overdue", "provider", "appointment_type"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = selectors.recalls_overdue().values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)


class EncounterFilterSet(PatientSearchFilterSet):
    provider = django_filters.ModelChoiceFilter(queryset=Provider.objects.all())

    class Meta:
        model = Encounter
        fields = ["q", "provider"]


class RecordsRequestFilterSet(PatientSearchFilterSet):
    status = django_filters.ChoiceFilter(choices=RecordsRequest.Status.choices)
    overdue = OverdueFilter(method="filter_overdue")

    class Meta:
        model = RecordsRequest
        fields = ["q", "status", "overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = selectors.records_requests_overdue().values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)


# Tables.


class ActionsColumn(tables.Column):
    def __init__(self, **kwargs):
        kwargs.update(empty_values=(), orderable=False, exclude_from_export=True)
        kwargs.setdefault("verbose_name", "")
        super().__init__(**kwargs)


class FollowupTable(tables.Table):
    """Action links show only to roles that may change scheduling records."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.may_change = bool(request) and can(request.user, "scheduling", "change")

    def render_status(self, record):
        return status_badge(record)

    def value_status(self, record):
        return record.get_status_display()


class WaitlistTable(FollowupTable):
    patient = tables.Column(linkify=True)
    provider = tables.Column(default="Any")
    preferred_weekdays = tables.Column(verbose_name="Days", default="Any")
    created_at = tables.DateTimeColumn(verbose_name="Added", format="Y-m-d")
    wanted_before = tables.DateColumn(verbose_name="Wants a slot before", format="Y-m-d")
    actions = ActionsColumn()

    class Meta:
        model = WaitlistEntry
        fields = (
            "patient",
            "appointment_type",
            "provider",
            "location",
            "preferred_weekdays",
            "time_of_day",
            "wanted_before",
            "status",
            "created_at",
        )
        order_by = ("wanted_before",)

    def render_preferred_weekdays(self, value):
        return ", ".join(WEEKDAY_NAMES[int(day)][:3] for day in value.split(",") if day)

    def value_preferred_weekdays(self, value):
        return self.render_preferred_weekdays(value) or "Any"

    def render_actions(self, record):
        links = []
        if record.status == WaitlistEntry.Status.OFFERED and record.offered_appointment:
            links.append(
                (
                    reverse("scheduling:waitlist_slot", args=[record.offered_appointment_id]),
                    "Offered slot",
                )
            )
        if self.may_change and record.status in (
            WaitlistEntry.Status.WAITING,
            WaitlistEntry.Status.OFFERED,
        ):
            links.append((reverse("scheduling:waitlist_remove", args=[record.pk]), "Remove"))
        return action_links(*links)


class RecallTable(FollowupTable):
    patient = tables.Column(linkify=True)
    provider = tables.Column(default="Any")
    due_date = tables.DateColumn(format="Y-m-d")
    appointment = tables.Column(linkify=True, verbose_name="Booked visit")
    actions = ActionsColumn()

    class Meta:
        model = Recall
        fields = (
            "patient",
            "reason",
            "appointment_type",
            "provider",
            "due_date",
            "status",
            "appointment",
        )

    def render_due_date(self, record, value):
        if record.status == Recall.Status.OPEN and value < timezone.localdate():
            return format_html('{} <span class="badge badge-bad">Overdue</span>', value)
        return value

    def render_actions(self, record):
        if record.status != Recall.Status.OPEN or not self.may_change:
            return "—"
        book = booking_url(
            patient=record.patient_id,
            appointment_type=record.appointment_type_id,
            provider=record.provider_id,
            recall=record.pk,
        )
        return action_links(
            (book, "Book"), (reverse("scheduling:recall_cancel", args=[record.pk]), "Cancel")
        )


class EncounterTable(FollowupTable):
    date_of_service = tables.DateColumn(verbose_name="Visit date", format="Y-m-d")
    patient = tables.Column(linkify=True)
    opened_at = tables.DateTimeColumn(verbose_name="Checked out", format="Y-m-d H:i")
    waiting = tables.Column(empty_values=(), orderable=False, verbose_name="Unsigned for")
    actions = ActionsColumn()

    class Meta:
        model = Encounter
        fields = ("date_of_service", "patient", "provider", "opened_at", "status")
        sequence = ("date_of_service", "patient", "provider", "opened_at", "waiting", "status")

    def render_waiting(self, record):
        hours = int((timezone.now() - record.opened_at).total_seconds() // 3600)
        return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"

    def value_waiting(self, record):
        return int((timezone.now() - record.opened_at).total_seconds() // 3600)

    def render_actions(self, record):
        if not self.may_change or record.status != Encounter.Status.OPEN:
            return "—"
        return action_links((reverse("scheduling:encounter_sign", args=[record.pk]), "Sign"))


class RecordsRequestTable(FollowupTable):
    patient = tables.Column(linkify=True)
    received_date = tables.DateColumn(format="Y-m-d")
    due_date = tables.DateColumn(format="Y-m-d")
    fulfilled_date = tables.DateColumn(format="Y-m-d")
    actions = ActionsColumn()

    class Meta:
        model = RecordsRequest
        fields = (
            "patient",
            "requested_by",
            "received_date",
            "due_date",
            "status",
            "fulfilled_date",
            "notes",
        )

    def render_due_date(self, record, value):
        if record.status in selectors.RECORDS_REQUEST_OPEN and value < timezone.localdate():
            return format_html('{} <span class="badge badge-bad">Overdue</span>', value)
        return value

    def render_actions(self, record):
        if not self.may_change or record.status not in selectors.RECORDS_REQUEST_OPEN:
            return "—"
        links = []
        if record.status == RecordsRequest.Status.RECEIVED:
            links.append((reverse("scheduling:records_request_start", args=[record.pk]), "Start"))
        links.append((reverse("scheduling:records_request_fulfil", args=[record.pk]), "Fulfil"))
        links.append((reverse("scheduling:records_request_deny", args=[record.pk]), "Deny"))
        return action_links(*links)


# Page bases.


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def redirect_to(request, url: str):
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class ServiceFormView(AreaPermissionMixin, View):
    """A create page whose save is a service call; the service's refusals show on the form."""

    action = "add"
    form_class: type[forms.Form]
    title = ""
    success_message = ""
    cancel_url_name = ""

    def get_initial(self) -> dict:
        initial = {}
        patient_id = self.request.GET.get("patient", "")
        if patient_id.isdigit():
            patient = patients_for_user(self.request.user).filter(pk=patient_id).first()
            if patient is not None:
                initial["patient"] = patient.mrn
        return initial

    def get_form(self, data=None):
        return self.form_class(data, initial=self.get_initial(), user=self.request.user)

    def get(self, request, *args, **kwargs):
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                created = self.perform(form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, self.success_message)
                return redirect_to(request, created.get_absolute_url())
        return self.render(form, status=422 if request.htmx else 200)

    def perform(self, data: dict):
        raise NotImplementedError

    def render(self, form, status=200):
        template = "core/partials/form.html" if self.request.htmx else "core/object_edit.html"
        context = {
            "form": form,
            "object": None,
            "title": self.title,
            "cancel_url": reverse(self.cancel_url_name),
            "view": self,
        }
        return TemplateResponse(self.request, template, context, status=status)


class RecordActionView(AreaPermissionMixin, View):
    """Asks (GET), then does one service action on one record (POST)."""

    action = "change"
    model: type
    form_class: type[forms.Form] | None = None
    template_name = "scheduling/followup/action_confirm.html"
    verb = ""
    question = ""
    button_class = "btn-primary"
    success_message = ""

    def get_queryset(self):
        return self.model._default_manager.all()

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_form(self, data=None):
        return self.form_class(data) if self.form_class else None

    def get(self, request, *args, **kwargs):
        return self.render(self.get_object(), self.get_form())

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        form = self.get_form(request.POST)
        if form is None or form.is_valid():
            try:
                self.perform(obj, form.cleaned_data if form else {})
            except ValidationError as error:
                if form is None:
                    messages.error(request, " ".join(error.messages))
                    return HttpResponseRedirect(self.get_success_url(obj))
                add_service_errors(form, error)
            else:
                messages.success(request, self.success_message)
                return HttpResponseRedirect(self.get_success_url(obj))
        return self.render(obj, form)

    def perform(self, obj, data: dict) -> None:
        raise NotImplementedError

    def get_success_url(self, obj) -> str:
        return obj.get_absolute_url()

    def get_details(self, obj) -> list[tuple[str, object]]:
        return []

    def render(self, obj, form):
        context = {
            "object": obj,
            "form": form,
            "title": f"{self.verb}: {obj}",
            "question": self.question,
            "verb": self.verb,
            "button_class": self.button_class,
            "details": self.get_details(obj),
            "cancel_url": self.get_success_url(obj),
        }
        return TemplateResponse(self.request, self.template_name, context)


# Waitlist.


class WaitlistView(ObjectListView):
    area = "scheduling"
    model = WaitlistEntry
    title = "Waitlist"
    template_name = "scheduling/followup/waitlist_list.html"
    table_class = WaitlistTable
    filterset_class = WaitlistFilterSet
    create_url_name = "scheduling:waitlist_create"

    def get_queryset(self):
        return selectors.waitlist_entries().order_by("wanted_before", "created_at")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["freed_slots"] = selectors.freed_slots_upcoming()
        return context


class WaitlistEntryCreateView(ServiceFormView):
    area = "scheduling"
    model = WaitlistEntry
    form_class = WaitlistEntryForm
    title = "Add to the waitlist"
    success_message = "Added to the waitlist."
    cancel_url_name = "scheduling:waitlist"

    def perform(self, data):
        return services.waitlist_add(
            acting_user=self.request.user,
            patient=data["patient"],
            appointment_type=data["appointment_type"],
            location=data["location"],
            provider=data["provider"],
            preferred_weekdays=",".join(data["preferred_weekdays"]),
            time_of_day=data["time_of_day"],
            wanted_before=data["wanted_before"],
            notes=data["notes"],
        )


class WaitlistSlotView(AreaPermissionMixin, TemplateView):
    """The time a cancellation freed: who on the waitlist would take it, offers, booking."""

    area = "scheduling"
    model = Appointment
    template_name = "scheduling/followup/waitlist_slot.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        appointment = get_object_or_404(
            Appointment.objects.restrict(self.request.user).select_related(
                "provider", "location", "appointment_type"
            ),
            pk=self.kwargs["pk"],
        )
        found = selectors.waitlist_for_slot(appointment)
        is_open = (
            appointment.status in Appointment.RELEASED_STATUSES
            and appointment.start > timezone.now()
        )
        context.update(
            title=f"Freed slot {timezone.localtime(appointment.start):%a %b %d, %H:%M}",
            slot=appointment,
            is_open=is_open,
            matches=found["matches"] if is_open else [],
            offered=[
                (entry, slot_booking_url(appointment, entry.patient, waitlist=entry.pk))
                for entry in found["offered"]
            ],
        )
        return context


class WaitlistOfferView(AreaPermissionMixin, View):
    area = "scheduling"
    action = "change"
    model = WaitlistEntry

    def get(self, request, pk):
        return HttpResponseRedirect(reverse("scheduling:waitlist"))

    def post(self, request, pk):
        entry = get_object_or_404(selectors.waitlist_entries(), pk=pk)
        appointment_id = request.POST.get("appointment", "")
        appointment = get_object_or_404(
            Appointment.objects.restrict(request.user),
            pk=appointment_id if appointment_id.isdigit() else 0,
        )
        try:
            services.waitlist_offer(acting_user=request.user, entry=entry, appointment=appointment)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"Marked as offered to {entry.patient.display_name}. Call them, then book the "
                "slot if they take it.",
            )
        return HttpResponseRedirect(reverse("scheduling:waitlist_slot", args=[appointment.pk]))


class WaitlistRemoveView(RecordActionView):
    area = "scheduling"
    model = WaitlistEntry
    verb = "Remove from the waitlist"
    question = "Take this patient off the waitlist? The entry is kept, marked removed."
    button_class = "btn-danger"
    success_message = "Removed from the waitlist."

    def perform(self, obj, data):
        services.waitlist_remove(acting_user=self.request.user, entry=obj)


# Recalls.


class RecallListView(ObjectListView):
    area = "scheduling"
    model = Recall
    title = "Recalls"
    table_class = RecallTable
    filterset_class = RecallFilterSet
    create_url_name = "scheduling:recall_create"

    def get_queryset(self):
        return selectors.recalls()


class RecallCreateView(ServiceFormView):
    area = "scheduling"
    model = Recall
    form_class = RecallForm
    title = "New recall"
    success_message = "Recall saved."
    cancel_url_name = "scheduling:recall_list"

    def perform(self, data):
        return services.recall_create(acting_user=self.request.user, **data)


class RecallCancelView(RecordActionView):
    area = "scheduling"
    model = Recall
    verb = "Cancel recall"
    question = "The patient is no longer due for this visit (moved away, seen elsewhere...)."
    button_class = "btn-danger"
    success_message = "Recall cancelled."

    def perform(self, obj, data):
        services.recall_cancel(acting_user=self.request.user, recall=obj)


# Encounters: chart closure.


class EncounterListView(ObjectListView):
    area = "scheduling"
    model = Encounter
    title = "Unsigned encounters"
    template_name = "scheduling/followup/encounter_list.html"
    table_class = EncounterTable
    filterset_class = EncounterFilterSet

    def get_queryset(self):
        return selectors.encounters_unsigned_overdue()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["by_provider"] = selectors.chart_closure_by_provider()
        context["lag_hours"] = settings.CHART_CLOSURE_HOURS
        return context


class EncounterSignView(RecordActionView):
    area = "scheduling"
    model = Encounter
    verb = "Sign encounter"
    question = "Sign this visit's documentation as complete? The signature records you and now."
    success_message = "Encounter signed."

    def get_queryset(self):
        return Encounter.objects.select_related("patient", "provider")

    def get_details(self, obj):
        return [
            ("Patient", obj.patient),
            ("Provider", obj.provider),
            ("Visit date", obj.date_of_service),
            ("Checked out", timezone.localtime(obj.opened_at)),
            ("Status", obj.get_status_display()),
        ]

    def perform(self, obj, data):
        services.encounter_sign(acting_user=self.request.user, encounter=obj)

    def get_success_url(self, obj):
        return reverse("scheduling:encounter_list")


# Records requests.


class RecordsRequestListView(ObjectListView):
    area = "scheduling"
    model = RecordsRequest
    title = "Records requests"
    table_class = RecordsRequestTable
    filterset_class = RecordsRequestFilterSet
    create_url_name = "scheduling:records_request_create"

    def get_queryset(self):
        return selectors.records_requests()


class RecordsRequestCreateView(ServiceFormView):
    area = "scheduling"
    model = RecordsRequest
    form_class = RecordsRequestForm
    title = "New records request"
    success_message = "Records request logged; it is due in 30 days."
    cancel_url_name = "scheduling:records_request_list"

    def perform(self, data):
        return services.records_request_create(acting_user=self.request.user, **data)


class RecordsRequestActionView(RecordActionView):
    area = "scheduling"
    model = RecordsRequest

    def get_queryset(self):
        return selectors.records_requests()

    def get_details(self, obj):
        return [
            ("Patient", obj.patient),
            ("Requested by", obj.requested_by),
            ("Received", obj.received_date),
            ("Due", obj.due_date),
            ("Status", obj.get_status_display()),
        ]


class RecordsRequestStartView(RecordsRequestActionView):
    verb = "Start work on the request"
    question = "Mark this request as in progress."
    success_message = "Marked in progress."

    def perform(self, obj, data):
        services.records_request_start(acting_user=self.request.user, records_request=obj)


class RecordsRequestFulfilView(RecordsRequestActionView):
    form_class = FulfilForm
    verb = "Fulfil the request"
    question = "Record the date the copy of the records was provided."
    success_message = "Request fulfilled."

    def perform(self, obj, data):
        services.records_request_fulfil(
            acting_user=self.request.user,
            records_request=obj,
            fulfilled_date=data["fulfilled_date"],
        )


class RecordsRequestDenyView(RecordsRequestActionView):
    form_class = DenyForm
    verb = "Deny the request"
    question = "Deny only on a ground the law allows; the reason is kept with the request."
    button_class = "btn-danger"
    success_message = "Request denied."

    def perform(self, obj, data):
        services.records_request_deny(
            acting_user=self.request.user, records_request=obj, reason=data["reason"]
        )


# The public page of a reminder email's link (no sign-in).


class ReminderRespondView(View):
    """Confirm or cancel one visit from a reminder email, without signing in.

    It shows only the date, time and place: the link may have been forwarded. An unknown,
    used or expired link gets the same polite page, so the page reveals nothing either.
    """

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "no-referrer"
        return response

    def page(self, template: str, status: int = 200, **context):
        organization = Organization.objects.first()
        context.setdefault("practice_name", organization.name if organization else "the practice")
        context.setdefault("phone", organization.phone if organization else "")
        context.setdefault("title", "Your appointment")
        return TemplateResponse(
            self.request, f"scheduling/followup/{template}", context, status=status
        )

    def gone(self):
        return self.page("reminder_invalid.html", status=410, title="This link no longer works")

    def get(self, request, token):
        reminder = selectors.reminder_token_usable(token)
        if reminder is None:
            return self.gone()
        appointment = reminder.appointment
        return self.page(
            "reminder_respond.html",
            start=timezone.localtime(appointment.start),
            location=appointment.location,
            phone=appointment.location.phone,
        )

    def post(self, request, token):
        action = request.POST.get("action", "")
        if action not in services.REMINDER_ACTIONS:
            return self.get(request, token)
        try:
            appointment = services.reminder_token_use(token=token, action=action)
        except ValidationError:
            return self.gone()
        return self.page(
            "reminder_done.html",
            title="Appointment confirmed" if action == "confirm" else "Appointment cancelled",
            action=action,
            start=timezone.localtime(appointment.start),
            location=appointment.location,
            phone=appointment.location.phone,
        )
