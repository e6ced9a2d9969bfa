"""Appointment reminders: sent by the worker through a real (local) SMTP server, only to
patients who agreed, recorded on the appointment, with a single-use link that confirms or
cancels the visit without signing in and reveals nothing else."""

import datetime
import hashlib
import re

import pytest
from django.utils import timezone

from practicedesk.core.models import AuditEvent
from practicedesk.core.periodic import declared, periodic_enqueue_due
from practicedesk.scheduling.models import Appointment, FlowEvent, ReminderToken
from practicedesk.scheduling.tasks import reminders_send_due
from tests import factories

pytestmark = pytest.mark.django_db

BASE_URL = "https://desk.example.test"
LINK = re.compile(re.escape(BASE_URL) + r"/r/([A-Za-z0-9_-]+)/")


@pytest.fixture
def mailbox(mailbox, settings):
    """The shared SMTP mailbox (tests/conftest.py), with the reminder timing these tests use."""
    settings.PUBLIC_BASE_URL = BASE_URL
    settings.REMINDER_HOURS_BEFORE = 48
    settings.REMINDER_LINK_VALID_HOURS = 72
    return mailbox


@pytest.fixture
def practice(db):
    organization = factories.OrganizationFactory(name="Riverside Family Practice")
    location = factories.LocationFactory(
        name="Riverside Main", phone="(555) 777-1234", address_line1="12 River Road"
    )
    provider = factories.ProviderFactory(first_name="Ana", last_name="Lopez", credentials="MD")
    return {"organization": organization, "location": location, "provider": provider}


def visit(practice, *, hours_ahead=24, consent=True, email_address=None, **kwargs):
    patient = factories.PatientFactory(
        reminder_email_consent=consent,
        **({"email": email_address} if email_address is not None else {}),
    )
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=hours_ahead)
    return factories.AppointmentFactory(
        patient=patient,
        provider=practice["provider"],
        location=practice["location"],
        start=start,
        status=kwargs.pop("status", Appointment.Status.SCHEDULED),
        reason="Chest pain follow-up",
        **kwargs,
    )


def body_parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def sent_token(mailbox, appointment) -> str:
    (message,) = mailbox.to(appointment.patient.email)
    text, _ = body_parts(message)
    return LINK.search(text).group(1)


def test_due_reminders_go_out_by_smtp_to_consenting_patients_only(mailbox, practice):
    due = visit(practice)
    also_due = visit(practice, hours_ahead=47, status=Appointment.Status.CONFIRMED)
    no_consent = visit(practice, consent=False)
    no_address = visit(practice, email_address="")
    cancelled = visit(practice, status=Appointment.Status.CANCELLED)
    too_early = visit(practice, hours_ahead=60)
    already = visit(practice, reminder_sent_at=timezone.now())

    result = reminders_send_due.call()

    assert result == {"sent": 2, "skipped": 0, "failed": []}
    assert sorted(message["To"] for message in mailbox.messages) == sorted(
        [due.patient.email, also_due.patient.email]
    )
    for appointment in (due, also_due):
        appointment.refresh_from_db()
        assert appointment.reminder_sent_at is not None
    for appointment in (no_consent, no_address, cancelled, too_early):
        appointment.refresh_from_db()
        assert appointment.reminder_sent_at is None
    assert not mailbox.to(no_consent.patient.email)
    assert ReminderToken.objects.filter(appointment=already).count() == 0
    # A second run sends nothing again.
    assert reminders_send_due.call()["sent"] == 0
    assert len(mailbox.messages) == 2


def test_the_email_says_when_and_where_and_nothing_else_about_the_patient(mailbox, practice):
    appointment = visit(practice)
    reminders_send_due.call()
    (message,) = mailbox.to(appointment.patient.email)
    text, html = body_parts(message)
    local = timezone.localtime(appointment.start)
    for body in (text, html):
        assert "Riverside Family Practice" in body
        assert "Riverside Main" in body
        assert "12 River Road" in body
        assert "(555) 777-1234" in body
        assert "Ana Lopez, MD" in body
        assert local.strftime("%B") in body and str(local.day) in body
        assert appointment.patient.first_name not in body
        assert appointment.patient.mrn not in body
        assert "Chest pain" not in body
        assert appointment.appointment_type.name not in body
    assert "Riverside Family Practice" in message["Subject"]
    assert appointment.patient.first_name not in message["Subject"]
    assert LINK.search(html)


