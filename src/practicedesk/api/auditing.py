"""PHI reads through the API are audited like the pages: one event per record read, one per
list or search (with what was asked and which records came back)."""

from collections.abc import Iterable

from django.db import models
from rest_framework.response import Response

from practicedesk.core.models import AuditEvent
from practicedesk.core.services import audit_event_record

MAX_AUDITED_IDS = 500


def query_of(request) -> dict[str, str | list[str]]:
    params = request.query_params if hasattr(request, "query_params") else request.GET
    return {key: values[0] if len(values) == 1 else values for key, values in params.lists() if key}


def audit_record_read(request, obj: models.Model, *, via: str) -> None:
    audit_event_record(
        action=AuditEvent.Action.READ,
        user=request.user,
        request=request,
        obj=obj,
        name=f"{via}_read",
        detail={"via": via},
    )


def audit_list_read(
    request, model: type[models.Model], ids: Iterable, *, total: int, via: str
) -> None:
    meta = model._meta
    ids = [str(pk) for pk in ids]
    audit_event_record(
        action=AuditEvent.Action.READ,
        user=request.user,
        request=request,
        name=f"{via}_{meta.app_label}.{meta.model_name}_list",
        detail={
            "via": via,
            "query": query_of(request),
            "total": total,
            "returned": len(ids),
            "ids": ids[:MAX_AUDITED_IDS],
        },
    )


class ReadAuditMixin:
    """For viewsets over models with ``audit_reads = True``: list and retrieve are audited."""

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        audit_record_read(request, instance, via="api")
        return Response(self.get_serializer(instance).data)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is not None:
            total = self.paginator.page.paginator.count
            audit_list_read(request, queryset.model, [o.pk for o in page], total=total, via="api")
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        items = list(queryset)
        audit_list_read(request, queryset.model, [o.pk for o in items], total=len(items), via="api")
        return Response(self.get_serializer(items, many=True).data)
