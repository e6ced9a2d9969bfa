"""Dashboard reads: which figures a user may see, their values, targets and status, their
12-month trends, and the attention list.

Every figure is computed by its app's selector in the database. Values are kept in Django's
cache (the database cache): one entry per period and location holding every figure computed
for it, so a page reads all its figures with one query. A finished period is kept for hours
(late postings are rare), the current one for a few minutes. The figures of closed months are
also kept in the database (``history``), so a 12-month trend is read, not computed again.
"""

import datetime
import time
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module

from django.apps import apps
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from practicedesk.core.kpi import AttentionItem, Kpi, figures_shared
from practicedesk.core.permissions import can
from practicedesk.dashboard.history import closed_month, history_read, history_store
from practicedesk.dashboard.models import AttentionState, KpiTarget
from practicedesk.dashboard.periods import Period, month_end, month_starts
from practicedesk.dashboard.registry import all_kpis, kpi_by_key

COMPLETED_SECONDS = 6 * 3600
CURRENT_SECONDS = 5 * 60
TREND_MONTHS = 12

STATUS_LABELS = {
    "on_target": "On target",
    "warning": "Warning",
    "off_target": "Off target",
    "no_target": "No target",
    "no_data": "No data for this period",
}
STATUS_CLASSES = {
    "on_target": "badge-ok",
    "warning": "badge-warn",
    "off_target": "badge-bad",
    "no_target": "badge-muted",
    "no_data": "badge-muted",
}


# Who sees what


def may_see(user, kpi: Kpi) -> bool:
    """A figure shows only to roles that may open the data it is built from."""
    return can(user, "dashboard", "view") and can(user, kpi.area, kpi.action)


def kpis_for(user, shape: str | None = "number") -> list[Kpi]:
    return [
        kpi for kpi in all_kpis() if (shape is None or kpi.shape == shape) and may_see(user, kpi)
    ]


def comparisons_for(user) -> list[Kpi]:
    """The figures drawn as comparison charts (per provider, payer or age bucket)."""
    return [kpi for kpi in kpis_for(user, "rows") if kpi.row_label and kpi.row_value]


# Values


def as_decimal(value) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def values_key(start: datetime.date, end: datetime.date, location_id: int | None) -> str:
    return f"dashboard:values:{start:%Y%m%d}:{end:%Y%m%d}:{location_id or 'all'}"


def compute(kpi: Kpi, start: datetime.date, end: datetime.date, location_id: int | None):
    value = kpi.selector(start, end, location_id if kpi.per_location else None)
    return as_decimal(value) if kpi.shape == "number" else value


def values_for_windows(
    kpis: list[Kpi],
    windows: list[tuple[datetime.date, datetime.date]],
    location_id: int | None,
    today: datetime.date,
) -> dict[tuple[datetime.date, datetime.date], dict[str, object]]:
    """Each window's values of ``kpis``: read from the closed months' history and the cache
    (a query each), the missing ones computed and stored back."""
    keys = {window: values_key(*window, location_id) for window in windows}
    cached = cache.get_many(list(keys.values()))
    closed = [window for window in windows if closed_month(window, today)]
    kept = history_read(kpis, closed, location_id)
    result, new_history = {}, {}
    # The figures of a window share their ledger sums (A/R, collections): computed once.
    with figures_shared():
        for window, key in keys.items():
            values = {**kept.get(window, {}), **(cached.get(key) or {})}
            missing = [kpi for kpi in kpis if kpi.key not in values]
            for kpi in missing:
                values[kpi.key] = compute(kpi, *window, location_id)
            if missing:
                timeout = COMPLETED_SECONDS if window[1] < today else CURRENT_SECONDS
                cache.set(key, values, timeout)
            if window in closed:
                new_history[window] = {
                    kpi.key: values[kpi.key] for kpi in kpis if kpi.key not in kept.get(window, {})
                }
            result[window] = values
    if any(new_history.values()):
        history_store(kpis, new_history, location_id)
    return result


# Targets and status


@dataclass(frozen=True)
class Target:
    target: Decimal | None
    warning: Decimal | None
    source: str
    custom: bool = False
    note: str = ""


def default_target(kpi: Kpi) -> Target:
    return Target(kpi.default_target, kpi.default_warning, kpi.target_source)


