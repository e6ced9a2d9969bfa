import datetime
import threading

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import Patient
from practicedesk.scheduling.models import Appointment, Encounter, FlowEvent, ScheduleException
from practicedesk.scheduling.services import (
    appointment_advance,
    appointment_book,
    appointment_book_recurring,
    appointment_cancel,
    appointment_no_show,
    appointment_reschedule,
)
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db


def book(clinic, user, patient=None, start=None, **kwargs):
    return appointment_book(
        acting_user=user,
        patient=patient or factories.PatientFactory(),
        provider=kwargs.pop("provider", clinic["provider"]),
        location=clinic["location"],
        appointment_type=kwargs.pop("appointment_type", clinic["type"]),
        start=start or next_weekday_at(9),
        **kwargs,
    )


def test_booking_inside_working_hours_holds_the_time(clinic, make_user):
    appointment = book(clinic, make_user("front_desk"))
    assert appointment.end - appointment.start == datetime.timedelta(minutes=20)
    assert appointment.status == Appointment.Status.SCHEDULED


def test_a_provider_is_never_double_booked(clinic, make_user):
    user = make_user("front_desk")
    book(clinic, user)
    with pytest.raises(ValidationError, match="already booked"):
        book(clinic, user, start=next_weekday_at(9, 10))
    assert Appointment.objects.count() == 1


def test_a_patient_is_never_double_booked_even_with_another_provider(clinic, make_user):
    user = make_user("front_desk")
    other = factories.ProviderFactory()
    factories.weekly_schedule(other, clinic["location"], weekdays=range(5))
    patient = factories.PatientFactory()
    book(clinic, user, patient=patient)
    with pytest.raises(ValidationError, match="already has an appointment"):
        book(clinic, user, patient=patient, provider=other)


def test_a_room_is_never_double_booked(clinic, make_user):
    user = make_user("front_desk")
    roomed = factories.AppointmentTypeFactory(name="Physical", duration_minutes=30, needs_room=True)
    second = factories.ProviderFactory()
    third = factories.ProviderFactory()
    for provider in (second, third):
        factories.weekly_schedule(provider, clinic["location"], weekdays=range(5))
    first = book(clinic, user, appointment_type=roomed)
    other = book(clinic, user, appointment_type=roomed, provider=second)
    assert {first.room, other.room} == set(clinic["rooms"])
    with pytest.raises(ValidationError, match="Every room"):
        book(clinic, user, appointment_type=roomed, provider=third)


def test_booking_outside_availability_is_refused(clinic, make_user):
    with pytest.raises(ValidationError, match="not available"):
        book(clinic, make_user("front_desk"), start=next_weekday_at(12, 30))
    with pytest.raises(ValidationError, match="not available"):
        book(clinic, make_user("front_desk"), start=next_weekday_at(9, weekday=6))


def test_a_holiday_closes_the_time(clinic, make_user):
    start = next_weekday_at(9)
    ScheduleException.objects.create(
        kind="holiday",
        location=clinic["location"],
        start=start.replace(hour=0),
        end=start.replace(hour=23),
        reason="Closed",
    )
    with pytest.raises(ValidationError, match="holiday, block or leave"):
        book(clinic, make_user("front_desk"), start=start)


def test_booking_in_the_past_is_refused(clinic, make_user):
    with pytest.raises(ValidationError, match="already passed"):
        book(clinic, make_user("front_desk"), start=next_weekday_at(9, weeks_ahead=-2))


def test_booking_a_merged_patient_is_refused(clinic, make_user):
    target = factories.PatientFactory()
    merged = factories.PatientFactory(status=Patient.Status.MERGED, merged_into=target)
    with pytest.raises(ValidationError, match="merged into"):
        book(clinic, make_user("front_desk"), patient=merged)


