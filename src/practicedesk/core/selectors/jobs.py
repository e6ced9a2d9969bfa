"""Background job reads: the recent jobs, their progress, their state in words."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from practicedesk.core.models import JobProgress

PENDING_STATES = (TaskResultStatus.READY, TaskResultStatus.RUNNING)


@dataclass(frozen=True)
class JobState:
    word: str
    badge: str


JOB_STATES: dict[str, JobState] = {
    TaskResultStatus.READY: JobState("Waiting", "badge-warn"),
    TaskResultStatus.RUNNING: JobState("Running", "badge-info"),
    TaskResultStatus.FAILED: JobState("Failed", "badge-bad"),
    TaskResultStatus.SUCCESSFUL: JobState("Successful", "badge-ok"),
}


def job_state(status: str) -> JobState:
    return JOB_STATES.get(status, JobState(str(status).capitalize(), "badge-muted"))


def job_task_label(task_path: str) -> str:
    """``practicedesk.core.tasks.documents_verify_checksums`` -> "Documents verify checksums"."""
    name = task_path.rsplit(".", 1)[-1].replace("_", " ").strip()
    return name[:1].upper() + name[1:] if name else task_path


def job_duration(job: DBTaskResult, *, now: datetime | None = None) -> timedelta | None:
    """How long the job ran, or has been running so far; None before it starts."""
    if job.started_at is None:
        return None
    end = job.finished_at or (now or timezone.now())
    return max(end - job.started_at, timedelta(0))


def duration_text(duration: timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def jobs_recent() -> QuerySet[DBTaskResult]:
    """Every job, newest first. The heavy columns wait for the detail page."""
    return DBTaskResult.objects.defer("return_value", "traceback").order_by("-enqueued_at", "-id")


def jobs_pending_exist() -> bool:
    """Whether any job is waiting or running: only then does the Jobs page refresh itself."""
    return DBTaskResult.objects.filter(status__in=PENDING_STATES).exists()


def job_progress_for(jobs: Iterable[DBTaskResult]) -> dict[str, JobProgress]:
    """The progress rows of these jobs, by job id, in one query (one page of the list)."""
    ids = [str(job.pk) for job in jobs]
    if not ids:
        return {}
    return {
        progress.task_result_id: progress
        for progress in JobProgress.objects.filter(task_result_id__in=ids)
    }


def job_progress(job: DBTaskResult) -> JobProgress | None:
    return JobProgress.objects.filter(task_result_id=str(job.pk)).first()


def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def job_error_message(job: DBTaskResult) -> str:
    """The error's own words: the last line of its traceback ("ValueError: ...")."""
    lines = [line for line in (job.traceback or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else job.exception_class_path


def job_summary(job: DBTaskResult) -> dict:
    """Everything the job's detail page shows, in words a manager reads."""
    arguments = job.args_kwargs or {}
    is_failed = job.status == TaskResultStatus.FAILED
    return {
        "label": job_task_label(job.task_path),
        "state": job_state(job.status),
        "is_failed": is_failed,
        "is_finished": job.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL),
        "duration": duration_text(job_duration(job)),
        "progress": job_progress(job),
        "args": pretty_json(arguments.get("args", [])),
        "kwargs": pretty_json(arguments.get("kwargs", {})),
        "has_arguments": bool(arguments.get("args") or arguments.get("kwargs")),
        "return_value": (
            pretty_json(job.return_value) if job.status == TaskResultStatus.SUCCESSFUL else None
        ),
        "error_class": job.exception_class_path if is_failed else "",
        "error_message": job_error_message(job) if is_failed else "",
        "traceback": job.traceback if is_failed else "",
    }
