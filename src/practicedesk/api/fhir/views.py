"""The FHIR R4 facade at /fhir/: read and search, JSON only, same sign-in, roles and auditing
as the REST API and the pages."""

from importlib.metadata import PackageNotFoundError, version

from django.urls import reverse
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from practicedesk.api.auditing import audit_list_read, audit_record_read
from practicedesk.api.base import ApiViewMixin
from practicedesk.api.fhir.accounts import ACCOUNT_RESOURCES
from practicedesk.api.fhir.billing import BILLING_RESOURCES
from practicedesk.api.fhir.resources import RESOURCES, FhirResource
from practicedesk.api.fhir.search import SearchError, check_known, paging

FHIR_VERSION = "4.0.1"
# Every resource type served: the registry of resources.py and those defined beside it.
SERVED_RESOURCES: dict[str, FhirResource] = {
    **RESOURCES,
    **BILLING_RESOURCES,
    **ACCOUNT_RESOURCES,
}
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    415: "not-supported",
    429: "throttled",
}


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"
    charset = "utf-8"


class FhirNegotiation(BaseContentNegotiation):
    """FHIR JSON whatever the client asks for: it is the only format served."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def fhir_exception_handler(exc, context):
    if isinstance(exc, SearchError):
        exc = ParseError(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, APIException) else response.data
    response.data = operation_outcome(
        ISSUE_CODES.get(response.status_code, "exception"),
        str(detail.get("detail", detail) if isinstance(detail, dict) else detail),
    )
    return response


class FhirView(ApiViewMixin, APIView):
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = FhirNegotiation
    schema = None  # FHIR describes itself at /fhir/metadata, not in the OpenAPI schema
    resource: FhirResource | None = None

    @property
    def area(self) -> str:
        return self.resource.area

    @property
    def read_areas(self) -> tuple[str, ...]:
        return self.resource.read_areas

    def get_exception_handler(self):
        return fhir_exception_handler

    def base_url(self) -> str:
        return self.request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


class FhirReadView(FhirView):
    def get(self, request, id: str):
        obj = self.resource.get(id)
        if self.resource.audited:
            audit_record_read(request, obj, via="fhir")
        return Response(self.resource.to_fhir(obj))


class FhirSearchView(FhirView):
    def get(self, request):
        params = request.query_params
        check_known(params, self.resource.type, self.resource.supported)
        count, offset = paging(params)
        total, found = self.resource.search(params, count, offset)
        if self.resource.audited:
            model = self.resource.get_queryset().model
            audit_list_read(request, model, [obj.pk for obj in found], total=total, via="fhir")
        base = self.base_url()
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if offset + count < total:
            query = params.copy()
            query["_offset"] = str(offset + count)
            query["_count"] = str(count)
            links.append(
                {
                    "relation": "next",
                    "url": f"{base}{self.resource.type}?{query.urlencode()}",
                }
            )
        entries = []
        for obj in found:
            resource = self.resource.to_fhir(obj)
            entries.append(
                {
                    "fullUrl": f"{base}{self.resource.type}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
            )
        return Response(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": total,
                "link": links,
                "entry": entries,
            }
        )


class CapabilityStatementView(FhirView):
    """What this server does; public, as FHIR clients read it before they sign in."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(capability_statement(self.base_url()), status=status.HTTP_200_OK)


def software_version() -> str:
    try:
        return version("practicedesk")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def capability_statement(base_url: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "publisher": "Practice Desk",
        "kind": "instance",
        "software": {"name": "Practice Desk", "version": software_version()},
        "implementation": {
            "description": "Practice Desk FHIR facade (read-only)",
            "url": base_url.rstrip("/"),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read and search only. Authenticate with 'Authorization: Token <key>' "
                    "(issued by `practicedesk api_token USERNAME`) or a signed-in session; "
                    "the user's roles decide what may be read, and every read of patient "
                    "data is audited. Unknown search parameters are refused (400)."
                ),
                "security": {
                    "cors": False,
                    "description": "Token or session authentication; role-based access.",
                },
                "resource": [
                    {
                        "type": resource.type,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {
                                "name": param.name,
                                "type": param.type,
                                "documentation": param.documentation,
                            }
                            for param in resource.params
                        ],
                    }
                    for resource in SERVED_RESOURCES.values()
                ],
            }
        ],
    }
