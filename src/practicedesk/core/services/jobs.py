"""Background jobs: start one, report how far it has come, retry one that failed.

Progress lives in the database (``JobProgress``), never in process memory: the job runs in
the worker process while any of several app servers answers the Jobs page.
"""

import os
import socket
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import Task, TaskContext, TaskResult, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from practicedesk.core.models import AuditEvent, JobProgress, User, WorkerHeartbeat
from practicedesk.core.selectors.jobs import PENDING_STATES, job_state, job_task_label
from practicedesk.core.services.audit import audit_event_record

MESSAGE_LENGTH = JobProgress._meta.get_field("message").max_length
# A heartbeat this old is from a worker that died without saying so; it tells nothing more.
HEARTBEAT_FORGET_AFTER = timedelta(days=1)


def job_result_id(context_or_result_id: TaskContext | TaskResult | str | UUID) -> str:
    """The dashed string form of a job's id, as ``JobProgress`` stores it."""
    value = context_or_result_id
    if isinstance(value, TaskContext):
        value = value.task_result
    if isinstance(value, TaskResult):
        value = value.id
    return str(UUID(str(value)))


def job_progress_report(
    context_or_result_id: TaskContext | TaskResult | str | UUID,
    *,
    current: int,
    total: int,
    message: str = "",
) -> None:
    """Record that a job has done ``current`` of ``total`` items.

    One small write in its own autocommit, so the Jobs page sees it at once; cheap enough to
    call for every item of a job whose items take more than a few milliseconds each.
    """
    if current < 0 or total < 0:
        raise ValueError("Progress counts cannot be negative.")
    result_id = job_result_id(context_or_result_id)
    values = {"current": current, "total": total, "message": message[:MESSAGE_LENGTH]}
    JobProgress.objects.update_or_create(task_result_id=result_id, defaults=values)


def job_start(
    *,
    acting_user: User,
    task: Task,
    args: tuple = (),
    kwargs: dict[str, Any] | None = None,
    one_at_a_time: bool = False,
) -> DBTaskResult:
    """Put a job on the queue for the worker, and record who asked for it.

    ``one_at_a_time`` refuses a second copy while one is still waiting or running: a job that
    sweeps everything (all documents) gains nothing from running twice side by side.
    """
    kwargs = kwargs or {}
    with transaction.atomic():
        if (
            one_at_a_time
            and DBTaskResult.objects.filter(
                task_path=task.module_path, status__in=PENDING_STATES
            ).exists()
        ):
            raise ValidationError(
                f"“{job_task_label(task.module_path)}” is already waiting or running; "
                "its progress is on the Jobs page."
            )
        db_result = task.enqueue(*args, **kwargs).db_result
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=acting_user,
            obj=db_result,
            name="job_start",
            detail={"task": task.module_path, "result_id": str(db_result.pk)},
        )
    return db_result


def job_retry(*, acting_user: User, result_id: str | UUID) -> DBTaskResult:
    """Queue a failed job again, with the same arguments; returns the new job.

    Only a failed job can be retried: one that succeeded, or is still waiting or running,
    would be done twice.
    """
    with transaction.atomic():
        try:
            failed = DBTaskResult.objects.select_for_update().get(pk=result_id)
        except (DBTaskResult.DoesNotExist, ValidationError, ValueError) as error:
            raise ValidationError("There is no such job.") from error
        if failed.status != TaskResultStatus.FAILED:
            state = job_state(failed.status).word.lower()
            raise ValidationError(f"Only a failed job can be retried; this one is {state}.")
        try:
            task = import_string(failed.task_path)
        except ImportError as error:
            raise ValidationError(
                "This job's task no longer exists in this version of Practice Desk."
            ) from error
        if not isinstance(task, Task):
            raise ValidationError("This job does not point to a background task.")
        # Same queue, priority and backend; no run_after, so it runs as soon as a worker is free.
        task = task.using(
            priority=failed.priority,
            queue_name=failed.queue_name,
            backend=failed.backend_name,
        )
        arguments = failed.args_kwargs or {}
        retried = task.enqueue(*arguments.get("args", []), **arguments.get("kwargs", {})).db_result
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=acting_user,
            obj=retried,
            name="job_retry",
            detail={
                "task": failed.task_path,
                "failed_result_id": str(failed.pk),
                "result_id": str(retried.pk),
            },
        )
    return retried


def worker_heartbeat_record(*, worker_id: str, started_at: datetime) -> WorkerHeartbeat:
    """Say that this worker process is alive now (``/healthz`` and the Jobs page read it)."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:120],
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": timezone.now(),
        },
    )
    return heartbeat


def worker_heartbeat_remove(*, worker_id: str) -> None:
    """A worker that stops cleanly takes its heartbeat away: it is gone, not stale."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def worker_heartbeats_prune() -> int:
    """Forget heartbeats of workers that died long ago; returns how many were removed."""
    cutoff = timezone.now() - HEARTBEAT_FORGET_AFTER
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen__lt=cutoff).delete()
    return deleted
