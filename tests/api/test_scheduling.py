"""Booking and the patient flow through the REST API: the same services, the same messages."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.scheduling.models import Appointment
from practicedesk.scheduling.services import appointment_book
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db


def booking(clinic, patient, start):
    return {
        "patient": patient.pk,
        "provider": clinic["provider"].pk,
        "location": clinic["location"].pk,
        "appointment_type": clinic["type"].pk,
        "start": start.isoformat(),
    }


def book(clinic, user, patient=None, start=None):
    return appointment_book(
        acting_user=user,
        patient=patient or factories.PatientFactory(),
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=start or next_weekday_at(9),
    )


def test_booking_through_the_api_holds_the_time(api_client, clinic):
    client = api_client("front_desk")
    patient = factories.PatientFactory()
    response = client.post(
        "/api/appointments/", booking(clinic, patient, next_weekday_at(9)), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.booked_by == client.user
    assert appointment.end - appointment.start == datetime.timedelta(minutes=20)
    assert body["status"] == "scheduled"
    assert AuditEvent.objects.filter(name="appointment_book", user=client.user).exists()


def test_booking_a_conflict_is_refused_with_the_services_message_and_books_nothing(
    api_client, clinic
):
    client = api_client("front_desk")
    book(clinic, client.user)
    clash_at = next_weekday_at(9, 10)
    patient = factories.PatientFactory()
    with pytest.raises(ValidationError) as service_error:
        book(clinic, client.user, patient=patient, start=clash_at)
    response = client.post("/api/appointments/", booking(clinic, patient, clash_at), format="json")
    assert response.status_code == 400
    assert response.json() == service_error.value.message_dict
    assert "already booked" in response.json()["start"][0]
    assert Appointment.objects.count() == 1


def test_booking_outside_working_hours_is_refused(api_client, clinic):
    response = api_client("front_desk").post(
        "/api/appointments/",
        booking(clinic, factories.PatientFactory(), next_weekday_at(12, 30)),
        format="json",
    )
    assert response.status_code == 400
    assert "not available" in response.json()["start"][0]
    assert not Appointment.objects.exists()


def test_booking_with_a_missing_field_names_it(api_client, clinic):
    data = booking(clinic, factories.PatientFactory(), next_weekday_at(9))
    del data["provider"]
    response = api_client("front_desk").post("/api/appointments/", data, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["provider"]


def test_appointments_are_changed_only_through_actions(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    client = api_client("manager")
    path = f"/api/appointments/{appointment.pk}/"
    assert client.patch(path, {"status": "checked_out"}, format="json").status_code == 405
    assert client.delete(path).status_code == 405


def test_cancel_needs_a_reason_and_releases_the_time(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    client = api_client("front_desk")
    path = f"/api/appointments/{appointment.pk}/cancel/"
    refused = client.post(path, {"reason": " "}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"reason": ["Say why the appointment is cancelled."]}
    response = client.post(path, {"reason": "Feeling better"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "Feeling better"
    again = client.post(path, {"reason": "Twice"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["A cancelled appointment cannot be cancelled."]}


def test_a_clinician_may_move_a_visit_along_the_flow_but_not_cancel_and_rebook(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    client = api_client("clinician")
    path = f"/api/appointments/{appointment.pk}/advance/"
    for status in ("arrived", "roomed", "with_provider", "checked_out"):
        response = client.post(path, {"status": status}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == status
    appointment.refresh_from_db()
    assert appointment.flow_events.count() == 4
    assert appointment.encounter is not None
    assert client.post("/api/appointments/", {}, format="json").status_code == 403


def test_advancing_out_of_order_is_refused(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    response = api_client("front_desk").post(
        f"/api/appointments/{appointment.pk}/advance/", {"status": "checked_out"}, format="json"
    )
    assert response.status_code == 400
    assert (
        "can move to confirmed, arrived, not to checked out"
        in (response.json()["non_field_errors"][0])
    )
    bad = api_client("front_desk").post(
        f"/api/appointments/{appointment.pk}/advance/", {"status": "cancelled"}, format="json"
    )
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_no_show_is_refused_before_the_appointment_time(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    response = api_client("front_desk").post(f"/api/appointments/{appointment.pk}/no-show/")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["An appointment cannot be a no-show before its time."]
    }


def test_reschedule_moves_the_appointment_through_the_same_checks(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    other = book(clinic, factories.UserFactory(), start=next_weekday_at(10))
    client = api_client("front_desk")
    path = f"/api/appointments/{appointment.pk}/reschedule/"
    clash = client.post(path, {"start": next_weekday_at(10).isoformat()}, format="json")
    assert clash.status_code == 400
    assert "already booked" in clash.json()["start"][0]
    moved = client.post(path, {"start": next_weekday_at(11).isoformat()}, format="json")
    assert moved.status_code == 200
    appointment.refresh_from_db()
    assert appointment.start == next_weekday_at(11)
    assert other.start == next_weekday_at(10)


def test_appointment_list_filters_by_day_provider_and_status(api_client, clinic):
    first = book(clinic, factories.UserFactory())
    book(clinic, factories.UserFactory(), start=next_weekday_at(9, weekday=1))
    client = api_client("front_desk")
    day = timezone.localdate(first.start).isoformat()
    rows = client.get("/api/appointments/", {"date": day}).json()["results"]
    assert [row["id"] for row in rows] == [first.pk]
    rows = client.get(
        "/api/appointments/", {"provider": clinic["provider"].pk, "status": "scheduled"}
    ).json()["results"]
    assert len(rows) == 2
    assert client.get("/api/appointments/", {"status": "cancelled"}).json()["count"] == 0


def test_reading_appointments_is_audited(api_client, clinic):
    appointment = book(clinic, factories.UserFactory())
    client = api_client("front_desk")
    client.get(f"/api/appointments/{appointment.pk}/")
    client.get("/api/appointments/")
    reads = AuditEvent.objects.filter(action=AuditEvent.Action.READ).order_by("id")
    assert [event.object_id for event in reads] == [str(appointment.pk), ""]
    assert reads[1].detail["total"] == 1


def test_slots_lists_open_times_around_bookings(api_client, clinic):
    monday = next_weekday_at(8).date()
    book(clinic, factories.UserFactory(), start=next_weekday_at(8))
    client = api_client("front_desk")
    response = client.get(
        "/api/slots/",
        {
            "appointment_type": clinic["type"].pk,
            "location": clinic["location"].pk,
            "date": monday.isoformat(),
            "days": 1,
        },
    )
    assert response.status_code == 200
    starts = [
        timezone.localtime(datetime.datetime.fromisoformat(s["start"])) for s in response.json()
    ]
    assert starts[0].time() == datetime.time(8, 20)
    # 8-12 and 13-17 in 20-minute visits, less the one booked.
    assert len(starts) == 12 + 12 - 1
    assert {slot["provider"] for slot in response.json()} == {clinic["provider"].pk}
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.READ).exists()


def test_next_slot_is_the_earliest_open_time(api_client, clinic):
    client = api_client("front_desk")
    not_before = next_weekday_at(16, 50)
    response = client.get(
        "/api/slots/next/",
        {"appointment_type": clinic["type"].pk, "not_before": not_before.isoformat()},
    )
    assert response.status_code == 200
    start = datetime.datetime.fromisoformat(response.json()["start"])
    tuesday = not_before.date() + datetime.timedelta(days=1)
    assert start == timezone.make_aware(datetime.datetime.combine(tuesday, datetime.time(8)))


def test_slots_explains_bad_parameters(api_client, clinic):
    client = api_client("front_desk")
    response = client.get("/api/slots/", {"days": 90})
    assert response.status_code == 400
    assert set(response.json()) == {"appointment_type", "days"}
