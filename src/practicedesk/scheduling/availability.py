"""Availability: when a provider works (templates minus exceptions) and which slots are open.

Everything a search needs is fetched in a few queries per block of days (templates, exceptions,
booked appointments), then the open time is computed in memory from those intervals.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Provider,
    ScheduleException,
    ScheduleTemplate,
)

Interval = tuple[datetime.datetime, datetime.datetime]
SLOT_GRID_MINUTES = 5


@dataclass(frozen=True)
class Slot:
    provider: Provider
    location_id: int
    start: datetime.datetime
    end: datetime.datetime


def local_datetime(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def subtract(windows: list[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """The parts of ``windows`` not covered by any ``busy`` interval."""
    result = list(windows)
    for busy_start, busy_end in busy:
        next_result = []
        for start, end in result:
            if busy_end <= start or busy_start >= end:
                next_result.append((start, end))
                continue
            if start < busy_start:
                next_result.append((start, busy_start))
            if busy_end < end:
                next_result.append((busy_end, end))
        result = next_result
    return result


class AvailabilityBook:
    """Working windows and booked time of some providers over a date range, fetched once."""

    def __init__(
        self,
        providers: list[Provider],
        location_id: int | None,
        first_day: datetime.date,
        last_day: datetime.date,
    ):
        self.providers = {provider.pk: provider for provider in providers}
        self.location_id = location_id
        self.first_day, self.last_day = first_day, last_day
        range_start = local_datetime(first_day, datetime.time.min)
        range_end = local_datetime(last_day + datetime.timedelta(days=1), datetime.time.min)
        templates = ScheduleTemplate.objects.filter(
            provider_id__in=self.providers, effective_from__lte=last_day
        ).filter(Q(effective_to__isnull=True) | Q(effective_to__gte=first_day))
        if location_id is not None:
            templates = templates.filter(location_id=location_id)
        self.templates: dict[int, list[ScheduleTemplate]] = defaultdict(list)
        for template in templates:
            self.templates[template.provider_id].append(template)
        exceptions = ScheduleException.objects.filter(start__lt=range_end, end__gt=range_start)
        if location_id is not None:
            exceptions = exceptions.filter(Q(location__isnull=True) | Q(location_id=location_id))
        exceptions = exceptions.filter(Q(provider__isnull=True) | Q(provider_id__in=self.providers))
        self.exceptions = list(exceptions.values_list("provider_id", "location_id", "start", "end"))
        self.busy: dict[int, list[Interval]] = defaultdict(list)
        for provider_id, start, end in (
            Appointment.objects.booked()
            .filter(provider_id__in=self.providers, start__lt=range_end, end__gt=range_start)
            .values_list("provider_id", "start", "end")
        ):
            self.busy[provider_id].append((start, end))

    def working_windows(self, provider_id: int, day: datetime.date) -> list[tuple[int, Interval]]:
        """(location_id, window) pairs when the provider works on ``day``, exceptions removed."""
        windows = []
        for template in self.templates.get(provider_id, ()):
            if not template.applies_on(day):
                continue
            window = (
                local_datetime(day, template.start_time),
                local_datetime(day, template.end_time),
            )
            closed = [
                (start, end)
                for exc_provider, exc_location, start, end in self.exceptions
                if (exc_provider is None or exc_provider == provider_id)
                and (exc_location is None or exc_location == template.location_id)
            ]
            windows.extend((template.location_id, part) for part in subtract([window], closed))
        return sorted(windows, key=lambda item: item[1][0])

    def open_windows(self, provider_id: int, day: datetime.date) -> list[tuple[int, Interval]]:
        busy = self.busy.get(provider_id, ())
        return [
            (location_id, part)
            for location_id, window in self.working_windows(provider_id, day)
            for part in subtract([window], busy)
        ]


def round_up(moment: datetime.datetime, minutes: int) -> datetime.datetime:
    moment = moment.replace(second=0, microsecond=0)
    remainder = moment.minute % minutes
    return moment + datetime.timedelta(minutes=(minutes - remainder) % minutes)


def slots_in(
    window: Interval,
    duration: datetime.timedelta,
    step: datetime.timedelta,
    not_before: datetime.datetime,
) -> Iterator[Interval]:
    start = max(window[0], round_up(not_before, SLOT_GRID_MINUTES))
    while start + duration <= window[1]:
        yield start, start + duration
        start += step


def providers_for(location_id: int | None, provider: Provider | None) -> list[Provider]:
    if provider is not None:
        return [provider]
    providers = Provider.objects.filter(is_active=True)
    if location_id is not None:
        providers = providers.filter(locations__id=location_id)
    return list(providers.order_by("last_name", "first_name"))


def open_slots(
    *,
    appointment_type: AppointmentType,
    location_id: int | None,
    provider: Provider | None = None,
    first_day: datetime.date | None = None,
    days: int = 7,
    not_before: datetime.datetime | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Open slots for this type, in time order, across the providers asked for."""
    not_before = not_before or timezone.now()
    first_day = first_day or timezone.localdate(not_before)
    last_day = first_day + datetime.timedelta(days=days - 1)
    providers = providers_for(location_id, provider)
    if not providers:
        return []
    book = AvailabilityBook(providers, location_id, first_day, last_day)
    duration = datetime.timedelta(minutes=appointment_type.duration_minutes)
    found: list[Slot] = []
    day = first_day
    while day <= last_day:
        day_slots = []
        for provider_obj in providers:
            for slot_location, window in book.open_windows(provider_obj.pk, day):
                day_slots.extend(
                    Slot(provider_obj, slot_location, start, end)
                    for start, end in slots_in(window, duration, duration, not_before)
                )
        day_slots.sort(key=lambda slot: (slot.start, slot.provider.last_name))
        found.extend(day_slots)
        if limit is not None and len(found) >= limit:
            return found[:limit]
        day += datetime.timedelta(days=1)
    return found


