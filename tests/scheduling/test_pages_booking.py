import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.patients.models import Patient
from practicedesk.scheduling.models import Appointment, ScheduleException
from practicedesk.scheduling.services import appointment_book
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db

BOOK = reverse("scheduling:book")


@pytest.fixture
def desk(client, make_user):
    user = make_user("front_desk")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def boss(client, make_user):
    user = make_user("manager", two_factor_exempt=True)
    client.force_login(user)
    client.user = user
    return client


def local_input(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def booking_data(clinic, patient, start, **overrides):
    data = {
        "patient": patient.pk,
        "provider": clinic["provider"].pk,
        "location": clinic["location"].pk,
        "appointment_type": clinic["type"].pk,
        "start": local_input(start),
        "reason": "Knee pain",
    }
    data.update(overrides)
    return data


def book_directly(clinic, user, start, **kwargs):
    return appointment_book(
        acting_user=user,
        patient=kwargs.pop("patient", None) or factories.PatientFactory(),
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=start,
        **kwargs,
    )


def test_the_booking_page_books_and_opens_the_appointment(desk, clinic):
    patient = factories.PatientFactory(last_name="Booked")
    coverage = factories.CoverageFactory(patient=patient)
    start = next_weekday_at(9)
    response = desk.post(BOOK, booking_data(clinic, patient, start, coverage=coverage.pk))
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == appointment.get_absolute_url()
    assert (appointment.patient, appointment.coverage, appointment.start) == (
        patient,
        coverage,
        start,
    )
    assert appointment.booked_by == desk.user


def test_the_booking_page_is_prefilled_from_a_calendar_slot(desk, clinic):
    patient = factories.PatientFactory(last_name="Prefilled")
    start = next_weekday_at(9)
    response = desk.get(
        BOOK,
        {
            "patient": patient.pk,
            "provider": clinic["provider"].pk,
            "location": clinic["location"].pk,
            "start": local_input(start),
        },
    )
    html = response.content.decode()
    assert f'value="{local_input(start)}"' in html
    assert f'name="patient" value="{patient.pk}" checked' in html
    assert "Prefilled" in html


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("past", "start", "already passed"),
        ("conflict", "start", "already booked"),
        ("outside_hours", "start", "not available"),
        ("holiday", "start", "holiday, block or leave"),
        ("inactive_coverage", "coverage", "not active"),
        ("merged_patient", "patient", "merged into"),
    ],
)
def test_a_refused_booking_says_why_at_the_field_and_books_nothing(
    desk, clinic, case, field, message
):
    patient = factories.PatientFactory()
    start = next_weekday_at(9)
    extra = {}
    if case == "past":
        start = next_weekday_at(9, weeks_ahead=-2)
    elif case == "conflict":
        book_directly(clinic, desk.user, start)
    elif case == "outside_hours":
        start = next_weekday_at(12, 30)
    elif case == "holiday":
        ScheduleException.objects.create(
            kind="holiday",
            location=clinic["location"],
            start=start.replace(hour=0),
            end=start.replace(hour=23),
        )
    elif case == "inactive_coverage":
        extra["coverage"] = factories.CoverageFactory(
            patient=patient, end_date=datetime.date(2021, 12, 31)
        ).pk
    elif case == "merged_patient":
        target = factories.PatientFactory(last_name="Survivor")
        patient = factories.PatientFactory(status=Patient.Status.MERGED, merged_into=target)
    before = Appointment.objects.count()
    response = desk.post(BOOK, booking_data(clinic, patient, start, **extra))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert "Nothing was booked" in html
    assert Appointment.objects.count() == before


def test_the_overbook_field_is_shown_only_to_roles_that_may_overbook(client, make_user, clinic):
    client.force_login(make_user("front_desk"))
    assert b'name="overbook_reason"' not in client.get(BOOK).content
    client.force_login(make_user("manager", two_factor_exempt=True))
    assert b'name="overbook_reason"' in client.get(BOOK).content


