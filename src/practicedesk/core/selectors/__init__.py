"""Core reads: audit history, attached documents, jobs, health."""

from datetime import timedelta

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model, QuerySet
from django.utils import timezone

from practicedesk.core.models import AuditEvent, Document, WorkerHeartbeat

WORKER_STALE_AFTER = timedelta(seconds=60)


def history_for(obj: Model) -> QuerySet[LogEntry]:
    return LogEntry.objects.get_for_object(obj).select_related("actor")


def documents_attached_to(obj: Model) -> QuerySet[Document]:
    return Document.objects.filter(
        attached_type=ContentType.objects.get_for_model(obj), attached_id=str(obj.pk)
    ).select_related("owner")


def audit_changes() -> QuerySet[LogEntry]:
    return LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-id")


def audit_events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("user", "content_type")


def database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"status": "error", "vendor": connection.vendor, "error": str(error)[:200]}
    return {"status": "ok", "vendor": connection.vendor}


def worker_state() -> dict:
    latest = WorkerHeartbeat.objects.order_by("-last_seen").first()
    if latest is None:
        return {"status": "absent", "detail": "No worker has reported yet."}
    age = timezone.now() - latest.last_seen
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - WORKER_STALE_AFTER)
    return {
        "status": "ok" if age <= WORKER_STALE_AFTER else "stale",
        "workers": alive.count(),
        "last_seen": latest.last_seen.isoformat(),
        "seconds_since": int(age.total_seconds()),
    }
