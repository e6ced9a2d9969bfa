"""Scheduling background jobs, run by the worker (``practicedesk worker``)."""

from django_tasks import task

from practicedesk.scheduling import services


@task()
def reminders_send_due() -> dict:
    """Email the reminders that are due (see ``services.reminders_send_due``)."""
    return services.reminders_send_due()
