"""Statements: one per guarantor and cycle, figures from the ledger, a real PDF kept with its
checksum, emailed (real SMTP) only with consent, printed in one batch otherwise; reprints
and runs are audited; the run is a background job with progress."""

import datetime
import hashlib
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from practicedesk.billing.attention import statement_runs_due
from practicedesk.billing.ledger import entry_post
from practicedesk.billing.models import CollectionCase, LedgerEntry, Statement, StatementRun
from practicedesk.billing.statements import (
    statement_figures,
    statement_run_execute,
    statement_run_start,
    statements_cycle_check,
)
from practicedesk.billing.tasks import statement_run_process
from practicedesk.core.models import AuditEvent, JobProgress
from tests import factories
from tests.billing.pdf_text import page_count, pdf_text

pytestmark = pytest.mark.django_db
D = Decimal


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def pay(patient, amount, day):
    entry_post(
        kind=LedgerEntry.Kind.PAYMENT,
        amount=-D(amount),
        responsibility="patient",
        patient_id=patient.pk,
        posted_on=day,
        memo="Payment at the desk",
    )


@pytest.fixture
def organization():
    return factories.OrganizationFactory(name="Riverside Family Practice", phone="(555) 777-1234")


@pytest.fixture
def manager(make_user):
    return make_user("manager", username="mia", two_factor_exempt=True)


def test_a_run_emails_consenting_guarantors_prints_the_rest_and_skips_what_it_should(
    mailbox, organization, manager
):
    parent = factories.PatientFactory(
        first_name="Grace", last_name="Hopper", reminder_email_consent=True
    )
    child = factories.PatientFactory(first_name="Kit", last_name="Hopper", guarantor=parent)
    factories.patient_charge(parent, "100.00", date_of_service=days_ago(40))
    factories.patient_charge(child, "60.00", date_of_service=days_ago(10))
    pay(parent, "30.00", days_ago(5))
    no_consent = factories.PatientFactory(first_name="Nora", last_name="Mail")
    factories.patient_charge(no_consent, "45.00", date_of_service=days_ago(100))
    bounce = factories.PatientFactory(
        first_name="Bo", email="bounce@patients.test", reminder_email_consent=True
    )
    factories.patient_charge(bounce, "20.00", date_of_service=days_ago(3))
    small = factories.PatientFactory(first_name="Small")
    factories.patient_charge(small, "3.00", date_of_service=days_ago(3))
    on_plan = factories.PatientFactory(first_name="Planned")
    factories.patient_charge(on_plan, "300.00", date_of_service=days_ago(50))
    factories.PaymentPlanFactory(patient=on_plan, status="active")
    disputed = factories.PatientFactory(first_name="Disputed")
    factories.patient_charge(disputed, "80.00", date_of_service=days_ago(50))
    factories.CollectionCaseFactory(patient=disputed, disputed=True)

    run = statement_run_start(acting_user=manager)
    job = DBTaskResult.objects.get(pk=run.task_result_id)
    assert job.task_path == "practicedesk.billing.tasks.statement_run_generate"
    assert (run.status, run.statement_date) == (StatementRun.Status.QUEUED, timezone.localdate())
    result = statement_run_process(run.task_result_id, run_id=run.pk)

    run.refresh_from_db()
    assert run.status == StatementRun.Status.DONE
    assert (run.statement_count, run.emailed_count, run.printed_count) == (3, 1, 2)
    assert run.skipped == {"below_minimum": 1, "payment_plan": 1, "disputed": 1}
    assert run.total_due == D("195.00")
    assert result["summary"] == "3 statements: 1 emailed, 2 to print"
    progress = JobProgress.objects.get(task_result_id=run.task_result_id)
    assert progress.current == progress.total == 3

    household = Statement.objects.get(guarantor=parent)
    assert household.delivery == Statement.Delivery.EMAIL
    assert (household.previous_balance, household.new_charges) == (D("0.00"), D("160.00"))
    assert (household.payments_and_credits, household.amount_due) == (D("-30.00"), D("130.00"))
    assert household.aging_0_30 == D("30.00") and household.aging_31_60 == D("100.00")
    assert household.due_date == run.statement_date + datetime.timedelta(days=21)
    stored = household.file.read()
    assert hashlib.sha256(stored).hexdigest() == household.sha256
    text = pdf_text(stored)
    for expected in (
        "Riverside Family Practice",
        "(555) 777-1234",
        "Grace Hopper",
        "Kit Hopper",
        "Amount due",
        "130.00",
        "31–60 days",
        "How to pay",
        parent.mrn,
    ):
        assert expected in text, expected

    (message,) = mailbox.to(parent.email)
    assert "Riverside Family Practice" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "130.00" in body and "99213" not in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == stored
    assert not mailbox.to(no_consent.email) and not mailbox.to(child.email)

    refused = Statement.objects.get(guarantor=bounce)
    assert refused.delivery == Statement.Delivery.PRINT
    assert refused.delivery_note.startswith("Email refused")
    assert Statement.objects.get(guarantor=no_consent).delivery_note.startswith("No consent")
    batch = run.batch_file.read()
    assert hashlib.sha256(batch).hexdigest() == run.batch_sha256
    assert page_count(batch) == 2
    printed = pdf_text(batch)
    assert "Nora Mail" in printed and "Bo Example" in printed and "Grace Hopper" not in printed
    assert AuditEvent.objects.filter(name="statement_create").count() == 3
    assert AuditEvent.objects.filter(name="statement_run_finish").count() == 1

    # One run per statement date; a second is refused and creates nothing.
    with pytest.raises(ValidationError, match="already run"):
        statement_run_start(acting_user=manager)
    assert StatementRun.objects.count() == 1
    # Running the job again adds nothing (a retry carries on where it stopped).
    statement_run_execute(run=run)
    assert Statement.objects.count() == 3


