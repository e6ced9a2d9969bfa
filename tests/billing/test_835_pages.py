"""The remittance pages, the queues, the payer comparison page, the upload job and the
`practicedesk era import` command; who may do what."""

import datetime
import signal
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from practicedesk.billing.models import (
    LedgerEntry,
    ReconciliationItem,
    Remittance,
    Underpayment,
)
from practicedesk.billing.remittances import remittance_import
from practicedesk.billing.services import claim_create
from practicedesk.billing.tasks import remittance_import_stored
from practicedesk.core.models import JobProgress
from practicedesk.core.services import roles_sync
from tests.billing.x12_samples import Clp, Svc, remittance_835, submit

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def biller(make_user):
    return make_user("biller", two_factor_exempt=True)


@pytest.fixture
def biller_client(client, biller):
    client.force_login(biller)
    return client


@pytest.fixture
def claim(billed_visit, biller):
    return submit(claim_create(acting_user=biller, appointment=billed_visit), biller)


def era(claim, **options) -> str:
    return remittance_835(
        Clp(
            claim.claim_number,
            "1",
            "180.00",
            "110.00",
            "20.00",
            lines=[
                Svc(
                    "99214",
                    "165.00",
                    "100.00",
                    adjustments=[("CO", "45", "45.00"), ("PR", "2", "20.00")],
                ),
                Svc("36415", "15.00", "10.00", adjustments=[("CO", "45", "5.00")]),
            ],
        ),
        Clp("NOTOURS1", "1", "50.00", "30.00", lines=[Svc("99213", "50.00", "30.00")]),
        **options,
    )


def upload(client, content: bytes, name: str = "era.835"):
    return client.post("/billing/remittances/upload/", {"file": SimpleUploadedFile(name, content)})


def assert_clean_html(page: str) -> None:
    assert " style=" not in page and "<script>" not in page


def test_an_upload_runs_as_a_background_job_and_the_remittance_page_shows_the_result(
    biller_client, biller, claim
):
    response = upload(biller_client, era(claim).encode())
    job = DBTaskResult.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/billing/remittances/upload/{job.pk}/"
    assert job.task_path == "practicedesk.billing.tasks.remittance_import_file"
    kwargs = job.args_kwargs["kwargs"]
    assert not Remittance.objects.exists()  # nothing happens until the worker runs it
    waiting = biller_client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in waiting

    result = remittance_import_stored(
        job.pk,
        storage_name=kwargs["storage_name"],
        original_name=kwargs["original_name"],
        user_id=kwargs["user_id"],
    )
    DBTaskResult.objects.filter(pk=job.pk).update(
        status=TaskResultStatus.SUCCESSFUL, return_value=result
    )
    assert not default_storage.exists(kwargs["storage_name"])
    progress = JobProgress.objects.get(task_result_id=str(job.pk))
    assert progress.current == progress.total == 3
    remittance = Remittance.objects.get()
    assert remittance.imported_by == biller
    page = biller_client.get(response["Location"]).content.decode()
    assert "1 of 2 claims posted" in page and "1 items to reconcile" in page
    assert remittance.get_absolute_url() in page
    assert "hx-trigger" not in page
    assert_clean_html(page)

    detail = biller_client.get(remittance.get_absolute_url()).content.decode()
    assert "equals what its claims and provider adjustments account for" in detail
    assert "NOTOURS1" in detail and "not found" in detail
    assert "No claim here has patient control number NOTOURS1" in detail
    assert str(claim.patient) in detail
    assert_clean_html(detail)


def test_a_refused_upload_says_why(biller_client, payer_acme):
    upload(biller_client, b"not an 835 at all")
    job = DBTaskResult.objects.get()
    kwargs = job.args_kwargs["kwargs"]
    result = remittance_import_stored(
        job.pk,
        storage_name=kwargs["storage_name"],
        original_name=kwargs["original_name"],
        user_id=kwargs["user_id"],
    )
    DBTaskResult.objects.filter(pk=job.pk).update(
        status=TaskResultStatus.SUCCESSFUL, return_value=result
    )
    page = biller_client.get(f"/billing/remittances/upload/{job.pk}/").content.decode()
    assert "This is not an X12 file" in page
    assert not Remittance.objects.exists()


def test_an_empty_upload_is_refused_at_once(biller_client):
    response = upload(biller_client, b"")
    assert "The submitted file is empty" in response.content.decode()
    assert not DBTaskResult.objects.exists()


@pytest.fixture
def payer_acme(db):
    from tests import factories

    return factories.PayerFactory(name="Acme Health", payer_id="ACME1")


def test_the_detail_page_says_by_how_much_and_where_the_payment_differs(biller_client, claim):
    remittance_import(acting_user=None, content=era(claim, payment="150.00"))
    remittance = Remittance.objects.get()
    page = biller_client.get(remittance.get_absolute_url()).content.decode()
    assert "a difference of 10.00" in page
    assert "10.00 more was paid than the remittance explains" in page


def test_front_desk_may_see_remittances_but_not_import_or_resolve(client, make_user, claim):
    remittance_import(acting_user=None, content=era(claim))
    item = ReconciliationItem.objects.get()
    client.force_login(make_user("front_desk", two_factor_exempt=True))
    assert client.get("/billing/remittances/").status_code == 200
    assert client.get("/billing/remittances/upload/").status_code == 403
    assert upload(client, era(claim).encode()).status_code == 403
    assert client.get(f"/billing/reconciliation/{item.pk}/resolve/").status_code == 403
    response = client.post(f"/billing/reconciliation/{item.pk}/resolve/", {"resolution": "done"})
    assert response.status_code == 403
    assert not DBTaskResult.objects.exists()
    item.refresh_from_db()
    assert item.status == "open"


