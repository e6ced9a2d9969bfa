import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests import factories

OCTOBER = {"period": "custom", "start": "2026-10-01", "end": "2026-10-31"}


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(year, month, day, hour))


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    # The database cache lives in the test transaction; clearing makes each test start cold.
    cache.clear()


@pytest.fixture
def login(client, make_user):
    def sign_in(role: str, **kwargs):
        user = make_user(role, two_factor_exempt=True, **kwargs)
        client.force_login(user)
        return user

    return sign_in


@pytest.fixture
def october(db):
    """Eight visits in October 2026 at one location: two no-shows and six seen."""
    location = factories.LocationFactory(name="Riverside")
    provider = factories.ProviderFactory(first_name="Ana", last_name="Alvarez")
    visit_type = factories.AppointmentTypeFactory()
    visits = []
    for index in range(8):
        start = at(10, 5 + index)
        visits.append(
            factories.AppointmentFactory(
                location=location,
                provider=provider,
                appointment_type=visit_type,
                patient=factories.PatientFactory(last_name=f"Visitor{index}"),
                start=start,
                end=start + datetime.timedelta(minutes=20),
                status="no_show" if index < 2 else "checked_out",
                arrived_at=None if index < 2 else start,
            )
        )
    return {"location": location, "provider": provider, "visits": visits}