def test_the_next_statement_shows_only_what_happened_since_the_last_one(organization):
    patient = factories.PatientFactory(first_name="Ada", last_name="Byron")
    factories.patient_charge(patient, "100.00", date_of_service=days_ago(40))
    first = StatementRun.objects.create(statement_date=days_ago(20))
    statement_run_execute(run=first)
    pay(patient, "25.00", days_ago(5))
    factories.patient_charge(patient, "50.00", date_of_service=days_ago(3))

    figures = statement_figures(patient, timezone.localdate())

    assert figures.period_start == days_ago(19)
    assert figures.previous_balance == D("100.00")
    assert (figures.new_charges, figures.payments_and_credits) == (D("50.00"), D("-25.00"))
    assert figures.amount_due == D("125.00")
    assert [line.amount for line in figures.lines] == [D("-25.00"), D("50.00")]
    assert (
        figures.previous_balance + figures.new_charges + figures.payments_and_credits
        == figures.amount_due
    )


def test_managers_start_runs_from_the_page_and_anyone_in_billing_reprints_audited(
    client, organization, manager, make_user
):
    patient = factories.PatientFactory(first_name="Reprint", last_name="Me")
    factories.patient_charge(patient, "90.00", date_of_service=days_ago(10))
    client.force_login(manager)

    future = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(reverse("billing:statement_run_start"), {"statement_date": future})
    assert response.status_code == 200
    assert "cannot be dated in the future" in response.content.decode()
    assert not StatementRun.objects.exists()

    response = client.post(
        reverse("billing:statement_run_start"), {"statement_date": timezone.localdate()}
    )
    run = StatementRun.objects.get()
    assert response["Location"] == run.get_absolute_url()
    assert (
        "Waiting for the background worker" in client.get(run.get_absolute_url()).content.decode()
    )
    fragment = client.get(run.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="run-status"' in fragment and 'hx-trigger="every 2s"' in fragment
    assert "<html" not in fragment
    statement_run_process(run.task_result_id, run_id=run.pk)
    page = client.get(run.get_absolute_url()).content.decode()
    statement = Statement.objects.get()
    assert statement.statement_number in page and "Print the batch" in page

    front_desk = make_user("front_desk", two_factor_exempt=True)
    client.force_login(front_desk)
    assert client.get(reverse("billing:statement_run_start")).status_code == 403
    response = client.get(reverse("billing:statement_download", args=[statement.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == statement.file.read()
    event = AuditEvent.objects.get(name="statement_reprint")
    assert (event.user, event.object_id) == (front_desk, str(statement.pk))
    account = client.get(reverse("billing:patient_account", args=[patient.pk])).content.decode()
    assert statement.statement_number in account


def test_a_cycle_day_without_a_run_needs_attention_and_the_job_can_start_it(settings, organization):
    today = timezone.localdate()
    settings.STATEMENT_CYCLE_DAY = today.day
    settings.STATEMENT_AUTO_RUN = False
    assert statement_runs_due(today) == []  # nobody owes anything: no statement to send
    factories.patient_charge(factories.PatientFactory(), "40.00", date_of_service=days_ago(3))
    (item,) = statement_runs_due(today)
    assert item.action == "approve" and item.url == reverse("billing:statement_run_list")
    assert statements_cycle_check(today=today)["started"] is None

    settings.STATEMENT_AUTO_RUN = True
    started = statements_cycle_check(today=today)["started"]
    run = StatementRun.objects.get(pk=started)
    assert run.started_by is None
    assert DBTaskResult.objects.filter(pk=run.task_result_id).exists()
    assert statement_runs_due(today) == []
    assert statements_cycle_check(today=today)["started"] is None


def test_a_failed_run_is_marked_and_its_date_can_be_run_again(organization, monkeypatch):
    from practicedesk.billing import statements

    factories.patient_charge(factories.PatientFactory(), "40.00", date_of_service=days_ago(3))
    run = StatementRun.objects.create(statement_date=timezone.localdate())

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(statements, "statement_run_execute", broken)
    with pytest.raises(RuntimeError):
        statement_run_process(str(uuid.uuid4()), run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.error) == (StatementRun.Status.FAILED, "disk full")
    assert statement_run_start(acting_user=None).status == StatementRun.Status.QUEUED
    assert not CollectionCase.objects.exists()
