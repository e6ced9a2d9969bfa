"""Background jobs: the worker runs them and says it is alive, progress is shown live,
failed jobs show their error and can be retried, and only the jobs roles see any of it."""

import hashlib
import signal
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks.signals import task_started
from django_tasks_db.models import DBTaskResult

from practicedesk.core.management.commands.worker import HeartbeatWorker
from practicedesk.core.models import AuditEvent, JobProgress, WorkerHeartbeat
from practicedesk.core.services import (
    job_progress_report,
    job_retry,
    job_start,
    roles_sync,
    worker_heartbeat_record,
)
from practicedesk.core.tasks import documents_verify_checksums
from tests.factories import DocumentFactory, UserFactory

FACTORY_FILE_BYTES = b"%PDF-1.4\n%test\n"
CHECKSUM_TASK = "practicedesk.core.tasks.documents_verify_checksums"
# Jobs run by the worker in these tests must be committed: the worker's loop closes a
# connection left inside a transaction, as it does between tasks in production.
committed = pytest.mark.django_db(transaction=True)


@task()
def job_that_fails(number, *, reason):
    raise ValueError(f"Cannot process {number}: {reason}")


@pytest.fixture
def restore_signal_handlers():
    """The worker installs its own Ctrl+C and SIGTERM handlers; give pytest its own back."""
    names = [signal.SIGINT, signal.SIGTERM] + (
        [signal.SIGQUIT] if hasattr(signal, "SIGQUIT") else []
    )
    saved = {name: signal.getsignal(name) for name in names}
    yield
    for name, handler in saved.items():
        signal.signal(name, handler)


@pytest.fixture
def roles():
    # An earlier transactional test may have flushed the roles the migrations wrote.
    roles_sync()


def run_worker_until_idle(worker_id: str = "test-worker") -> None:
    call_command(
        "worker", batch=True, startup_delay=False, reload=False, worker_id=worker_id, verbosity=0
    )


