"""Documents: upload (checked, checksummed, audited) and delete (only after retention).

A file is accepted only when both its name and its contents say it is one of the accepted
types: a renamed executable or a PNG saved as ``.pdf`` is refused with a message that says
what it really is. A failed upload leaves neither a row nor a file behind.
"""

import contextlib
import datetime
import hashlib
import math
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format

from practicedesk.core.models import AuditEvent, Document, User
from practicedesk.core.services.audit import audit_event_record

# Enough of the start of a file to recognise every accepted type, and to judge text by.
SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 255
MAX_STORED_NAME_LENGTH = 120


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str
    content_type: str


KINDS: dict[str, FileKind] = {
    kind.key: kind
    for kind in (
        FileKind("pdf", "a PDF", "application/pdf"),
        FileKind("png", "a PNG image", "image/png"),
        FileKind("jpeg", "a JPEG image", "image/jpeg"),
        FileKind("gif", "a GIF image", "image/gif"),
        FileKind("tiff", "a TIFF image", "image/tiff"),
        FileKind("webp", "a WebP image", "image/webp"),
        FileKind("text", "a plain text file", "text/plain"),
        FileKind("csv", "a CSV file", "text/csv"),
        FileKind(
            "docx",
            "a Word document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        FileKind(
            "xlsx",
            "an Excel workbook",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        FileKind(
            "pptx",
            "a PowerPoint presentation",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        FileKind("doc", "a Word 97-2003 document", "application/msword"),
        FileKind("xls", "an Excel 97-2003 workbook", "application/vnd.ms-excel"),
        FileKind("odt", "an OpenDocument text", "application/vnd.oasis.opendocument.text"),
        FileKind(
            "ods", "an OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet"
        ),
    )
}

EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".gif": "gif",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".webp": "webp",
    ".txt": "text",
    ".csv": "csv",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pptx": "pptx",
    ".doc": "doc",
    ".xls": "xls",
    ".odt": "odt",
    ".ods": "ods",
}

ACCEPTED_TYPES_TEXT = (
    "PDF, images (PNG, JPEG, GIF, TIFF, WebP), plain text or CSV, "
    "Microsoft Office (.docx, .xlsx, .pptx, .doc, .xls) and OpenDocument (.odt, .ods)"
)
ACCEPT_ATTRIBUTE = ",".join(EXTENSIONS)

# What the contents may be for each name: legacy Office files share one container format
# (OLE2) whose inner type takes a full parser to tell apart; text has no signature at all.
CONTENTS_ALLOWED_FOR: dict[str, frozenset[str]] = {
    "doc": frozenset({"ole"}),
    "xls": frozenset({"ole"}),
    "text": frozenset({"text"}),
    "csv": frozenset({"text"}),
}

CONTENTS_DESCRIPTIONS: dict[str, str] = {
    **{key: kind.label for key, kind in KINDS.items()},
    "ole": "a Microsoft Office 97-2003 file",
    "text": "plain text",
    "zip": "a ZIP archive",
    "odf": "an OpenDocument file of another kind",
    "unknown": "not of any accepted type",
}

OOXML_FOLDERS = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}
ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}


def _megabytes(size: int, *, round_up: bool = False) -> str:
    """``25 MB``, ``1.5 MB``; a file's size rounds up so it never reads as equal to the limit."""
    tenths = size * 10 / (1024 * 1024)
    tenths = math.ceil(tenths) if round_up else round(tenths)
    return f"{tenths / 10:.1f}".removesuffix(".0") + " MB"


def _zip_contents(file: IO[bytes]) -> str:
    """Tell OOXML (docx/xlsx/pptx) and OpenDocument (odt/ods) apart by their inner layout."""
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100).decode("ascii", "replace").strip()
                return ODF_MIMETYPES.get(mimetype, "odf")
            if "[Content_Types].xml" in names:
                for folder, key in OOXML_FOLDERS.items():
                    if any(name.startswith(folder) for name in names):
                        return key
            return "zip"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError):
        return "zip"
    finally:
        file.seek(0)


