import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from practicedesk.scheduling.models import Appointment, FlowEvent
from practicedesk.scheduling.services import appointment_advance
from tests import factories

pytestmark = pytest.mark.django_db

Status = Appointment.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def desk(client, make_user):
    user = make_user("front_desk")
    client.force_login(user)
    client.user = user
    return client


def earlier_today(minutes: int) -> datetime.datetime:
    """A moment ``minutes`` ago, but never before today's local midnight."""
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - datetime.timedelta(minutes=minutes), midnight)


def visit_today(clinic, minutes_ago=30, **kwargs):
    kwargs.setdefault("status", Status.SCHEDULED)
    return factories.AppointmentFactory(
        provider=clinic["provider"],
        location=clinic["location"],
        appointment_type=clinic["type"],
        start=earlier_today(minutes_ago),
        **kwargs,
    )


def board(client, clinic, **extra):
    return client.get(
        reverse("scheduling:flow_board"), {"location": clinic["location"].pk}, **extra
    )


def column_cards(response, status):
    column = next(c for c in response.context["columns"] if c["status"] == status)
    return [card.appointment for card in column["cards"]]


def test_the_flow_board_shows_todays_visits_in_columns_by_status(desk, clinic):
    waiting = visit_today(clinic, status=Status.ARRIVED, arrived_at=timezone.now())
    booked = visit_today(clinic, minutes_ago=10)
    tomorrow = factories.AppointmentFactory(
        location=clinic["location"],
        start=timezone.now() + datetime.timedelta(days=1),
        status=Status.SCHEDULED,
    )
    response = board(desk, clinic)
    assert [c["label"] for c in response.context["columns"]] == [
        "Scheduled",
        "Confirmed",
        "Arrived",
        "Roomed",
        "With provider",
        "Checked out",
    ]
    assert column_cards(response, Status.ARRIVED) == [waiting]
    assert column_cards(response, Status.SCHEDULED) == [booked]
    assert tomorrow.get_absolute_url().encode() not in response.content


