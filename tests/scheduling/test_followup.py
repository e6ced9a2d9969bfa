"""Waitlist, recalls, chart closure and records requests: the rules of their services."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.scheduling import selectors
from practicedesk.scheduling.models import Encounter, Recall, RecordsRequest
from practicedesk.scheduling.services import (
    appointment_advance,
    appointment_book,
    appointment_cancel,
    encounter_sign,
    recall_book,
    recall_cancel,
    recall_create,
    records_request_create,
    records_request_deny,
    records_request_fulfil,
    records_request_start,
    waitlist_add,
    waitlist_book,
    waitlist_offer,
    waitlist_remove,
)
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db


def book(clinic, user, patient=None, start=None):
    return appointment_book(
        acting_user=user,
        patient=patient or factories.PatientFactory(),
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=start or next_weekday_at(9),
    )


def wait(clinic, user, **kwargs):
    kwargs.setdefault("patient", factories.PatientFactory())
    kwargs.setdefault("appointment_type", clinic["type"])
    kwargs.setdefault("location", clinic["location"])
    kwargs.setdefault("wanted_before", timezone.localdate() + datetime.timedelta(days=60))
    return waitlist_add(acting_user=user, **kwargs)


def check_out(appointment, user):
    for status in ("arrived", "with_provider", "checked_out"):
        appointment = appointment_advance(
            acting_user=user, appointment=appointment, to_status=status
        )
    return appointment


# Waitlist.


def test_waitlist_entry_keeps_clean_weekdays_and_refuses_bad_ones(clinic, make_user):
    user = make_user("front_desk")
    entry = wait(clinic, user, preferred_weekdays="4, 0,2,2")
    assert entry.preferred_weekdays == "0,2,4"
    with pytest.raises(ValidationError, match="weekday numbers"):
        wait(clinic, user, preferred_weekdays="mon")


def test_waitlist_refuses_a_past_date_and_a_second_entry_for_the_same_visit(clinic, make_user):
    user = make_user("front_desk")
    patient = factories.PatientFactory()
    with pytest.raises(ValidationError, match="passed"):
        wait(
            clinic,
            user,
            patient=patient,
            wanted_before=timezone.localdate() - datetime.timedelta(days=1),
        )
    wait(clinic, user, patient=patient)
    with pytest.raises(ValidationError, match="already on the waitlist"):
        wait(clinic, user, patient=patient)


def test_a_cancellation_offers_the_slot_to_matching_waiting_patients(clinic, make_user):
    user = make_user("front_desk")
    appointment = book(clinic, user, start=next_weekday_at(9, weekday=0))
    matching = wait(clinic, user, preferred_weekdays="0,1")
    wait(clinic, user, time_of_day="afternoon")
    wait(clinic, user, preferred_weekdays="3")
    wait(clinic, user, appointment_type=factories.AppointmentTypeFactory(name="Physical"))
    wait(clinic, user, wanted_before=timezone.localdate() + datetime.timedelta(days=1))

    cancelled, matches = appointment_cancel(acting_user=user, appointment=appointment, reason="Ill")
    assert matches == [matching]

    offered = waitlist_offer(acting_user=user, entry=matching, appointment=cancelled)
    assert offered.status == "offered"
    assert offered.offered_appointment == cancelled
    assert selectors.waitlist_for_slot(cancelled)["offered"] == [offered]
    assert AuditEvent.objects.filter(name="waitlist_offer", object_id=str(matching.pk)).exists()

    booked = waitlist_book(
        acting_user=user, entry=offered, provider=clinic["provider"], start=cancelled.start
    )
    assert booked.patient == matching.patient
    assert booked.start == cancelled.start
    offered.refresh_from_db()
    assert offered.status == "booked"
    with pytest.raises(ValidationError, match="booked already"):
        waitlist_remove(acting_user=user, entry=offered)


def test_only_a_freed_future_slot_can_be_offered(clinic, make_user):
    user = make_user("front_desk")
    appointment = book(clinic, user)
    entry = wait(clinic, user)
    with pytest.raises(ValidationError, match="cancelled appointment"):
        waitlist_offer(acting_user=user, entry=entry, appointment=appointment)
    elsewhere = wait(clinic, user, location=factories.LocationFactory())
    cancelled, _ = appointment_cancel(acting_user=user, appointment=appointment, reason="Ill")
    with pytest.raises(ValidationError, match="does not match"):
        waitlist_offer(acting_user=user, entry=elsewhere, appointment=cancelled)
    assert waitlist_remove(acting_user=user, entry=entry).status == "removed"
    with pytest.raises(ValidationError, match="removed"):
        waitlist_offer(acting_user=user, entry=entry, appointment=cancelled)


def test_freed_slots_list_cancellations_someone_waits_for_until_rebooked(clinic, make_user):
    user = make_user("front_desk")
    day = timezone.localdate() + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    soon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
    appointment = book(clinic, user, start=soon)
    assert selectors.freed_slots_upcoming() == []
    wait(clinic, user)
    cancelled, _ = appointment_cancel(acting_user=user, appointment=appointment, reason="Ill")
    assert selectors.freed_slots_upcoming() == [cancelled]
    book(clinic, user, start=cancelled.start)
    assert selectors.freed_slots_upcoming() == []


# Recalls.


def test_a_recall_is_booked_linked_and_completed_at_checkout(clinic, make_user):
    user = make_user("front_desk")
    recall = recall_create(
        acting_user=user,
        patient=factories.PatientFactory(),
        appointment_type=clinic["type"],
        due_date=timezone.localdate(),
        reason="Annual physical",
    )
    appointment = recall_book(
        acting_user=user,
        recall=recall,
        provider=clinic["provider"],
        location=clinic["location"],
        start=next_weekday_at(10),
    )
    recall.refresh_from_db()
    assert recall.status == Recall.Status.BOOKED
    assert recall.appointment == appointment
    assert appointment.patient == recall.patient
    assert appointment.reason == "Annual physical"
    with pytest.raises(ValidationError, match="booked already"):
        recall_book(
            acting_user=user,
            recall=recall,
            provider=clinic["provider"],
            location=clinic["location"],
            start=next_weekday_at(11),
        )
    check_out(appointment, user)
    recall.refresh_from_db()
    assert recall.status == Recall.Status.COMPLETED


def test_a_failed_recall_booking_changes_nothing(clinic, make_user):
    user = make_user("front_desk")
    recall = factories.RecallFactory(appointment_type=clinic["type"])
    with pytest.raises(ValidationError, match="not available"):
        recall_book(
            acting_user=user,
            recall=recall,
            provider=clinic["provider"],
            location=clinic["location"],
            start=next_weekday_at(12, 30),
        )
    recall.refresh_from_db()
    assert recall.status == Recall.Status.OPEN and recall.appointment is None


def test_cancelling_the_recall_visit_reopens_the_recall(clinic, make_user):
    user = make_user("front_desk")
    recall = factories.RecallFactory(appointment_type=clinic["type"])
    appointment = recall_book(
        acting_user=user,
        recall=recall,
        provider=clinic["provider"],
        location=clinic["location"],
        start=next_weekday_at(10),
    )
    appointment_cancel(acting_user=user, appointment=appointment, reason="Travelling")
    recall.refresh_from_db()
    assert recall.status == Recall.Status.OPEN
    assert recall.appointment is None
    assert recall_cancel(acting_user=user, recall=recall).status == Recall.Status.CANCELLED


def test_overdue_recalls_are_open_ones_past_their_due_date():
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    overdue = factories.RecallFactory(due_date=yesterday)
    factories.RecallFactory(due_date=yesterday, status=Recall.Status.BOOKED)
    factories.RecallFactory(due_date=today)
    assert list(selectors.recalls_overdue()) == [overdue]


def test_a_recall_needs_a_reason(clinic, make_user):
    with pytest.raises(ValidationError, match="due for"):
        recall_create(
            acting_user=make_user("front_desk"),
            patient=factories.PatientFactory(),
            appointment_type=clinic["type"],
            due_date=timezone.localdate(),
            reason="  ",
        )


# Encounters: chart closure.


def test_encounters_past_the_chart_closure_lag_are_listed_per_provider(settings):
    settings.CHART_CLOSURE_HOURS = 48
    now = timezone.now()
    first, second = factories.ProviderFactory(), factories.ProviderFactory()
    for provider, hours in ((first, 50), (first, 100), (second, 49), (second, 47)):
        encounter = factories.EncounterFactory(appointment__provider=provider)
        Encounter.objects.filter(pk=encounter.pk).update(
            opened_at=now - datetime.timedelta(hours=hours)
        )
    signed = factories.EncounterFactory(appointment__provider=second)
    Encounter.objects.filter(pk=signed.pk).update(
        opened_at=now - datetime.timedelta(hours=200), status=Encounter.Status.SIGNED
    )
    assert selectors.encounters_unsigned_overdue().count() == 3
    counts = {row["provider_id"]: row["count"] for row in selectors.chart_closure_by_provider()}
    assert counts == {first.pk: 2, second.pk: 1}


def test_clinicians_and_the_manager_sign_encounters_and_front_desk_cannot(make_user):
    encounter = factories.EncounterFactory()
    with pytest.raises(ValidationError, match="clinician or the practice manager"):
        encounter_sign(acting_user=make_user("front_desk"), encounter=encounter)
    clinician = make_user("clinician")
    signed = encounter_sign(acting_user=clinician, encounter=encounter)
    assert signed.status == Encounter.Status.SIGNED
    assert signed.signed_by == clinician
    assert signed.signed_at is not None
    with pytest.raises(ValidationError, match="was signed by"):
        encounter_sign(acting_user=make_user("manager"), encounter=encounter)
    assert encounter_sign(acting_user=make_user("manager"), encounter=factories.EncounterFactory())


def test_checkout_opens_the_encounter_the_manager_oversees(clinic, make_user):
    user = make_user("front_desk")
    appointment = check_out(book(clinic, user), user)
    encounter = Encounter.objects.get(appointment=appointment)
    assert encounter.status == Encounter.Status.OPEN
    assert encounter.provider == clinic["provider"]


# Records requests.


def test_a_records_request_is_due_thirty_days_after_it_was_received(make_user):
    request = records_request_create(
        acting_user=make_user("front_desk"),
        patient=factories.PatientFactory(),
        requested_by="The patient",
        received_date=datetime.date(2026, 1, 20),
    )
    assert request.due_date == datetime.date(2026, 2, 19)
    assert request.status == RecordsRequest.Status.RECEIVED
    with pytest.raises(ValidationError, match="future"):
        records_request_create(
            acting_user=make_user("front_desk"),
            patient=factories.PatientFactory(),
            requested_by="The patient",
            received_date=timezone.localdate() + datetime.timedelta(days=1),
        )


def test_fulfilling_or_denying_closes_a_request_once(make_user):
    user = make_user("front_desk")
    received = timezone.localdate() - datetime.timedelta(days=5)
    request = factories.RecordsRequestFactory(received_date=received)
    with pytest.raises(ValidationError, match="received on"):
        records_request_fulfil(
            acting_user=user,
            records_request=request,
            fulfilled_date=received - datetime.timedelta(days=1),
        )
    records_request_start(acting_user=user, records_request=request)
    done = records_request_fulfil(acting_user=user, records_request=request)
    assert done.status == RecordsRequest.Status.FULFILLED
    assert done.fulfilled_date == timezone.localdate()
    with pytest.raises(ValidationError, match="fulfilled already"):
        records_request_deny(acting_user=user, records_request=request, reason="Duplicate")
    other = factories.RecordsRequestFactory(received_date=received)
    with pytest.raises(ValidationError, match="why"):
        records_request_deny(acting_user=user, records_request=other, reason=" ")
    denied = records_request_deny(acting_user=user, records_request=other, reason="Not the patient")
    assert denied.status == RecordsRequest.Status.DENIED
    assert "Not the patient" in denied.notes


def test_overdue_records_requests_are_open_past_their_due_date():
    long_ago = timezone.localdate() - datetime.timedelta(days=31)
    overdue = factories.RecordsRequestFactory(received_date=long_ago)
    factories.RecordsRequestFactory(received_date=long_ago, status=RecordsRequest.Status.FULFILLED)
    factories.RecordsRequestFactory(received_date=timezone.localdate())
    assert list(selectors.records_requests_overdue()) == [overdue]
