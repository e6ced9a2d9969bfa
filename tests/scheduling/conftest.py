import datetime

import pytest
from django.utils import timezone

from tests import factories


def next_weekday_at(hour: int, minute: int = 0, weekday: int = 0, weeks_ahead: int = 1):
    """A local datetime on the given weekday, at least a few days from now."""
    today = timezone.localdate()
    day = today + datetime.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def clinic(db):
    """One location, one provider working Mon-Fri 8-12 and 13-17 there, two rooms, a type."""
    location = factories.LocationFactory(name="Main St")
    provider = factories.ProviderFactory()
    factories.weekly_schedule(
        provider, location, start=datetime.time(8), end=datetime.time(12), weekdays=range(5)
    )
    factories.weekly_schedule(
        provider, location, start=datetime.time(13), end=datetime.time(17), weekdays=range(5)
    )
    rooms = [factories.RoomFactory(location=location, name=f"Exam {n}") for n in (1, 2)]
    visit = factories.AppointmentTypeFactory(name="Follow-up", duration_minutes=20)
    return {"location": location, "provider": provider, "rooms": rooms, "type": visit}


@pytest.fixture(autouse=True)
def _local_time_is_midday(settings):
    """Run scheduling tests in a zone where it is now about noon, so that "earlier today"
    and "later today" exist whatever hour the suite runs at (CI may start at midnight)."""
    utc_hour = datetime.datetime.now(datetime.UTC).hour
    offset = (12 - utc_hour + 12) % 24 - 12  # -12..+11 hours from UTC
    # Etc/GMT names are sign-inverted: Etc/GMT-5 is five hours ahead of UTC.
    settings.TIME_ZONE = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