def test_advancing_on_the_board_records_who_moved_the_visit_and_when(desk, clinic):
    appointment = visit_today(clinic)
    response = desk.post(
        reverse("scheduling:appointment_advance", args=[appointment.pk]),
        {"to_status": Status.ARRIVED, "board": "1"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="flow-board"')
    assert "<html" not in html
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED
    event = FlowEvent.objects.get(appointment=appointment)
    assert (event.from_status, event.to_status, event.by) == (
        Status.SCHEDULED,
        Status.ARRIVED,
        desk.user,
    )
    assert abs(appointment.arrived_at - timezone.now()) < datetime.timedelta(minutes=1)
    assert column_cards(response, Status.ARRIVED) == [appointment]


def test_an_impossible_move_is_refused_on_the_board_and_changes_nothing(desk, clinic):
    appointment = visit_today(clinic)
    response = desk.post(
        reverse("scheduling:appointment_advance", args=[appointment.pk]),
        {"to_status": Status.CHECKED_OUT, "board": "1"},
        **HTMX,
    )
    assert "not to checked out" in response.context["board_error"]
    appointment.refresh_from_db()
    assert appointment.status == Status.SCHEDULED
    assert not FlowEvent.objects.exists()


def test_a_patient_waiting_longer_than_the_limit_is_highlighted_in_words(desk, clinic, settings):
    settings.FLOW_WAIT_LIMIT_MINUTES = 20
    long_wait = visit_today(
        clinic,
        minutes_ago=40,
        status=Status.ARRIVED,
        arrived_at=timezone.now() - datetime.timedelta(minutes=31),
    )
    short_wait = visit_today(
        clinic,
        minutes_ago=10,
        status=Status.ROOMED,
        arrived_at=timezone.now() - datetime.timedelta(minutes=8),
        roomed_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    response = board(desk, clinic)
    cards = {
        card.appointment: card for column in response.context["columns"] for card in column["cards"]
    }
    assert cards[long_wait].waiting_long and cards[long_wait].minutes == 31
    assert not cards[short_wait].waiting_long
    html = response.content.decode()
    assert html.count("is-waiting-long") == 1
    assert "waiting 31 min" in html
    assert "waiting 5 min" in html
    assert "1 waiting too long" in html


def test_the_board_refreshes_itself_and_a_poll_gets_only_the_board(desk, clinic):
    page = board(desk, clinic).content.decode()
    assert 'hx-trigger="every 15s"' in page
    assert """hx-headers='{"X-Poll": "1"}'""" in page
    poll = board(desk, clinic, HTTP_X_POLL="1", **HTMX)
    assert poll.status_code == 200
    assert poll.content.decode().lstrip().startswith('<div id="flow-board"')


def test_the_today_page_lists_the_day_in_time_order_with_alerts_and_the_next_step(desk, clinic):
    later = visit_today(clinic, minutes_ago=5)
    earlier = visit_today(clinic, minutes_ago=50, eligibility_note="Active, copay $25")
    factories.PatientAlertFactory(patient=earlier.patient)
    response = desk.get(reverse("scheduling:today"), {"location": clinic["location"].pk})
    rows = [row["appointment"] for row in response.context["rows"]]
    assert rows == [earlier, later]
    html = response.content.decode()
    assert "1 alert: Checks not accepted" in html
    assert "Active, copay $25" in html
    assert html.count('value="arrived"') == 2
    advance = desk.post(
        reverse("scheduling:appointment_advance", args=[earlier.pk]),
        {"to_status": Status.ARRIVED, "next": response.request["PATH_INFO"]},
    )
    assert advance["Location"] == reverse("scheduling:today")
    earlier.refresh_from_db()
    assert earlier.status == Status.ARRIVED


def test_the_today_page_defaults_to_the_users_home_location(client, make_user, clinic):
    other = factories.LocationFactory(name="Other Place")
    client.force_login(make_user("front_desk", home_location=other))
    response = client.get(reverse("scheduling:today"))
    assert response.context["location"] == other


def test_waiting_times_are_kept_per_visit_and_shown_on_its_page(desk, clinic):
    appointment = visit_today(clinic, minutes_ago=60)
    arrived = earlier_today(50)
    for status, after in (
        (Status.ARRIVED, 0),
        (Status.ROOMED, 12),
        (Status.WITH_PROVIDER, 20),
        (Status.CHECKED_OUT, 45),
    ):
        appointment = appointment_advance(
            acting_user=desk.user,
            appointment=appointment,
            to_status=status,
            at=arrived + datetime.timedelta(minutes=after),
        )
    response = desk.get(appointment.get_absolute_url())
    assert response.context["waits"] == [
        ("Arrival to roomed", 12),
        ("Arrival to provider", 20),
        ("Arrival to check-out", 45),
    ]
    html = response.content.decode()
    assert "45 min" in html
    assert html.count("by Test") >= 4


def test_a_clinician_may_move_visits_along_but_marketing_may_not(client, make_user, clinic):
    appointment = visit_today(clinic, status=Status.ARRIVED, arrived_at=timezone.now())
    url = reverse("scheduling:appointment_advance", args=[appointment.pk])
    client.force_login(make_user("marketing"))
    assert client.post(url, {"to_status": Status.ROOMED}).status_code == 403
    client.force_login(make_user("clinician"))
    assert client.get(url).status_code == 405
    client.post(url, {"to_status": Status.ROOMED})
    appointment.refresh_from_db()
    assert appointment.status == Status.ROOMED


def test_a_card_names_who_moved_the_visit_last(desk, clinic, make_user):
    nurse = make_user("clinician", first_name="Rosa", last_name="Nunez")
    visit = visit_today(clinic)
    appointment_advance(acting_user=desk.user, appointment=visit, to_status=Status.ARRIVED)
    appointment_advance(acting_user=nurse, appointment=visit, to_status=Status.ROOMED)
    response = board(desk, clinic)
    [card] = next(c for c in response.context["columns"] if c["status"] == Status.ROOMED)["cards"]
    assert card.last_by == "Rosa Nunez"
    assert "· Rosa Nunez" in response.content.decode()


def test_every_screen_sees_a_change_on_its_next_poll(desk, clinic):
    visit = visit_today(clinic)
    board(desk, clinic, **HTMX)  # drawn and kept for the other screens
    appointment_advance(acting_user=desk.user, appointment=visit, to_status=Status.ARRIVED)
    polled = board(desk, clinic, **HTMX).content.decode()
    arrived = polled.split('id="flow-col-arrived"')[1].split("</section>")[0]
    assert visit.patient.last_name in arrived
