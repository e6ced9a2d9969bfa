"""The daily digest: sent by the worker through a real (local) SMTP server to each manager
who has it on, with the attention list and the figures off target."""

import datetime

import pytest
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.core.periodic import declared
from practicedesk.dashboard.tasks import digest_send
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_digest_job_is_declared_daily():
    jobs = {job.name: job for job in declared()}
    assert jobs["dashboard_digest"].minutes == 24 * 60
    assert jobs["dashboard_digest"].task_path == "practicedesk.dashboard.tasks.digest_send"


def test_the_digest_goes_by_smtp_only_to_managers_who_have_it_on(mailbox, make_user):
    on = make_user("manager", username="mia", email="mia@practice.test")
    make_user("manager", username="max", email="max@practice.test", digest_enabled=False)
    make_user("biller", username="bob", email="bob@practice.test")
    today = timezone.localdate()
    factories.RecordsRequestFactory(
        patient=factories.PatientFactory(last_name="Requester"),
        received_date=today - datetime.timedelta(days=40),
    )
    now = timezone.now()
    for status in ("no_show", "no_show", "checked_out"):
        factories.AppointmentFactory(
            start=now, end=now + datetime.timedelta(minutes=20), status=status
        )

    result = digest_send.call()

    assert result == {"sent": [on.pk], "failed": []}
    assert [message["To"] for message in mailbox.messages] == ["mia@practice.test"]
    message = mailbox.messages[0]
    body = message.get_content()
    assert "need attention" in message["Subject"]
    assert "[CRITICAL] Records request for Requester" in body
    assert "https://desk.example.test/dashboard/attention/" in body
    assert "No-show rate: 66.7% (target ≤ 5.0%) — Off target" in body
    assert AuditEvent.objects.filter(name="dashboard_digest_send", object_id=str(on.pk)).exists()