def targets_for(kpis: list[Kpi], location_id: int | None) -> dict[str, Target]:
    """The target in force for each KPI: the location's own, else the practice's, else the
    published default (one query)."""
    rows = KpiTarget.objects.filter(kpi_key__in=[kpi.key for kpi in kpis]).filter(
        Q(location__isnull=True) | Q(location_id=location_id)
        if location_id
        else Q(location__isnull=True)
    )
    practice: dict[str, KpiTarget] = {}
    local: dict[str, KpiTarget] = {}
    for row in rows:
        (local if row.location_id else practice)[row.kpi_key] = row
    targets = {}
    for kpi in kpis:
        row = (local.get(kpi.key) if kpi.per_location else None) or practice.get(kpi.key)
        if row is not None:
            where = "this location" if row.location_id else "the practice"
            targets[kpi.key] = Target(
                row.target, row.warning, f"Set for {where} by the manager.", True, row.note
            )
        else:
            targets[kpi.key] = default_target(kpi)
    return targets


def status_of(value, target, warning, good_direction: str) -> str:
    """on_target, warning or off_target; no_data without a value, no_target without a
    target (or for a figure where neither direction is better)."""
    if value is None:
        return "no_data"
    if target is None or good_direction not in ("up", "down"):
        return "no_target"
    value = as_decimal(value)
    if good_direction == "up":
        if value >= target:
            return "on_target"
        return "warning" if warning is not None and value >= warning else "off_target"
    if value <= target:
        return "on_target"
    return "warning" if warning is not None and value <= warning else "off_target"


def format_value(value, unit: str) -> str:
    if value is None:
        return "No data for this period"
    value = as_decimal(value)
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "$":
        return f"${value:,.2f}"
    number = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.1f}"
    short = {"minutes": "min"}.get(unit, unit)
    return f"{number} {short}"


def format_change(change: Decimal, unit: str) -> str:
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    magnitude = abs(change)
    number = (
        f"{magnitude:.1f}" if magnitude != magnitude.to_integral_value() else f"{magnitude:.0f}"
    )
    suffix = {"%": " pts", "$": ""}.get(unit, f" {unit}")
    return f"{sign}{'$' if unit == '$' else ''}{number}{suffix}"


@dataclass
class Tile:
    kpi: Kpi
    value: Decimal | None
    previous: Decimal | None
    target: Target

    @property
    def status(self) -> str:
        return status_of(
            self.value, self.target.target, self.target.warning, self.kpi.good_direction
        )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def status_class(self) -> str:
        return STATUS_CLASSES[self.status]

    @property
    def value_display(self) -> str:
        return format_value(self.value, self.kpi.unit)

    @property
    def previous_display(self) -> str:
        return format_value(self.previous, self.kpi.unit) if self.previous is not None else "—"

    @property
    def target_display(self) -> str:
        if self.target.target is None or self.kpi.good_direction == "none":
            return "—"
        comparison = "≥" if self.kpi.good_direction == "up" else "≤"
        return f"{comparison} {format_value(self.target.target, self.kpi.unit)}"

    @property
    def warning_display(self) -> str:
        if self.target.warning is None or self.kpi.good_direction == "none":
            return "—"
        return format_value(self.target.warning, self.kpi.unit)

    @property
    def change(self) -> Decimal | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change_display(self) -> str:
        change = self.change
        return "—" if change is None else format_change(change, self.kpi.unit)

    @property
    def change_word(self) -> str:
        change = self.change
        if change is None:
            return "no earlier data"
        if change == 0 or self.kpi.good_direction == "none":
            return "no change" if change == 0 else "changed"
        better = (change > 0) == (self.kpi.good_direction == "up")
        return "better" if better else "worse"

    @property
    def change_class(self) -> str:
        return {"better": "badge-ok", "worse": "badge-bad"}.get(self.change_word, "badge-muted")


def kpi_tiles(
    kpis: list[Kpi], period: Period, location_id: int | None, today: datetime.date
) -> list[Tile]:
    """Each figure for the period and the one before, with its target and status."""
    previous = period.previous()
    windows = [(period.start, period.end), (previous.start, previous.end)]
    values = values_for_windows(kpis, windows, location_id, today)
    targets = targets_for(kpis, location_id)
    now, before = values[windows[0]], values[windows[1]]
    return [Tile(kpi, now.get(kpi.key), before.get(kpi.key), targets[kpi.key]) for kpi in kpis]


def trend(
    kpi: Kpi,
    location_id: int | None,
    last: datetime.date,
    today: datetime.date,
    months: int = TREND_MONTHS,
) -> list[tuple[datetime.date, Decimal | None]]:
    """The figure month by month, for the ``months`` months ending with ``last``'s month
    (a month not over yet counts up to ``today``; months after today are left out)."""
    windows = [
        (start, min(month_end(start), today))
        for start in month_starts(last, months)
        if start <= today
    ]
    values = values_for_windows([kpi], windows, location_id, today)
    return [(window[0], values[window].get(kpi.key)) for window in windows]


def comparison_rows(kpi: Kpi, period: Period, location_id: int | None, today: datetime.date):
    window = (period.start, period.end)
    rows = values_for_windows([kpi], [window], location_id, today)[window].get(kpi.key)
    return rows or []


