"""Dashboard actions: setting a KPI's target, and assigning, snoozing, dismissing or restoring
an attention item (each in one transaction, with its audit event); and the nightly keeping of
the closed months' figures."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from practicedesk.core.kpi import AttentionItem, Kpi
from practicedesk.core.models import AuditEvent, Location, User
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record
from practicedesk.dashboard.models import AttentionState, KpiMonth, KpiTarget
from practicedesk.dashboard.periods import month_end, month_starts
from practicedesk.dashboard.registry import all_kpis, kpi_by_key
from practicedesk.dashboard.selectors import (
    TREND_MONTHS,
    attention_changed,
    attention_item,
    may_see_item,
    values_for_windows,
    values_key,
)

PERCENT_MAX = Decimal("100")
LIMIT = Decimal("9999999999.99")


def number_from(value, field: str, what: str) -> Decimal:
    """A finite number with at most 2 decimals, or a message the manager understands."""
    if isinstance(value, float):
        value = str(value)
    text = str(value).strip().replace(",", "") if value is not None else ""
    if text.endswith("%"):
        text = text[:-1].strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError({field: f"The {what} must be a number, e.g. 95 or 37.5."})
    if number != number.quantize(Decimal("0.01")):
        raise ValidationError({field: f"The {what} takes at most 2 decimal places."})
    if abs(number) > LIMIT:
        raise ValidationError({field: f"The {what} is too large."})
    return number.quantize(Decimal("0.01"))


def target_check(kpi: Kpi, target: Decimal, warning: Decimal) -> None:
    """Refuse a target that cannot be met or a warning threshold on the wrong side of it."""
    errors = {}
    for field, value, what in (("target", target, "target"), ("warning", warning, "warning")):
        if value < 0:
            errors[field] = f"The {what} cannot be negative."
        elif kpi.unit == "%" and value > PERCENT_MAX:
            errors[field] = f"The {what} is a percentage: between 0 and 100."
    if not errors:
        if kpi.good_direction == "up" and warning > target:
            errors["warning"] = (
                f"For {kpi.name} higher is better, so the warning threshold must be at or "
                f"below the target ({target}); {warning} is above it."
            )
        elif kpi.good_direction == "down" and warning < target:
            errors["warning"] = (
                f"For {kpi.name} lower is better, so the warning threshold must be at or "
                f"above the target ({target}); {warning} is below it."
            )
    if errors:
        raise ValidationError(errors)


def targetable_kpi(kpi_key: str) -> Kpi:
    kpi = kpi_by_key(kpi_key)
    if kpi is None:
        raise ValidationError({"kpi_key": "There is no such KPI."})
    if kpi.shape != "number" or kpi.good_direction not in ("up", "down"):
        raise ValidationError(
            {"kpi_key": f"{kpi.name} is not better higher or lower, so it takes no target."}
        )
    return kpi


@transaction.atomic
def target_set(
    *,
    acting_user: User,
    kpi_key: str,
    target,
    warning,
    location: Location | None = None,
    note: str = "",
) -> KpiTarget:
    """Set (or change) a KPI's target and warning threshold, practice-wide or for one
    location."""
    kpi = targetable_kpi(kpi_key)
    if location is not None and not kpi.per_location:
        raise ValidationError(
            {
                "location": f"{kpi.name} is measured for the whole practice; leave the "
                "location empty."
            }
        )
    errors = {}
    values = {}
    for field, value, what in (
        ("target", target, "target"),
        ("warning", warning, "warning threshold"),
    ):
        try:
            values[field] = number_from(value, field, what)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    target_check(kpi, values["target"], values["warning"])
    row = (
        KpiTarget.objects.select_for_update()
        .filter(kpi_key=kpi.key, location=location)
        .order_by("pk")
        .first()
    )
    before = {"target": str(row.target), "warning": str(row.warning)} if row else None
    if row is None:
        row = KpiTarget(kpi_key=kpi.key, location=location)
    row.target = values["target"]
    row.warning = values["warning"]
    row.note = note.strip()[:200]
    row.set_by = acting_user
    row.full_clean()
    row.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=row,
        name="kpi_target_set",
        detail={
            "kpi": kpi.key,
            "location": location.pk if location else None,
            "before": before,
            "target": str(row.target),
            "warning": str(row.warning),
        },
    )
    return row


@transaction.atomic
def target_reset(*, acting_user: User, kpi_key: str, location: Location | None = None) -> None:
    """Go back to the default (or, for a location, to the practice's target)."""
    kpi = targetable_kpi(kpi_key)
    row = KpiTarget.objects.filter(kpi_key=kpi.key, location=location).first()
    if row is None:
        return
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=row,
        name="kpi_target_reset",
        detail={"kpi": kpi.key, "target": str(row.target), "warning": str(row.warning)},
    )
    row.delete()


# Attention items


