"""Booking, the appointment's page and what is done to it: reschedule, cancel, no-show.

Views only validate and orchestrate: every decision (availability, conflicts, coverage,
overbook permission) is the booking service's, and its ValidationError is shown next to the
field it names. A refused booking books nothing.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from practicedesk.core.models import AuditEvent, Location
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectDetailView, ObjectListView
from practicedesk.patients.models import Coverage, Patient
from practicedesk.patients.selectors import patient_search
from practicedesk.scheduling.availability import next_open_slot
from practicedesk.scheduling.filters import AppointmentFilterSet
from practicedesk.scheduling.forms import (
    DATETIME_FORMAT,
    BookingForm,
    CancelForm,
    NextSlotForm,
    RescheduleForm,
    add_service_errors,
)
from practicedesk.scheduling.models import Appointment, FlowEvent
from practicedesk.scheduling.services import (
    FLOW_NEXT,
    OPEN_STATUSES,
    appointment_book,
    appointment_book_recurring,
    appointment_cancel,
    appointment_no_show,
    appointment_reschedule,
    recall_book,
    waitlist_book,
)
from practicedesk.scheduling.tables import AppointmentTable

AREA = "scheduling"
BOOKING_PARAMS = (
    "patient",
    "provider",
    "location",
    "appointment_type",
    "start",
    "room",
    "coverage",
    "reason",
    "recall",
    "waitlist",
)
MAX_SUGGESTIONS = 10
ACTION_LABELS = {
    Appointment.Status.CONFIRMED: "Confirm",
    Appointment.Status.ARRIVED: "Arrived",
    Appointment.Status.ROOMED: "Roomed",
    Appointment.Status.WITH_PROVIDER: "With provider",
    Appointment.Status.CHECKED_OUT: "Check out",
}


def appointment_title(appointment: Appointment) -> str:
    """The appointment as people say it, in local time (the model's str is for logs)."""
    start = timezone.localtime(appointment.start)
    return (
        f"{appointment.appointment_type} with {appointment.provider}, "
        f"{start:%a %b} {start.day} at {start:%H:%M}"
    )


def appointments_for_user(user):
    return Appointment.objects.restrict(user).select_related(
        "patient", "provider", "location", "room", "appointment_type", "coverage__payer"
    )


def redirect_back(request, default: str) -> HttpResponseRedirect:
    """Back to the page the action was started from (today, the board), if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


def booking_url(**params) -> str:
    clean = {key: value for key, value in params.items() if value not in (None, "")}
    return reverse("scheduling:book") + ("?" + urlencode(clean) if clean else "")


def local_input(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime(DATETIME_FORMAT)


class AppointmentBookView(AreaPermissionMixin, View):
    area = AREA
    action = "add"
    template_name = "scheduling/book.html"

    def get_form(self, data=None):
        may_overbook = can(self.request.user, AREA, "approve")
        if data is not None:
            return BookingForm(data, may_overbook=may_overbook)
        initial = {
            key: self.request.GET[key] for key in BOOKING_PARAMS if self.request.GET.get(key)
        }
        return BookingForm(initial=initial, may_overbook=may_overbook)

    def get(self, request, *args, **kwargs):
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                booked = self.book(form)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                first = booked[0]
                if len(booked) > 1:
                    dates = ", ".join(f"{timezone.localtime(a.start):%b %d}" for a in booked)
                    messages.success(request, f"Booked {len(booked)} appointments: {dates}.")
                else:
                    messages.success(
                        request,
                        f"Booked {first.patient.display_name} with {first.provider} on "
                        f"{timezone.localtime(first.start):%a %b %d at %H:%M}"
                        + (" (overbooked)." if first.is_overbook else "."),
                    )
                return HttpResponseRedirect(first.get_absolute_url())
        return self.render(form, status=422 if request.htmx else 200)

    def book(self, form) -> list[Appointment]:
        data = form.cleaned_data
        common = {
            "acting_user": self.request.user,
            "patient": data["patient"],
            "provider": data["provider"],
            "location": data["location"],
            "appointment_type": data["appointment_type"],
            "start": data["start"],
            "room": data["room"],
            "coverage": data["coverage"],
            "reason": data["reason"],
        }
        if form.is_recurring:
            return appointment_book_recurring(
                **common, notes=data["notes"], every_weeks=data["every_weeks"], count=data["count"]
            )
        if data.get("recall"):
            del common["patient"]
            return [recall_book(**common, recall=data["recall"], notes=data["notes"])]
        if data.get("waitlist"):
            for key in ("patient", "location", "appointment_type"):
                del common[key]
            return [waitlist_book(**common, entry=data["waitlist"])]
        return [
            appointment_book(
                **common,
                notes=data["notes"],
                overbook_reason=data.get("overbook_reason", ""),
            )
        ]

    def render(self, form, status=200):
        patient = form.chosen_patient
        context = {
            "title": "Book an appointment",
            "form": form,
            "patient": patient,
            "may_overbook": form.may_overbook,
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)


class PatientSuggestView(AreaPermissionMixin, View):
    """Patients matching the booking page's search box, as choices (htmx fragment)."""

    area = AREA
    action = "add"

    def get(self, request, *args, **kwargs):
        query = request.GET.get("patient_q", "").strip()
        patients = []
        if len(query) >= 2:
            patients = list(
                patient_search(query, Patient.objects.restrict(request.user))
                .select_related("merged_into")
                .order_by("last_name", "first_name")[:MAX_SUGGESTIONS]
            )
        if patients:
            audit_event_record(
                action=AuditEvent.Action.READ,
                request=request,
                name="patient_search",
                detail={"query": query[:60], "patients": [p.pk for p in patients]},
            )
        return TemplateResponse(
            request,
            "scheduling/partials/patient_choices.html",
            {"patients": patients, "query": query},
        )


class CoverageOptionsView(AreaPermissionMixin, View):
    """The chosen patient's coverages as <option>s for the booking form (htmx fragment)."""

    area = AREA
    action = "add"

    def get(self, request, *args, **kwargs):
        patient_id = request.GET.get("patient", "")
        coverages = []
        if patient_id.isdigit():
            coverages = list(
                Coverage.objects.filter(patient_id=patient_id)
                .select_related("payer")
                .order_by("order", "-effective_date")
            )
        today = timezone.localdate()
        options = [(coverage, coverage.is_active_on(today)) for coverage in coverages]
        chosen = next((c for c, active in options if active), None)
        return TemplateResponse(
            request,
            "scheduling/partials/coverage_options.html",
            {"options": options, "chosen": chosen},
        )


class NextSlotView(AreaPermissionMixin, View):
    """The next open slot for a type at a location, with one provider or any (htmx fragment)."""

    area = AREA
    action = "add"

    def get(self, request, *args, **kwargs):
        form = NextSlotForm(request.GET)
        context = {"form": form, "slot": None, "horizon_days": settings.SLOT_SEARCH_DAYS}
        if form.is_valid():
            data = form.cleaned_data
            now = timezone.now()
            not_before = max(now, data["after"] or data["start"] or now)
            provider = None if data["any_provider"] else data["provider"]
            slot = next_open_slot(
                appointment_type=data["appointment_type"],
                location_id=data["location"].pk,
                provider=provider,
                not_before=not_before,
            )
            context["slot"] = slot
            context["searched"] = {**data, "provider": provider}
            if slot is not None:
                context["slot_location"] = Location.objects.filter(pk=slot.location_id).first()
                keep = {key: request.GET.get(key, "") for key in ("patient", "coverage", "reason")}
                context["use_url"] = booking_url(
                    **keep,
                    provider=slot.provider.pk,
                    location=slot.location_id,
                    appointment_type=data["appointment_type"].pk,
                    start=local_input(slot.start),
                )
                later = request.GET.copy()
                later["after"] = local_input(slot.end)
                context["later_query"] = later.urlencode()
        return TemplateResponse(request, "scheduling/partials/next_slot.html", context)


class AppointmentListView(ObjectListView):
    area = AREA
    queryset = Appointment.objects.select_related(
        "patient", "provider", "location", "appointment_type"
    )
    table_class = AppointmentTable
    filterset_class = AppointmentFilterSet
    create_url_name = "scheduling:book"


class AppointmentDetailView(ObjectDetailView):
    """The appointment (an audited read of patient data), its flow trail and its actions."""

    area = AREA
    queryset = Appointment.objects.select_related(
        "patient",
        "provider",
        "location",
        "room",
        "appointment_type",
        "coverage__payer",
        "booked_by",
    )
    template_name = "scheduling/appointment_detail.html"

    def get_context_data(self, **kwargs):
        from practicedesk.scheduling.views.calendar import types_stylesheet_url

        context = super().get_context_data(**kwargs)
        appointment = self.object
        user = self.request.user
        may_change = can(user, AREA, "change")
        is_open = appointment.status in OPEN_STATUSES
        context.update(
            {
                "appointment": appointment,
                "flow_events": FlowEvent.objects.filter(appointment=appointment).select_related(
                    "by"
                ),
                "title": appointment_title(appointment),
                "next_statuses": [
                    (status, ACTION_LABELS[status])
                    for status in FLOW_NEXT.get(appointment.status, ())
                ]
                if may_change
                else [],
                "can_reschedule": may_change and is_open,
                "can_cancel": may_change and is_open,
                "can_no_show": may_change and is_open and appointment.start <= timezone.now(),
                "waits": [
                    ("Arrival to roomed", appointment.wait_to_roomed),
                    ("Arrival to provider", appointment.wait_to_provider),
                    ("Arrival to check-out", appointment.arrival_to_checkout),
                ],
                "series_count": Appointment.objects.filter(series_id=appointment.series_id).count()
                if appointment.series_id
                else 0,
                "types_css_url": types_stylesheet_url(),
            }
        )
        return context


class AppointmentActionMixin(AreaPermissionMixin):
    """An action on one appointment, fetched through the user's restricted queryset."""

    area = AREA
    action = "change"
    model = Appointment

    def get_appointment(self) -> Appointment:
        return get_object_or_404(appointments_for_user(self.request.user), pk=self.kwargs["pk"])


class AppointmentRescheduleView(AppointmentActionMixin, View):
    template_name = "scheduling/appointment_reschedule.html"

    def get(self, request, *args, **kwargs):
        appointment = self.get_appointment()
        form = RescheduleForm(
            appointment=appointment,
            initial={"start": timezone.localtime(appointment.start)},
        )
        return self.render(appointment, form)

    def post(self, request, *args, **kwargs):
        appointment = self.get_appointment()
        form = RescheduleForm(request.POST, appointment=appointment)
        if form.is_valid():
            try:
                appointment = appointment_reschedule(
                    acting_user=request.user,
                    appointment=appointment,
                    start=form.cleaned_data["start"],
                    provider=form.cleaned_data["provider"],
                    room=form.cleaned_data["room"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    f"Moved to {timezone.localtime(appointment.start):%a %b %d at %H:%M} "
                    f"with {appointment.provider}.",
                )
                return HttpResponseRedirect(appointment.get_absolute_url())
        return self.render(appointment, form, status=422 if request.htmx else 200)

    def render(self, appointment, form, status=200):
        context = {
            "title": f"Reschedule {appointment_title(appointment)}",
            "appointment": appointment,
            "form": form,
            "cancel_url": appointment.get_absolute_url(),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)


class AppointmentCancelView(AppointmentActionMixin, View):
    template_name = "scheduling/appointment_cancel.html"

    def get(self, request, *args, **kwargs):
        appointment = self.get_appointment()
        return self.render(appointment, CancelForm())

    def post(self, request, *args, **kwargs):
        appointment = self.get_appointment()
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                appointment, matches = appointment_cancel(
                    acting_user=request.user,
                    appointment=appointment,
                    reason=form.cleaned_data["cancel_reason"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                offers = [
                    (
                        entry,
                        booking_url(
                            patient=entry.patient_id,
                            provider=appointment.provider_id,
                            location=appointment.location_id,
                            appointment_type=entry.appointment_type_id,
                            start=local_input(appointment.start),
                        ),
                    )
                    for entry in matches
                ]
                return TemplateResponse(
                    request,
                    "scheduling/appointment_cancelled.html",
                    {
                        "title": "Appointment cancelled",
                        "appointment": appointment,
                        "offers": offers,
                    },
                )
        return self.render(appointment, form, status=422 if request.htmx else 200)

    def render(self, appointment, form, status=200):
        window = datetime.timedelta(hours=settings.LATE_CANCEL_HOURS)
        context = {
            "title": f"Cancel {appointment_title(appointment)}",
            "appointment": appointment,
            "form": form,
            "will_be_late": appointment.start - timezone.now() < window,
            "late_hours": settings.LATE_CANCEL_HOURS,
            "cancel_url": appointment.get_absolute_url(),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)


class AppointmentNoShowView(AppointmentActionMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        appointment = self.get_appointment()
        try:
            appointment_no_show(acting_user=request.user, appointment=appointment)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{appointment.patient.display_name} marked as no-show.")
        return redirect_back(request, appointment.get_absolute_url())
