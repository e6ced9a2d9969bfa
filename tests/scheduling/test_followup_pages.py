"""The follow-up pages: waitlist and freed slots, recalls, unsigned encounters, records
requests — what they show, and that their buttons go through the services."""

import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.navigation import menu_for
from practicedesk.scheduling.models import Encounter, RecordsRequest, WaitlistEntry
from practicedesk.scheduling.services import appointment_book, appointment_cancel
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def front_desk_client(client, make_user):
    client.force_login(make_user("front_desk"))
    return client


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}


def test_the_menu_lists_the_follow_up_pages(manager):
    labels = {entry.label for _, entries in menu_for(manager) for entry in entries}
    assert {"Waitlist", "Recalls", "Unsigned encounters", "Records requests"} <= labels


def test_adding_to_the_waitlist_by_mrn(front_desk_client, clinic):
    patient = factories.PatientFactory()
    form = front_desk_client.get(reverse("scheduling:waitlist_create") + f"?patient={patient.pk}")
    assert patient.mrn in form.content.decode()
    wanted = timezone.localdate() + datetime.timedelta(days=30)
    data = {
        "patient": patient.mrn.lower(),
        "appointment_type": clinic["type"].pk,
        "location": clinic["location"].pk,
        "preferred_weekdays": ["0", "2"],
        "time_of_day": "morning",
        "wanted_before": wanted.isoformat(),
    }
    response = front_desk_client.post(reverse("scheduling:waitlist_create"), data)
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get(patient=patient)
    assert entry.preferred_weekdays == "0,2"
    assert entry.time_of_day == "morning"
    again = front_desk_client.post(reverse("scheduling:waitlist_create"), data)
    assert "already on the waitlist" in again.content.decode()
    unknown = front_desk_client.post(
        reverse("scheduling:waitlist_create"), {**data, "patient": "NOPE1"}
    )
    assert "No patient has the MRN NOPE1" in unknown.content.decode()


def test_the_waitlist_filters_by_status(front_desk_client):
    waiting = factories.WaitlistEntryFactory()
    removed = factories.WaitlistEntryFactory(status="removed")
    page = front_desk_client.get(reverse("scheduling:waitlist") + "?status=waiting")
    content = page.content.decode()
    assert str(waiting.patient) in content
    assert str(removed.patient) not in content


