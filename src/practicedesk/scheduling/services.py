"""Scheduling actions: book, reschedule, cancel, no-show, move a visit through the flow.

Double-booking is prevented under row locks: every booking locks the provider, the patient and
the room it touches, or every room of the location when it picks one (in a fixed order, so two
bookings never deadlock), then checks for overlap and inserts inside the same transaction. Two
simultaneous requests for the same time therefore run one after the other, and the second sees
the first's appointment.
"""

import datetime
import hashlib
import logging
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.models import AuditEvent, Location, Organization, User
from practicedesk.core.permissions import can
from practicedesk.core.roles import ROLES_BY_KEY
from practicedesk.core.services import audit_event_record
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.availability import working_hours_open_sql
from practicedesk.scheduling.models import (
    Appointment,
    AppointmentType,
    Encounter,
    FlowEvent,
    Provider,
    Recall,
    RecordsRequest,
    ReminderToken,
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


BOOKING_RELATIONS = [
    "patient",
    "provider",
    "location",
    "room",
    "appointment_type",
    "coverage",
    "booked_by",
]


def overlapping(queryset, start, end, exclude_pk=None):
    queryset = queryset.booked().filter(start__lt=end, end__gt=start)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset


def lock_rows(
    *, provider: Provider, patient: Patient, room: Room | None, choose_room_at: Location | None
) -> None:
    """Take a booking's row locks in one fixed order (provider, patient, rooms by id), and read
    again under them what the checks use: a provider deactivated or a patient merged a moment
    ago counts. The rooms locked are the one asked for or, when a room is to be chosen at
    ``choose_room_at``, all of that location's, so two bookings cannot both take the last free
    one. Plain SQL, like ``booking_facts``: composing these three statements in the ORM cost
    a booking more than running them."""
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT is_active FROM {Provider._meta.db_table} WHERE id = %s{for_update}",  # noqa: S608
            [provider.pk],
        )
        provider_row = cursor.fetchone()
        cursor.execute(
            f"SELECT status, merged_into_id FROM {Patient._meta.db_table}"  # noqa: S608
            f" WHERE id = %s{for_update}",
            [patient.pk],
        )
        patient_row = cursor.fetchone()
        if provider_row is None or patient_row is None:
            raise ValidationError("The provider or the patient was deleted a moment ago.")
        provider.is_active = bool(provider_row[0])
        patient.status, patient.merged_into_id = patient_row
        if room is not None:
            cursor.execute(
                f"SELECT id FROM {Room._meta.db_table} WHERE id = %s{for_update}",  # noqa: S608
                [room.pk],
            )
        elif choose_room_at is not None:
            cursor.execute(
                f"SELECT id FROM {Room._meta.db_table} WHERE location_id = %s AND is_active"  # noqa: S608
                f" ORDER BY id{for_update}",
                [choose_room_at.pk],
            )


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


def booking_facts(*, appointment: Appointment, room: Room | None, choose_room: bool) -> dict:
    """Everything the booking rules ask of the database, in one query (run under the locks).

    ``works_here``: the provider works at the location; ``open``: inside the provider's hours
    there and not closed; ``patient_busy`` / ``provider_busy``: another booked visit overlaps;
    ``room_busy``: the room asked for is taken; ``free_room``: the id of the first free active
    room (by name) when one is to be chosen. Written in SQL because a booking is the busiest
    write there is: the ORM spent more time composing these subqueries than the database
    spends answering them.
    """
    operations = connection.ops
    appointments = Appointment._meta.db_table
    released = {f"released_{n}": str(s) for n, s in enumerate(Appointment.RELEASED_STATUSES)}
    held = (  # the booked visits that overlap, as "FROM ... WHERE ..." to add conditions to
        f'{appointments} a WHERE a.start < %(end)s AND a."end" > %(start)s'
        f" AND a.status NOT IN ({', '.join(f'%({name})s' for name in released)})"
    )
    if appointment.pk is not None:
        held += " AND a.id <> %(pk)s"

    def held_exists(condition: str) -> str:
        return f"EXISTS (SELECT 1 FROM {held} AND {condition})"  # noqa: S608

    hours_sql, params = working_hours_open_sql(
        appointment.provider_id, appointment.location_id, appointment.start, appointment.end
    )
    facts = {
        "works_here": f"EXISTS (SELECT 1 FROM {Provider.locations.through._meta.db_table}"  # noqa: S608
        " WHERE provider_id = %(provider)s AND location_id = %(location)s)",
        "open": hours_sql,
        "patient_busy": held_exists("a.patient_id = %(patient)s"),
        "provider_busy": held_exists("a.provider_id = %(provider)s"),
    }
    if room is not None:
        facts["room_busy"] = held_exists("a.room_id = %(room)s")
    elif choose_room:
        facts["free_room"] = (
            f"(SELECT r.id FROM {Room._meta.db_table} r WHERE r.location_id = %(location)s"  # noqa: S608
            f" AND r.is_active AND r.id NOT IN (SELECT a.room_id FROM {held}"
            " AND a.location_id = %(location)s AND a.room_id IS NOT NULL)"
            " ORDER BY r.name LIMIT 1)"
        )
    params |= {
        "start": operations.adapt_datetimefield_value(appointment.start),
        "end": operations.adapt_datetimefield_value(appointment.end),
        **released,
        "pk": appointment.pk,
        "patient": appointment.patient_id,
        "provider": appointment.provider_id,
        "location": appointment.location_id,
        "room": room.pk if room is not None else None,
    }
    quote = operations.quote_name
    sql = "SELECT " + ", ".join(f"{fact} AS {quote(name)}" for name, fact in facts.items())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(zip(facts, cursor.fetchone(), strict=True))