def next_open_slot(
    *,
    appointment_type: AppointmentType,
    location_id: int | None,
    provider: Provider | None = None,
    not_before: datetime.datetime | None = None,
    horizon_days: int | None = None,
) -> Slot | None:
    """The earliest open slot, searched a week at a time up to the horizon."""
    not_before = not_before or timezone.now()
    horizon_days = horizon_days or settings.SLOT_SEARCH_DAYS
    first_day = timezone.localdate(not_before)
    searched = 0
    while searched < horizon_days:
        block = min(7, horizon_days - searched)
        slots = open_slots(
            appointment_type=appointment_type,
            location_id=location_id,
            provider=provider,
            first_day=first_day + datetime.timedelta(days=searched),
            days=block,
            not_before=not_before,
            limit=1,
        )
        if slots:
            return slots[0]
        searched += block
    return None


def working_hours_open_sql(
    provider_id: int, location_id: int, start: datetime.datetime, end: datetime.datetime
) -> tuple[str, dict]:
    """SQL for one boolean, and its parameters: the provider works at the location for all of
    ``start``-``end``. Booking asks it in the same query as its other checks.

    The same rule as the slot search: one of the day's templates covers the whole time, and no
    holiday, block or leave (for this provider or everyone, here or everywhere) overlaps it.
    Templates are wall-clock hours, so the visit's local times are compared with them. A visit
    that runs past midnight is outside every template.
    """
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    day = local_start.date()
    if local_end.date() != day:
        return "(1 = 0)", {}
    operations = connection.ops
    templates = ScheduleTemplate._meta.db_table
    exceptions = ScheduleException._meta.db_table
    sql = (
        f"(EXISTS (SELECT 1 FROM {templates} t WHERE t.provider_id = %(hours_provider)s"  # noqa: S608
        " AND t.location_id = %(hours_location)s AND t.weekday = %(hours_weekday)s"
        " AND t.effective_from <= %(hours_day)s"
        " AND (t.effective_to IS NULL OR t.effective_to >= %(hours_day)s)"
        " AND t.start_time <= %(hours_from)s AND t.end_time >= %(hours_to)s)"
        f" AND NOT EXISTS (SELECT 1 FROM {exceptions} x"
        ' WHERE x.start < %(hours_end)s AND x."end" > %(hours_start)s'
        " AND (x.provider_id IS NULL OR x.provider_id = %(hours_provider)s)"
        " AND (x.location_id IS NULL OR x.location_id = %(hours_location)s)))"
    )
    params = {
        "hours_provider": provider_id,
        "hours_location": location_id,
        "hours_weekday": day.weekday(),
        "hours_day": operations.adapt_datefield_value(day),
        "hours_from": operations.adapt_timefield_value(local_start.time()),
        "hours_to": operations.adapt_timefield_value(local_end.time()),
        "hours_start": operations.adapt_datetimefield_value(start),
        "hours_end": operations.adapt_datetimefield_value(end),
    }
    return sql, params
