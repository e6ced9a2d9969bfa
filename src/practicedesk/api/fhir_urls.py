"""FHIR R4 read and search under /fhir/ (no trailing slashes, as FHIR clients expect)."""

from django.urls import path

from practicedesk.api.fhir.views import (
    SERVED_RESOURCES,
    CapabilityStatementView,
    FhirReadView,
    FhirSearchView,
)

app_name = "fhir"

urlpatterns = [path("metadata", CapabilityStatementView.as_view(), name="metadata")]
for resource_type, resource in SERVED_RESOURCES.items():
    urlpatterns += [
        path(
            resource_type,
            FhirSearchView.as_view(resource=resource),
            name=f"{resource_type.lower()}_search",
        ),
        path(
            f"{resource_type}/<str:id>",
            FhirReadView.as_view(resource=resource),
            name=f"{resource_type.lower()}_read",
        ),
    ]
