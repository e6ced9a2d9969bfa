"""Documents: checked uploads, attachment to records, audited downloads, retention."""

import datetime
import hashlib
import io
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.models import AuditEvent, Document
from practicedesk.core.services import document_delete, document_file_inspect, document_upload
from tests.factories import DocumentFactory, LocationFactory

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
NEXT_YEAR = timezone.localdate() + datetime.timedelta(days=365)


def office_zip(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "<xml/>")
    return buffer.getvalue()


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def form_data(owner, name="lease.pdf", data=PDF_BYTES, **overrides):
    values = {
        "file": SimpleUploadedFile(name, data),
        "title": "Office lease",
        "document_type": Document.Type.CONTRACT,
        "owner": owner.pk,
        "retain_until": NEXT_YEAR.isoformat(),
        "notes": "",
    }
    values.update(overrides)
    return values


def upload(user, name="lease.pdf", data=PDF_BYTES, **overrides) -> Document:
    values = {
        "acting_user": user,
        "uploaded_file": SimpleUploadedFile(name, data),
        "title": "Office lease",
        "document_type": Document.Type.CONTRACT,
        "owner": user,
        "retain_until": NEXT_YEAR,
    }
    values.update(overrides)
    return document_upload(**values)


def test_uploaded_pdf_is_stored_under_media_root_with_its_checksum_and_size(
    manager_client, manager, settings
):
    response = manager_client.post(reverse("core:document_create"), form_data(manager))

    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == document.get_absolute_url()
    assert document.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert document.size_bytes == len(PDF_BYTES)
    assert document.original_name == "lease.pdf"
    assert document.content_type_name == "application/pdf"
    assert document.uploaded_by == manager
    path = Path(document.file.path)
    assert path.is_relative_to(Path(settings.MEDIA_ROOT))
    assert path.read_bytes() == PDF_BYTES
    assert document.sha256 in document.file.name
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.ACTION, name="document_upload", object_id=str(document.pk)
    ).exists()


def test_blank_title_takes_the_file_name(manager):
    document = upload(manager, name="Lease 2025.pdf", title="  ")
    assert document.title == "Lease 2025"


def test_document_attached_to_a_location_shows_on_the_location_page(manager_client, manager):
    location = LocationFactory(name="Northside Clinic")
    location_page = manager_client.get(location.get_absolute_url()).content.decode()
    content_type = ContentType.objects.get_for_model(location)
    query = urlencode({"attached_type": content_type.pk, "attached_id": location.pk})
    attach_url = f"{reverse('core:document_create')}?{query}"
    assert attach_url.replace("&", "&amp;") in location_page

    form_page = manager_client.get(attach_url)
    assert form_page.status_code == 200
    assert "Attaching to:" in form_page.content.decode()
    assert "Northside Clinic" in form_page.content.decode()

    response = manager_client.post(attach_url, form_data(manager, title="Northside lease"))
    assert response.status_code == 302
    assert response["Location"] == location.get_absolute_url()
    document = Document.objects.get()
    assert document.attached_to == location
    location_page = manager_client.get(location.get_absolute_url()).content.decode()
    assert "Northside lease" in location_page
    assert document.get_absolute_url() in location_page
    detail = manager_client.get(document.get_absolute_url()).content.decode()
    assert location.get_absolute_url() in detail


@pytest.mark.parametrize(
    ("name", "data", "messages"),
    [
        pytest.param("empty.pdf", b"", ["The file is empty", "empty.pdf"], id="empty"),
        pytest.param(
            "scan.pdf", b"%PDF-1.4\n" + bytes(1_572_864), ["1.6 MB", "at most 1 MB"], id="too-large"
        ),
        pytest.param("setup.exe", b"MZ\x90\x00" + bytes(64), ["“.exe” files"], id="wrong-type"),
        pytest.param(
            "invoice.pdf",
            PNG_BYTES,
            ["“invoice.pdf” is not really a PDF", "a PNG image", "Accepted types"],
            id="mislabelled",
        ),
    ],
)
def test_bad_files_are_refused_with_a_message_leaving_no_row_and_no_file(
    manager_client, manager, settings, name, data, messages
):
    settings.DOCUMENT_MAX_BYTES = 1024 * 1024
    response = manager_client.post(
        reverse("core:document_create"), form_data(manager, name=name, data=data)
    )

    assert response.status_code == 200
    body = response.content.decode()
    for message in messages:
        assert message in body
    assert 'class="field-error"' in body
    assert not Document.objects.exists()
    assert stored_files(settings) == []
    assert not AuditEvent.objects.filter(name="document_upload").exists()


