"""The day at the front desk: today's list and the patient-flow board.

Every move along the flow goes through ``appointment_advance``, which stamps the time and who
did it. The board refreshes itself every 15 seconds (htmx, with the X-Poll header so the idle
logoff does not count the refresh as someone at the keyboard).
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from practicedesk.core.models import Location
from practicedesk.core.permissions import can
from practicedesk.core.reversing import url_for_each
from practicedesk.core.views.generic import AreaPermissionMixin
from practicedesk.patients.models import PatientAlert
from practicedesk.scheduling.availability import local_datetime
from practicedesk.scheduling.board import board_drawn
from practicedesk.scheduling.models import Appointment, FlowEvent
from practicedesk.scheduling.services import FLOW_NEXT, FLOW_TIMESTAMP, appointment_advance
from practicedesk.scheduling.views.booking import (
    ACTION_LABELS,
    AppointmentActionMixin,
    redirect_back,
)
from practicedesk.scheduling.views.calendar import types_stylesheet_url, user_location

AREA = "scheduling"
Status = Appointment.Status
BOARD_STATUSES = (
    Status.SCHEDULED,
    Status.CONFIRMED,
    Status.ARRIVED,
    Status.ROOMED,
    Status.WITH_PROVIDER,
    Status.CHECKED_OUT,
)
# The statuses in which a patient sits and waits for the next person to come for them.
WAITING_STATUSES = (Status.ARRIVED, Status.ROOMED)


def todays_appointments(location, *, with_released: bool = False):
    """Today's visits at a location, with everything a card or a row shows, in one query
    (plus one for the patients' active alerts); ``last_step_by`` names who moved each visit
    last (the board refreshes every 15 seconds on every screen: no flow trail is loaded)."""
    today = timezone.localdate()
    last_step = FlowEvent.objects.filter(appointment=OuterRef("pk")).order_by("-at", "-pk")
    queryset = (
        Appointment.objects.filter(
            location=location,
            start__gte=local_datetime(today, datetime.time.min),
            start__lt=local_datetime(today + datetime.timedelta(days=1), datetime.time.min),
        )
        .select_related("patient", "provider", "appointment_type", "room")
        .prefetch_related(
            Prefetch(
                "patient__alerts",
                queryset=PatientAlert.objects.filter(is_active=True).order_by("-created_at"),
                to_attr="active_alerts",
            ),
        )
        .annotate(
            last_step_by=Subquery(
                last_step.annotate(
                    name=Coalesce(
                        NullIf(
                            Trim(Concat("by__first_name", Value(" "), "by__last_name")),
                            Value(""),
                        ),
                        "by__username",
                    )
                ).values("name")[:1]
            )
        )
        .order_by("start", "provider__last_name")
    )
    if not with_released:
        queryset = queryset.booked()
    return list(queryset)


def next_actions(appointment) -> list[tuple[str, str]]:
    return [(status, ACTION_LABELS[status]) for status in FLOW_NEXT.get(appointment.status, ())]


@dataclass
class Card:
    appointment: Appointment
    minutes: int | None
    since_label: str
    waiting_long: bool
    last_by: str
    actions: list[tuple[str, str]]
    url: str = ""
    advance_url: str = ""


def card_for(appointment: Appointment, now, limit: int, urls=None) -> Card:
    field = FLOW_TIMESTAMP.get(appointment.status)
    since = getattr(appointment, field) if field else None
    minutes = Appointment.minutes_between(since, now) if since else None
    label = ""
    if appointment.status in (Status.SCHEDULED, Status.CONFIRMED):
        late = Appointment.minutes_between(appointment.start, now)
        label = f"late {late} min" if late and late > 0 else ""
    elif appointment.status == Status.CHECKED_OUT:
        total = appointment.arrival_to_checkout
        label = f"visit {total} min" if total is not None else ""
    elif minutes is not None:
        label = (
            f"waiting {minutes} min"
            if appointment.status in WAITING_STATUSES
            else (f"{minutes} min")
        )
    return Card(
        appointment=appointment,
        minutes=minutes,
        since_label=label,
        waiting_long=appointment.status in WAITING_STATUSES
        and minutes is not None
        and minutes > limit,
        last_by=appointment.last_step_by or "",
        actions=next_actions(appointment),
        url=urls[0](appointment.pk) if urls else appointment.get_absolute_url(),
        advance_url=urls[1](appointment.pk)
        if urls
        else reverse("scheduling:appointment_advance", args=[appointment.pk]),
    )


def board_context(request, location) -> dict:
    now = timezone.now()
    limit = settings.FLOW_WAIT_LIMIT_MINUTES
    appointments = todays_appointments(location, with_released=True) if location else []
    urls = (
        url_for_each(lambda pk: reverse("scheduling:appointment_detail", args=[pk])),
        url_for_each(lambda pk: reverse("scheduling:appointment_advance", args=[pk])),
    )
    columns = []
    for status in BOARD_STATUSES:
        cards = [card_for(a, now, limit, urls) for a in appointments if a.status == status]
        if status == Status.CHECKED_OUT:
            # The latest departures first: the morning's visits sink to the bottom.
            cards.sort(key=lambda card: card.appointment.checked_out_at or now, reverse=True)
        columns.append({"status": status, "label": Status(status).label, "cards": cards})
    released = [a for a in appointments if a.status in Appointment.RELEASED_STATUSES]
    return {
        "location": location,
        "columns": columns,
        "released": released,
        "wait_limit": limit,
        "long_waits": sum(1 for c in columns for card in c["cards"] if card.waiting_long),
        "can_change": can(request.user, AREA, "change"),
        "board_url": reverse("scheduling:flow_board")
        + (f"?location={location.pk}" if location else ""),
        "updated_at": now,
    }


class LocationChoiceMixin:
    def get_location_context(self) -> dict:
        locations = list(Location.objects.filter(is_active=True).order_by("name"))
        return {"locations": locations, "location": user_location(self.request, locations)}


class TodayView(AreaPermissionMixin, LocationChoiceMixin, TemplateView):
    """The front desk's home for the day: today's visits at one location, in time order."""

    area = AREA
    template_name = "scheduling/today.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.get_location_context())
        location = context["location"]
        now = timezone.now()
        appointments = todays_appointments(location, with_released=True) if location else []
        rows = [
            {
                "appointment": appointment,
                "actions": next_actions(appointment),
                "can_no_show": appointment.status in (Status.SCHEDULED, Status.CONFIRMED)
                and appointment.start <= now,
            }
            for appointment in appointments
        ]
        context.update(
            {
                "title": "Today",
                "today": timezone.localdate(),
                "rows": rows,
                "booked_count": sum(
                    1 for a in appointments if a.status not in Appointment.RELEASED_STATUSES
                ),
                "can_change": can(self.request.user, AREA, "change"),
                "can_add": can(self.request.user, AREA, "add"),
                "here": self.request.get_full_path(),
                "types_css_url": types_stylesheet_url(),
            }
        )
        return context


class FlowBoardView(AreaPermissionMixin, LocationChoiceMixin, TemplateView):
    """Columns by status; an htmx request (the 15-second poll) gets just the board."""

    area = AREA
    template_name = "scheduling/flow_board.html"
    partial_template_name = "scheduling/partials/flow_board.html"

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        if request.htmx and not request.htmx.boosted:
            return HttpResponse(context["board"])
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.get_location_context())
        location = context["location"]
        can_change = can(self.request.user, AREA, "change")

        def draw() -> str:
            return render_to_string(
                self.partial_template_name, board_context(self.request, location)
            )

        context["board"] = board_drawn(location.pk, can_change, draw) if location else draw()
        context["title"] = "Patient flow"
        context["types_css_url"] = types_stylesheet_url()
        return context


class AppointmentAdvanceView(AppointmentActionMixin, View):
    """Move a visit one step along the flow; from the board (htmx) the board comes back."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        appointment = self.get_appointment()
        to_status = request.POST.get("to_status", "")
        error_text = ""
        try:
            if to_status not in Status.values:
                raise ValidationError("Choose where the visit moves to.")
            appointment = appointment_advance(
                acting_user=request.user, appointment=appointment, to_status=to_status
            )
        except ValidationError as error:
            error_text = " ".join(error.messages)
        if request.htmx and request.POST.get("board"):
            context = board_context(request, appointment.location)
            context["board_error"] = error_text
            return TemplateResponse(request, "scheduling/partials/flow_board.html", context)
        if error_text:
            messages.error(request, error_text)
        else:
            messages.success(
                request,
                f"{appointment.patient.display_name}: {appointment.get_status_display().lower()}.",
            )
        return redirect_back(request, appointment.get_absolute_url())
