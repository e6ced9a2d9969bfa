"""The daily digest: each practice manager who has it on gets, by email, what needs attention
and which figures are off target or at warning (month to date, whole practice)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from practicedesk.core.models import AuditEvent, User
from practicedesk.core.roles import ROLES_BY_KEY
from practicedesk.core.services import audit_event_record
from practicedesk.dashboard.periods import period_for
from practicedesk.dashboard.selectors import (
    attention_for,
    attention_refresh,
    kpi_tiles,
    kpis_for,
)

logger = logging.getLogger(__name__)
ITEMS_IN_EMAIL = 30


def digest_recipients():
    """Active managers with an email address who have the daily digest on."""
    return (
        User.objects.filter(
            is_active=True,
            digest_enabled=True,
            groups__name=ROLES_BY_KEY["manager"].name,
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def digest_message(user: User, rows, tiles, period) -> EmailMessage:
    flagged = [tile for tile in tiles if tile.status in ("off_target", "warning")]
    lines = [f"Good morning {user.first_name or user.username},", ""]
    lines.append(f"Needs attention: {len(rows)} open item{'s' if len(rows) != 1 else ''}")
    for row in rows[:ITEMS_IN_EMAIL]:
        item = row.item
        due = f", due {item.due}" if item.due else ""
        assigned = f", assigned to {row.assigned_to}" if row.assigned_to else ""
        lines.append(f"- [{item.severity.upper()}] {item.title}{due}{assigned}")
        lines.append(f"  {absolute(item.url)}")
    if len(rows) > ITEMS_IN_EMAIL:
        lines.append(f"  … and {len(rows) - ITEMS_IN_EMAIL} more on the attention list.")
    lines += ["", f"Figures off target or at warning ({period.label}, whole practice):"]
    for tile in flagged:
        lines.append(
            f"- {tile.kpi.name}: {tile.value_display} (target {tile.target_display}) — "
            f"{tile.status_label}"
        )
    if not flagged:
        lines.append("- None: every figure with a target is on target or has no data yet.")
    lines += [
        "",
        f"Dashboard: {absolute('/dashboard/')}",
        f"Attention list: {absolute('/dashboard/attention/')}",
        "",
        "You get this email because your daily digest is on; your user record turns it off.",
    ]
    subject = (
        f"Practice Desk digest: {len(rows)} item{'s' if len(rows) != 1 else ''} need attention, "
        f"{len(flagged)} figure{'s' if len(flagged) != 1 else ''} off target or at warning"
    )
    return EmailMessage(subject=subject, body="\n".join(lines), to=[user.email])


def digest_send(*, today=None) -> dict:
    """Email the digest to every manager who wants it; one failure is recorded and the other
    managers still get theirs."""
    today = today or timezone.localdate()
    items = attention_refresh(today)
    period = period_for("this_month", today)
    sent, failed = [], []
    connection = get_connection()
    try:
        for user in digest_recipients():
            rows = attention_for(user, items=items, today=today)
            tiles = kpi_tiles(kpis_for(user), period, None, today)
            message = digest_message(user, rows, tiles, period)
            message.connection = connection
            try:
                message.send()
            except Exception as error:  # a refused address, a server down: record, go on
                logger.exception("Digest to %s not sent", user.email)
                failed.append(user.pk)
                audit_event_record(
                    action=AuditEvent.Action.ACTION,
                    user=None,
                    obj=user,
                    name="dashboard_digest_failed",
                    detail={"error": str(error)[:200]},
                )
                connection.close()
                connection = get_connection()
                continue
            sent.append(user.pk)
            audit_event_record(
                action=AuditEvent.Action.ACTION,
                user=None,
                obj=user,
                name="dashboard_digest_send",
                detail={"items": len(rows), "to": user.email},
            )
    finally:
        connection.close()
    return {"sent": sent, "failed": failed}
