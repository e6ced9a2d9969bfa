"""Core business actions, one module per concern; import them from here."""

from practicedesk.core.services.audit import audit_event_record, client_address
from practicedesk.core.services.roles import (
    role_two_factor_set,
    roles_sync,
    user_requires_two_factor,
    user_roles_set,
)

__all__ = [
    "audit_event_record",
    "client_address",
    "role_two_factor_set",
    "roles_sync",
    "user_requires_two_factor",
    "user_roles_set",
]