def check_time(*, appointment: Appointment, facts: dict, allow_past=False) -> None:
    provider, location = appointment.provider, appointment.location
    start, end = appointment.start, appointment.end
    if not allow_past and start < timezone.now():
        raise ValidationError({"start": "This time has already passed; choose a future time."})
    if not provider.is_active:
        raise ValidationError({"provider": f"{provider} is no longer active."})
    if not facts["works_here"]:
        raise ValidationError({"provider": f"{provider} does not work at {location}."})
    if not facts["open"]:
        local = timezone.localtime(start)
        raise ValidationError(
            {
                "start": f"{provider} is not available at {location} on {local:%a %b %d} at "
                f"{local:%H:%M}–{timezone.localtime(end):%H:%M} (outside working hours, "
                "or closed by a holiday, block or leave)."
            }
        )


def check_room(*, appointment: Appointment, room: Room | None, facts: dict) -> None:
    """Put the room on the appointment: the one asked for if it is here and free, else the
    free one ``booking_facts`` found."""
    location = appointment.location
    if room is not None:
        if room.location_id != location.pk:
            raise ValidationError({"room": f"{room} is not at {location}."})
        if facts["room_busy"]:
            raise ValidationError({"room": f"{room.name} is already in use at that time."})
        appointment.room = room
        return
    if facts["free_room"] is None:
        raise ValidationError({"room": f"Every room at {location} is in use at that time."})
    appointment.room_id = facts["free_room"]