def test_the_link_token_is_stored_only_as_its_sha256_and_expires(mailbox, practice):
    appointment = visit(practice)
    before = timezone.now()
    reminders_send_due.call()
    token = sent_token(mailbox, appointment)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    reminder = ReminderToken.objects.get(appointment=appointment)
    assert reminder.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in reminder.token_hash
    assert reminder.sent_to == appointment.patient.email
    lifetime = reminder.expires_at - before
    assert (
        datetime.timedelta(hours=71, minutes=59)
        < lifetime
        <= datetime.timedelta(hours=72, minutes=1)
    )


def test_the_link_confirms_once_without_signing_in(client, mailbox, practice):
    appointment = visit(practice)
    reminders_send_due.call()
    token = sent_token(mailbox, appointment)

    page = client.get(f"/r/{token}/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Riverside Main" in content
    assert "Confirm" in content and "Cancel" in content
    assert appointment.patient.first_name not in content
    assert appointment.patient.last_name not in content
    assert "Ana Lopez" not in content
    assert page["Cache-Control"] == "no-store"

    done = client.post(f"/r/{token}/", {"action": "confirm"})
    assert done.status_code == 200
    assert "confirmed" in done.content.decode().lower()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED
    assert appointment.confirmed_at is not None
    reminder = ReminderToken.objects.get(appointment=appointment)
    assert reminder.used_at is not None and reminder.used_for == "confirm"

    again = client.post(f"/r/{token}/", {"action": "cancel"})
    assert again.status_code == 410
    assert "no longer works" in again.content.decode()
    assert "(555) 201-3344" in again.content.decode()  # the practice's phone
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED
    assert client.get(f"/r/{token}/").status_code == 410


def test_the_link_cancels_as_the_patient_and_frees_the_time(client, mailbox, practice):
    appointment = visit(practice)
    reminders_send_due.call()
    token = sent_token(mailbox, appointment)
    response = client.post(f"/r/{token}/", {"action": "cancel"})
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancel_reason == "Cancelled by patient from reminder email"
    assert FlowEvent.objects.get(appointment=appointment, to_status="cancelled").by is None
    assert AuditEvent.objects.filter(name="reminder_link_used", object_id=str(appointment.pk))


def test_an_expired_link_is_refused(client, mailbox, practice):
    appointment = visit(practice)
    reminders_send_due.call()
    token = sent_token(mailbox, appointment)
    ReminderToken.objects.filter(appointment=appointment).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert client.get(f"/r/{token}/").status_code == 410
    assert client.post(f"/r/{token}/", {"action": "confirm"}).status_code == 410
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.SCHEDULED


def test_an_unknown_or_mangled_link_gets_the_polite_page(client, practice):
    for token in ("nope", "x" * 43, "a-b_c" * 30):
        response = client.get(f"/r/{token}/")
        assert response.status_code == 410
        assert "call us" in response.content.decode()
        assert client.post(f"/r/{token}/", {"action": "confirm"}).status_code == 410


def test_the_link_is_not_held_up_by_two_factor_or_idle_logoff(client, mailbox, practice, make_user):
    """A manager who has not passed two-factor still sees the public page, not the 2FA form."""
    appointment = visit(practice)
    reminders_send_due.call()
    token = sent_token(mailbox, appointment)
    client.force_login(make_user("manager"))
    assert client.get("/").status_code == 302  # everything else asks for the second factor
    assert client.get(f"/r/{token}/").status_code == 200


def test_one_refused_email_does_not_stop_the_others(mailbox, practice):
    bounced = visit(practice, email_address="bounce@patients.test")
    fine = visit(practice, hours_ahead=30)
    result = reminders_send_due.call()
    assert result["sent"] == 1
    assert result["failed"] == [bounced.pk]
    assert mailbox.to(fine.patient.email)
    bounced.refresh_from_db()
    assert bounced.reminder_sent_at is None
    assert not ReminderToken.objects.filter(appointment=bounced).exists()
    failure = AuditEvent.objects.get(name="reminder_send_failed")
    assert failure.object_id == str(bounced.pk)


def test_the_worker_runs_the_reminders_every_fifteen_minutes(db):
    (job,) = [job for job in declared() if job.name == "reminders_send_due"]
    assert job.minutes == 15
    assert job.task_path == "practicedesk.scheduling.tasks.reminders_send_due"
    assert "reminders_send_due" in periodic_enqueue_due()
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path=job.task_path).exists()