def test_booking_with_an_inactive_coverage_is_refused(clinic, make_user):
    coverage = factories.CoverageFactory(end_date=datetime.date(2021, 12, 31))
    with pytest.raises(ValidationError, match="not active"):
        book(clinic, make_user("front_desk"), patient=coverage.patient, coverage=coverage)
    assert not Appointment.objects.exists()


def test_overbooking_needs_the_permission_and_a_reason(clinic, make_user):
    book(clinic, make_user("front_desk"))
    with pytest.raises(ValidationError, match="may not overbook"):
        book(clinic, make_user("front_desk"), overbook_reason="Urgent")
    squeezed = book(clinic, make_user("manager"), overbook_reason="Urgent: chest pain")
    assert squeezed.is_overbook
    assert squeezed.overbook_reason == "Urgent: chest pain"


def test_recurring_booking_is_all_or_nothing(clinic, make_user):
    user = make_user("front_desk")
    start = next_weekday_at(10)
    book(clinic, user, start=start + datetime.timedelta(weeks=4))
    with pytest.raises(ValidationError, match="Nothing was booked: appointment 3 of 4"):
        appointment_book_recurring(
            acting_user=user,
            patient=factories.PatientFactory(),
            provider=clinic["provider"],
            location=clinic["location"],
            appointment_type=clinic["type"],
            start=start,
            every_weeks=2,
            count=4,
        )
    assert Appointment.objects.count() == 1
    series = appointment_book_recurring(
        acting_user=user,
        patient=factories.PatientFactory(),
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=start,
        every_weeks=1,
        count=3,
    )
    assert len({appointment.series_id for appointment in series}) == 1


def test_a_cancellation_inside_the_window_is_marked_late(clinic, make_user, settings):
    user = make_user("front_desk")
    appointment = book(clinic, user)
    settings.LATE_CANCEL_HOURS = 24 * 30
    cancelled, _ = appointment_cancel(acting_user=user, appointment=appointment, reason="Sick")
    assert cancelled.is_late_cancel
    assert cancelled.status == Appointment.Status.CANCELLED
    book(clinic, user, start=appointment.start)


def test_cancel_without_a_reason_is_refused(clinic, make_user):
    appointment = book(clinic, make_user("front_desk"))
    with pytest.raises(ValidationError, match="why"):
        appointment_cancel(acting_user=make_user("front_desk"), appointment=appointment, reason=" ")


def test_reschedule_moves_the_visit_and_keeps_the_rules(clinic, make_user):
    user = make_user("front_desk")
    first = book(clinic, user)
    second = book(clinic, user, start=next_weekday_at(10))
    with pytest.raises(ValidationError, match="already booked"):
        appointment_reschedule(acting_user=user, appointment=second, start=first.start)
    moved = appointment_reschedule(acting_user=user, appointment=second, start=next_weekday_at(14))
    assert timezone.localtime(moved.start).hour == 14


def test_no_show_only_after_the_time(clinic, make_user):
    appointment = book(clinic, make_user("front_desk"))
    with pytest.raises(ValidationError, match="before its time"):
        appointment_no_show(acting_user=make_user("front_desk"), appointment=appointment)


