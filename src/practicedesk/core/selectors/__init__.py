"""Core reads: audit history, attached documents, jobs, health."""

from datetime import timedelta

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Model, QuerySet
from django.utils import timezone

from practicedesk.core.models import AuditEvent, Document, WorkerHeartbeat
from practicedesk.core.selectors.documents import (  # noqa: F401 - re-exported
    attachment_target_for_user,
    document_attached_record,
    document_types_for_user,
    documents_for_user,
)
from practicedesk.core.selectors.jobs import (  # noqa: F401 - re-exported
    JobState,
    duration_text,
    job_duration,
    job_progress,
    job_progress_for,
    job_state,
    job_summary,
    job_task_label,
    jobs_pending_exist,
    jobs_recent,
)

WORKER_STALE_AFTER = timedelta(seconds=60)


def history_for(obj: Model) -> QuerySet[LogEntry]:
    return LogEntry.objects.get_for_object(obj).select_related("actor")


def documents_attached_to(obj: Model, user) -> QuerySet[Document]:
    """The documents attached to a record that this user's roles may see."""
    return (
        documents_for_user(user)
        .filter(attached_type=ContentType.objects.get_for_model(obj), attached_id=str(obj.pk))
        .select_related("owner")
    )


def change_lines(entry: LogEntry) -> list[tuple[str, str, str]]:
    """Readable (field, before, after) rows of one change record.

    Plain fields are stored as [before, after]; many-to-many changes as
    {"type": "m2m", "operation": "add"|"delete", "objects": [...]}.
    """
    lines = []
    for field, values in (entry.changes_dict or {}).items():
        if isinstance(values, dict) and values.get("type") == "m2m":
            objects = ", ".join(str(item) for item in values.get("objects", []))
            if values.get("operation") == "delete":
                lines.append((field, objects, ""))
            else:
                lines.append((field, "", objects))
        elif isinstance(values, list | tuple) and len(values) == 2:
            lines.append((field, str(values[0]), str(values[1])))
        else:
            lines.append((field, "", str(values)))
    return lines


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