def test_the_front_desk_cannot_overbook_through_the_page(desk, clinic):
    start = next_weekday_at(9)
    book_directly(clinic, desk.user, start)
    response = desk.post(
        BOOK,
        booking_data(clinic, factories.PatientFactory(), start, overbook_reason="Urgent"),
    )
    assert "already booked" in response.context["form"].errors["start"][0]
    assert Appointment.objects.count() == 1


def test_a_deliberate_overbook_needs_a_reason_and_is_marked(boss, clinic):
    start = next_weekday_at(9)
    book_directly(clinic, boss.user, start)
    response = boss.post(
        BOOK,
        booking_data(clinic, factories.PatientFactory(), start, overbook_reason="Chest pain"),
    )
    squeezed = Appointment.objects.get(is_overbook=True)
    assert response["Location"] == squeezed.get_absolute_url()
    assert squeezed.overbook_reason == "Chest pain"
    page = boss.get(squeezed.get_absolute_url()).content.decode()
    assert "Overbooked" in page and "Chest pain" in page


def test_a_recurring_series_is_booked_from_the_page(desk, clinic):
    start = next_weekday_at(9)
    response = desk.post(
        BOOK,
        booking_data(clinic, factories.PatientFactory(), start, every_weeks=2, count=3),
    )
    series = list(Appointment.objects.order_by("start"))
    assert response.status_code == 302
    assert [a.start for a in series] == [start + datetime.timedelta(weeks=2 * n) for n in range(3)]
    assert len({a.series_id for a in series}) == 1 and series[0].series_id


def test_a_recurring_series_that_cannot_all_be_booked_books_none(desk, clinic):
    start = next_weekday_at(9)
    third = start + datetime.timedelta(weeks=2)
    ScheduleException.objects.create(
        kind="holiday",
        location=clinic["location"],
        start=third.replace(hour=0),
        end=third.replace(hour=23),
    )
    response = desk.post(
        BOOK,
        booking_data(clinic, factories.PatientFactory(), start, every_weeks=1, count=4),
    )
    errors = response.context["form"].non_field_errors()
    assert "Nothing was booked: appointment 3 of 4" in errors[0]
    assert not Appointment.objects.exists()


def test_a_series_needs_both_how_often_and_how_many(desk, clinic):
    response = desk.post(
        BOOK,
        booking_data(clinic, factories.PatientFactory(), next_weekday_at(9), every_weeks=2),
    )
    assert "count" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_the_next_open_slot_is_found_and_offered_for_use(desk, clinic):
    monday_eight = next_weekday_at(8)
    book_directly(clinic, desk.user, monday_eight)
    patient = factories.PatientFactory()
    response = desk.get(
        reverse("scheduling:next_slot"),
        {
            "appointment_type": clinic["type"].pk,
            "location": clinic["location"].pk,
            "provider": clinic["provider"].pk,
            "start": local_input(monday_eight),
            "patient": patient.pk,
        },
    )
    slot = response.context["slot"]
    assert slot.start == monday_eight + datetime.timedelta(minutes=20)
    query = parse_qs(urlparse(response.context["use_url"]).query)
    assert query["start"] == [local_input(slot.start)]
    assert query["patient"] == [str(patient.pk)]
    assert b"Use this" in response.content
    later = desk.get(reverse("scheduling:next_slot") + "?" + response.context["later_query"])
    assert later.context["slot"].start == slot.end


def test_the_next_open_slot_with_any_provider_searches_everyone_at_the_location(desk, clinic):
    monday_eight = next_weekday_at(8)
    book_directly(clinic, desk.user, monday_eight)
    early = factories.ProviderFactory(last_name="Early")
    factories.weekly_schedule(early, clinic["location"], start=datetime.time(8), weekdays=[0])
    response = desk.get(
        reverse("scheduling:next_slot"),
        {
            "appointment_type": clinic["type"].pk,
            "location": clinic["location"].pk,
            "provider": clinic["provider"].pk,
            "any_provider": "1",
            "start": local_input(monday_eight),
        },
    )
    assert response.context["slot"].provider == early
    assert response.context["slot"].start == monday_eight


