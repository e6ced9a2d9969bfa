import pytest
from fhir.resources.R4B import get_fhir_model_class
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.billing.conftest import (  # noqa: F401  (the billing fixtures)
    billed_visit,
    checked_out_visit,
    service_codes,
)
from tests.scheduling.conftest import clinic  # noqa: F401  (the shared clinic fixture)


@pytest.fixture
def api_client(make_user):
    """An API client that authenticates with the token of a new user of ``role``."""

    def make(role: str | None = None, **user_kwargs):
        user = make_user(role, two_factor_exempt=True, **user_kwargs)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
        return client

    return make


def fhir_validate(resource: dict):
    """Parse a resource with the fhir.resources R4B model of its type (strict: no extras)."""
    model = get_fhir_model_class(resource["resourceType"])
    return model.model_validate(resource)
