"""FHIR search parameter parsing: dates with prefixes, references, tokens, paging."""

import datetime
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

DEFAULT_COUNT = 50
MAX_COUNT = 500
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
SUPPORTED_DATE_PREFIXES = ("eq", "gt", "lt", "ge", "le")
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
RESULT_PARAMETERS = {"_count", "_offset", "_format"}


class SearchError(ValueError):
    """A search the server cannot honour: answered 400 with an OperationOutcome."""


@dataclass(frozen=True)
class DateBound:
    """A FHIR date parameter as an interval of instants: [start, end)."""

    prefix: str
    start: datetime.datetime
    end: datetime.datetime

    def q_lookups(self, field: str) -> dict:
        """Django lookups for a moment field (a point in time, such as a start)."""
        if self.prefix == "eq":
            return {f"{field}__gte": self.start, f"{field}__lt": self.end}
        if self.prefix == "ge":
            return {f"{field}__gte": self.start}
        if self.prefix == "gt":
            return {f"{field}__gte": self.end}
        if self.prefix == "le":
            return {f"{field}__lt": self.end}
        return {f"{field}__lt": self.start}  # lt

    def admits(self, moment: datetime.datetime) -> bool:
        """The same test as ``q_lookups``, for moments computed in memory (slots)."""
        if self.prefix == "eq":
            return self.start <= moment < self.end
        if self.prefix == "ge":
            return moment >= self.start
        if self.prefix == "gt":
            return moment >= self.end
        if self.prefix == "le":
            return moment < self.end
        return moment < self.start


def parse_day(text: str) -> datetime.date | None:
    """A YYYY-MM-DD day, or None for anything else (including 2025-13-45)."""
    if len(text) != 10:
        return None
    try:
        return parse_date(text)
    except ValueError:
        return None


def split_prefix(name: str, value: str) -> tuple[str, str]:
    prefix = value[:2]
    if prefix in DATE_PREFIXES and len(value) > 2:
        if prefix not in SUPPORTED_DATE_PREFIXES:
            raise SearchError(
                f"{name}: the prefix {prefix!r} is not supported; use eq, ge, gt, le or lt."
            )
        return prefix, value[2:]
    return "eq", value


def date_bound(name: str, value: str) -> DateBound:
    """``2025-03-04``, ``ge2025-03-04`` or ``lt2025-03-04T09:00:00-05:00``."""
    prefix, text = split_prefix(name, value.strip())
    day = parse_day(text)
    if day is not None:
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        return DateBound(prefix, start, start + datetime.timedelta(days=1))
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise SearchError(
            f"{name}={value!r} is not a date: use YYYY-MM-DD or a full date-time, "
            "optionally prefixed with eq, ge, gt, le or lt (e.g. ge2025-03-04)."
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return DateBound(prefix, moment, moment + datetime.timedelta(seconds=1))


def plain_date(name: str, value: str) -> tuple[str, datetime.date]:
    """A date parameter on a date field (birthdate): a prefix and a day."""
    prefix, text = split_prefix(name, value.strip())
    day = parse_day(text)
    if day is None:
        raise SearchError(f"{name}={value!r} is not a date: use YYYY-MM-DD, e.g. 1980-05-17.")
    return prefix, day


DATE_FIELD_LOOKUPS = {"eq": "", "ge": "__gte", "gt": "__gt", "le": "__lte", "lt": "__lt"}


def reference_id(name: str, value: str, resource_type: str) -> str:
    """``Patient/12``, ``12`` or a full URL ending in ``Patient/12`` → ``"12"``."""
    value = value.strip()
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2:
        if parts[-2] != resource_type:
            raise SearchError(f"{name} must refer to a {resource_type}, e.g. {resource_type}/12.")
        value = parts[-1]
    if not ID_PATTERN.match(value):
        raise SearchError(f"{name}={value!r} is not a {resource_type} id or reference.")
    return value


def numeric_id(name: str, value: str, resource_type: str) -> int:
    found = reference_id(name, value, resource_type)
    if not found.isdigit():
        raise SearchError(f"{name}: {resource_type} ids are numbers, not {found!r}.")
    return int(found)


def token(value: str) -> tuple[str | None, str]:
    """``system|code`` → (system, code); a bare ``code`` → (None, code)."""
    if "|" in value:
        system, _, code = value.partition("|")
        return system or None, code
    return None, value


def values(params, name: str) -> list[str]:
    """Every value of a parameter; comma-separated values are alternatives (OR)."""
    found = []
    for raw in params.getlist(name):
        found.extend(part for part in raw.split(",") if part.strip())
    return found


def paging(params) -> tuple[int, int]:
    try:
        count = int(params.get("_count", DEFAULT_COUNT))
        offset = int(params.get("_offset", 0))
    except ValueError as error:
        raise SearchError("_count and _offset are whole numbers.") from error
    if count < 0 or offset < 0:
        raise SearchError("_count and _offset cannot be negative.")
    return min(count, MAX_COUNT), offset


def check_known(params, resource_type: str, supported: set[str]) -> None:
    """Unknown parameters are refused rather than ignored: a misspelt filter on patient data
    must not silently return every record."""
    unknown = sorted(set(params) - supported - RESULT_PARAMETERS)
    if unknown:
        names = ", ".join(sorted(supported | {"_count", "_offset"}))
        raise SearchError(
            f"Unknown search parameter(s) for {resource_type}: {', '.join(unknown)}. "
            f"Supported: {names}."
        )
