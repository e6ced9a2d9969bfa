"""The scheduling figures of the dashboard, each checked on hand-made data with the exact
expected value, and each None (not 0) when the period has nothing to measure."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practicedesk.patients.models import Patient
from practicedesk.scheduling import selectors
from practicedesk.scheduling.kpis import KPIS
from practicedesk.scheduling.models import Appointment, Encounter, Recall, ScheduleException
from tests import factories

pytestmark = pytest.mark.django_db

MARCH = (datetime.date(2025, 3, 1), datetime.date(2025, 3, 31))
EMPTY = (datetime.date(2019, 1, 1), datetime.date(2019, 1, 31))


def at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2025):
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


@pytest.fixture
def place(db):
    location = factories.LocationFactory()
    provider = factories.ProviderFactory(first_name="Ana", last_name="Alvarez")
    provider.locations.add(location)
    visit_type = factories.AppointmentTypeFactory()
    return {"location": location, "provider": provider, "type": visit_type}


def appointment(place, start, status="checked_out", minutes=20, **kwargs):
    kwargs.setdefault("provider", place["provider"])
    kwargs.setdefault("location", place["location"])
    return factories.AppointmentFactory(
        appointment_type=place["type"],
        start=start,
        end=start + datetime.timedelta(minutes=minutes),
        status=status,
        **kwargs,
    )


def test_every_figure_is_none_for_an_empty_period(place):
    for kpi in KPIS:
        assert kpi.selector(*EMPTY) is None, kpi.key


def test_every_kpi_is_declared_with_a_definition_unit_and_direction():
    keys = [kpi.key for kpi in KPIS]
    assert len(keys) == len(set(keys))
    for kpi in KPIS:
        assert kpi.name and kpi.definition and kpi.unit
        assert kpi.good_direction in {"up", "down", "none"}
        assert kpi.shape in {"number", "rows"}


def test_no_show_and_late_cancellation_rates(place):
    for day in (3, 4, 5):
        appointment(place, at(day, 9))
    appointment(place, at(6, 9), status="no_show")
    appointment(place, at(7, 9), status="cancelled", is_late_cancel=True)
    appointment(place, at(7, 10), status="cancelled", is_late_cancel=False)
    appointment(place, at(10, 9), status="scheduled")
    # Outside the period, or at another location: not counted.
    appointment(place, at(1, 9, month=4), status="no_show")
    elsewhere = factories.LocationFactory()
    appointment(place, at(11, 9), status="no_show", location=elsewhere)

    location_id = place["location"].pk
    # 1 no-show ÷ (1 no-show + 3 attended)
    assert selectors.no_show_rate(*MARCH, location_id=location_id) == 25.0
    # 1 late cancellation ÷ 7 appointments
    assert selectors.late_cancellation_rate(*MARCH, location_id=location_id) == 14.29
    # Everywhere: 2 no-shows ÷ (2 + 3); 1 late ÷ 8.
    assert selectors.no_show_rate(*MARCH) == 40.0
    assert selectors.late_cancellation_rate(*MARCH) == 12.5
    other = factories.ProviderFactory()
    assert selectors.no_show_rate(*MARCH, provider_id=other.pk) is None


def test_figures_are_each_one_query(place):
    appointment(place, at(3, 9))
    for selector in (
        selectors.no_show_rate,
        selectors.late_cancellation_rate,
        selectors.visits_per_provider_per_day,
        selectors.recall_compliance,
        selectors.unsigned_encounter_count,
        selectors.new_patients_by_month,
    ):
        with CaptureQueriesContext(connection) as queries:
            selector(*MARCH)
        assert len(queries) == 1, selector.__name__


def test_utilisation_is_booked_minutes_over_working_minutes_minus_closures(place):
    provider, location = place["provider"], place["location"]
    # Mondays 9-12 (180 minutes); March 2025 has five Mondays: 3, 10, 17, 24, 31 → 900.
    factories.ScheduleTemplateFactory(
        provider=provider,
        location=location,
        weekday=0,
        start_time=datetime.time(9),
        end_time=datetime.time(12),
        effective_from=datetime.date(2025, 1, 1),
    )
    # A holiday closes the 10th (−180) and a block the 17th 10-11 (−60), overlapping a
    # second block 10:30-11:30 (−30 more, not counted twice) → 630 available.
    ScheduleException.objects.create(
        kind="holiday", location=location, start=at(10, 0), end=at(11, 0)
    )
    ScheduleException.objects.create(
        kind="blocked", provider=provider, start=at(17, 10), end=at(17, 11)
    )
    ScheduleException.objects.create(
        kind="blocked", provider=provider, start=at(17, 10, 30), end=at(17, 11, 30)
    )
    # Booked: 20 + 20 + 30 + 56 = 126 minutes; cancelled and no-show time is not booked.
    appointment(place, at(3, 9))
    appointment(place, at(3, 9, 20), status="scheduled")
    appointment(place, at(24, 9), minutes=30)
    appointment(place, at(31, 11), minutes=56, status="confirmed")
    appointment(place, at(24, 10), status="cancelled")
    appointment(place, at(24, 11), status="no_show")

    (row,) = selectors.utilisation_by_provider(*MARCH)
    assert row == {
        "provider_id": provider.pk,
        "provider": str(provider),
        "booked_minutes": 126.0,
        "available_minutes": 630.0,
        "utilisation": 20.0,
    }
    assert selectors.schedule_utilisation(*MARCH) == 20.0
    assert (
        selectors.schedule_utilisation(*MARCH, location_id=factories.LocationFactory().pk) is None
    )


def test_wait_times_average_and_90th_percentile(place):
    base = at(12, 9)
    for index, (roomed, with_provider) in enumerate(
        [(10, 15), (20, 25), (30, 35), (40, 45), (50, 55)]
    ):
        arrived = base + datetime.timedelta(hours=index)
        appointment(
            place,
            arrived,
            arrived_at=arrived,
            roomed_at=arrived + datetime.timedelta(minutes=roomed),
            provider_at=arrived + datetime.timedelta(minutes=with_provider),
            checked_out_at=arrived + datetime.timedelta(minutes=60),
        )
    # Seen without rooming: counts for "to provider" and "to checkout" only.
    straight = at(13, 9)
    appointment(
        place,
        straight,
        arrived_at=straight,
        provider_at=straight + datetime.timedelta(minutes=5),
        checked_out_at=straight + datetime.timedelta(minutes=60),
    )
    appointment(place, at(14, 9), status="no_show")

    figures = selectors.wait_times(*MARCH)
    # Rooming: 10..50 → mean 30; percentile_cont(0.9) = 40 + 0.6 × 10 = 46.
    assert figures["arrival_to_roomed"] == {"count": 5, "average": 30.0, "p90": 46.0}
    # Provider: 5, 15, 25, 35, 45, 55 → mean 30; rank 0.9 × 5 = 4.5 → 45 + 0.5 × 10 = 50.
    assert figures["arrival_to_provider"] == {"count": 6, "average": 30.0, "p90": 50.0}
    assert figures["arrival_to_checkout"] == {"count": 6, "average": 60.0, "p90": 60.0}
    assert (
        selectors.wait_time_figure(*MARCH, measure="arrival_to_provider", statistic="p90") == 50.0
    )


def test_wait_time_percentile_of_a_single_visit_is_that_visit(place):
    arrived = at(12, 9)
    appointment(
        place, arrived, arrived_at=arrived, roomed_at=arrived + datetime.timedelta(minutes=7)
    )
    figures = selectors.wait_times(*MARCH)
    assert figures["arrival_to_roomed"] == {"count": 1, "average": 7.0, "p90": 7.0}
    assert figures["arrival_to_provider"] is None


def test_new_patients_by_local_calendar_month(place):
    def registered(when):
        patient = factories.PatientFactory()
        Patient.objects.filter(pk=patient.pk).update(created_at=when)
        return patient

    registered(at(1, 0, 30, month=1))
    registered(at(31, 23, 30, month=1))  # still January in the practice's time zone
    registered(at(15, 12, month=3))
    registered(at(31, 23, 30, month=12, year=2024))  # before the period
    merged = registered(at(10, 12, month=3))
    Patient.objects.filter(pk=merged.pk).update(status=Patient.Status.MERGED)

    rows = selectors.new_patients_by_month(datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
    assert rows == [
        {"month": datetime.date(2025, 1, 1), "count": 2},
        {"month": datetime.date(2025, 2, 1), "count": 0},
        {"month": datetime.date(2025, 3, 1), "count": 1},
    ]
    assert selectors.new_patients_count(datetime.date(2025, 1, 1), datetime.date(2025, 3, 31)) == 3


def test_visits_per_provider_per_day(place):
    second = factories.ProviderFactory(first_name="Ben", last_name="Brown")
    for hour in (9, 10, 11):
        appointment(place, at(3, hour))
    appointment(place, at(4, 9), status="with_provider")
    appointment(place, at(4, 10), status="no_show")
    appointment(place, at(5, 9), status="cancelled")
    appointment(place, at(5, 9), provider=second)

    assert selectors.visits_per_provider_per_day(*MARCH) == [
        {
            "provider_id": place["provider"].pk,
            "provider": "Ana Alvarez",
            "visits": 4,
            "days": 2,
            "per_day": 2.0,
        },
        {"provider_id": second.pk, "provider": "Ben Brown", "visits": 1, "days": 1, "per_day": 1.0},
    ]
    # 5 visits ÷ 3 provider-days
    assert selectors.visits_per_provider_day(*MARCH) == 1.67


def test_recall_compliance(place):
    for status in ("open", "booked", "completed", "cancelled"):
        factories.RecallFactory(due_date=datetime.date(2025, 3, 15), status=status)
    factories.RecallFactory(due_date=datetime.date(2025, 4, 1), status="open")
    # 2 booked or completed ÷ 3 due (the cancelled one is not due any more)
    assert selectors.recall_compliance(*MARCH) == 66.67


def test_unsigned_encounter_count_counts_those_past_the_chart_closure_lag(place, settings):
    settings.CHART_CLOSURE_HOURS = 72
    for day in (3, 4, 5):
        factories.EncounterFactory(appointment=appointment(place, at(day, 9)))
    Encounter.objects.filter(date_of_service=datetime.date(2025, 3, 5)).update(
        status=Encounter.Status.SIGNED, signed_at=at(6, 9)
    )
    fresh = factories.EncounterFactory(appointment=appointment(place, at(6, 9)))
    Encounter.objects.filter(pk=fresh.pk).update(opened_at=timezone.now())
    assert selectors.unsigned_encounter_count(*MARCH) == 2
    assert selectors.unsigned_encounter_count(*MARCH, provider_id=place["provider"].pk) == 2
    other = factories.ProviderFactory()
    assert selectors.unsigned_encounter_count(*MARCH, provider_id=other.pk) is None


def test_recall_completed_when_its_visit_is_checked_out_counts_as_kept(place):
    recall = factories.RecallFactory(
        due_date=datetime.date(2025, 3, 15),
        status=Recall.Status.BOOKED,
        appointment=appointment(place, at(14, 9), status="checked_out"),
    )
    assert recall.appointment.status == Appointment.Status.CHECKED_OUT
    assert selectors.recall_compliance(*MARCH) == 100.0


@pytest.mark.django_db
def test_figures_of_one_page_share_their_scans_and_agree_with_separate_calls():
    from practicedesk.core.kpi import figures_shared

    start, end = datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)
    alone = [
        selectors.no_show_rate(start, end),
        selectors.late_cancellation_rate(start, end, location_id=None),
    ]
    with CaptureQueriesContext(connection) as queries, figures_shared():
        shared = [
            selectors.no_show_rate(start, end),
            selectors.late_cancellation_rate(start, end, location_id=None),
        ]
    assert shared == alone
    assert len(queries) == 1