def test_the_slot_finder_asks_for_a_type_first(desk, clinic):
    response = desk.get(reverse("scheduling:next_slot"), {"location": clinic["location"].pk})
    assert b"Choose the appointment type first" in response.content


def test_patient_suggestions_find_by_name_and_mrn(desk):
    patient = factories.PatientFactory(last_name="Zebediah", first_name="Ann")
    factories.PatientFactory(last_name="Other")
    by_name = desk.get(reverse("scheduling:patient_suggest"), {"patient_q": "zebe"})
    assert b"Zebediah, Ann" in by_name.content
    assert b"Other" not in by_name.content
    assert f'value="{patient.pk}"'.encode() in by_name.content
    by_mrn = desk.get(reverse("scheduling:patient_suggest"), {"patient_q": patient.mrn})
    assert b"Zebediah" in by_mrn.content


def test_the_coverage_choices_are_the_patients_own(desk):
    patient = factories.PatientFactory()
    mine = factories.CoverageFactory(patient=patient)
    theirs = factories.CoverageFactory()
    response = desk.get(reverse("scheduling:coverage_options"), {"patient": patient.pk})
    assert f'value="{mine.pk}" selected'.encode() in response.content
    assert f'value="{theirs.pk}"'.encode() not in response.content


def test_viewing_an_appointment_is_audited_and_shows_its_actions(desk, clinic):
    appointment = book_directly(clinic, desk.user, next_weekday_at(9))
    response = desk.get(appointment.get_absolute_url())
    html = response.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, object_id=str(appointment.pk), user=desk.user
    ).exists()
    assert reverse("scheduling:appointment_reschedule", args=[appointment.pk]) in html
    assert reverse("scheduling:appointment_cancel", args=[appointment.pk]) in html
    assert "Arrival to roomed" in html


def test_rescheduling_moves_the_visit_or_says_why_not(desk, clinic):
    appointment = book_directly(clinic, desk.user, next_weekday_at(9))
    url = reverse("scheduling:appointment_reschedule", args=[appointment.pk])
    refused = desk.post(url, {"start": local_input(next_weekday_at(12, 30))})
    assert "not available" in refused.context["form"].errors["start"][0]
    new_start = next_weekday_at(14)
    response = desk.post(url, {"start": local_input(new_start)})
    appointment.refresh_from_db()
    assert response["Location"] == appointment.get_absolute_url()
    assert appointment.start == new_start


def test_cancelling_needs_a_reason_and_then_offers_the_time_to_the_waitlist(desk, clinic):
    appointment = book_directly(clinic, desk.user, next_weekday_at(9, weeks_ahead=2))
    waiting = factories.WaitlistEntryFactory(
        patient=factories.PatientFactory(last_name="Waiting"),
        appointment_type=clinic["type"],
        location=clinic["location"],
        wanted_before=timezone.localdate() + datetime.timedelta(days=60),
    )
    url = reverse("scheduling:appointment_cancel", args=[appointment.pk])
    refused = desk.post(url, {"cancel_reason": ""})
    assert "Say why" in refused.context["form"].errors["cancel_reason"][0]
    response = desk.post(url, {"cancel_reason": "Patient is travelling"})
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert not appointment.is_late_cancel
    entry, link = response.context["offers"][0]
    assert entry == waiting
    assert b"Waiting" in response.content
    query = parse_qs(urlparse(link).query)
    assert query["patient"] == [str(waiting.patient_id)]
    assert query["start"] == [local_input(appointment.start)]
    # The offered link books straight into the freed time.
    offer = desk.post(
        BOOK, booking_data(clinic, waiting.patient, appointment.start, reason="From waitlist")
    )
    assert offer.status_code == 302


