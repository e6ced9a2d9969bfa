"""Scheduling actions: book, reschedule, cancel, no-show, move a visit through the flow.

Double-booking is prevented under row locks: every booking locks the provider, the patient and
the room it touches (in a fixed order, so two bookings never deadlock), then checks for overlap
and inserts inside the same transaction. Two simultaneous requests for the same time therefore
run one after the other, and the second sees the first's appointment.
"""

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from practicedesk.core.models import AuditEvent, Location, User
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.availability import within_working_hours
from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Encounter,
    FlowEvent,
    Provider,
    Room,
    WaitlistEntry,
)

Status = Appointment.Status

FLOW_NEXT: dict[str, tuple[str, ...]] = {
    Status.SCHEDULED: (Status.CONFIRMED, Status.ARRIVED),
    Status.CONFIRMED: (Status.ARRIVED,),
    Status.ARRIVED: (Status.ROOMED, Status.WITH_PROVIDER),
    Status.ROOMED: (Status.WITH_PROVIDER,),
    Status.WITH_PROVIDER: (Status.CHECKED_OUT,),
}
FLOW_TIMESTAMP = {
    Status.CONFIRMED: "confirmed_at",
    Status.ARRIVED: "arrived_at",
    Status.ROOMED: "roomed_at",
    Status.WITH_PROVIDER: "provider_at",
    Status.CHECKED_OUT: "checked_out_at",
}
OPEN_STATUSES = (Status.SCHEDULED, Status.CONFIRMED)


def overlapping(queryset, start, end, exclude_pk=None):
    queryset = queryset.booked().filter(start__lt=end, end__gt=start)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset


def lock_rows(*, provider: Provider, patient: Patient, rooms: list[Room]) -> None:
    """Take the row locks of a booking in one fixed order (providers, patients, rooms)."""
    list(Provider.objects.select_for_update().filter(pk=provider.pk))
    list(Patient.objects.select_for_update().filter(pk=patient.pk))
    if rooms:
        list(Room.objects.select_for_update().filter(pk__in=[r.pk for r in rooms]).order_by("pk"))


def check_patient(patient: Patient) -> None:
    if patient.status == Patient.Status.MERGED:
        target = patient.merged_into
        raise ValidationError(
            {"patient": f"This record was merged into {target}; book on that record instead."}
        )
    if patient.status == Patient.Status.DECEASED:
        raise ValidationError({"patient": "This patient is recorded as deceased."})


def check_coverage(coverage: Coverage | None, patient: Patient, day: datetime.date) -> None:
    if coverage is None:
        return
    if coverage.patient_id != patient.pk:
        raise ValidationError({"coverage": "This coverage belongs to another patient."})
    if not coverage.is_active_on(day):
        ends = (
            f"ended {coverage.end_date}"
            if coverage.end_date and coverage.end_date < day
            else (f"starts {coverage.effective_date}")
        )
        raise ValidationError(
            {
                "coverage": f"{coverage.payer} coverage is not active on {day} (it {ends}). "
                "Update the coverage or book as self-pay."
            }
        )


def check_time(*, provider, location, start, end, allow_past=False) -> None:
    if not allow_past and start < timezone.now():
        raise ValidationError({"start": "This time has already passed; choose a future time."})
    if not provider.is_active:
        raise ValidationError({"provider": f"{provider} is no longer active."})
    if not provider.locations.filter(pk=location.pk).exists():
        raise ValidationError({"provider": f"{provider} does not work at {location}."})
    if not within_working_hours(provider, location.pk, start, end):
        local = timezone.localtime(start)
        raise ValidationError(
            {
                "start": f"{provider} is not available at {location} on {local:%a %b %d} at "
                f"{local:%H:%M}–{timezone.localtime(end):%H:%M} (outside working hours, "
                "or closed by a holiday, block or leave)."
            }
        )


def choose_room(*, location: Location, room: Room | None, start, end, exclude_pk=None) -> Room:
    if room is not None:
        if room.location_id != location.pk:
            raise ValidationError({"room": f"{room} is not at {location}."})
        if overlapping(room.appointments.all(), start, end, exclude_pk).exists():
            raise ValidationError({"room": f"{room.name} is already in use at that time."})
        return room
    busy_rooms = overlapping(
        Appointment.objects.filter(location=location), start, end, exclude_pk
    ).values("room_id")
    free = (
        Room.objects.filter(location=location, is_active=True)
        .exclude(pk__in=busy_rooms)
        .order_by("name")
        .first()
    )
    if free is None:
        raise ValidationError({"room": f"Every room at {location} is in use at that time."})
    return free