def test_flow_is_timestamped_step_by_step_and_checkout_opens_an_encounter(clinic, make_user):
    user = make_user("front_desk")
    appointment = book(clinic, user)
    with pytest.raises(ValidationError, match="can move to"):
        appointment_advance(acting_user=user, appointment=appointment, to_status="checked_out")
    base = timezone.now()
    for minutes, status in enumerate(["arrived", "roomed", "with_provider", "checked_out"]):
        appointment = appointment_advance(
            acting_user=user,
            appointment=appointment,
            to_status=status,
            at=base + datetime.timedelta(minutes=10 * minutes),
        )
    assert appointment.wait_to_roomed == 10
    assert appointment.wait_to_provider == 20
    assert appointment.arrival_to_checkout == 30
    assert FlowEvent.objects.filter(appointment=appointment, by=user).count() == 4
    assert Encounter.objects.get(appointment=appointment).status == "open"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_bookings_of_one_slot_cannot_both_win(clinic, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("The race is proven on PostgreSQL; SQLite serialises every writer.")
    user = make_user("front_desk")
    patients = [factories.PatientFactory(), factories.PatientFactory()]
    start = next_weekday_at(11)
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(patient):
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            book(clinic, user, patient=patient, start=start)
            outcomes.append("booked")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.filter(start=start).count() == 1


def test_a_booking_runs_a_fixed_small_number_of_queries(clinic, make_user, settings):
    """Locks (provider, patient, rooms), one query for every check, the insert and its two
    audit records, inside the savepoint: however full the day already is. The cache is kept
    in memory here, so that only the booking's own queries are counted."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    user = make_user("front_desk")
    roomed = factories.AppointmentTypeFactory(name="Physical", duration_minutes=30, needs_room=True)
    ContentType.objects.get_for_model(Appointment)  # cached for the process, like in service
    counts = []
    for hour in (9, 10, 11):
        patient = factories.PatientFactory()
        with CaptureQueriesContext(connection) as queries:
            book(clinic, user, patient, next_weekday_at(hour), appointment_type=roomed)
        counts.append(len(queries))
    assert counts == [9, 9, 9], "\n".join(q["sql"][:150] for q in queries.captured_queries)
    assert LogEntry.objects.get_for_model(Appointment).count() == 3
    assert AuditEvent.objects.filter(name="appointment_book").count() == 3


def test_a_visit_without_a_room_leaves_the_rooms_free(clinic, make_user):
    user = make_user("front_desk")
    talk = factories.AppointmentTypeFactory(
        name="Phone call", duration_minutes=20, needs_room=False
    )
    second = factories.ProviderFactory()
    factories.weekly_schedule(second, clinic["location"], weekdays=range(5))
    roomed = factories.AppointmentTypeFactory(name="Physical", duration_minutes=30, needs_room=True)
    call = book(clinic, user, appointment_type=talk)
    assert call.room is None
    visit = book(clinic, user, provider=second, appointment_type=roomed)
    assert visit.room == clinic["rooms"][0]


def test_leave_closes_only_that_providers_time(clinic, make_user):
    user = make_user("front_desk")
    start = next_weekday_at(9)
    other = factories.ProviderFactory()
    factories.weekly_schedule(other, clinic["location"], weekdays=range(5))
    ScheduleException.objects.create(
        kind="leave",
        provider=clinic["provider"],
        start=start - datetime.timedelta(hours=1),
        end=start + datetime.timedelta(minutes=10),
    )
    with pytest.raises(ValidationError, match="holiday, block or leave"):
        book(clinic, user, start=start)
    assert book(clinic, user, start=start, provider=other).provider == other
    assert book(clinic, user, start=start + datetime.timedelta(minutes=10)).start > start


def test_a_provider_who_does_not_work_at_the_location_is_refused(clinic, make_user):
    elsewhere = factories.ProviderFactory()
    with pytest.raises(ValidationError, match="does not work at"):
        book(clinic, make_user("front_desk"), provider=elsewhere)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_bookings_of_the_last_room_cannot_both_win(clinic, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("The race is proven on PostgreSQL; SQLite serialises every writer.")
    user = make_user("front_desk")
    roomed = factories.AppointmentTypeFactory(name="Physical", duration_minutes=30, needs_room=True)
    clinic["rooms"][1].is_active = False
    clinic["rooms"][1].save()
    second = factories.ProviderFactory()
    factories.weekly_schedule(second, clinic["location"], weekdays=range(5))
    start = next_weekday_at(11)
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(provider):
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            book(clinic, user, provider=provider, start=start, appointment_type=roomed)
            outcomes.append("booked")
        except ValidationError as error:
            outcomes.append("refused" if "Every room" in str(error) else str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in (clinic["provider"], second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.filter(start=start, room=clinic["rooms"][0]).count() == 1