def test_upload_with_a_past_retention_date_is_refused_next_to_the_field(
    manager_client, manager, settings
):
    past = timezone.localdate() - datetime.timedelta(days=1)
    response = manager_client.post(
        reverse("core:document_create"), form_data(manager, retain_until=past.isoformat())
    )

    assert response.status_code == 200
    assert "is in the past" in response.content.decode()
    assert "retain_until" in response.context["form"].errors
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_malformed_form_values_get_messages_not_a_traceback(manager_client, manager, settings):
    response = manager_client.post(
        reverse("core:document_create"),
        form_data(manager, name="scan.pdf", data=PNG_BYTES, retain_until="31/31/2020")
        | {"owner": "not-a-user", "document_type": "spaceship"},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"file", "owner", "document_type", "retain_until"}
    assert "not really a PDF" in errors["file"][0]
    assert "YYYY-MM-DD" in errors["retain_until"][0]
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_upload_without_a_file_asks_for_one(manager_client, manager):
    data = form_data(manager)
    del data["file"]
    response = manager_client.post(reverse("core:document_create"), data)
    assert response.status_code == 200
    assert "Choose a file to upload." in response.content.decode()
    assert not Document.objects.exists()


def test_a_failure_after_the_file_is_stored_leaves_no_row_and_no_file(
    manager, settings, monkeypatch
):
    def broken_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("practicedesk.core.services.documents.audit_event_record", broken_audit)

    with pytest.raises(RuntimeError):
        upload(manager)

    assert not Document.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("scan.png", PNG_BYTES, "image/png"),
        ("photo.JPG", b"\xff\xd8\xff\xe0" + bytes(16), "image/jpeg"),
        ("fax.tiff", b"II*\x00" + bytes(16), "image/tiff"),
        ("logo.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8), "image/webp"),
        ("payments.csv", b"date,amount\n2025-01-02,10.00\n", "text/csv"),
        (
            "contract.docx",
            office_zip("[Content_Types].xml", "word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("budget.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(32), "application/vnd.ms-excel"),
    ],
)
def test_accepted_types_are_recognised_by_name_and_contents(manager, name, data, content_type):
    inspected = document_file_inspect(SimpleUploadedFile(name, data))
    assert inspected.kind.content_type == content_type
    assert inspected.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "report.docx",
            office_zip("[Content_Types].xml", "xl/workbook.xml"),
            "not really a Word document: its contents are an Excel workbook",
        ),
        ("notes.txt", b"abc\x00\x01\x02", "not really a plain text file"),
        ("archive.xlsx", office_zip("readme.txt"), "its contents are a ZIP archive"),
        ("README", b"hello", "files without an extension are not accepted"),
    ],
)
def test_files_whose_contents_do_not_match_their_name_are_refused(manager, name, data, message):
    with pytest.raises(ValidationError) as error:
        document_file_inspect(SimpleUploadedFile(name, data))
    assert message in error.value.messages[0]


