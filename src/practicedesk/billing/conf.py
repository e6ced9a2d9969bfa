"""Reading and checking the statement and collection settings (defaults in ``settings.py``,
changed through the environment like every other setting)."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def setting(name: str):
    return getattr(settings, name)


def money_setting(name: str) -> Decimal:
    return Decimal(str(setting(name))).quantize(Decimal("0.01"))


def statement_cycle_day() -> int:
    day = int(setting("STATEMENT_CYCLE_DAY"))
    if not 1 <= day <= 31:
        raise ImproperlyConfigured(f"STATEMENT_CYCLE_DAY={day} is not a day of the month (1-31).")
    return day


def contact_hours() -> tuple[int, int]:
    """(first hour, hour from which calls stop), e.g. (8, 21) for 8:00 to 20:59."""
    raw = str(setting("COLLECTIONS_CONTACT_HOURS"))
    try:
        start, end = (int(part) for part in raw.replace("–", "-").split("-"))
    except ValueError as error:
        raise ImproperlyConfigured(
            f"COLLECTIONS_CONTACT_HOURS={raw!r} is not a range of hours such as 8-21."
        ) from error
    if not 0 <= start < end <= 24:
        raise ImproperlyConfigured(
            f"COLLECTIONS_CONTACT_HOURS={raw!r}: the first hour must come before the last."
        )
    return start, end
