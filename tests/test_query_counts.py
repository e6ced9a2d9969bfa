"""The busiest pages and API endpoints run a fixed number of queries, however many rows they
show (no N+1): each is loaded with a few rows, then with more, and must not query more.

Counts, not times: the benchmarks (bench/run.py) measure the times at scale.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.billing.ledger import entry_post
from tests import factories

pytestmark = pytest.mark.django_db


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def practice(make_user):
    """A location with providers at work every day, a type, and users of the busy roles."""
    location = factories.LocationFactory(name="Main St", code="main")
    providers = []
    for _ in range(3):
        provider = factories.ProviderFactory()
        factories.weekly_schedule(provider, location)
        providers.append(provider)
    for number in range(4):
        factories.RoomFactory(location=location, name=f"Exam {number}")
    kind = factories.AppointmentTypeFactory(name="Follow-up", duration_minutes=20)
    users = {
        role: make_user(role, two_factor_exempt=True, home_location=location)
        for role in ("front_desk", "manager", "biller")
    }
    return {"location": location, "providers": providers, "type": kind, "users": users}


def add_visits(practice, count: int, day: datetime.date, *, start_index: int = 0) -> list:
    """``count`` visits on ``day`` spread over the providers, each with a patient who has a
    coverage, an alert, and a flow trail."""
    visits = []
    statuses = ["scheduled", "confirmed", "arrived", "roomed", "with_provider", "checked_out"]
    for index in range(start_index, start_index + count):
        patient = factories.PatientFactory(last_name="Example")
        factories.CoverageFactory(patient=patient)
        factories.PatientAlertFactory(patient=patient)
        provider = practice["providers"][index % len(practice["providers"])]
        start = local(day, 8 + (index // len(practice["providers"])) % 8, 0)
        appointment = factories.AppointmentFactory(
            patient=patient,
            provider=provider,
            location=practice["location"],
            appointment_type=practice["type"],
            start=start,
            end=start + datetime.timedelta(minutes=20),
            status=statuses[index % len(statuses)],
            arrived_at=start,
        )
        from practicedesk.scheduling.models import FlowEvent

        FlowEvent.objects.create(
            appointment=appointment,
            from_status="confirmed",
            to_status="arrived",
            at=start,
            by=practice["users"]["front_desk"],
        )
        visits.append(appointment)
    return visits


def add_billing(visits: list) -> None:
    """A charge, its ledger entry and a claim for each visit."""
    for visit in visits:
        charge = factories.ChargeFactory(
            patient=visit.patient,
            appointment=visit,
            rendering_provider=visit.provider,
            date_of_service=timezone.localdate(visit.start),
        )
        entry_post(
            kind="charge",
            amount=Decimal("100.00"),
            responsibility="patient",
            patient_id=visit.patient_id,
            charge=charge,
            posted_on=charge.date_of_service,
        )
        factories.ClaimFactory(
            appointment=visit,
            coverage=visit.patient.coverages.first(),
            date_of_service=charge.date_of_service,
        )


def count_queries(client, url: str, params=None, *, status: int = 200) -> int:
    cache.clear()  # cached figures would hide the queries of the second load
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == status, (url, response.status_code)
    return len(captured)


def client_of(client, user):
    client.force_login(user)
    return client


def assert_flat(load, grow, maximum: int) -> None:
    """Queries of ``load()`` stay the same (and within ``maximum``) after ``grow()``."""
    load()  # first load: per-process caches (content types, sessions) warmed
    few = load()
    grow()
    many = load()
    assert few <= maximum, f"{few} queries (more than {maximum})"
    assert many <= few, f"{few} queries with few rows, {many} with more: N+1"


def today_weekday() -> datetime.date:
    return timezone.localdate()


def test_calendar_day_view_of_a_location_runs_a_fixed_number_of_queries(client, practice):
    day = today_weekday()
    add_visits(practice, 3, day)
    client_of(client, practice["users"]["front_desk"])
    params = {"location": practice["location"].pk, "date": day.isoformat()}
    assert_flat(
        lambda: count_queries(client, "/scheduling/calendar/", params),
        lambda: add_visits(practice, 12, day, start_index=3),
        maximum=20,
    )


def test_flow_board_runs_a_fixed_number_of_queries(client, practice):
    day = timezone.localdate()
    add_visits(practice, 3, day)
    client_of(client, practice["users"]["front_desk"])
    params = {"location": practice["location"].pk}
    assert_flat(
        lambda: count_queries(client, "/scheduling/flow/", params),
        lambda: add_visits(practice, 12, day, start_index=3),
        maximum=24,  # drawn: the board's queries, and keeping the drawing for other screens
    )


def test_a_flow_board_already_drawn_is_read_back_without_its_queries(client, practice):
    add_visits(practice, 3, timezone.localdate())
    client_of(client, practice["users"]["front_desk"])
    params = {"location": practice["location"].pk}
    drawn = count_queries(client, "/scheduling/flow/", params)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/scheduling/flow/", params, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="flow-board"' in response.content.decode()
    assert len(captured) < drawn - 3
    assert not any('FROM "scheduling_appointment"' in query["sql"] for query in captured)


def test_today_page_runs_a_fixed_number_of_queries(client, practice):
    day = timezone.localdate()
    add_visits(practice, 3, day)
    client_of(client, practice["users"]["front_desk"])
    params = {"location": practice["location"].pk}
    assert_flat(
        lambda: count_queries(client, "/scheduling/today/", params),
        lambda: add_visits(practice, 12, day, start_index=3),
        maximum=18,
    )


def test_appointment_list_runs_a_fixed_number_of_queries(client, practice):
    day = timezone.localdate()
    add_visits(practice, 3, day)
    client_of(client, practice["users"]["front_desk"])
    assert_flat(
        lambda: count_queries(client, "/scheduling/appointments/"),
        lambda: add_visits(practice, 12, day, start_index=3),
        maximum=20,
    )


def test_patient_search_runs_a_fixed_number_of_queries(client, practice):
    add_visits(practice, 3, timezone.localdate())
    client_of(client, practice["users"]["front_desk"])
    assert_flat(
        lambda: count_queries(client, "/patients/", {"q": "exam"}),
        lambda: add_visits(practice, 12, timezone.localdate(), start_index=3),
        maximum=20,
    )


def test_patient_page_runs_a_fixed_number_of_queries(client, practice):
    visits = add_visits(practice, 1, timezone.localdate())
    patient = visits[0].patient
    client_of(client, practice["users"]["front_desk"])

    def more():
        for day in range(1, 8):
            start = local(timezone.localdate() - datetime.timedelta(days=day), 9)
            factories.AppointmentFactory(
                patient=patient,
                provider=practice["providers"][0],
                location=practice["location"],
                appointment_type=practice["type"],
                start=start,
                end=start + datetime.timedelta(minutes=20),
            )
            factories.PatientAlertFactory(patient=patient)
            factories.CoverageFactory(patient=patient, order=2 if day == 1 else 3)

    assert_flat(
        lambda: count_queries(client, f"/patients/{patient.pk}/"),
        more,
        maximum=24,
    )


def test_claim_list_runs_a_fixed_number_of_queries(client, practice):
    day = timezone.localdate() - datetime.timedelta(days=3)
    add_billing(add_visits(practice, 3, day))
    client_of(client, practice["users"]["biller"])
    assert_flat(
        lambda: count_queries(client, "/billing/claims/"),
        lambda: add_billing(add_visits(practice, 12, day, start_index=3)),
        maximum=20,
    )


def test_patient_account_runs_a_fixed_number_of_queries(client, practice):
    patient = factories.PatientFactory()
    for _ in range(2):
        factories.patient_charge(patient)
    client_of(client, practice["users"]["biller"])

    def more():
        for _ in range(10):
            factories.patient_charge(patient)

    assert_flat(
        lambda: count_queries(client, f"/billing/patients/{patient.pk}/account/"),
        more,
        maximum=26,
    )


def test_dashboard_runs_a_fixed_number_of_queries(client, practice):
    day = timezone.localdate()
    add_billing(add_visits(practice, 3, day))
    client_of(client, practice["users"]["manager"])
    params = {"period": "this_month"}
    assert_flat(
        lambda: count_queries(client, "/dashboard/", params),
        lambda: add_billing(add_visits(practice, 12, day, start_index=3)),
        maximum=125,
    )


@pytest.mark.parametrize("endpoint", ["/api/appointments/", "/api/patients/"])
def test_api_lists_run_a_fixed_number_of_queries(client, practice, endpoint):
    day = timezone.localdate()
    add_visits(practice, 3, day)
    client_of(client, practice["users"]["front_desk"])
    assert_flat(
        lambda: count_queries(client, endpoint),
        lambda: add_visits(practice, 12, day, start_index=3),
        maximum=12,
    )
