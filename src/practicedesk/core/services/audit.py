"""Audit events: reads of protected data, sign-ins, exports and business actions."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest

from practicedesk.core.models import AuditEvent, User


def client_address(request: HttpRequest | None) -> str | None:
    """The address the request came from; behind a proxy, the first X-Forwarded-For hop."""
    if request is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def audit_event_record(
    *,
    action: str,
    user: User | None = None,
    request: HttpRequest | None = None,
    obj: models.Model | None = None,
    name: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event: a read of protected data, a sign-in, an export, a business action."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    return AuditEvent.objects.create(
        action=action,
        user=user if user is not None and user.pk else None,
        username=user.get_username() if user is not None else "",
        remote_addr=client_address(request),
        name=name,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        path=request.get_full_path()[:300] if request is not None else "",
        detail=detail or {},
    )