def item_for(acting_user: User, item_key: str, action: str) -> AttentionItem:
    item = attention_item(item_key)
    if item is None:
        raise ValidationError("This item is no longer on the attention list.")
    if not may_see_item(acting_user, item):
        raise PermissionDenied("Your role does not open this item.")
    if action == "assign":
        if not can(acting_user, "dashboard", "change"):
            raise PermissionDenied("Only the practice manager assigns attention items.")
    elif not can(acting_user, item.area, "change"):
        raise PermissionDenied("Your role may not change this item's work.")
    return item


def state_locked(item: AttentionItem) -> AttentionState:
    state, _ = AttentionState.objects.get_or_create(item_key=item.key)
    state = AttentionState.objects.select_for_update().get(pk=state.pk)
    state.title = item.title[:300]
    return state


def record(acting_user: User, state: AttentionState, name: str, **detail) -> None:
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=state,
        name=name,
        detail={"item": state.item_key, **detail},
    )


@transaction.atomic
def attention_assign(*, acting_user: User, item_key: str, assignee: User | None) -> AttentionState:
    """Give the item to a staff member (or take it back, with no assignee)."""
    item = item_for(acting_user, item_key, "assign")
    if assignee is not None and (not assignee.is_active or not may_see_item(assignee, item)):
        raise ValidationError(
            {"assignee": f"{assignee} cannot open this item's area; choose someone whose role can."}
        )
    state = state_locked(item)
    state.assigned_to = assignee
    state.assigned_by = acting_user
    state.assigned_at = timezone.now()
    state.save()
    record(acting_user, state, "attention_assign", assignee=assignee.pk if assignee else None)
    attention_changed()
    return state


@transaction.atomic
def attention_snooze(
    *, acting_user: User, item_key: str, until: datetime.date | None, reason: str
) -> AttentionState:
    """Hide the item until a day, for a stated reason."""
    item = item_for(acting_user, item_key, "snooze")
    errors = {}
    today = timezone.localdate()
    if until is None:
        errors["until"] = "Choose the day the item comes back."
    elif until <= today:
        errors["until"] = "Snooze until a day after today."
    elif until > today + datetime.timedelta(days=365):
        errors["until"] = "Snooze for at most a year; dismiss the item if it needs no action."
    if not reason.strip():
        errors["reason"] = "Say why the item can wait."
    if errors:
        raise ValidationError(errors)
    state = state_locked(item)
    state.snoozed_until = until
    state.snooze_reason = reason.strip()[:200]
    state.snoozed_by = acting_user
    state.save()
    record(acting_user, state, "attention_snooze", until=until.isoformat(), reason=reason[:200])
    attention_changed()
    return state


@transaction.atomic
def attention_dismiss(*, acting_user: User, item_key: str, reason: str) -> AttentionState:
    """Take the item off the list for good, for a stated reason."""
    item = item_for(acting_user, item_key, "dismiss")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the item needs no action."})
    state = state_locked(item)
    state.dismissed_at = timezone.now()
    state.dismissed_by = acting_user
    state.dismiss_reason = reason.strip()[:200]
    state.save()
    record(acting_user, state, "attention_dismiss", reason=reason[:200])
    attention_changed()
    return state


@transaction.atomic
def attention_restore(*, acting_user: User, item_key: str) -> AttentionState:
    """Put a snoozed or dismissed item back on the list."""
    item = item_for(acting_user, item_key, "restore")
    state = state_locked(item)
    state.snoozed_until = None
    state.snooze_reason = ""
    state.dismissed_at = None
    state.dismissed_by = None
    state.dismiss_reason = ""
    state.save()
    record(acting_user, state, "attention_restore")
    attention_changed()
    return state


# The figures of closed months

HISTORY_MONTHS = TREND_MONTHS + 1  # a trend's twelve months and the one it is compared with
REFRESH_MONTHS = 2


def kpi_history_close(today: datetime.date | None = None) -> int:
    """Keep every figure of the last closed months, for the practice and each active
    location: the last ``REFRESH_MONTHS`` taken anew (late postings reach them), older months
    only where missing. Returns the number of (scope, month) pairs looked at."""
    today = today or timezone.localdate()
    kpis = [kpi for kpi in all_kpis() if kpi.shape == "number"]
    last_closed = today.replace(day=1) - datetime.timedelta(days=1)
    windows = [(start, month_end(start)) for start in month_starts(last_closed, HISTORY_MONTHS)]
    KpiMonth.objects.filter(month__in=[start for start, _ in windows[-REFRESH_MONTHS:]]).delete()
    for window in windows[-REFRESH_MONTHS:]:
        for location_id in (None, *Location.objects.values_list("pk", flat=True)):
            cache.delete(values_key(*window, location_id))
    scopes = [None, *Location.objects.filter(is_active=True).values_list("pk", flat=True)]
    for location_id in scopes:
        values_for_windows(kpis, windows, location_id, today)
    return len(scopes) * len(windows)