def check_conflicts(*, appointment: Appointment, overbook: bool) -> None:
    patient_clash = (
        overlapping(
            Appointment.objects.filter(patient=appointment.patient),
            appointment.start,
            appointment.end,
            appointment.pk,
        )
        .select_related("provider")
        .first()
    )
    if patient_clash is not None:
        raise ValidationError(
            {
                "patient": f"{appointment.patient.display_name} already has an appointment then "
                f"({timezone.localtime(patient_clash.start):%H:%M} with "
                f"{patient_clash.provider})."
            }
        )
    provider_clash = overlapping(
        Appointment.objects.filter(provider=appointment.provider),
        appointment.start,
        appointment.end,
        appointment.pk,
    ).first()
    if provider_clash is not None and not overbook:
        raise ValidationError(
            {
                "start": f"{appointment.provider} is already booked at "
                f"{timezone.localtime(provider_clash.start):%H:%M}. Choose another time, "
                "or overbook with a reason if you have the permission."
            }
        )


def check_overbook(acting_user: User, overbook_reason: str) -> bool:
    if not overbook_reason:
        return False
    if not can(acting_user, "scheduling", "approve"):
        raise ValidationError(
            {"overbook_reason": "Your role may not overbook. Ask the practice manager."}
        )
    return True


def _book_one(
    *,
    acting_user,
    patient,
    provider,
    location,
    appointment_type,
    start,
    room,
    coverage,
    reason,
    notes,
    overbook_reason,
    series_id,
    allow_past,
) -> Appointment:
    end = start + datetime.timedelta(minutes=appointment_type.duration_minutes)
    overbook = check_overbook(acting_user, overbook_reason)
    check_patient(patient)
    check_coverage(coverage, patient, timezone.localdate(start))
    if not appointment_type.is_active:
        raise ValidationError({"appointment_type": f"{appointment_type} is no longer offered."})
    rooms = [room] if room else []
    lock_rows(provider=provider, patient=patient, rooms=rooms)
    check_time(provider=provider, location=location, start=start, end=end, allow_past=allow_past)
    if appointment_type.needs_room:
        room = choose_room(location=location, room=room, start=start, end=end)
    appointment = Appointment(
        patient=patient,
        provider=provider,
        location=location,
        room=room,
        appointment_type=appointment_type,
        coverage=coverage,
        start=start,
        end=end,
        reason=reason,
        notes=notes,
        is_overbook=overbook,
        overbook_reason=overbook_reason if overbook else "",
        series_id=series_id,
        booked_by=acting_user,
    )
    check_conflicts(appointment=appointment, overbook=overbook)
    appointment.full_clean()
    appointment.save()
    return appointment


@transaction.atomic
def appointment_book(
    *,
    acting_user: User,
    patient: Patient,
    provider: Provider,
    location: Location,
    appointment_type: AppointmentType,
    start: datetime.datetime,
    room: Room | None = None,
    coverage: Coverage | None = None,
    reason: str = "",
    notes: str = "",
    overbook_reason: str = "",
    allow_past: bool = False,
) -> Appointment:
    """Book one appointment, or raise ValidationError saying why it cannot be booked."""
    appointment = _book_one(
        acting_user=acting_user,
        patient=patient,
        provider=provider,
        location=location,
        appointment_type=appointment_type,
        start=start,
        room=room,
        coverage=coverage,
        reason=reason,
        notes=notes,
        overbook_reason=overbook_reason,
        series_id=None,
        allow_past=allow_past,
    )
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=appointment,
        name="appointment_book",
        detail={"overbook": appointment.is_overbook},
    )
    return appointment


@transaction.atomic
def appointment_book_recurring(
    *,
    acting_user: User,
    patient: Patient,
    provider: Provider,
    location: Location,
    appointment_type: AppointmentType,
    start: datetime.datetime,
    every_weeks: int,
    count: int,
    room: Room | None = None,
    coverage: Coverage | None = None,
    reason: str = "",
) -> list[Appointment]:
    """Book ``count`` appointments ``every_weeks`` apart: all of them, or none."""
    if not 1 <= every_weeks <= 52:
        raise ValidationError({"every_weeks": "Repeat every 1 to 52 weeks."})
    if not 2 <= count <= 52:
        raise ValidationError({"count": "A series has 2 to 52 appointments."})
    series_id = uuid.uuid4()
    booked = []
    for index in range(count):
        when = start + datetime.timedelta(weeks=every_weeks * index)
        try:
            booked.append(
                _book_one(
                    acting_user=acting_user,
                    patient=patient,
                    provider=provider,
                    location=location,
                    appointment_type=appointment_type,
                    start=when,
                    room=room,
                    coverage=coverage,
                    reason=reason,
                    notes="",
                    overbook_reason="",
                    series_id=series_id,
                    allow_past=False,
                )
            )
        except ValidationError as error:
            messages = "; ".join(error.messages)
            raise ValidationError(
                f"Nothing was booked: appointment {index + 1} of {count} on "
                f"{timezone.localtime(when):%a %b %d %H:%M} cannot be booked ({messages})."
            ) from error
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=booked[0],
        name="appointment_book_recurring",
        detail={"series_id": str(series_id), "count": count},
    )
    return booked


def locked_appointment(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "provider", "location", "appointment_type", "room")
        .get(pk=appointment.pk)
    )


