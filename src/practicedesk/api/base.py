"""What every API view shares: how a caller proves who they are, what they may do, and that
the changes and reads they make are recorded under their name."""

from contextlib import ExitStack

from auditlog.context import set_actor
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from practicedesk.api.permissions import AreaPermission
from practicedesk.core.services import client_address

# The token comes first so an anonymous caller is told (401, WWW-Authenticate: Token) how to
# authenticate, instead of a bare 403.
API_AUTHENTICATION = [TokenAuthentication, SessionAuthentication]


def validation_detail(
    error: DjangoValidationError, renames: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """A service's ValidationError as DRF's field-keyed error body, messages unchanged.

    ``renames`` maps a service's argument names to the API's field names where they differ.
    """
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
    renames = {NON_FIELD_ERRORS: api_settings.NON_FIELD_ERRORS_KEY, **(renames or {})}
    return {renames.get(field, field): messages for field, messages in error.message_dict.items()}


def as_api_error(
    error: DjangoValidationError, renames: dict[str, str] | None = None
) -> serializers.ValidationError:
    return serializers.ValidationError(validation_detail(error, renames))


class ApiViewMixin:
    """Token or session authentication, the role matrix, and auditlog's actor set to the caller.

    The audit-log middleware runs before DRF authenticates a token, so it only knows session
    users; once the view has authenticated the caller, the actor is set again for the request.
    """

    authentication_classes = API_AUTHENTICATION
    permission_classes = [AreaPermission]
    # JSON only: the API serves integrations; people work in the pages.
    renderer_classes = [JSONRenderer]
    area: str = ""
    read_areas: tuple[str, ...] = ()
    action_permissions: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._actor_context = ExitStack()
        if request.user.is_authenticated:
            self._actor_context.enter_context(
                set_actor(request.user, remote_addr=client_address(request))
            )

    def finalize_response(self, request, response, *args, **kwargs):
        context = getattr(self, "_actor_context", None)
        if context is not None:
            context.close()
            self._actor_context = None
        return super().finalize_response(request, response, *args, **kwargs)