def make_job(status=TaskResultStatus.READY, *, task_path=CHECKSUM_TASK, **fields) -> DBTaskResult:
    now = timezone.now()
    if status in (TaskResultStatus.RUNNING, TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        fields.setdefault("started_at", now - timedelta(seconds=30))
    if status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        fields.setdefault("finished_at", now)
    return DBTaskResult.objects.create(
        status=status,
        args_kwargs=fields.pop("args_kwargs", {"args": [], "kwargs": {}}),
        task_path=task_path,
        backend_name="default",
        run_after=now,
        **fields,
    )


@committed
def test_the_worker_runs_the_checksum_job_reporting_progress_for_every_document(
    restore_signal_handlers,
):
    user = UserFactory()
    intact = DocumentFactory(owner=user, sha256=hashlib.sha256(FACTORY_FILE_BYTES).hexdigest())
    altered = DocumentFactory(owner=user)  # the factory's checksum is not its file's
    lost = DocumentFactory(owner=user, sha256=hashlib.sha256(FACTORY_FILE_BYTES).hexdigest())
    lost.file.storage.delete(lost.file.name)
    job = job_start(acting_user=user, task=documents_verify_checksums)
    heartbeats_while_running = []

    def note_heartbeats(**kwargs):
        heartbeats_while_running.extend(WorkerHeartbeat.objects.values_list("worker_id", "pid"))

    task_started.connect(note_heartbeats)
    try:
        run_worker_until_idle("checksum-worker")
    finally:
        task_started.disconnect(note_heartbeats)

    job.refresh_from_db()
    assert job.status == TaskResultStatus.SUCCESSFUL
    assert job.return_value == {"checked": 3, "mismatched": [altered.pk], "missing": [lost.pk]}
    progress = JobProgress.objects.get(task_result_id=str(job.pk))
    assert (progress.current, progress.total) == (3, 3)
    assert intact.pk not in job.return_value["mismatched"] + job.return_value["missing"]
    assert [worker_id for worker_id, _ in heartbeats_while_running] == ["checksum-worker"]
    # It stopped cleanly, so it is gone rather than stale.
    assert not WorkerHeartbeat.objects.exists()
    assert AuditEvent.objects.filter(name="job_start", object_id=str(job.pk)).exists()


@committed
def test_a_failed_job_shows_its_error_and_retry_queues_it_again_with_the_same_arguments(
    roles, manager_client, restore_signal_handlers
):
    failed = job_that_fails.enqueue(7, reason="bad input").db_result
    run_worker_until_idle()
    failed.refresh_from_db()
    assert failed.status == TaskResultStatus.FAILED

    page = manager_client.get(f"/jobs/{failed.pk}/").content.decode()
    assert "badge-bad" in page
    assert "Failed" in page
    assert "ValueError" in page
    assert "Cannot process 7: bad input" in page
    assert f'action="/jobs/{failed.pk}/retry/"' in page

    response = manager_client.post(f"/jobs/{failed.pk}/retry/")
    retried = DBTaskResult.objects.exclude(pk=failed.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{retried.pk}/"
    assert retried.status == TaskResultStatus.READY
    assert retried.task_path == failed.task_path
    assert retried.args_kwargs == {"args": [7], "kwargs": {"reason": "bad input"}}
    assert AuditEvent.objects.filter(
        name="job_retry", action=AuditEvent.Action.ACTION, object_id=str(retried.pk)
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "word"),
    [
        (TaskResultStatus.SUCCESSFUL, "successful"),
        (TaskResultStatus.RUNNING, "running"),
        (TaskResultStatus.READY, "waiting"),
    ],
)
def test_only_a_failed_job_can_be_retried(status, word, manager):
    job = make_job(status)
    with pytest.raises(ValidationError) as refused:
        job_retry(acting_user=manager, result_id=job.pk)
    assert refused.value.messages == [f"Only a failed job can be retried; this one is {word}."]
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_retrying_a_successful_job_from_its_page_is_refused_with_the_reason(manager_client):
    job = make_job(TaskResultStatus.SUCCESSFUL, return_value={"checked": 0})
    page = manager_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "/retry/" not in page
    response = manager_client.post(f"/jobs/{job.pk}/retry/", follow=True)
    assert "Only a failed job can be retried; this one is successful." in (
        response.content.decode()
    )
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_the_jobs_page_shows_live_progress_and_polls_only_while_work_is_pending(manager_client):
    job = make_job(TaskResultStatus.RUNNING)
    job_progress_report(job.pk, current=3, total=10, message="Checked 3 of 10 documents")

    page = manager_client.get("/jobs/").content.decode()
    assert '<progress value="3" max="10"' in page
    assert "Checked 3 of 10 documents" in page
    assert '<span class="badge badge-info">Running</span>' in page
    assert 'hx-trigger="every 2s"' in page
    assert '"X-Poll": "1"' in page
    assert "style=" not in page
    assert "<script>" not in page

    fragment = manager_client.get("/jobs/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert '<progress value="3" max="10"' in fragment
    assert 'hx-trigger="every 2s"' in fragment

    DBTaskResult.objects.filter(pk=job.pk).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now()
    )
    finished = manager_client.get("/jobs/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in finished
    assert '<span class="badge badge-ok">Successful</span>' in finished
    assert "3 of 10" in finished


@pytest.mark.django_db
def test_a_job_page_refreshes_itself_until_the_job_has_finished(manager_client):
    job = make_job(TaskResultStatus.RUNNING)
    running = manager_client.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"})
    assert "<html" not in running.content.decode()
    assert 'hx-trigger="every 2s"' in running.content.decode()
    DBTaskResult.objects.filter(pk=job.pk).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now(), return_value={"n": 1}
    )
    finished = manager_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "hx-trigger" not in finished
    assert "Result" in finished


@pytest.mark.django_db
def test_the_jobs_page_says_whether_a_worker_is_alive(manager_client):
    assert "No background worker is running" in manager_client.get("/jobs/").content.decode()
    worker_heartbeat_record(worker_id="w1", started_at=timezone.now())
    assert "A background worker is running" in manager_client.get("/jobs/").content.decode()


@pytest.mark.django_db
def test_the_jobs_page_reads_progress_in_one_query_however_many_jobs_it_shows(manager_client):
    def queries_for_the_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get("/jobs/").status_code == 200
        return len(captured)

    for _ in range(3):
        job = make_job(TaskResultStatus.RUNNING)
        job_progress_report(job.pk, current=1, total=4)
    few = queries_for_the_page()
    for _ in range(20):
        job = make_job(TaskResultStatus.RUNNING)
        job_progress_report(job.pk, current=1, total=4)
    assert queries_for_the_page() == few


@pytest.mark.django_db
def test_starting_the_checksum_job_queues_it_once_and_audits_who_asked(manager_client, manager):
    response = manager_client.post("/jobs/verify-checksums/")
    assert response.status_code == 302
    job = DBTaskResult.objects.get()
    assert job.task_path == CHECKSUM_TASK
    assert job.status == TaskResultStatus.READY
    event = AuditEvent.objects.get(name="job_start")
    assert event.user == manager

    again = manager_client.post("/jobs/verify-checksums/", follow=True).content.decode()
    assert "already waiting or running" in again
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role_key", ["front_desk", "clinician", "owner", "hr", "auditor"])
def test_roles_without_jobs_access_are_refused(role_key, client, make_user):
    client.force_login(make_user(role_key, two_factor_exempt=True))
    failed = make_job(TaskResultStatus.FAILED, traceback="ValueError: secret detail")
    assert client.get("/jobs/").status_code == 403
    assert client.get(f"/jobs/{failed.pk}/").status_code == 403
    assert client.post(f"/jobs/{failed.pk}/retry/").status_code == 403
    assert client.post("/jobs/verify-checksums/").status_code == 403
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_progress_reports_update_one_row_per_job(manager):
    job = make_job(TaskResultStatus.RUNNING)
    job_progress_report(str(job.pk), current=1, total=5)
    job_progress_report(job.pk, current=4, total=5, message="x" * 500)
    progress = JobProgress.objects.get()
    assert (progress.current, progress.total, progress.percent) == (4, 5, 80)
    assert len(progress.message) == 200


@committed
def test_a_busy_worker_keeps_beating_from_its_heartbeat_thread():
    long_ago = timezone.now() - timedelta(minutes=10)
    worker = HeartbeatWorker(
        queue_names=["default"],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="busy-worker",
        excluded_queue_names=[],
    )
    worker_heartbeat_record(worker_id="busy-worker", started_at=long_ago)
    WorkerHeartbeat.objects.update(last_seen=long_ago)

    class StopAfterOneBeat:
        waits = 0

        def wait(self, timeout):
            self.waits += 1
            return self.waits > 1

    worker.beat_until(StopAfterOneBeat(), long_ago)
    heartbeat = WorkerHeartbeat.objects.get(worker_id="busy-worker")
    assert heartbeat.last_seen > timezone.now() - timedelta(minutes=1)
    assert heartbeat.started_at == long_ago