@transaction.atomic
def appointment_reschedule(
    *,
    acting_user: User,
    appointment: Appointment,
    start: datetime.datetime,
    provider: Provider | None = None,
    room: Room | None = None,
) -> Appointment:
    appointment = locked_appointment(appointment)
    if appointment.status not in OPEN_STATUSES:
        raise ValidationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be rescheduled."
        )
    provider = provider or appointment.provider
    end = start + datetime.timedelta(minutes=appointment.appointment_type.duration_minutes)
    lock_rows(provider=provider, patient=appointment.patient, rooms=[room] if room else [])
    check_time(provider=provider, location=appointment.location, start=start, end=end)
    old_start = appointment.start
    appointment.provider, appointment.start, appointment.end = provider, start, end
    if appointment.appointment_type.needs_room:
        appointment.room = choose_room(
            location=appointment.location,
            room=room,
            start=start,
            end=end,
            exclude_pk=appointment.pk,
        )
    check_conflicts(appointment=appointment, overbook=appointment.is_overbook)
    appointment.reminder_sent_at = None
    appointment.full_clean()
    appointment.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=appointment,
        name="appointment_reschedule",
        detail={"from": old_start.isoformat(), "to": start.isoformat()},
    )
    return appointment


def waitlist_matches(appointment: Appointment) -> list[WaitlistEntry]:
    """Waiting patients who would take the time this appointment frees."""
    local_start = timezone.localtime(appointment.start)
    entries = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.WAITING,
        location=appointment.location,
        appointment_type=appointment.appointment_type,
        wanted_before__gte=local_start.date(),
    ).filter(Q(provider__isnull=True) | Q(provider=appointment.provider))
    matches = []
    for entry in entries.exclude(patient=appointment.patient).select_related("patient"):
        weekdays = {int(day) for day in entry.preferred_weekdays.split(",") if day.strip()}
        if weekdays and local_start.weekday() not in weekdays:
            continue
        if entry.time_of_day == WaitlistEntry.TimeOfDay.MORNING and local_start.hour >= 12:
            continue
        if entry.time_of_day == WaitlistEntry.TimeOfDay.AFTERNOON and local_start.hour < 12:
            continue
        matches.append(entry)
    return matches


@transaction.atomic
def appointment_cancel(
    *, acting_user: User, appointment: Appointment, reason: str
) -> tuple[Appointment, list[WaitlistEntry]]:
    """Cancel; marks it late inside LATE_CANCEL_HOURS; returns waitlist entries to offer."""
    if not reason.strip():
        raise ValidationError({"cancel_reason": "Say why the appointment is cancelled."})
    appointment = locked_appointment(appointment)
    if appointment.status not in OPEN_STATUSES:
        raise ValidationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be cancelled."
        )
    now = timezone.now()
    window = datetime.timedelta(hours=settings.LATE_CANCEL_HOURS)
    appointment.is_late_cancel = appointment.start - now < window
    _move(appointment, Status.CANCELLED, acting_user, now)
    appointment.cancelled_at = now
    appointment.cancel_reason = reason.strip()[:200]
    appointment.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=appointment,
        name="appointment_cancel",
        detail={"late": appointment.is_late_cancel, "reason": reason[:200]},
    )
    return appointment, waitlist_matches(appointment)


@transaction.atomic
def appointment_no_show(*, acting_user: User, appointment: Appointment) -> Appointment:
    appointment = locked_appointment(appointment)
    if appointment.status not in OPEN_STATUSES:
        raise ValidationError(
            f"Only a scheduled or confirmed appointment can be a no-show; this one is "
            f"{appointment.get_status_display().lower()}."
        )
    if appointment.start > timezone.now():
        raise ValidationError("An appointment cannot be a no-show before its time.")
    _move(appointment, Status.NO_SHOW, acting_user, timezone.now())
    appointment.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=appointment,
        name="appointment_no_show",
    )
    return appointment


def _move(appointment: Appointment, to_status: str, acting_user: User | None, at) -> None:
    FlowEvent.objects.create(
        appointment=appointment,
        from_status=appointment.status,
        to_status=to_status,
        at=at,
        by=acting_user,
    )
    appointment.status = to_status
    if to_status in FLOW_TIMESTAMP:
        setattr(appointment, FLOW_TIMESTAMP[to_status], at)


@transaction.atomic
def appointment_advance(
    *, acting_user: User | None, appointment: Appointment, to_status: str, at=None
) -> Appointment:
    """Move a visit one step along the flow (confirmed → arrived → roomed → ...)."""
    appointment = locked_appointment(appointment)
    allowed = FLOW_NEXT.get(appointment.status, ())
    if to_status not in allowed:
        names = ", ".join(Status(s).label.lower() for s in allowed) or "nothing"
        raise ValidationError(
            f"A {appointment.get_status_display().lower()} visit can move to {names}, not to "
            f"{Status(to_status).label.lower()}."
        )
    at = at or timezone.now()
    _move(appointment, to_status, acting_user, at)
    appointment.save()
    if to_status == Status.CHECKED_OUT:
        Encounter.objects.get_or_create(
            appointment=appointment,
            defaults={
                "patient": appointment.patient,
                "provider": appointment.provider,
                "date_of_service": timezone.localdate(appointment.start),
                "opened_at": at,
            },
        )
    return appointment
