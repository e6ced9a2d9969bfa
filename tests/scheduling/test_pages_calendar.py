import datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from practicedesk.scheduling.calendar import (
    ROW_MINUTES,
    Block,
    Column,
    assign_lanes,
    grid_bounds,
    open_pieces,
)
from practicedesk.scheduling.models import Appointment
from practicedesk.scheduling.services import appointment_book, appointment_cancel
from tests import factories
from tests.scheduling.conftest import next_weekday_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, make_user):
    user = make_user("front_desk")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def two_providers(clinic):
    """The clinic's provider and a second one at Main St; a third works elsewhere."""
    second = factories.ProviderFactory(last_name="Second")
    factories.weekly_schedule(
        second, clinic["location"], start=datetime.time(9), end=datetime.time(15), weekdays=range(5)
    )
    elsewhere = factories.ProviderFactory(last_name="Elsewhere")
    factories.weekly_schedule(elsewhere, factories.LocationFactory(), weekdays=range(5))
    return {**clinic, "second": second, "elsewhere": elsewhere}


def day_view(client, clinic, start, **params):
    return client.get(
        reverse("scheduling:calendar"),
        {"location": clinic["location"].pk, "date": start.date().isoformat(), **params},
    )


def book(clinic, user, start, **kwargs):
    return appointment_book(
        acting_user=user,
        patient=kwargs.pop("patient", None) or factories.PatientFactory(),
        provider=kwargs.pop("provider", clinic["provider"]),
        location=clinic["location"],
        appointment_type=kwargs.pop("appointment_type", clinic["type"]),
        start=start,
        **kwargs,
    )


def test_location_day_view_has_one_column_per_provider_working_there(desk, two_providers):
    monday = next_weekday_at(9)
    response = day_view(desk, two_providers, monday)
    assert response.status_code == 200
    grid = response.context["grid"]
    assert [column.provider for column in grid.columns] == sorted(
        [two_providers["provider"], two_providers["second"]], key=lambda p: p.last_name
    )
    html = response.content.decode()
    assert "cols-2" in html
    assert str(two_providers["second"]) in html
    assert "Elsewhere" not in html
    # Rows run from the earliest start (8:00) to the latest end (17:00).
    assert (grid.first_minute, grid.last_minute) == (8 * 60, 17 * 60)
    assert grid.body_rows == 9 * 60 // ROW_MINUTES


def test_a_booked_block_is_coloured_by_its_type_and_marked_by_status(desk, two_providers):
    start = next_weekday_at(9)
    appointment = book(two_providers, desk.user, start)
    html = day_view(desk, two_providers, start).content.decode()
    type_class = f"appt-type-{two_providers['type'].pk}"
    assert f"appt {type_class} status-scheduled" in html
    assert appointment.get_absolute_url() in html
    assert reverse("scheduling:types_css") in html
    assert 'style="' not in html


def test_open_time_links_to_the_booking_form_prefilled(desk, two_providers):
    start = next_weekday_at(9)
    book(two_providers, desk.user, start)
    response = day_view(desk, two_providers, start, type=two_providers["type"].pk)
    open_blocks = [b for b in response.context["grid"].blocks if b.kind == "open"]
    assert open_blocks
    first = open_blocks[0]
    query = parse_qs(urlparse(first.url).query)
    assert urlparse(first.url).path == reverse("scheduling:book")
    assert set(query) == {"provider", "location", "start", "appointment_type"}
    assert query["location"] == [str(two_providers["location"].pk)]
    assert query["appointment_type"] == [str(two_providers["type"].pk)]
    # The booked 9:00-9:20 is not offered as open time for that provider.
    booked_starts = {
        timezone.localtime(b.start).time()
        for b in open_blocks
        if b.column.provider == two_providers["provider"]
    }
    assert datetime.time(9, 0) not in booked_starts
    assert datetime.time(9, 20) in booked_starts
    form = desk.get(first.url)
    assert form.context["form"].initial["provider"] == query["provider"][0]
    assert 'class="cal-open' in response.content.decode()


def test_cancelled_visits_are_hidden_unless_asked_and_then_faded(desk, two_providers):
    start = next_weekday_at(10)
    appointment = book(two_providers, desk.user, start)
    appointment_cancel(acting_user=desk.user, appointment=appointment, reason="Sick")
    hidden = day_view(desk, two_providers, start).content.decode()
    assert appointment.get_absolute_url() not in hidden
    shown = day_view(desk, two_providers, start, cancelled="1").content.decode()
    assert "status-cancelled" in shown
    assert appointment.get_absolute_url() in shown