# The attention list

ITEMS_KEY = "dashboard:attention:items"
STAMP_KEY = "dashboard:attention:stamp"
VERSION_KEY = "dashboard:attention:version"
ITEMS_SECONDS = 15 * 60
# The worker collects the list every 5 minutes (periodic.py); a page collects it itself only
# when that has not happened for twice as long (no worker running).
FRESH_SECONDS = 10 * 60
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
SEVERITY_CLASSES = {"critical": "badge-bad", "warning": "badge-warn", "info": "badge-info"}


def attention_collect(today: datetime.date) -> list[AttentionItem]:
    """Every app's ``attention_items(today)``, most urgent first."""
    items: list[AttentionItem] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("practicedesk."):
            continue
        name = f"{config.name}.attention"
        try:
            module = import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        items.extend(module.attention_items(today))
    return sorted(items, key=item_order)


def item_order(item: AttentionItem):
    return (
        SEVERITY_ORDER.get(item.severity, 3),
        item.due or datetime.date.max,
        item.title,
    )


def attention_refresh(today: datetime.date | None = None) -> list[AttentionItem]:
    """Collect the list anew and keep it for the pages and the menu count."""
    items = attention_collect(today or timezone.localdate())
    cache.set_many({ITEMS_KEY: items, STAMP_KEY: time.time()}, ITEMS_SECONDS)
    return items


def attention_items_current(max_age: int = FRESH_SECONDS) -> list[AttentionItem]:
    cached = cache.get_many([ITEMS_KEY, STAMP_KEY])
    stamp = cached.get(STAMP_KEY)
    if ITEMS_KEY in cached and stamp is not None and time.time() - stamp < max_age:
        return cached[ITEMS_KEY]
    return attention_refresh()


def attention_changed() -> None:
    """An item was assigned, snoozed, dismissed or restored: every menu count is recounted."""
    cache.set(VERSION_KEY, time.time_ns(), None)


def may_see_item(user, item: AttentionItem) -> bool:
    return can(user, "dashboard", "view") and can(user, item.area, item.action)


@dataclass
class AttentionRow:
    item: AttentionItem
    state: AttentionState | None
    today: datetime.date

    @property
    def dismissed(self) -> bool:
        return self.state is not None and self.state.dismissed_at is not None

    @property
    def snoozed(self) -> bool:
        state = self.state
        return (
            state is not None
            and state.snoozed_until is not None
            and state.snoozed_until > self.today
        )

    @property
    def hidden(self) -> bool:
        return self.dismissed or self.snoozed

    @property
    def assigned_to(self):
        return self.state.assigned_to if self.state is not None else None

    @property
    def severity_class(self) -> str:
        return SEVERITY_CLASSES.get(self.item.severity, "badge-muted")

    @property
    def overdue(self) -> bool:
        return self.item.due is not None and self.item.due < self.today


def attention_for(
    user,
    *,
    items: list[AttentionItem] | None = None,
    include_hidden: bool = False,
    today: datetime.date | None = None,
) -> list[AttentionRow]:
    """The items this user may see (their role opens the item's area), with what was done
    with them; snoozed and dismissed items only when asked for."""
    today = today or timezone.localdate()
    items = attention_items_current() if items is None else items
    visible = [item for item in items if may_see_item(user, item)]
    states = {
        state.item_key: state
        for state in AttentionState.objects.filter(
            item_key__in=[item.key for item in visible]
        ).select_related("assigned_to", "dismissed_by", "snoozed_by")
    }
    rows = [AttentionRow(item, states.get(item.key), today) for item in visible]
    return rows if include_hidden else [row for row in rows if not row.hidden]


def attention_count(user) -> int | None:
    """The menu's count of open items for this user, from the cached list: one cache read on
    most pages; None until the list has been collected (by the worker or a dashboard page)."""
    if not can(user, "dashboard", "view"):
        return None
    count_key = f"dashboard:attention:count:{user.pk}"
    cached = cache.get_many([STAMP_KEY, VERSION_KEY, count_key])
    stamp = cached.get(STAMP_KEY)
    if stamp is None:
        return None
    version = cached.get(VERSION_KEY, 0)
    counted = cached.get(count_key)
    if counted is not None and counted[:2] == (stamp, version):
        return counted[2]
    items = cache.get(ITEMS_KEY)
    if items is None:
        return None
    count = len(attention_for(user, items=items))
    cache.set(count_key, (stamp, version, count), ITEMS_SECONDS)
    return count


def attention_item(key: str) -> AttentionItem | None:
    return next((item for item in attention_items_current() if item.key == key), None)


def kpi_for_user(user, key: str) -> Kpi | None:
    kpi = kpi_by_key(key)
    return kpi if kpi is not None and may_see(user, kpi) else None