def test_a_freed_slot_is_offered_then_booked_from_its_page(front_desk_client, clinic, make_user):
    user = make_user("front_desk")
    start = next_weekday_at(9)
    appointment = appointment_book(
        acting_user=user,
        patient=factories.PatientFactory(),
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=start,
    )
    entry = factories.WaitlistEntryFactory(
        appointment_type=clinic["type"], location=clinic["location"]
    )
    cancelled, _ = appointment_cancel(acting_user=user, appointment=appointment, reason="Ill")
    waitlist = front_desk_client.get(reverse("scheduling:waitlist")).content.decode()
    slot_url = reverse("scheduling:waitlist_slot", args=[cancelled.pk])
    assert slot_url in waitlist

    page = front_desk_client.get(slot_url).content.decode()
    assert entry.patient.display_name in page
    assert reverse("scheduling:waitlist_offer", args=[entry.pk]) in page

    response = front_desk_client.post(
        reverse("scheduling:waitlist_offer", args=[entry.pk]), {"appointment": cancelled.pk}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == "offered"
    page = front_desk_client.get(slot_url)
    (book_link,) = [link for link in page.context["offered"] if link[0] == entry]
    params = query_of(book_link[1])
    assert urlparse(book_link[1]).path == reverse("scheduling:book")
    assert params == {
        "provider": str(clinic["provider"].pk),
        "location": str(clinic["location"].pk),
        "start": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
        "appointment_type": str(clinic["type"].pk),
        "patient": str(entry.patient.pk),
        "waitlist": str(entry.pk),
    }


def test_recalls_list_overdue_ones_with_a_booking_link(front_desk_client):
    overdue = factories.RecallFactory(due_date=timezone.localdate() - datetime.timedelta(days=3))
    later = factories.RecallFactory(due_date=timezone.localdate() + datetime.timedelta(days=30))
    page = front_desk_client.get(reverse("scheduling:recall_list") + "?overdue=true")
    content = page.content.decode()
    assert str(overdue.patient) in content
    assert str(later.patient) not in content
    assert "Overdue" in content
    table = page.context["table"]
    (row,) = list(table.rows)
    link = row.get_cell("actions")
    assert f"recall={overdue.pk}" in link
    assert f"patient={overdue.patient.pk}" in link
    assert f"appointment_type={overdue.appointment_type.pk}" in link


def test_creating_a_recall_from_the_page(front_desk_client, clinic):
    patient = factories.PatientFactory()
    response = front_desk_client.post(
        reverse("scheduling:recall_create"),
        {
            "patient": patient.mrn,
            "reason": "Annual physical",
            "appointment_type": clinic["type"].pk,
            "due_date": "2027-01-15",
        },
    )
    assert response.status_code == 302
    assert patient.recalls.get().due_date == datetime.date(2027, 1, 15)


def test_the_chart_closure_list_and_signing(client, make_user, settings):
    settings.CHART_CLOSURE_HOURS = 72
    old = factories.EncounterFactory()
    Encounter.objects.filter(pk=old.pk).update(
        opened_at=timezone.now() - datetime.timedelta(hours=80)
    )
    fresh = factories.EncounterFactory()
    Encounter.objects.filter(pk=fresh.pk).update(opened_at=timezone.now())
    clinician = make_user("clinician")
    client.force_login(clinician)
    page = client.get(reverse("scheduling:encounter_list"))
    content = page.content.decode()
    assert str(old.patient) in content
    assert str(fresh.patient) not in content
    assert page.context["by_provider"][0]["count"] == 1
    sign_url = reverse("scheduling:encounter_sign", args=[old.pk])
    assert sign_url in content
    assert client.get(sign_url).status_code == 200
    assert client.post(sign_url).status_code == 302
    old.refresh_from_db()
    assert old.status == "signed" and old.signed_by == clinician


def test_front_desk_may_not_sign_even_with_the_button_url(front_desk_client):
    encounter = factories.EncounterFactory()
    response = front_desk_client.post(
        reverse("scheduling:encounter_sign", args=[encounter.pk]), follow=True
    )
    assert "Only a clinician or the practice manager" in response.content.decode()
    encounter.refresh_from_db()
    assert encounter.status == "open"


def test_records_requests_create_fulfil_and_deny(front_desk_client):
    patient = factories.PatientFactory()
    received = timezone.localdate() - datetime.timedelta(days=40)
    response = front_desk_client.post(
        reverse("scheduling:records_request_create"),
        {"patient": patient.mrn, "requested_by": "The patient", "received_date": received},
    )
    assert response.status_code == 302
    request = RecordsRequest.objects.get(patient=patient)
    assert request.due_date == received + datetime.timedelta(days=30)
    overdue_page = front_desk_client.get(
        reverse("scheduling:records_request_list") + "?overdue=true"
    )
    assert str(patient) in overdue_page.content.decode()

    deny_url = reverse("scheduling:records_request_deny", args=[request.pk])
    refused = front_desk_client.post(deny_url, {"reason": ""})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()

    fulfil_url = reverse("scheduling:records_request_fulfil", args=[request.pk])
    assert (
        front_desk_client.post(fulfil_url, {"fulfilled_date": timezone.localdate()}).status_code
        == 302
    )
    request.refresh_from_db()
    assert request.status == "fulfilled"
    overdue_page = front_desk_client.get(
        reverse("scheduling:records_request_list") + "?overdue=true"
    )
    assert str(patient) not in overdue_page.content.decode()
