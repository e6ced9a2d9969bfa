"""Billing background jobs, run by the worker (``practicedesk worker``)."""

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django_tasks import task
from django_tasks.base import TaskContext

from practicedesk.billing.remittances import RemittanceImportError, remittance_import
from practicedesk.billing.services import claims_export, plan_instalments_check
from practicedesk.billing.snapshots import receivables_close_due
from practicedesk.core.models import User
from practicedesk.core.services import job_progress_report
from practicedesk.patients.models import Payer

# Remittances (835)


def remittance_import_stored(
    result_id, *, storage_name: str, original_name: str, user_id: int | None
) -> dict:
    """Import an uploaded 835 kept in storage, reporting progress to the job ``result_id``;
    the upload (patients' data) is deleted afterwards, whatever the outcome."""
    acting_user = User.objects.filter(pk=user_id).first() if user_id else None

    def progress(current: int, total: int, message: str) -> None:
        job_progress_report(result_id, current=current, total=total, message=message)

    try:
        with default_storage.open(storage_name, "rb") as handle:
            content = handle.read()
        result = remittance_import(
            acting_user=acting_user, content=content, filename=original_name, progress=progress
        )
    except RemittanceImportError as error:
        message = " ".join(error.messages)
        progress(1, 1, "Refused: nothing posted")
        return {"error": message, "filename": original_name, "summary": message}
    finally:
        default_storage.delete(storage_name)
    return result.as_dict()


@task(takes_context=True)
def remittance_import_file(
    context: TaskContext, *, storage_name: str, original_name: str = "", user_id: int | None = None
) -> dict:
    """Post an uploaded 835 remittance (the remittance upload page's background job)."""
    return remittance_import_stored(
        context, storage_name=storage_name, original_name=original_name, user_id=user_id
    )


# Claims out (837P)


@task(takes_context=True)
def claims_export_file(
    context: TaskContext, *, payer_id: int | None = None, user_id: int | None = None
) -> dict:
    """Export the ready claims (of one payer, or all) as one 837P batch and submit them (the
    claims page's "Export ready claims" button). A refusal (no ready claims, a file pyx12
    rejects) submits nothing and is the job's result, in plain words."""
    acting_user = User.objects.filter(pk=user_id).first() if user_id else None
    payer = Payer.objects.filter(pk=payer_id).first() if payer_id else None

    def progress(current: int, total: int, message: str) -> None:
        job_progress_report(context, current=current, total=total, message=message)

    try:
        batch = claims_export(acting_user=acting_user, payer=payer, progress=progress)
    except ValidationError as error:
        message = " ".join(error.messages)
        progress(1, 1, "Refused: nothing submitted")
        return {"error": message, "summary": message}
    summary = (
        f"Batch {batch.interchange_control_number:09d}: {batch.claim_count} claim"
        f"{'s' if batch.claim_count != 1 else ''} submitted, total {batch.total_charge}"
    )
    if batch.skipped:
        summary += f"; {len(batch.skipped)} left ready (they fail the scrubber now)"
    return {
        "batch_id": batch.pk,
        "interchange_control_number": batch.interchange_control_number,
        "group_control_number": batch.group_control_number,
        "claim_count": batch.claim_count,
        "total_charge": str(batch.total_charge),
        "skipped": dict(batch.skipped),
        "summary": summary,
    }


# Payment plans


@task()
def payment_plans_check() -> dict:
    """Mark missed instalments; delinquent plans past the grace period default to collections
    (see ``services.plan_instalments_check``). Idempotent: it only brings plans up to date."""
    return plan_instalments_check()


# Statements


def statement_run_process(result_id, *, run_id: int) -> dict:
    """Produce a statement run's statements, reporting progress to the job ``result_id``.
    An error marks the run failed (it can be started again for the same date)."""
    from practicedesk.billing.models import StatementRun
    from practicedesk.billing.statements import statement_run_execute, statement_run_fail

    run = StatementRun.objects.get(pk=run_id)

    def progress(current: int, total: int, message: str) -> None:
        job_progress_report(result_id, current=current, total=total, message=message)

    progress(0, 1, "Summing the accounts")
    try:
        run = statement_run_execute(run=run, progress=progress)
    except Exception as error:
        statement_run_fail(run=run, error=str(error))
        raise
    summary = (
        f"{run.statement_count} statement{'s' if run.statement_count != 1 else ''}: "
        f"{run.emailed_count} emailed, {run.printed_count} to print"
    )
    progress(max(run.statement_count, 1), max(run.statement_count, 1), f"Done: {summary}")
    return {"run_id": run.pk, "summary": summary, "skipped": run.skipped}


@task(takes_context=True)
def statement_run_generate(context: TaskContext, *, run_id: int) -> dict:
    """Produce and deliver one statement run (the Statements page's "Start a run")."""
    return statement_run_process(context, run_id=run_id)


@task()
def statements_cycle_check() -> dict:
    """Start this month's statement run on its cycle day, when STATEMENT_AUTO_RUN is on."""
    from practicedesk.billing.statements import statements_cycle_check as check

    return check()


# Collections


@task()
def collections_daily() -> dict:
    """Promises kept or broken, delinquent accounts into collections, cases through their
    notices (see ``collections.collections_daily``). Idempotent."""
    from practicedesk.billing.collections import collections_daily as run

    return run()


# Receivables


@task()
def receivables_close() -> dict:
    """Take the month-end A/R snapshots not taken yet (or made stale by a late posting)."""
    return {"closed": [day.isoformat() for day in receivables_close_due()]}