def test_an_overbooked_visit_is_flagged_and_laid_side_by_side(client, make_user, two_providers):
    manager = make_user("manager", two_factor_exempt=True)
    client.force_login(manager)
    start = next_weekday_at(11)
    book(two_providers, manager, start)
    book(two_providers, manager, start, overbook_reason="Urgent")
    response = day_view(client, two_providers, start)
    html = response.content.decode()
    assert "is-overbook" in html
    assert "Overbooked" in html
    blocks = [b for b in response.context["grid"].blocks if b.kind == "appointment"]
    assert sorted(b.lane for b in blocks) == [0, 1]
    assert {b.lanes for b in blocks} == {2}


def test_the_week_view_of_a_provider_has_a_column_per_working_day(desk, two_providers):
    monday = next_weekday_at(9)
    book(two_providers, desk.user, monday + datetime.timedelta(days=2))
    response = desk.get(
        reverse("scheduling:calendar"),
        {"provider": two_providers["provider"].pk, "view": "week", "date": monday.date()},
    )
    grid = response.context["grid"]
    assert [column.day.weekday() for column in grid.columns] == [0, 1, 2, 3, 4]
    assert {column.provider for column in grid.columns} == {two_providers["provider"]}
    assert [day.weekday() for day in response.context["closed_days"]] == [5, 6]
    assert "status-scheduled" in response.content.decode()


def test_the_week_view_of_a_location_groups_providers_under_each_day(desk, two_providers):
    monday = next_weekday_at(9)
    response = desk.get(
        reverse("scheduling:calendar"),
        {"location": two_providers["location"].pk, "view": "week", "date": monday.date()},
    )
    grid = response.context["grid"]
    assert grid.header_rows == 2
    assert len(grid.columns) == 10
    day_headers = [h for h in grid.headers if h.row == 1]
    assert [h.span for h in day_headers] == [2] * 5


def test_previous_and_next_move_by_the_view_length(desk, two_providers):
    monday = next_weekday_at(9)
    response = day_view(desk, two_providers, monday, view="week")
    assert (
        f"date={(monday.date() + datetime.timedelta(days=7)).isoformat()}"
        in (response.context["next_url"])
    )
    response = day_view(desk, two_providers, monday)
    assert (
        f"date={(monday.date() - datetime.timedelta(days=1)).isoformat()}"
        in (response.context["prev_url"])
    )


def test_the_location_day_view_takes_a_fixed_number_of_queries(
    desk, two_providers, django_assert_max_num_queries
):
    start = next_weekday_at(8)
    providers = [two_providers["provider"], two_providers["second"]]
    for _ in range(6):
        provider = factories.ProviderFactory()
        factories.weekly_schedule(provider, two_providers["location"], weekdays=range(5))
        providers.append(provider)

    def fill(count):
        for index in range(count):
            provider = providers[index % len(providers)]
            slot = start + datetime.timedelta(minutes=20 * (index // len(providers)))
            factories.AppointmentFactory(
                provider=provider,
                location=two_providers["location"],
                appointment_type=two_providers["type"],
                start=slot,
                status=Appointment.Status.SCHEDULED,
            )

    fill(8)
    with django_assert_max_num_queries(20) as few:
        day_view(desk, two_providers, start)
    Appointment.objects.all().delete()
    fill(120)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = day_view(desk, two_providers, start)
    assert len([b for b in response.context["grid"].blocks if b.kind == "appointment"]) == 120


def test_open_pieces_are_cut_at_quarter_hours_and_not_in_the_past():
    day = next_weekday_at(9)
    window = (day.replace(minute=20), day.replace(hour=10))
    pieces = open_pieces(window)
    assert [(timezone.localtime(s).minute, timezone.localtime(e).minute) for s, e in pieces] == [
        (20, 30),
        (30, 45),
        (45, 0),
    ]
    later = open_pieces(window, not_before=day.replace(minute=41))
    assert timezone.localtime(later[0][0]).minute == 45


def test_lanes_only_where_visits_overlap():
    column = Column(grid_col=2, day=datetime.date(2026, 1, 5), provider=None, title="")

    def block(row, span):
        return Block(kind="appointment", column=column, row=row, span=span, start=None, end=None)

    alone, first, second, third = block(2, 4), block(10, 4), block(11, 4), block(14, 2)
    assign_lanes([alone, first, second, third])
    assert (alone.lanes, alone.lane) == (1, 0)
    assert (first.lane, second.lane, third.lane) == (0, 1, 0)
    assert {first.lanes, second.lanes, third.lanes} == {2}


def test_grid_bounds_default_to_office_hours_when_nothing_is_shown():
    assert grid_bounds([]) == (8 * 60, 17 * 60)
