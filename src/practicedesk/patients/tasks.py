"""Patient background jobs, run by the worker (``practicedesk worker``)."""

from django.core.files.storage import default_storage
from django_tasks import task
from django_tasks.base import TaskContext

from practicedesk.core.models import User
from practicedesk.core.services import job_progress_report
from practicedesk.patients.importers import ImportFileError, patients_import


def patients_import_stored(
    result_id, *, storage_name: str, all_or_nothing: bool, user_id: int | None
) -> dict:
    """Import an uploaded CSV kept in storage, reporting progress to the job ``result_id``;
    the upload (patients' data) is deleted afterwards, whatever the outcome."""
    acting_user = User.objects.filter(pk=user_id).first() if user_id else None

    def progress(current: int, total: int) -> None:
        job_progress_report(
            result_id, current=current, total=total, message=f"Read {current} of {total} rows"
        )

    try:
        with default_storage.open(storage_name, "rb") as handle:
            result = patients_import(
                acting_user=acting_user,
                source=handle,
                all_or_nothing=all_or_nothing,
                progress=progress,
            )
    except ImportFileError as error:
        return {"file_error": str(error), "imported": 0, "summary": str(error)}
    finally:
        default_storage.delete(storage_name)
    return result.as_dict()


@task(takes_context=True)
def patients_import_file(
    context: TaskContext,
    *,
    storage_name: str,
    original_name: str = "",
    all_or_nothing: bool = False,
    user_id: int | None = None,
) -> dict:
    """Import patients from an uploaded CSV file (the upload page's background job)."""
    return patients_import_stored(
        context, storage_name=storage_name, all_or_nothing=all_or_nothing, user_id=user_id
    )
