"""The periods the dashboard shows, and the period each is compared with."""

import calendar
import datetime
from dataclasses import dataclass

PERIOD_CHOICES = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("quarter", "Quarter to date"),
    ("year", "Year to date"),
    ("custom", "Custom"),
]
LABELS = dict(PERIOD_CHOICES)


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (or earlier), kept inside the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(
        year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1])
    )


def month_starts(last: datetime.date, count: int) -> list[datetime.date]:
    """The first days of the ``count`` months ending with the month of ``last``."""
    first = last.replace(day=1)
    return [add_months(first, offset) for offset in range(-(count - 1), 1)]


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date
    end: datetime.date

    @property
    def label(self) -> str:
        if self.kind in ("this_month", "last_month"):
            return f"{self.start:%B %Y}" + (" to date" if self.kind == "this_month" else "")
        if self.start == self.end:
            return f"{self.start:%b %-d, %Y}"
        return f"{self.start:%b %-d, %Y} – {self.end:%b %-d, %Y}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period compared with: the same span one month, quarter or year earlier (a
        month or quarter to date against the same days of the one before); a custom period
        against the days just before it."""
        months = {"this_month": 1, "last_month": 1, "quarter": 3, "year": 12}.get(self.kind)
        if months is None:
            end = self.start - datetime.timedelta(days=1)
            return Period("custom", end - datetime.timedelta(days=self.days - 1), end)
        start = add_months(self.start, -months)
        if self.kind == "last_month":
            return Period(self.kind, start, month_end(start))
        end = min(start + (self.end - self.start), self.start - datetime.timedelta(days=1))
        return Period(self.kind, start, end)


def period_for(
    kind: str,
    today: datetime.date,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> Period:
    if kind == "last_month":
        first = add_months(today.replace(day=1), -1)
        return Period(kind, first, month_end(first))
    if kind == "quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        return Period(kind, today.replace(month=first_month, day=1), today)
    if kind == "year":
        return Period(kind, today.replace(month=1, day=1), today)
    if kind == "custom":
        if start is None or end is None:
            raise ValueError("A custom period needs a first and a last day.")
        return Period(kind, start, end)
    return Period("this_month", today.replace(day=1), today)