def _contents_kind(head: bytes, file: IO[bytes]) -> str:
    """What the leading bytes say the file is (a KINDS key, or a CONTENTS_DESCRIPTIONS key)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return _zip_contents(file)
    if b"\x00" not in head:
        return "text"
    return "unknown"


def _original_name(uploaded_file: UploadedFile) -> str:
    name = PurePath(str(uploaded_file.name or "").replace("\\", "/")).name.strip()
    if len(name) > MAX_NAME_LENGTH:
        suffix = PurePath(name).suffix[:20]
        name = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return name


def _stored_name(original_name: str) -> str:
    """A short, safe name for the storage path; the original name is kept on the row."""
    path = PurePath(original_name)
    suffix = path.suffix.lower()[:10]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in path.stem).strip("._")
    return f"{(stem or 'document')[: MAX_STORED_NAME_LENGTH - len(suffix)]}{suffix}"


def _empty_message(name: str) -> str:
    return f"The file is empty: “{name}” has no content (0 bytes). Choose the complete file."


def _too_large_message(name: str, size: int) -> str:
    return (
        f"The file is too large: “{name}” is {_megabytes(size, round_up=True)}, and a document "
        f"may be at most {_megabytes(settings.DOCUMENT_MAX_BYTES)}. Compress or split it."
    )


@dataclass(frozen=True)
class InspectedFile:
    name: str
    kind: FileKind
    size: int
    sha256: str


def document_file_inspect(uploaded_file: UploadedFile) -> InspectedFile:
    """Check an uploaded file's size, name and contents; compute its SHA-256 in one pass.

    Raises ``ValidationError`` with a message that names what is wrong.
    """
    name = _original_name(uploaded_file)
    limit = settings.DOCUMENT_MAX_BYTES
    if not name:
        raise ValidationError("The file has no name; choose the file again.")
    if uploaded_file.size == 0:
        raise ValidationError(_empty_message(name))
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise ValidationError(_too_large_message(name, uploaded_file.size))
    extension = PurePath(name).suffix.lower()
    expected = EXTENSIONS.get(extension)
    if expected is None:
        shown = f"“{extension}” files" if extension else "files without an extension"
        raise ValidationError(
            f"“{name}” cannot be uploaded: {shown} are not accepted. "
            f"Accepted types: {ACCEPTED_TYPES_TEXT}."
        )

    digest = hashlib.sha256()
    size = 0
    head = b""
    has_nul = False
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        has_nul = has_nul or b"\x00" in chunk
        size += len(chunk)
        if size > limit:
            raise ValidationError(_too_large_message(name, size))
        digest.update(chunk)
    uploaded_file.seek(0)
    if size == 0:
        raise ValidationError(_empty_message(name))

    contents = _contents_kind(head, uploaded_file)
    if contents == "text" and has_nul:
        contents = "unknown"
    allowed = CONTENTS_ALLOWED_FOR.get(expected, frozenset({expected}))
    if contents not in allowed:
        raise ValidationError(
            f"“{name}” is not really {KINDS[expected].label}: its contents are "
            f"{CONTENTS_DESCRIPTIONS[contents]}. Save or export it in the right format, "
            f"or give it the right extension. Accepted types: {ACCEPTED_TYPES_TEXT}."
        )
    return InspectedFile(name=name, kind=KINDS[expected], size=size, sha256=digest.hexdigest())


@transaction.atomic
def _document_store(document: Document, uploaded_file: UploadedFile, acting_user: User) -> None:
    document.file.save(_stored_name(document.original_name), uploaded_file, save=False)
    document.save()
    audit_event_record(
        action=AuditEvent.Action.ACTION,
        user=acting_user,
        obj=document,
        name="document_upload",
        detail={
            "sha256": document.sha256,
            "size_bytes": document.size_bytes,
            "original_name": document.original_name,
            "attached_type": document.attached_type_id,
            "attached_id": document.attached_id,
        },
    )


def document_upload(
    *,
    acting_user: User,
    uploaded_file: UploadedFile | None,
    title: str,
    document_type: str,
    owner: User | None,
    retain_until: datetime.date | None,
    notes: str = "",
    attached_to: models.Model | None = None,
) -> Document:
    """Store an uploaded business document with its checksum, owner and retention date.

    A blank title takes the file's name. Errors come back together, keyed by field.
    """
    errors: dict[str, list[str]] = {}
    inspected: InspectedFile | None = None
    if uploaded_file is None:
        errors["file"] = ["Choose a file to upload."]
    else:
        try:
            inspected = document_file_inspect(uploaded_file)
        except ValidationError as error:
            errors["file"] = error.messages
    if document_type not in Document.Type.values:
        errors["document_type"] = ["Choose the type of document from the list."]
    if owner is None or not owner.is_active:
        errors["owner"] = ["Choose an active user who answers for this document."]
    if retain_until is None:
        errors["retain_until"] = ["Enter the date until which the document must be kept."]
    elif retain_until < timezone.localdate():
        errors["retain_until"] = [
            f"{date_format(retain_until)} is in the past; the document must be kept at least "
            "until today."
        ]
    if attached_to is not None and attached_to.pk is None:
        errors["attached_to"] = ["The record to attach to has not been saved."]
    if errors:
        raise ValidationError(errors)

    assert inspected is not None and owner is not None
    document = Document(
        title=(title or "").strip() or PurePath(inspected.name).stem[:200],
        document_type=document_type,
        original_name=inspected.name,
        content_type_name=inspected.kind.content_type,
        size_bytes=inspected.size,
        sha256=inspected.sha256,
        owner=owner,
        retain_until=retain_until,
        notes=(notes or "").strip(),
        uploaded_by=acting_user,
    )
    if attached_to is not None:
        document.attached_type = ContentType.objects.get_for_model(attached_to)
        document.attached_id = str(attached_to.pk)
    document.full_clean(exclude=["file"])

    try:
        _document_store(document, uploaded_file, acting_user)
    except BaseException:
        # The row is rolled back; the file must go too, or storage fills with orphans.
        if document.file and document.file.name:
            with contextlib.suppress(OSError):
                document.file.storage.delete(document.file.name)
        raise
    return document


def document_delete(*, acting_user: User, document: Document) -> None:
    """Delete a document and its file, but never before its retention date has come."""
    today = timezone.localdate()
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document.pk)
        if document.retain_until > today:
            raise ValidationError(
                f"“{document}” is kept until {date_format(document.retain_until)} by its "
                "retention rule; it can be deleted from that day on."
            )
        audit_event_record(
            action=AuditEvent.Action.ACTION,
            user=acting_user,
            obj=document,
            name="document_delete",
            detail={
                "sha256": document.sha256,
                "original_name": document.original_name,
                "retain_until": document.retain_until.isoformat(),
            },
        )
        storage, file_name = document.file.storage, document.file.name
        document.delete()
        # Only once the row is surely gone: a rolled-back delete must still find its file.
        # robust: a file that cannot be removed is logged, not turned into an error page
        # for a deletion that has already happened.
        transaction.on_commit(lambda: storage.delete(file_name) if file_name else None, robust=True)