def test_roles_without_billing_may_not_open_the_remittance_pages(client, make_user):
    client.force_login(make_user("clinician", two_factor_exempt=True))
    for path in (
        "/billing/remittances/",
        "/billing/reconciliation/",
        "/billing/underpayments/",
        "/billing/reports/payer-comparison/",
    ):
        assert client.get(path).status_code == 403, path


def test_a_reconciliation_item_is_resolved_with_a_note(biller_client, claim):
    remittance_import(acting_user=None, content=era(claim))
    item = ReconciliationItem.objects.get()
    queue = biller_client.get("/billing/reconciliation/").content.decode()
    assert "NOTOURS1" in queue and f"/billing/reconciliation/{item.pk}/resolve/" in queue
    assert_clean_html(queue)
    refused = biller_client.post(f"/billing/reconciliation/{item.pk}/resolve/", {})
    assert "Say how the item was resolved" in refused.content.decode()
    response = biller_client.post(
        f"/billing/reconciliation/{item.pk}/resolve/",
        {"resolution": "Not our patient; returned to the payer"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "resolved" and item.resolution.startswith("Not our patient")
    assert "NOTOURS1" not in biller_client.get("/billing/reconciliation/").content.decode()
    everything = biller_client.get("/billing/reconciliation/?status=").content.decode()
    assert "NOTOURS1" in everything


def test_an_underpayment_is_appealed_from_the_queue(biller_client, claim, service_codes):
    from practicedesk.billing.models import Fee, FeeSchedule

    schedule = FeeSchedule.objects.create(
        name="Acme contract", payer=claim.payer, effective_from=datetime.date(2020, 1, 1)
    )
    Fee.objects.create(fee_schedule=schedule, service_code=service_codes["99214"], amount=150)
    remittance_import(acting_user=None, content=era(claim))
    underpayment = Underpayment.objects.get()
    assert underpayment.difference == D("30.00")  # 150 − 20 patient share − 100 paid
    queue = biller_client.get("/billing/underpayments/").content.decode()
    assert claim.claim_number in queue and "30.00" in queue
    assert_clean_html(queue)
    form = biller_client.get(f"/billing/underpayments/{underpayment.pk}/decide/")
    assert form.status_code == 200
    response = biller_client.post(
        f"/billing/underpayments/{underpayment.pk}/decide/",
        {"decision": "appealed", "note": "Contract says 150"},
    )
    assert response.status_code == 302
    underpayment.refresh_from_db()
    assert underpayment.status == "appealed"


def test_the_payer_comparison_page_shows_the_numbers_for_a_code(biller_client, claim):
    day = claim.date_of_service
    remittance_import(
        acting_user=None,
        content=era(claim, service_date=day, payment_date=day + datetime.timedelta(days=14)),
    )
    page = biller_client.get(
        "/billing/reports/payer-comparison/",
        {"code": "99214", "start": f"{day:%Y-%m-%d}", "end": f"{day:%Y-%m-%d}"},
    ).content.decode()
    assert "Acme Health" in page and "165.00" in page and "120.00" in page
    assert "14.0" in page  # days to payment
    assert "0% <span" in page  # no denial
    assert_clean_html(page)
    refused = biller_client.get(
        "/billing/reports/payer-comparison/", {"start": "2026-02-01", "end": "2026-01-01"}
    ).content.decode()
    assert "The period starts after it ends" in refused


def test_the_menu_lists_the_remittance_pages(biller_client):
    page = biller_client.get("/", follow=True).content.decode()
    for label in ("Remittances", "Reconciliation", "Underpayments", "Payer comparison"):
        assert label in page


def test_the_command_imports_a_file_and_reports_what_it_held(tmp_path, claim, capsys):
    path = tmp_path / "era.835"
    path.write_text(era(claim))
    call_command("era", "import", str(path))
    out = capsys.readouterr().out
    assert "1 of 2 claims posted" in out
    assert "to reconcile: NOTOURS1" in out
    assert LedgerEntry.objects.filter(kind="payment").count() == 2
    call_command("era", "import", str(path))
    assert "already imported on" in capsys.readouterr().out
    assert LedgerEntry.objects.filter(kind="payment").count() == 2


def test_the_command_refuses_a_bad_file_and_a_missing_file(tmp_path, payer_acme):
    path = tmp_path / "bad.835"
    path.write_text("ISA*garbage")
    with pytest.raises(CommandError, match="ISA") as error:
        call_command("era", "import", str(path))
    assert error.value.returncode == 1
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("era", "import", str(tmp_path / "missing.835"))
    assert not Remittance.objects.exists()


@pytest.fixture
def restore_signal_handlers():
    names = [signal.SIGINT, signal.SIGTERM] + (
        [signal.SIGQUIT] if hasattr(signal, "SIGQUIT") else []
    )
    saved = {name: signal.getsignal(name) for name in names}
    yield
    for name, handler in saved.items():
        signal.signal(name, handler)


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_an_uploaded_remittance_to_the_end(
    client, make_user, billed_visit, restore_signal_handlers
):
    roles_sync()  # an earlier transactional test may have flushed the roles
    biller = make_user("biller", two_factor_exempt=True)
    claim = submit(claim_create(acting_user=biller, appointment=billed_visit), biller)
    client.force_login(biller)
    upload(client, era(claim).encode())
    call_command(
        "worker", batch=True, startup_delay=False, reload=False, worker_id="era", verbosity=0
    )
    job = DBTaskResult.objects.get()
    assert job.status == TaskResultStatus.SUCCESSFUL, job.traceback
    assert job.return_value["remittance_ids"] == [Remittance.objects.get().pk]
    claim.refresh_from_db()
    assert claim.status == "paid"
