"""What every app contributes to the manager's dashboard, declared once by the app that owns
the data: its figures (``kpis.py``: ``KPIS = [Kpi(...), ...]``) and what needs someone now
(``attention.py``: ``def attention_items(today) -> list[AttentionItem]``).

The dashboard collects both from every installed app; an app never imports the dashboard.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

GOOD_DIRECTIONS = ("up", "down", "none")
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
