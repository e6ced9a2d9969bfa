"""Billing background jobs, run by the worker (``practicedesk worker``)."""

from django.core.files.storage import default_storage
from django_tasks import task
from django_tasks.base import TaskContext

from practicedesk.billing.remittances import RemittanceImportError, remittance_import
from practicedesk.core.models import User
from practicedesk.core.services import job_progress_report


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
