"""The figures of closed months: kept the first time they are computed, read back exactly (a
trend needs no recomputing), and taken anew each night for the last months."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache

from practicedesk.core.kpi import Kpi
from practicedesk.dashboard.history import closed_month
from practicedesk.dashboard.models import KpiMonth
from practicedesk.dashboard.selectors import values_for_windows
from practicedesk.dashboard.services import kpi_history_close
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 27)
SEPTEMBER = (datetime.date(2026, 9, 1), datetime.date(2026, 9, 30))
OCTOBER = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
THIS_MONTH = (datetime.date(2026, 11, 1), TODAY)


class Counted:
    """A selector that returns a float (as the scheduling figures do) and counts its calls;
    nothing for September."""

    def __init__(self):
        self.calls = []
        self.offset = 0.0

    def __call__(self, start, end, location_id=None, provider_id=None):
        self.calls.append((start, location_id))
        if start.month == 9:
            return None
        return start.month / 7 + self.offset


@pytest.fixture
def counted():
    selector = Counted()
    return selector, Kpi("test_ratio", "Test ratio", "A test.", "%", "up", selector, area="billing")


def test_only_a_whole_month_that_is_over_is_closed():
    assert closed_month(OCTOBER, TODAY)
    assert not closed_month(THIS_MONTH, TODAY)
    assert not closed_month((datetime.date(2026, 10, 2), OCTOBER[1]), TODAY)
    assert not closed_month(OCTOBER, OCTOBER[1])


def test_a_closed_month_is_computed_once_and_read_back_exactly(counted):
    selector, kpi = counted
    first = values_for_windows([kpi], [SEPTEMBER, OCTOBER, THIS_MONTH], None, TODAY)
    assert KpiMonth.objects.count() == 2  # the current month is not kept
    cache.clear()
    again = values_for_windows([kpi], [SEPTEMBER, OCTOBER, THIS_MONTH], None, TODAY)
    assert [window for window, _ in selector.calls] == [
        SEPTEMBER[0],
        OCTOBER[0],
        THIS_MONTH[0],
        THIS_MONTH[0],
    ]
    assert again == first
    assert again[OCTOBER]["test_ratio"] == Decimal(str(10 / 7))
    assert again[SEPTEMBER]["test_ratio"] is None  # "no data", kept as such


def test_each_location_keeps_its_own_history(counted):
    _selector, kpi = counted
    riverside = factories.LocationFactory()
    values_for_windows([kpi], [OCTOBER], None, TODAY)
    values_for_windows([kpi], [OCTOBER], riverside.pk, TODAY)
    assert KpiMonth.objects.filter(location=None).count() == 1
    assert KpiMonth.objects.filter(location=riverside).count() == 1


def test_the_nightly_close_takes_the_last_months_anew_and_keeps_older_ones(counted, monkeypatch):
    selector, kpi = counted
    monkeypatch.setattr("practicedesk.dashboard.services.all_kpis", lambda: [kpi])
    august = (datetime.date(2026, 8, 1), datetime.date(2026, 8, 31))
    values_for_windows([kpi], [august, OCTOBER], None, TODAY)
    selector.offset = 1.0  # late postings change every month's figure
    looked_at = kpi_history_close(TODAY)
    assert looked_at == 13  # the practice (no location yet): twelve months and the one before
    kept = dict(KpiMonth.objects.filter(location=None).values_list("month", "value"))
    assert len(kept) == 13 and max(kept) == OCTOBER[0]
    assert Decimal(kept[OCTOBER[0]]) == Decimal(str(10 / 7 + 1))  # refreshed
    assert kept[SEPTEMBER[0]] is None  # refreshed: still no data
    assert Decimal(kept[august[0]]) == Decimal(str(8 / 7))  # older: as it closed
