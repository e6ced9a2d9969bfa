"""Patient statements under /api/: read only, as sent. Anyone with billing "view" reads them
and downloads the very PDF that was sent (its checksum checked), as on the statements
pages; every read and every download is audited."""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer

from practicedesk.api.auditing import ReadAuditMixin
from practicedesk.api.billing.account_serializers import StatementSerializer
from practicedesk.api.billing.filters import StatementFilterSet
from practicedesk.api.views import ApiViewSet, Conflict
from practicedesk.billing.models import Statement
from practicedesk.billing.statements import statement_file_verified
from practicedesk.core.models import AuditEvent
from practicedesk.core.services import audit_event_record
from practicedesk.patients.selectors import patients_for_user


class PdfRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/pdf``; a refusal is still JSON text."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class StatementViewSet(
    ReadAuditMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Statements sent to guarantors: the figures as printed, and the PDF itself."""

    area = "billing"
    queryset = Statement.objects.all()
    serializer_class = StatementSerializer
    filterset_class = StatementFilterSet

    def get_queryset(self):
        return Statement.objects.filter(guarantor__in=patients_for_user(self.request.user))

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The stored file no longer matches its checksum."),
        },
        description="The statement's PDF, byte for byte the one that was sent (its SHA-256 is "
        "checked first); the download is audited as a reprint.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, PdfRenderer])
    def pdf(self, request, pk=None):
        statement = self.get_object()
        audit_event_record(
            action=AuditEvent.Action.READ,
            request=request,
            obj=statement,
            name="statement_reprint",
            detail={"sha256": statement.sha256, "guarantor": statement.guarantor_id, "via": "api"},
        )
        try:
            content = statement_file_verified(statement.file, statement.sha256)
        except DjangoValidationError as error:
            raise Conflict(" ".join(error.messages)) from error
        except OSError as error:
            raise exceptions.APIException(
                "The stored file cannot be read; tell the practice manager."
            ) from error
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="statement-{statement.statement_number}.pdf"'
        )
        return response
