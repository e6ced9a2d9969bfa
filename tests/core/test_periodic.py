import datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from practicedesk.core import periodic
from practicedesk.core.periodic import Every, periodic_enqueue_due

pytestmark = pytest.mark.django_db

CHECKSUMS = Every("checksums", "practicedesk.core.tasks.documents_verify_checksums", minutes=60)


def test_a_periodic_job_is_enqueued_once_per_interval(monkeypatch):
    monkeypatch.setattr(periodic, "declared", lambda: [CHECKSUMS])
    now = timezone.now()
    assert periodic_enqueue_due(now) == ["checksums"]
    assert periodic_enqueue_due(now + datetime.timedelta(minutes=30)) == []
    assert periodic_enqueue_due(now + datetime.timedelta(minutes=61)) == ["checksums"]
    assert DBTaskResult.objects.filter(task_path=CHECKSUMS.task_path).count() == 2


def test_apps_declare_their_periodic_jobs_in_their_own_module():
    jobs = {job.name: job for job in periodic.declared()}
    assert "reminders_send_due" in jobs
    assert jobs["reminders_send_due"].task_path.startswith("practicedesk.scheduling.")


def test_named_jobs_run_here_and_now_and_an_unknown_name_is_refused(monkeypatch):
    close = Every("receivables_close", "practicedesk.billing.tasks.receivables_close", 180)
    monkeypatch.setattr(periodic, "declared", lambda: [close])
    assert periodic.periodic_run_now("receivables_close") == {"receivables_close": {"closed": []}}
    assert not DBTaskResult.objects.exists()  # run in this process, not enqueued
    with pytest.raises(ValueError, match="No periodic job named nightly"):
        periodic.periodic_run_now("receivables_close", "nightly")
