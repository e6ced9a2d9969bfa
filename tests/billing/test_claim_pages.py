"""The claim pages: a biller works claims from list to batch, the front desk cannot send them,
the owner only reads, and denials wait in a queue grouped by the payer's reason."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from practicedesk.billing.claim_selectors import denial_queue
from practicedesk.billing.models import Claim, ClaimBatch
from practicedesk.billing.services import (
    claim_create,
    claim_mark_ready,
    claim_status_set,
    claims_export,
)
from practicedesk.core.models import AuditEvent, JobProgress
from practicedesk.core.services import roles_sync
from tests import factories
from tests.billing.test_837_export import pay_primary

Status = Claim.Status


@pytest.fixture
def practice(db):
    return factories.OrganizationFactory(npi="1245319599")


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def biller_client(client, biller):
    client.force_login(biller)
    return client


def as_role(client, make_user, role):
    client.force_login(make_user(role, two_factor_exempt=True))
    return client


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


@pytest.mark.django_db
def test_a_biller_works_a_claim_from_the_visit_to_the_batch(
    billed_visit, practice, biller_client, biller
):
    # The billed visit waits for a claim.
    listing = page(biller_client.get(reverse("billing:claim_create")))
    assert billed_visit.patient.last_name in listing
    response = biller_client.post(
        reverse("billing:claim_create"), {"appointment": billed_visit.pk}, follow=True
    )
    claim = Claim.objects.get()
    assert response.redirect_chain[-1][0] == claim.get_absolute_url()
    detail = page(response)
    assert "patient-banner" in detail
    assert billed_visit.patient.mrn in detail
    assert "99214" in detail and "36415" in detail
    assert "E11.9" in detail and "I10" in detail
    assert "The scrubber finds nothing" in detail
    assert "Mark ready" in detail
    assert f"{biller}" in detail  # who created it, in the status history
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.READ, object_id=str(claim.pk)
    ).exists()

    response = biller_client.post(reverse("billing:claim_mark_ready", args=[claim.pk]))
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Status.READY

    claims_page = page(biller_client.get(reverse("billing:claim_list")))
    assert claim.claim_number in claims_page
    assert "1 claim ready, totalling $180.00" in claims_page
    assert "Export ready claims" in claims_page

    batch = claims_export(acting_user=biller)
    batches = page(biller_client.get(reverse("billing:claim_batch_list")))
    assert f"{batch.interchange_control_number:09d}" in batches
    detail = page(biller_client.get(batch.get_absolute_url()))
    assert claim.claim_number in detail
    assert "Download the 837P file" in detail
    download = biller_client.get(reverse("billing:claim_batch_download", args=[batch.pk]))
    assert download.status_code == 200
    assert download.content.decode() == batch.content
    assert "attachment" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.DOWNLOAD, name="claim_batch_download", object_id=str(batch.pk)
    ).exists()
    history = page(biller_client.get(claim.get_absolute_url()))
    assert "Ready → Submitted" in history
    assert batch.get_absolute_url() in history


@pytest.mark.django_db
def test_the_claim_list_filters_searches_and_exports_csv(
    billed_visit, practice, biller_client, biller
):
    claim = claim_mark_ready(
        acting_user=biller, claim=claim_create(acting_user=biller, appointment=billed_visit)
    )
    other = factories.ClaimFactory(date_of_service=datetime.date(2020, 1, 1))
    url = reverse("billing:claim_list")

    def numbers(**query) -> str:
        return page(biller_client.get(url, query))

    assert claim.claim_number in numbers(status="ready")
    assert other.claim_number not in numbers(status="ready")
    assert other.claim_number in numbers(payer=other.payer_id)
    assert claim.claim_number not in numbers(payer=other.payer_id)
    assert other.claim_number in numbers(serviced_to="2020-12-31")
    assert claim.claim_number not in numbers(serviced_to="2020-12-31")
    assert claim.claim_number in numbers(serviced_from="2021-01-01")
    assert claim.claim_number in numbers(q=claim.claim_number)
    found = numbers(q=billed_visit.patient.mrn)
    assert claim.claim_number in found and other.claim_number not in found
    csv = biller_client.get(url, {"export": "csv", "status": "ready"})
    assert csv.status_code == 200
    body = b"".join(csv.streaming_content).decode()
    assert claim.claim_number in body and other.claim_number not in body
    assert "Ready" in body


@pytest.mark.django_db
def test_mark_ready_from_the_page_lists_each_scrubber_problem(
    billed_visit, practice, biller_client, biller
):
    claim = claim_create(acting_user=biller, appointment=billed_visit)
    payer = claim.payer
    payer.payer_id = ""
    payer.save()
    detail = page(biller_client.get(claim.get_absolute_url()))
    assert "would get this claim rejected" in detail
    assert "Acme Health has no payer id" in detail
    response = biller_client.post(reverse("billing:claim_mark_ready", args=[claim.pk]), follow=True)
    assert "The claim is not ready: Acme Health has no payer id" in messages_of(response)
    claim.refresh_from_db()
    assert claim.status == Status.DRAFT


@pytest.mark.django_db
def test_an_appeal_needs_its_argument_and_a_closed_claim_takes_no_more_steps(
    billed_visit, practice, biller_client, biller
):
    claim = claim_mark_ready(
        acting_user=biller, claim=claim_create(acting_user=biller, appointment=billed_visit)
    )
    claims_export(acting_user=biller)
    claim.refresh_from_db()
    claim_status_set(acting_user=biller, claim=claim, to_status=Status.DENIED)
    detail = page(biller_client.get(claim.get_absolute_url()))
    assert "Record the appeal" in detail
    step = reverse("billing:claim_step", args=[claim.pk])
    response = biller_client.post(step, {"to_status": "appealed", "note": ""}, follow=True)
    assert "Say what the appeal argues" in messages_of(response)
    biller_client.post(step, {"to_status": "appealed", "note": "Visit was medically necessary"})
    claim.refresh_from_db()
    assert claim.status == Status.APPEALED
    assert "Visit was medically necessary" in page(biller_client.get(claim.get_absolute_url()))
    biller_client.post(step, {"to_status": "closed"})
    claim.refresh_from_db()
    assert claim.status == Status.CLOSED
    response = biller_client.post(step, {"to_status": "appealed", "note": "again"}, follow=True)
    assert "cannot become appealed" in messages_of(response)
    # Paid and denied come from remittances, not from the page.
    response = biller_client.post(step, {"to_status": "paid"}, follow=True)
    assert "Choose a step" in messages_of(response)


@pytest.mark.django_db
def test_a_secondary_claim_is_offered_once_the_primary_payer_has_paid(
    billed_visit, practice, biller_client, biller
):
    secondary_payer = factories.PayerFactory(name="Second Health", payer_id="SEC22")
    factories.CoverageFactory(patient=billed_visit.patient, payer=secondary_payer, order=2)
    primary = claim_mark_ready(
        acting_user=biller, claim=claim_create(acting_user=biller, appointment=billed_visit)
    )
    assert "Create secondary claim" not in page(biller_client.get(primary.get_absolute_url()))
    claims_export(acting_user=biller)
    primary.refresh_from_db()
    pay_primary(primary, biller, adjustments=[("PR", "2", Decimal("20.00"))])
    assert "Create secondary claim to Second Health" in page(
        biller_client.get(primary.get_absolute_url())
    )
    response = biller_client.post(
        reverse("billing:claim_secondary_create", args=[primary.pk]), follow=True
    )
    secondary = Claim.objects.get(payer_order=2)
    assert response.redirect_chain[-1][0] == secondary.get_absolute_url()
    assert (secondary.payer, secondary.primary_claim) == (secondary_payer, primary)
    assert "Create secondary claim" not in page(biller_client.get(primary.get_absolute_url()))


@pytest.mark.django_db
def test_the_export_button_starts_a_job_and_leads_to_the_jobs_page(
    billed_visit, practice, biller_client, biller
):
    claim_mark_ready(
        acting_user=biller, claim=claim_create(acting_user=biller, appointment=billed_visit)
    )
    response = biller_client.post(reverse("billing:claim_export"), {"payer": ""})
    job = DBTaskResult.objects.get()
    assert job.task_path == "practicedesk.billing.tasks.claims_export_file"
    assert job.args_kwargs["kwargs"] == {"payer_id": None, "user_id": biller.pk}
    assert response.status_code == 302
    assert response["Location"] == reverse("core:job_detail", args=[job.pk])
    # A second export waits for the first.
    response = biller_client.post(reverse("billing:claim_export"), {"payer": ""}, follow=True)
    assert "already waiting or running" in messages_of(response)
    assert DBTaskResult.objects.count() == 1


@pytest.fixture
def roles(transactional_db):
    # An earlier transactional test may have flushed the roles the migrations wrote.
    roles_sync()


@pytest.mark.django_db(transaction=True)
def test_the_export_job_submits_the_claims_records_the_batch_and_reports_progress(
    roles, billed_visit, practice, biller, restore_signal_handlers
):
    from practicedesk.billing.tasks import claims_export_file
    from practicedesk.core.services import job_start
    from tests.core.test_jobs import run_worker_until_idle

    claim = claim_mark_ready(
        acting_user=biller, claim=claim_create(acting_user=biller, appointment=billed_visit)
    )
    job = job_start(acting_user=biller, task=claims_export_file, kwargs={"user_id": biller.pk})
    run_worker_until_idle("claims-worker")
    job.refresh_from_db()
    assert job.status == TaskResultStatus.SUCCESSFUL, job.traceback
    batch = ClaimBatch.objects.get()
    assert job.return_value["batch_id"] == batch.pk
    assert job.return_value["claim_count"] == 1
    claim.refresh_from_db()
    assert (claim.status, claim.batch) == (Status.SUBMITTED, batch)
    progress = JobProgress.objects.get(task_result_id=str(job.pk))
    assert (progress.current, progress.total) == (1, 1)
    assert progress.message.startswith("Done: 1 submitted")


@pytest.fixture
def restore_signal_handlers():
    import signal

    names = [signal.SIGINT, signal.SIGTERM]
    saved = {name: signal.getsignal(name) for name in names}
    yield
    for name, handler in saved.items():
        signal.signal(name, handler)


@pytest.mark.django_db
def test_front_desk_cannot_send_claims_and_the_owner_only_reads(
    billed_visit, practice, biller, client, make_user
):
    claim = claim_mark_ready(
        acting_user=biller, claim=claim_create(acting_user=biller, appointment=billed_visit)
    )
    front_desk = as_role(client, make_user, "front_desk")
    assert front_desk.post(reverse("billing:claim_export"), {"payer": ""}).status_code == 403
    assert front_desk.post(reverse("billing:claim_mark_ready", args=[claim.pk])).status_code == 403
    assert "Export ready claims" not in page(front_desk.get(reverse("billing:claim_list")))

    batch = claims_export(acting_user=biller)
    claim.refresh_from_db()
    claim_status_set(acting_user=biller, claim=claim, to_status=Status.DENIED)
    owner = as_role(client, make_user, "owner")
    listing = page(owner.get(reverse("billing:claim_list")))
    assert claim.claim_number in listing
    assert "Export ready claims" not in listing
    detail = page(owner.get(claim.get_absolute_url()))
    assert "Record the appeal" not in detail and ">Close<" not in detail
    assert owner.post(reverse("billing:claim_export"), {"payer": ""}).status_code == 403
    step = reverse("billing:claim_step", args=[claim.pk])
    assert owner.post(step, {"to_status": "closed"}).status_code == 403
    assert owner.post(reverse("billing:claim_create"), {"appointment": 1}).status_code == 403
    assert page(owner.get(reverse("billing:denial_queue")))
    download = owner.get(reverse("billing:claim_batch_download", args=[batch.pk]))
    assert download.status_code == 200
    claim.refresh_from_db()
    assert claim.status == Status.DENIED
    assert not DBTaskResult.objects.exists()


def denied(reason: str, total: str) -> Claim:
    claim = factories.ClaimFactory(total_charge=Decimal(total))
    for status in (Status.READY, Status.SUBMITTED, Status.DENIED):
        claim_status_set(acting_user=None, claim=claim, to_status=status)
    claim.denial_reason = reason
    claim.save(update_fields=["denial_reason"])
    return claim


@pytest.mark.django_db
def test_the_denial_queue_groups_denied_claims_by_reason_with_counts_and_totals(
    practice, biller_client
):
    missing_info = "CO-16: claim lacks information"
    not_covered = "CO-96: non-covered charge"
    a = denied(missing_info, "100.00")
    b = denied(missing_info, "50.50")
    c = denied(not_covered, "300.00")
    factories.ClaimFactory()  # a draft claim is not a denial

    groups = denial_queue()
    assert [(g.reason, g.count, g.total) for g in groups] == [
        (missing_info, 2, Decimal("150.50")),
        (not_covered, 1, Decimal("300.00")),
    ]
    assert [claim.pk for claim in groups[0].claims] == [a.pk, b.pk]
    assert groups[0].claims[0].denied_at is not None

    queue = page(biller_client.get(reverse("billing:denial_queue")))
    assert "3 claims, $450.50 billed" in queue
    assert queue.index(missing_info) < queue.index(not_covered)
    assert "2 claims · $150.50 billed" in queue
    for claim in (a, b, c):
        assert claim.get_absolute_url() in queue
    only_c = page(biller_client.get(reverse("billing:denial_queue"), {"payer": c.payer_id}))
    assert not_covered in only_c and missing_info not in only_c
