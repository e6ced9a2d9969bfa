"""The figures of closed months (``KpiMonth``): read for the trends instead of computing twelve
months of every figure again, and stored the first time a closed month is computed."""

import datetime
from decimal import Decimal

from django.db.models import Q

from practicedesk.core.kpi import Kpi
from practicedesk.dashboard.models import KpiMonth
from practicedesk.dashboard.periods import month_end

Window = tuple[datetime.date, datetime.date]


def closed_month(window: Window, today: datetime.date) -> bool:
    """Whether the window is one whole calendar month that is over."""
    start, end = window
    return start.day == 1 and end == month_end(start) and end < today


def scope(location_id: int | None) -> Q:
    return Q(location__isnull=True) if location_id is None else Q(location_id=location_id)


def history_read(
    kpis: list[Kpi], windows: list[Window], location_id: int | None
) -> dict[Window, dict[str, Decimal | None]]:
    """The stored values of ``kpis`` (numbers) for those closed months, in one query."""
    by_month = {window[0]: window for window in windows}
    keys = [kpi.key for kpi in kpis if kpi.shape == "number"]
    if not by_month or not keys:
        return {}
    result: dict[Window, dict[str, Decimal | None]] = {}
    rows = KpiMonth.objects.filter(scope(location_id), kpi_key__in=keys, month__in=list(by_month))
    for key, month, value in rows.values_list("kpi_key", "month", "value"):
        result.setdefault(by_month[month], {})[key] = None if value is None else Decimal(value)
    return result


def history_store(
    kpis: list[Kpi], values: dict[Window, dict[str, object]], location_id: int | None
) -> None:
    """Keep the computed values of closed months (numbers only); a value already kept by a
    concurrent request stays as it is."""
    numbers = {kpi.key for kpi in kpis if kpi.shape == "number"}
    KpiMonth.objects.bulk_create(
        [
            KpiMonth(
                kpi_key=key,
                location_id=location_id,
                month=window[0],
                value=None if value is None else str(value),
            )
            for window, figures in values.items()
            for key, value in figures.items()
            if key in numbers
        ],
        ignore_conflicts=True,
    )