def check_conflicts(*, appointment: Appointment, facts: dict, overbook: bool) -> None:
    """Refuse a patient who is busy then, and a busy provider unless overbooking. The clashing
    visit is read only to say which one it is."""
    if facts["patient_busy"]:
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
        raise ValidationError(
            {
                "patient": f"{appointment.patient.display_name} already has an appointment then "
                f"({timezone.localtime(patient_clash.start):%H:%M} with "
                f"{patient_clash.provider})."
            }
        )
    if facts["provider_busy"] and not overbook:
        provider_clash = overlapping(
            Appointment.objects.filter(provider=appointment.provider),
            appointment.start,
            appointment.end,
            appointment.pk,
        ).first()
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
    if end <= start:
        raise ValidationError({"appointment_type": f"{appointment_type} has no duration."})
    choose_room = appointment_type.needs_room and room is None
    lock_rows(
        provider=provider,
        patient=patient,
        room=room,
        choose_room_at=location if choose_room else None,
    )
    check_patient(patient)
    appointment = Appointment(
        patient=patient,
        provider=provider,
        location=location,
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
    facts = booking_facts(
        appointment=appointment,
        room=room if appointment_type.needs_room else None,
        choose_room=choose_room,
    )
    check_time(appointment=appointment, facts=facts, allow_past=allow_past)
    if appointment_type.needs_room:
        check_room(appointment=appointment, room=room, facts=facts)
    else:
        appointment.room = room
    check_conflicts(appointment=appointment, facts=facts, overbook=overbook)
    # The related rows were passed in (provider, patient and room locked above), so checking
    # that each still exists would cost a query apiece for nothing; and the one constraint
    # (the visit ends after it starts) was checked above, where the database need not be asked.
    appointment.full_clean(exclude=BOOKING_RELATIONS, validate_constraints=False)
    # A new visit has no encounter: saying so spares the change log a query to find out.
    Appointment.encounter.related.set_cached_value(appointment, None)
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
    notes: str = "",
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
                    notes=notes,
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
    needs_room = appointment.appointment_type.needs_room
    choose_room = needs_room and room is None
    lock_rows(
        provider=provider,
        patient=appointment.patient,
        room=room,
        choose_room_at=appointment.location if choose_room else None,
    )
    old_start = appointment.start
    appointment.provider, appointment.start, appointment.end = provider, start, end
    facts = booking_facts(
        appointment=appointment, room=room if needs_room else None, choose_room=choose_room
    )
    check_time(appointment=appointment, facts=facts)
    if needs_room:
        check_room(appointment=appointment, room=room, facts=facts)
    check_conflicts(appointment=appointment, facts=facts, overbook=appointment.is_overbook)
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
    *, acting_user: User | None, appointment: Appointment, reason: str
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
    recalls_follow(appointment)
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
    recalls_follow(appointment)
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
        recalls_follow(appointment)
    return appointment


# Waitlist, recalls, reminders, encounters (chart closure) and records requests.

logger = logging.getLogger(__name__)
WEEKDAY_NUMBERS = frozenset("0123456")
REMINDER_ACTIONS = ("confirm", "cancel")
PATIENT_CANCEL_REASON = "Cancelled by patient from reminder email"
RECORDS_REQUEST_OPEN = (RecordsRequest.Status.RECEIVED, RecordsRequest.Status.IN_PROGRESS)


def _record(acting_user: User | None, obj, name: str, **detail) -> None:
    audit_event_record(
        action=AuditEvent.Action.ACTION, user=acting_user, obj=obj, name=name, detail=detail
    )


def _locked(model, obj):
    return model.objects.select_for_update().get(pk=obj.pk)


def weekdays_normalise(value: str) -> str:
    """Clean a weekday list ("4, 0,2" becomes "0,2,4"); only Monday=0 … Sunday=6 pass."""
    days = [part.strip() for part in (value or "").split(",") if part.strip()]
    if any(day not in WEEKDAY_NUMBERS for day in days):
        raise ValidationError(
            {"preferred_weekdays": "Use weekday numbers 0 (Monday) to 6 (Sunday), e.g. 0,2,4."}
        )
    return ",".join(sorted(set(days)))


@transaction.atomic
def waitlist_add(
    *,
    acting_user: User,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    wanted_before: datetime.date,
    provider: Provider | None = None,
    preferred_weekdays: str = "",
    time_of_day: str = WaitlistEntry.TimeOfDay.ANY,
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for an earlier slot of this type at this location."""
    check_patient(patient)
    if wanted_before < timezone.localdate():
        raise ValidationError({"wanted_before": "This date has passed; the patient needs none."})
    if provider is not None and not provider.locations.filter(pk=location.pk).exists():
        raise ValidationError({"provider": f"{provider} does not work at {location}."})
    already = WaitlistEntry.objects.filter(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        status__in=(WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED),
    ).exists()
    if already:
        raise ValidationError(
            f"{patient.display_name} is already on the waitlist for {appointment_type} at "
            f"{location}; change that entry instead."
        )
    entry = WaitlistEntry(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        provider=provider,
        preferred_weekdays=weekdays_normalise(preferred_weekdays),
        time_of_day=time_of_day,
        wanted_before=wanted_before,
        notes=notes,
    )
    entry.full_clean()
    entry.save()
    _record(acting_user, entry, "waitlist_add")
    return entry


@transaction.atomic
def waitlist_offer(
    *, acting_user: User, entry: WaitlistEntry, appointment: Appointment
) -> WaitlistEntry:
    """Mark that the time freed by this cancelled appointment was offered to this patient."""
    entry = _locked(WaitlistEntry, entry)
    if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
        raise ValidationError(f"This entry is {entry.get_status_display().lower()}; offer none.")
    if appointment.status not in Appointment.RELEASED_STATUSES:
        raise ValidationError("Only the time of a cancelled appointment can be offered.")
    if appointment.start <= timezone.now():
        raise ValidationError("That time has already passed.")
    if (
        appointment.location_id != entry.location_id
        or appointment.appointment_type_id != entry.appointment_type_id
        or (entry.provider_id is not None and entry.provider_id != appointment.provider_id)
    ):
        raise ValidationError("This slot does not match what the patient is waiting for.")
    entry.status = WaitlistEntry.Status.OFFERED
    entry.offered_appointment = appointment
    entry.save(update_fields=["status", "offered_appointment"])
    _record(acting_user, entry, "waitlist_offer", appointment=appointment.pk)
    return entry


@transaction.atomic
def waitlist_book(
    *,
    acting_user: User,
    entry: WaitlistEntry,
    provider: Provider,
    start: datetime.datetime,
    room: Room | None = None,
    coverage: Coverage | None = None,
    reason: str = "",
) -> Appointment:
    """Book the waiting patient (usually into an offered slot); the entry is then booked."""
    entry = _locked(WaitlistEntry, entry)
    if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
        raise ValidationError(f"This entry is {entry.get_status_display().lower()} already.")
    appointment = appointment_book(
        acting_user=acting_user,
        patient=entry.patient,
        provider=provider,
        location=entry.location,
        appointment_type=entry.appointment_type,
        start=start,
        room=room,
        coverage=coverage,
        reason=reason,
    )
    entry.status = WaitlistEntry.Status.BOOKED
    entry.save(update_fields=["status"])
    _record(acting_user, entry, "waitlist_book", appointment=appointment.pk)
    return appointment


@transaction.atomic
def waitlist_remove(*, acting_user: User, entry: WaitlistEntry) -> WaitlistEntry:
    entry = _locked(WaitlistEntry, entry)
    if entry.status in (WaitlistEntry.Status.BOOKED, WaitlistEntry.Status.REMOVED):
        raise ValidationError(f"This entry is {entry.get_status_display().lower()} already.")
    entry.status = WaitlistEntry.Status.REMOVED
    entry.save(update_fields=["status"])
    _record(acting_user, entry, "waitlist_remove")
    return entry


@transaction.atomic
def recall_create(
    *,
    acting_user: User,
    patient: Patient,
    appointment_type: AppointmentType,
    due_date: datetime.date,
    reason: str,
    provider: Provider | None = None,
) -> Recall:
    """Record that the patient is due back (an annual visit, a follow-up) on a date."""
    check_patient(patient)
    if not reason.strip():
        raise ValidationError({"reason": "Say what the patient is due for, e.g. Annual physical."})
    recall = Recall(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        due_date=due_date,
        reason=reason.strip(),
    )
    recall.full_clean()
    recall.save()
    _record(acting_user, recall, "recall_create")
    return recall


@transaction.atomic
def recall_book(
    *,
    acting_user: User,
    recall: Recall,
    provider: Provider,
    location: Location,
    start: datetime.datetime,
    appointment_type: AppointmentType | None = None,
    room: Room | None = None,
    coverage: Coverage | None = None,
    reason: str = "",
    notes: str = "",
) -> Appointment:
    """Book the recall's visit (through ``appointment_book``) and link it to the recall."""
    recall = _locked(Recall, recall)
    if recall.status != Recall.Status.OPEN:
        raise ValidationError(f"This recall is {recall.get_status_display().lower()} already.")
    appointment = appointment_book(
        acting_user=acting_user,
        patient=recall.patient,
        provider=provider,
        location=location,
        appointment_type=appointment_type or recall.appointment_type,
        start=start,
        room=room,
        coverage=coverage,
        reason=reason or recall.reason,
        notes=notes,
    )
    recall.status = Recall.Status.BOOKED
    recall.appointment = appointment
    recall.save(update_fields=["status", "appointment"])
    _record(acting_user, recall, "recall_book", appointment=appointment.pk)
    return appointment


@transaction.atomic
def recall_cancel(*, acting_user: User, recall: Recall) -> Recall:
    recall = _locked(Recall, recall)
    if recall.status in (Recall.Status.COMPLETED, Recall.Status.CANCELLED):
        raise ValidationError(f"This recall is {recall.get_status_display().lower()} already.")
    recall.status = Recall.Status.CANCELLED
    recall.save(update_fields=["status"])
    _record(acting_user, recall, "recall_cancel")
    return recall


def recalls_follow(appointment: Appointment) -> None:
    """Keep recalls in step with their visit: checked out → completed; cancelled or no-show →
    open again (the patient is still due). Called by the flow services, not by a signal."""
    if appointment.status == Status.CHECKED_OUT:
        new_status = Recall.Status.COMPLETED
    elif appointment.status in Appointment.RELEASED_STATUSES:
        new_status = Recall.Status.OPEN
    else:
        return
    for recall in appointment.recalls.filter(status=Recall.Status.BOOKED).select_for_update():
        recall.status = new_status
        if new_status == Recall.Status.OPEN:
            recall.appointment = None
        recall.save(update_fields=["status", "appointment"])


def reminder_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reminder_message(appointment: Appointment, token: str, expires_at) -> EmailMultiAlternatives:
    """The reminder email: when and where, and the link. No other health information."""
    organization = Organization.objects.first()
    location = appointment.location
    context = {
        "practice_name": organization.name if organization else location.name,
        "start": timezone.localtime(appointment.start),
        "location": location,
        "phone": location.phone or (organization.phone if organization else ""),
        "provider": str(appointment.provider),
        "link": settings.PUBLIC_BASE_URL.rstrip("/")
        + reverse("reminder_respond", kwargs={"token": token}),
        "expires_at": timezone.localtime(expires_at),
    }
    subject = render_to_string("scheduling/emails/reminder_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("scheduling/emails/reminder.txt", context),
        to=[appointment.patient.email],
    )
    message.attach_alternative(
        render_to_string("scheduling/emails/reminder.html", context), "text/html"
    )
    return message


@transaction.atomic
def reminder_send(*, appointment: Appointment, connection=None) -> ReminderToken:
    """Email one appointment's reminder with a fresh single-use link; record the send.

    The email goes out inside the transaction: if the mail server refuses it, no token and
    no ``reminder_sent_at`` are kept, so the next run tries again.
    """
    from practicedesk.scheduling.selectors import reminder_refusal

    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "provider", "location")
        .get(pk=appointment.pk)
    )
    refusal = reminder_refusal(appointment)
    if refusal:
        raise ValidationError(refusal)
    now = timezone.now()
    # A newer link replaces the older ones (the visit may have moved since).
    appointment.reminder_tokens.filter(used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + datetime.timedelta(hours=settings.REMINDER_LINK_VALID_HOURS)
    reminder = ReminderToken.objects.create(
        appointment=appointment,
        token_hash=reminder_token_hash(token),
        expires_at=expires_at,
        sent_to=appointment.patient.email,
    )
    message = reminder_message(appointment, token, expires_at)
    message.connection = connection
    message.send()
    appointment.reminder_sent_at = now
    appointment.save(update_fields=["reminder_sent_at"])
    _record(None, appointment, "reminder_send", reminder=reminder.pk)
    return reminder


def reminders_send_due(*, now: datetime.datetime | None = None) -> dict:
    """Send every reminder that is due; one failure is recorded and the others still go."""
    from practicedesk.scheduling.selectors import reminders_due

    sent, skipped, failed = 0, 0, []
    connection = get_connection()
    try:
        for appointment in reminders_due(now=now).only("pk").iterator():
            try:
                reminder_send(appointment=appointment, connection=connection)
            except ValidationError:
                skipped += 1  # changed since it was picked (cancelled, consent withdrawn...)
            except Exception as error:  # refused address, server down: record, go on
                failed.append(appointment.pk)
                logger.exception("Reminder for appointment %s not sent", appointment.pk)
                _record(None, appointment, "reminder_send_failed", error=str(error)[:200])
                connection.close()
                connection = get_connection()
            else:
                sent += 1
    finally:
        connection.close()
    return {"sent": sent, "skipped": skipped, "failed": failed}


class ReminderLinkInvalid(ValidationError):
    """The link is unknown, used, expired, or its visit can no longer be changed."""


@transaction.atomic
def reminder_token_use(*, token: str, action: str) -> Appointment:
    """Confirm or cancel the visit of a reminder link, once; the link is used up."""
    from practicedesk.scheduling.selectors import reminder_refusal_of_token

    if action not in REMINDER_ACTIONS:
        raise ValidationError("Choose confirm or cancel.")
    reminder = (
        ReminderToken.objects.select_for_update()
        .filter(token_hash=reminder_token_hash(token))
        .first()
    )
    if reminder is None or reminder_refusal_of_token(reminder):
        raise ReminderLinkInvalid("This link no longer works.")
    appointment = reminder.appointment
    if action == "confirm":
        if appointment.status == Status.SCHEDULED:
            appointment = appointment_advance(
                acting_user=None, appointment=appointment, to_status=Status.CONFIRMED
            )
    else:
        appointment, _ = appointment_cancel(
            acting_user=None, appointment=appointment, reason=PATIENT_CANCEL_REASON
        )
    reminder.used_at = timezone.now()
    reminder.used_for = action
    reminder.save(update_fields=["used_at", "used_for"])
    _record(None, appointment, "reminder_link_used", action=action, reminder=reminder.pk)
    return appointment


def may_sign_encounters(user: User) -> bool:
    """Clinicians sign their notes; the practice manager may sign for oversight. Others may
    change the schedule (front desk) but never sign clinical documentation."""
    if can(user, "scheduling", "approve"):
        return True
    return hasattr(user, "provider") or ROLES_BY_KEY["clinician"].name in user.role_names


@transaction.atomic
def encounter_sign(*, acting_user: User, encounter: Encounter) -> Encounter:
    if not may_sign_encounters(acting_user):
        raise ValidationError("Only a clinician or the practice manager can sign an encounter.")
    encounter = _locked(Encounter, encounter)
    if encounter.status == Encounter.Status.SIGNED:
        raise ValidationError(
            f"This encounter was signed by {encounter.signed_by} at "
            f"{timezone.localtime(encounter.signed_at):%Y-%m-%d %H:%M}."
        )
    encounter.status = Encounter.Status.SIGNED
    encounter.signed_by = acting_user
    encounter.signed_at = timezone.now()
    encounter.save(update_fields=["status", "signed_by", "signed_at"])
    _record(acting_user, encounter, "encounter_sign")
    return encounter


@transaction.atomic
def records_request_create(
    *,
    acting_user: User,
    patient: Patient,
    requested_by: str,
    received_date: datetime.date,
    notes: str = "",
) -> RecordsRequest:
    """Log a request for a copy of the records; it is due 30 days after it was received."""
    if received_date > timezone.localdate():
        raise ValidationError({"received_date": "A request cannot be received in the future."})
    request = RecordsRequest(
        patient=patient,
        requested_by=requested_by.strip(),
        received_date=received_date,
        notes=notes,
        due_date=received_date + datetime.timedelta(days=30),
    )
    request.full_clean()
    request.save()
    _record(acting_user, request, "records_request_create")
    return request


def _records_request_open(records_request: RecordsRequest) -> RecordsRequest:
    records_request = _locked(RecordsRequest, records_request)
    if records_request.status not in RECORDS_REQUEST_OPEN:
        raise ValidationError(
            f"This request is {records_request.get_status_display().lower()} already."
        )
    return records_request


@transaction.atomic
def records_request_start(*, acting_user: User, records_request: RecordsRequest) -> RecordsRequest:
    records_request = _records_request_open(records_request)
    records_request.status = RecordsRequest.Status.IN_PROGRESS
    records_request.save()
    _record(acting_user, records_request, "records_request_start")
    return records_request


@transaction.atomic
def records_request_fulfil(
    *,
    acting_user: User,
    records_request: RecordsRequest,
    fulfilled_date: datetime.date | None = None,
) -> RecordsRequest:
    records_request = _records_request_open(records_request)
    fulfilled_date = fulfilled_date or timezone.localdate()
    if fulfilled_date > timezone.localdate():
        raise ValidationError({"fulfilled_date": "This date is in the future."})
    if fulfilled_date < records_request.received_date:
        raise ValidationError(
            {"fulfilled_date": f"The request was received on {records_request.received_date}."}
        )
    records_request.status = RecordsRequest.Status.FULFILLED
    records_request.fulfilled_date = fulfilled_date
    records_request.save()
    _record(
        acting_user,
        records_request,
        "records_request_fulfil",
        late=fulfilled_date > records_request.due_date,
    )
    return records_request


@transaction.atomic
def records_request_deny(
    *, acting_user: User, records_request: RecordsRequest, reason: str
) -> RecordsRequest:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the request is denied; the patient is told."})
    records_request = _records_request_open(records_request)
    records_request.status = RecordsRequest.Status.DENIED
    records_request.notes = f"Denied: {reason.strip()}"[:200]
    records_request.save()
    _record(acting_user, records_request, "records_request_deny", reason=reason.strip()[:200])
    return records_request