def test_a_cancellation_inside_the_window_is_marked_late(desk, clinic, settings):
    settings.LATE_CANCEL_HOURS = 24 * 30
    appointment = book_directly(clinic, desk.user, next_weekday_at(9))
    page = desk.get(reverse("scheduling:appointment_cancel", args=[appointment.pk]))
    assert b"late cancellation" in page.content
    desk.post(
        reverse("scheduling:appointment_cancel", args=[appointment.pk]),
        {"cancel_reason": "Changed mind"},
    )
    appointment.refresh_from_db()
    assert appointment.is_late_cancel


def test_a_past_visit_is_marked_no_show_from_its_page(desk, clinic):
    appointment = factories.AppointmentFactory(
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=timezone.now() - datetime.timedelta(hours=2),
        status=Appointment.Status.SCHEDULED,
    )
    assert b"Mark no-show" in desk.get(appointment.get_absolute_url()).content
    response = desk.post(reverse("scheduling:appointment_no_show", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert response["Location"] == appointment.get_absolute_url()
    assert appointment.status == Appointment.Status.NO_SHOW


def test_a_clinician_sees_the_schedule_but_cannot_book(client, make_user, clinic):
    client.force_login(make_user("clinician"))
    assert client.get(reverse("scheduling:calendar")).status_code == 200
    assert client.get(BOOK).status_code == 403
    assert client.get(reverse("scheduling:patient_suggest")).status_code == 403
    assert client.post(BOOK, {}).status_code == 403


def test_marketing_has_no_scheduling_pages(client, make_user, clinic):
    client.force_login(make_user("marketing"))
    for name in ("calendar", "today", "flow_board", "book", "provider_list"):
        assert client.get(reverse(f"scheduling:{name}")).status_code == 403, name


def test_booking_from_a_recall_link_books_the_recall(desk, clinic):
    from practicedesk.scheduling.models import Recall

    patient = factories.PatientFactory()
    recall = Recall.objects.create(
        patient=patient,
        appointment_type=clinic["type"],
        due_date=timezone.localdate(),
        reason="Annual check",
    )
    start = next_weekday_at(10)
    response = desk.post(BOOK, booking_data(clinic, patient, start, recall=recall.pk))
    assert response.status_code == 302
    recall.refresh_from_db()
    assert recall.status == Recall.Status.BOOKED
    assert recall.appointment == Appointment.objects.get()


def test_booking_from_a_waitlist_link_books_the_waiting_patient(desk, clinic):
    from practicedesk.scheduling.models import WaitlistEntry

    patient = factories.PatientFactory()
    entry = WaitlistEntry.objects.create(
        patient=patient,
        appointment_type=clinic["type"],
        location=clinic["location"],
        wanted_before=timezone.localdate() + datetime.timedelta(days=30),
    )
    start = next_weekday_at(11)
    desk.post(BOOK, booking_data(clinic, patient, start, waitlist=entry.pk))
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert Appointment.objects.get().patient == patient


def test_a_recall_of_another_patient_books_nothing(desk, clinic):
    from practicedesk.scheduling.models import Recall

    recall = Recall.objects.create(
        patient=factories.PatientFactory(),
        appointment_type=clinic["type"],
        due_date=timezone.localdate(),
        reason="Annual check",
    )
    response = desk.post(
        BOOK,
        booking_data(clinic, factories.PatientFactory(), next_weekday_at(10), recall=recall.pk),
    )
    assert "belongs to another patient" in response.content.decode()
    assert not Appointment.objects.exists()


def test_patient_suggestions_are_audited_as_reads_of_protected_data(desk):
    patient = factories.PatientFactory(last_name="Zebulon")
    desk.get(reverse("scheduling:patient_suggest"), {"patient_q": "zebu"})
    event = AuditEvent.objects.get(name="patient_search")
    assert event.action == AuditEvent.Action.READ
    assert event.detail["patients"] == [patient.pk]