def test_download_streams_the_exact_bytes_and_is_audited(manager_client, manager):
    document = upload(manager)

    response = manager_client.get(reverse("core:document_download", args=[document.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="lease.pdf"' in response["Content-Disposition"]
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.get(action=AuditEvent.Action.DOWNLOAD)
    assert event.user == manager
    assert event.object_id == str(document.pk)
    assert event.name == "document_download"


def test_download_of_a_missing_file_says_so_instead_of_failing(manager_client, manager):
    document = upload(manager)
    Path(document.file.path).unlink()

    response = manager_client.get(
        reverse("core:document_download", args=[document.pk]), follow=True
    )

    assert response.status_code == 200
    assert "missing from storage" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DOWNLOAD).exists()


def test_document_cannot_be_deleted_before_its_retention_date(manager_client, manager):
    document = upload(manager)

    confirm = manager_client.get(reverse("core:document_delete", args=[document.pk]))
    assert "by its retention rule" in confirm.content.decode()
    response = manager_client.post(reverse("core:document_delete", args=[document.pk]), follow=True)

    assert "by its retention rule" in response.content.decode()
    assert Document.objects.filter(pk=document.pk).exists()
    assert Path(document.file.path).exists()
    with pytest.raises(ValidationError, match="kept until"):
        document_delete(acting_user=manager, document=document)


def test_document_past_its_retention_date_is_deleted_with_its_file(
    manager_client, manager, django_capture_on_commit_callbacks
):
    document = upload(manager)
    Document.objects.filter(pk=document.pk).update(
        retain_until=timezone.localdate() - datetime.timedelta(days=1)
    )
    path = Path(document.file.path)

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("core:document_delete", args=[document.pk]))

    assert response.status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not path.exists()
    assert AuditEvent.objects.filter(name="document_delete", object_id=str(document.pk)).exists()


def test_roles_without_documents_permission_are_refused(client, make_user, settings):
    document = DocumentFactory()
    clinician = make_user("clinician")  # may view documents, not add them
    client.force_login(clinician)
    assert client.get(reverse("core:document_create")).status_code == 403
    response = client.post(reverse("core:document_create"), form_data(clinician))
    assert response.status_code == 403
    assert Document.objects.count() == 1

    front_desk = make_user("front_desk")  # may add documents, not delete them
    client.force_login(front_desk)
    assert client.get(reverse("core:document_create")).status_code == 200
    response = client.post(reverse("core:document_delete", args=[document.pk]))
    assert response.status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()

    nobody = make_user()  # no role at all
    client.force_login(nobody)
    for url in (
        reverse("core:document_list"),
        document.get_absolute_url(),
        reverse("core:document_download", args=[document.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DOWNLOAD).exists()


def test_personnel_documents_are_hidden_from_roles_without_staff_access(client, make_user):
    personnel = DocumentFactory(title="Salary letter", document_type=Document.Type.HR)
    contract = DocumentFactory(title="Cleaning contract")
    front_desk = make_user("front_desk")
    client.force_login(front_desk)

    listing = client.get(reverse("core:document_list")).content.decode()
    assert "Cleaning contract" in listing
    assert "Salary letter" not in listing
    assert client.get(personnel.get_absolute_url()).status_code == 404
    assert client.get(reverse("core:document_download", args=[personnel.pk])).status_code == 404
    assert client.get(contract.get_absolute_url()).status_code == 200
    form = client.get(reverse("core:document_create")).context["form"]
    assert Document.Type.HR not in dict(form.fields["document_type"].choices)

    client.force_login(make_user("hr", two_factor_exempt=True))
    assert client.get(personnel.get_absolute_url()).status_code == 200


def test_documents_attached_to_records_a_role_cannot_open_are_hidden(client, make_user, manager):
    location = LocationFactory()
    attached = upload(manager, title="Site lease", attached_to=location)
    client.force_login(make_user("front_desk"))  # no administration area: cannot open locations

    assert "Site lease" not in client.get(reverse("core:document_list")).content.decode()
    assert client.get(attached.get_absolute_url()).status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"attached_type": "999999", "attached_id": "1"}, "is not a kind of record"),
        ({"attached_type": "abc", "attached_id": "1"}, "is not a kind of record"),
        ({"attached_type": "LOCATION", "attached_id": "999999"}, "There is no location with id"),
        ({"attached_type": "LOCATION", "attached_id": "x'; drop"}, "There is no location with id"),
        ({"attached_type": "LOCATION"}, "names no record"),
        ({"attached_type": "AUDITEVENT", "attached_id": "1"}, "is not a kind of record"),
    ],
)
def test_bad_attachment_address_gives_a_clear_message_not_a_server_error(
    manager_client, manager, settings, query, message
):
    from practicedesk.core.models import Location

    LocationFactory()
    event = AuditEvent.objects.create(action=AuditEvent.Action.ACTION, name="x")
    query = dict(query)
    if query.get("attached_type") == "LOCATION":
        query["attached_type"] = str(ContentType.objects.get_for_model(Location).pk)
    if query.get("attached_type") == "AUDITEVENT":
        query["attached_type"] = str(ContentType.objects.get_for_model(AuditEvent).pk)
        query["attached_id"] = str(event.pk)
    url = f"{reverse('core:document_create')}?{urlencode(query)}"

    page = manager_client.get(url)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert "Upload without attaching" in page.content.decode()

    response = manager_client.post(url, form_data(manager))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_list_searches_names_and_notes_and_filters_by_type_owner_and_retention(
    manager_client, manager, make_user
):
    other_owner = make_user()
    upload(manager, name="boiler-service.pdf", title="Boiler", notes="annual inspection")
    upload(
        manager,
        title="Malpractice policy",
        document_type=Document.Type.INSURANCE,
        retain_until=NEXT_YEAR + datetime.timedelta(days=3650),
    )
    upload(manager, title="Supplier invoice", owner=other_owner, document_type="invoice")
    url = reverse("core:document_list")

    def titles(**params):
        response = manager_client.get(url, params)
        assert response.status_code == 200
        return {row.record.title for row in response.context["table"].page.object_list}

    assert titles() == {"Boiler", "Malpractice policy", "Supplier invoice"}
    assert titles(q="boiler-service") == {"Boiler"}
    assert titles(q="INSPECTION") == {"Boiler"}
    assert titles(document_type="insurance") == {"Malpractice policy"}
    assert titles(owner=other_owner.pk) == {"Supplier invoice"}
    assert titles(retain_before=NEXT_YEAR.isoformat()) == {"Boiler", "Supplier invoice"}
    assert titles(retain_before="not-a-date") == set()


def test_detail_shows_type_owner_readable_size_checksum_and_retention(manager_client, manager):
    document = upload(manager, data=PDF_BYTES + bytes(2048), notes="Signed copy")

    body = manager_client.get(document.get_absolute_url()).content.decode()

    assert "Contract or agreement" in body
    assert str(manager) in body
    assert "2.1\xa0KB" in body
    assert document.sha256 in body
    assert "Signed copy" in body
    assert reverse("core:document_download", args=[document.pk]) in body
    assert "Attach a document" not in body


def test_identical_files_uploaded_twice_keep_separate_copies(
    manager, django_capture_on_commit_callbacks
):
    first = upload(manager, title="Lease copy 1")
    second = upload(manager, title="Lease copy 2")
    assert first.sha256 == second.sha256
    assert first.file.name != second.file.name
    Document.objects.filter(pk=first.pk).update(retain_until=timezone.localdate())

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(acting_user=manager, document=first)

    assert not Path(first.file.path).exists()
    assert Path(second.file.path).read_bytes() == PDF_BYTES
