"""The calendar: day and week, per location (a column per provider) or per provider.

The whole page is a fixed handful of queries, however busy the day: the locations, the types,
the providers, the ``AvailabilityBook`` (templates, exceptions, booked time) and one query for
the appointments shown.
"""

import datetime
import hashlib
from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views import View
from django.views.generic import TemplateView

from practicedesk.core.models import Location
from practicedesk.core.views.generic import AreaPermissionMixin
from practicedesk.scheduling.availability import AvailabilityBook, local_datetime, providers_for
from practicedesk.scheduling.calendar import build_grid, stylesheet
from practicedesk.scheduling.forms import DATETIME_FORMAT
from practicedesk.scheduling.models import Appointment, AppointmentType, Provider

AREA = "scheduling"


def types_version(types: list[tuple[int, str]]) -> str:
    return hashlib.sha256(repr(sorted(types)).encode()).hexdigest()[:12]


def types_stylesheet_url(types: list[tuple[int, str]] | None = None) -> str:
    """The generated stylesheet's URL, versioned by the type colours so a change shows at once."""
    if types is None:
        types = list(AppointmentType.objects.values_list("pk", "colour"))
    return reverse("scheduling:types_css") + "?v=" + types_version(types)


class AppointmentTypeStylesheetView(AreaPermissionMixin, View):
    """Type colours and grid positions as classes: the CSP allows no inline styles."""

    area = AREA

    def get(self, request, *args, **kwargs):
        types = list(AppointmentType.objects.values_list("pk", "colour"))
        response = HttpResponse(stylesheet(types), content_type="text/css; charset=utf-8")
        response["ETag"] = f'"{types_version(types)}"'
        if request.GET.get("v") == types_version(types):
            patch_cache_control(response, private=True, max_age=7 * 24 * 3600)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        return response


def user_location(request, locations: list[Location]) -> Location | None:
    """The location asked for, else the user's home location, else the first one."""
    wanted = request.GET.get("location", "")
    by_id = {str(location.pk): location for location in locations}
    if wanted in by_id:
        return by_id[wanted]
    home = getattr(request.user, "home_location_id", None)
    if home is not None and str(home) in by_id:
        return by_id[str(home)]
    return locations[0] if locations else None


def chosen_day(request) -> datetime.date:
    try:
        return datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.localdate()


class CalendarView(AreaPermissionMixin, TemplateView):
    area = AREA
    template_name = "scheduling/calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        locations = list(Location.objects.filter(is_active=True).order_by("name"))
        location = user_location(request, locations)
        all_types = list(AppointmentType.objects.order_by("name"))
        types = [t for t in all_types if t.is_active]
        chosen_type = next((t for t in types if str(t.pk) == request.GET.get("type")), None)
        mode = "week" if request.GET.get("view") == "week" else "day"
        day = chosen_day(request)
        days = (
            [day - datetime.timedelta(days=day.weekday() - n) for n in range(7)]
            if mode == "week"
            else [day]
        )
        show_cancelled = request.GET.get("cancelled") == "1"
        location_id = location.pk if location else None
        picker_providers = providers_for(location_id, None)
        provider = None
        wanted_provider = request.GET.get("provider", "")
        if wanted_provider.isdigit():
            provider = next((p for p in picker_providers if p.pk == int(wanted_provider)), None)
            if provider is None:
                provider = Provider.objects.filter(pk=wanted_provider).first()
        by_location = provider is None
        providers = list(picker_providers) if by_location else [provider]
        book_location = location_id if by_location else None
        range_start = local_datetime(days[0], datetime.time.min)
        range_end = local_datetime(days[-1] + datetime.timedelta(days=1), datetime.time.min)
        appointments = Appointment.objects.filter(
            start__lt=range_end, end__gt=range_start
        ).select_related("patient", "appointment_type", "provider", "location", "room")
        if by_location:
            appointments = appointments.filter(location_id=location_id)
        else:
            appointments = appointments.filter(provider=provider)
        if not show_cancelled:
            appointments = appointments.booked()
        appointments = list(appointments.order_by("start"))
        # A provider no longer linked to the location still shows with the visits booked there.
        known = {p.pk for p in providers}
        for appointment in appointments:
            if appointment.provider_id not in known:
                providers.append(appointment.provider)
                known.add(appointment.provider_id)
        book = AvailabilityBook(providers, book_location, days[0], days[-1])
        working = {(p.pk, d): book.working_windows(p.pk, d) for p in providers for d in days}
        open_time = {(p.pk, d): book.open_windows(p.pk, d) for p in providers for d in days}
        grid, closed_days = build_grid(
            days=days,
            providers=providers,
            working=working,
            open_time=open_time,
            appointments=appointments,
            by_location=by_location,
            now=timezone.now(),
            duration_minutes=chosen_type.duration_minutes if chosen_type else None,
        )
        book_url = reverse("scheduling:book")
        for block in grid.blocks:
            if block.kind == "open":
                params = {
                    "provider": block.column.provider.pk,
                    "location": block.location_id,
                    "start": timezone.localtime(block.start).strftime(DATETIME_FORMAT),
                }
                if chosen_type:
                    params["appointment_type"] = chosen_type.pk
                block.url = f"{book_url}?{urlencode(params)}"
        base = {
            "view": mode,
            "location": location_id or "",
            "provider": provider.pk if provider else "",
            "type": chosen_type.pk if chosen_type else "",
            "cancelled": "1" if show_cancelled else "",
            "date": day.isoformat() if day != timezone.localdate() else "",
        }
        step = datetime.timedelta(days=7 if mode == "week" else 1)

        def url(**changes):
            params = {**base, **changes}
            return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

        location_names = {loc.pk: loc.name for loc in locations}
        for block in grid.blocks:
            block.location_name = location_names.get(block.location_id, "")
        who = str(provider) if provider else (location.name if location else "")
        if mode == "week":
            when = f"week of {days[0]:%b} {days[0].day}, {days[0].year}"
        else:
            when = f"{day:%A}, {day:%B} {day.day}, {day.year}"
        context.update(
            {
                "title": f"{who} · {when}" if who else "Calendar",
                "grid": grid,
                "closed_days": closed_days,
                "mode": mode,
                "day": day,
                "days": days,
                "today": timezone.localdate(),
                "locations": locations,
                "location": location,
                "picker_providers": picker_providers,
                "provider": provider,
                "by_location": by_location,
                "types": types,
                "chosen_type": chosen_type,
                "show_cancelled": show_cancelled,
                "prev_url": url(date=(day - step).isoformat()),
                "next_url": url(date=(day + step).isoformat()),
                "today_url": url(date=""),
                "day_url": url(view="day"),
                "week_url": url(view="week"),
                "location_url": url(provider=""),
                "types_css_url": types_stylesheet_url([(t.pk, t.colour) for t in all_types]),
                "multiple_locations": len(locations) > 1,
                "appointment_count": sum(1 for a in appointments if a.status not in _RELEASED),
            }
        )
        return context


_RELEASED = set(Appointment.RELEASED_STATUSES)
