"""Documents: list, detail, upload (optionally attached to a record), download, delete.

Every page reads documents through ``documents_for_user``, so a role never reaches a
document its work does not need, whichever page or URL it tries.
"""

import base64
import binascii

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View

from practicedesk.core.filters import DocumentFilterSet
from practicedesk.core.forms import DocumentForm
from practicedesk.core.models import AuditEvent, Document
from practicedesk.core.selectors import (
    attachment_target_for_user,
    document_attached_record,
    document_types_for_user,
    documents_for_user,
)
from practicedesk.core.services import (
    audit_event_record,
    document_delete,
    document_file_inspect,
    document_upload,
)
from practicedesk.core.tables import DocumentTable
from practicedesk.core.views.generic import AreaPermissionMixin, ObjectDetailView, ObjectListView


class DocumentQuerysetMixin:
    def get_queryset(self):
        return documents_for_user(self.request.user)

    def get_document(self, pk) -> Document:
        return get_object_or_404(documents_for_user(self.request.user), pk=pk)


def _record_url(record) -> str | None:
    try:
        return record.get_absolute_url() if hasattr(record, "get_absolute_url") else None
    except NoReverseMatch:
        return None


def _add_service_errors(form, error: ValidationError) -> None:
    """Show a service's field-keyed errors next to the fields; the rest above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class DocumentListView(DocumentQuerysetMixin, ObjectListView):
    area = "documents"
    model = Document
    table_class = DocumentTable
    filterset_class = DocumentFilterSet
    create_url_name = "core:document_create"
    template_name = "core/documents/document_list.html"


class DocumentDetailView(DocumentQuerysetMixin, ObjectDetailView):
    area = "documents"
    model = Document
    template_name = "core/documents/document_detail.html"
    delete_url_name = "core:document_delete"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        document = self.object
        # A document is not itself a record that documents attach to.
        context["attached_documents"] = None
        context["attach_url"] = None
        record = document_attached_record(document)
        context["attached_record"] = record
        context["attached_record_url"] = _record_url(record) if record is not None else None
        context["attached_record_noun"] = (
            str(record._meta.verbose_name).capitalize() if record is not None else ""
        )
        context["attached_record_missing"] = bool(document.attached_type_id) and record is None
        context["retention_active"] = document.retain_until > timezone.localdate()
        return context


class DocumentUploadView(AreaPermissionMixin, View):
    """Upload one document; ``?attached_type=<content type id>&attached_id=<id>`` attaches it."""

    area = "documents"
    action = "add"
    model = Document
    template_name = "core/documents/document_form.html"

    def get(self, request, *args, **kwargs):
        try:
            target = self.get_target()
        except ValidationError as error:
            return self.render_target_error(error)
        return self.render(self.make_form(initial={"owner": request.user.pk}), target)

    def post(self, request, *args, **kwargs):
        try:
            target = self.get_target()
        except ValidationError as error:
            return self.render_target_error(error)
        form = self.make_form(data=request.POST, files=request.FILES)
        if not form.is_valid():
            self.add_file_errors(form)
            return self.render(form, target)
        data = form.cleaned_data
        try:
            document = document_upload(
                acting_user=request.user,
                uploaded_file=data["file"],
                title=data["title"],
                document_type=data["document_type"],
                owner=data["owner"],
                retain_until=data["retain_until"],
                notes=data["notes"],
                attached_to=target,
            )
        except ValidationError as error:
            _add_service_errors(form, error)
            return self.render(form, target)
        target_url = _record_url(target) if target is not None else None
        if target is not None:
            messages.success(request, f"Document “{document}” uploaded and attached to {target}.")
        else:
            messages.success(request, f"Document “{document}” uploaded.")
        return redirect(target_url or document.get_absolute_url())

    def get_target(self):
        params = self.request.GET
        if "attached_type" not in params and "attached_id" not in params:
            return None
        return attachment_target_for_user(
            self.request.user, params.get("attached_type"), params.get("attached_id")
        )

    def make_form(self, **kwargs) -> DocumentForm:
        return DocumentForm(document_types=document_types_for_user(self.request.user), **kwargs)

    def add_file_errors(self, form) -> None:
        """When other fields are wrong, say what is wrong with the file in the same answer."""
        uploaded_file = form.cleaned_data.get("file")
        if uploaded_file is None or "file" in form.errors:
            return
        try:
            document_file_inspect(uploaded_file)
        except ValidationError as error:
            form.add_error("file", error)

    def render(self, form, target, status=200):
        target_url = _record_url(target) if target is not None else None
        context = {
            "title": "Upload a document",
            "form": form,
            "target": target,
            "target_noun": target._meta.verbose_name if target is not None else "",
            "target_url": target_url,
            "cancel_url": target_url or reverse("core:document_list"),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def render_target_error(self, error: ValidationError):
        context = {"title": "Upload a document", "target_error": " ".join(error.messages)}
        return TemplateResponse(self.request, self.template_name, context, status=400)


class DocumentDownloadView(DocumentQuerysetMixin, AreaPermissionMixin, View):
    area = "documents"
    action = "view"
    model = Document

    def get(self, request, pk, *args, **kwargs):
        document = self.get_document(pk)
        try:
            handle = document.file.storage.open(document.file.name, "rb")
        except (OSError, ValueError):
            messages.error(
                request,
                f"The file of “{document}” is missing from storage, so it cannot be downloaded. "
                "Restore it from the backup; its SHA-256 checksum below identifies it.",
            )
            return redirect(document.get_absolute_url())
        audit_event_record(
            action=AuditEvent.Action.DOWNLOAD,
            request=request,
            obj=document,
            name="document_download",
            detail={"sha256": document.sha256, "original_name": document.original_name},
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=document.original_name,
            content_type=document.content_type_name,
        )
        response["X-Content-Type-Options"] = "nosniff"
        try:
            digest = base64.b64encode(binascii.unhexlify(document.sha256)).decode("ascii")
        except (binascii.Error, ValueError):
            digest = ""
        if digest:
            # RFC 9530: lets a client check that what it saved is what was stored.
            response["Repr-Digest"] = f"sha-256=:{digest}:"
        return response


class DocumentDeleteView(DocumentQuerysetMixin, AreaPermissionMixin, View):
    area = "documents"
    action = "delete"
    model = Document
    template_name = "core/documents/document_confirm_delete.html"

    def get(self, request, pk, *args, **kwargs):
        document = self.get_document(pk)
        context = {
            "object": document,
            "title": f"Delete {document}",
            "retention_active": document.retain_until > timezone.localdate(),
        }
        return TemplateResponse(request, self.template_name, context)

    def post(self, request, pk, *args, **kwargs):
        document = self.get_document(pk)
        try:
            document_delete(acting_user=request.user, document=document)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(document.get_absolute_url())
        messages.success(request, f"Document “{document}” and its file deleted.")
        return redirect("core:document_list")
