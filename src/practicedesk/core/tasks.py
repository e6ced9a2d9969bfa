"""Core background jobs, run by the worker (``practicedesk worker``)."""

import hashlib

from django_tasks import task
from django_tasks.base import TaskContext

from practicedesk.core.models import Document
from practicedesk.core.services import job_progress_report

READ_CHUNK_BYTES = 1024 * 1024


def file_sha256(document: Document) -> str:
    digest = hashlib.sha256()
    with document.file.storage.open(document.file.name, "rb") as handle:
        for chunk in iter(lambda: handle.read(READ_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@task(takes_context=True)
def documents_verify_checksums(context: TaskContext) -> dict:
    """Re-read every stored document and compare its SHA-256 with the one taken at upload.

    A mismatch means the file changed on disk after upload (corruption, tampering, a bad
    restore); a missing file means storage lost it. Either needs the practice manager.
    """
    documents = Document.objects.order_by("pk").only("pk", "file", "sha256")
    total = documents.count()
    checked = 0
    mismatched: list[int] = []
    missing: list[int] = []
    job_progress_report(context, current=0, total=total, message="Starting")
    for document in documents.iterator(chunk_size=500):
        checked += 1
        # Documents uploaded while the job runs are checked too; the total grows with them.
        total = max(total, checked)
        try:
            actual = file_sha256(document)
        except (OSError, ValueError):
            # ValueError: the row has no file name at all.
            missing.append(document.pk)
        else:
            if actual != document.sha256:
                mismatched.append(document.pk)
        job_progress_report(
            context,
            current=checked,
            total=total,
            message=f"Checked {checked} of {total} documents",
        )
    job_progress_report(
        context,
        current=checked,
        total=checked,
        message=(
            f"Done: {checked} checked, {len(mismatched)} changed, {len(missing)} missing"
            if checked
            else "No documents to check"
        ),
    )
    return {"checked": checked, "mismatched": mismatched, "missing": missing}
