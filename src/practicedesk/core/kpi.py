"""What every app contributes to the manager's dashboard, declared once by the app that owns
the data: its figures (``kpis.py``: ``KPIS = [Kpi(...), ...]``) and what needs someone now
(``attention.py``: ``def attention_items(today) -> list[AttentionItem]``).

The dashboard collects both from every installed app; an app never imports the dashboard.
"""

import datetime
import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

GOOD_DIRECTIONS = ("up", "down", "none")
_shared: ContextVar[dict | None] = ContextVar("kpi_shared_figures", default=None)


@contextmanager
def figures_shared() -> Iterator[None]:
    """Within this block (one page's figures), each ``@shared`` computation runs once per set
    of arguments: several figures read the same sums (days in A/R and the over-90 share both
    need the A/R; the six wait figures come from one aggregate). Outside it, every call
    computes."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def shared(function):
    """Memoise ``function`` by its arguments inside ``figures_shared()``."""

    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        memo = _shared.get()
        if memo is None:
            return function(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()  # f(a, b) and f(a, b, location_id=None) are the same figure
        key = (function.__module__, function.__qualname__, tuple(bound.arguments.items()))
        if key not in memo:
            memo[key] = function(*args, **kwargs)
        return memo[key]

    return wrapper


SHAPES = ("number", "rows")
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class KpiRecord:
    """One record behind a figure (a no-show, a denied claim, an account over 90 days)."""

    label: str
    url: str | None = None
    date: datetime.date | None = None
    detail: str = ""
    amount: Decimal | None = None


@dataclass(frozen=True)
class Kpi:
    """One figure of the dashboard.

    ``selector(start_date, end_date, location_id=None, provider_id=None)`` computes it in the
    database for the local days from ``start_date`` to ``end_date`` (both included) and
    returns ``None`` when the period holds nothing to measure. ``shape`` is ``number`` (one
    value) or ``rows`` (a list of dicts, one per provider, payer or bucket; ``row_label`` and
    ``row_value`` name the keys a comparison chart draws).

    A role sees the figure only if it may do ``action`` on ``area`` (the area whose data it is
    built from). ``default_target`` and ``default_warning`` follow a published benchmark
    named in ``target_source``; ``None`` where no benchmark fits every practice.
    ``records(start_date, end_date, location_id=None)`` lists what is behind the number
    (``KpiRecord``); ``drilldown_url_name`` is the owning app's page for working them.
    """

    key: str
    name: str
    definition: str
    unit: str
    good_direction: str
    selector: Callable
    area: str
    shape: str = "number"
    action: str = "view"
    default_target: Decimal | None = None
    default_warning: Decimal | None = None
    target_source: str = ""
    per_location: bool = True
    drilldown_url_name: str | None = None
    records: Callable | None = None
    row_label: str = ""
    row_value: str = ""


@dataclass(frozen=True)
class AttentionItem:
    """Something that needs a person now, with a link to act on it.

    ``key`` is stable across days (``"billing.denial.123"``) so an assignment, a snooze or a
    dismissal made on the dashboard sticks to the same item. A role sees the item only if it
    may do ``action`` on ``area``.
    """

    key: str
    title: str
    severity: str
    due: datetime.date | None
    owner_hint: str
    url: str
    area: str
    action: str = "view"
    detail: str = ""
