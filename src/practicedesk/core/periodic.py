"""Periodic jobs: each app lists what must run on a schedule in its own ``periodic.py``::

    PERIODIC = [Every("reminders_send_due", "practicedesk.scheduling.tasks.reminders_send_due",
                      minutes=15)]

Every running worker calls ``periodic_enqueue_due()`` in its loop; a row lock on PeriodicRun
makes sure that, with several workers, each due run is enqueued once.
"""

import datetime
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from practicedesk.core.models import PeriodicRun


@dataclass(frozen=True)
class Every:
    name: str
    task_path: str
    minutes: int

    @property
    def interval(self) -> datetime.timedelta:
        return datetime.timedelta(minutes=self.minutes)


def declared() -> list[Every]:
    jobs: list[Every] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("practicedesk."):
            continue
        try:
            module = import_module(f"{config.name}.periodic")
        except ModuleNotFoundError:
            continue
        jobs.extend(getattr(module, "PERIODIC", []))
    return jobs


def periodic_enqueue_due(now: datetime.datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose interval has passed; returns the names enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in declared():
        with transaction.atomic():
            run, _ = PeriodicRun.objects.get_or_create(name=job.name)
            run = PeriodicRun.objects.select_for_update().get(pk=run.pk)
            if run.last_enqueued_at and now - run.last_enqueued_at < job.interval:
                continue
            import_string(job.task_path).enqueue()
            run.last_enqueued_at = now
            run.save(update_fields=["last_enqueued_at"])
            enqueued.append(job.name)
    return enqueued


def periodic_run_now(*names: str) -> dict[str, object]:
    """Run the named periodic jobs here and now, as the worker would (the demo builds end with
    the nightly jobs that keep derived figures, since no worker ran while they were built)."""
    jobs = {job.name: job for job in declared()}
    unknown = [name for name in names if name not in jobs]
    if unknown:
        raise ValueError(f"No periodic job named {', '.join(unknown)}.")
    return {name: import_string(jobs[name].task_path).call() for name in names}
