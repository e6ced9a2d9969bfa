"""The generic pages every app declares in a few lines: list, detail, edit, delete, export.

An app's CRUD view is a class with a queryset (or model), a form or table, and its area::

    class LocationListView(ObjectListView):
        area = "administration"
        queryset = Location.objects.all()
        table_class = LocationTable
        filterset_class = LocationFilterSet

Permissions are checked before anything is fetched; the queryset goes through the model's
``restrict(user)`` where its manager has one, so a role only ever reaches rows it may see.
"""

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views import View
from django.views.generic import DetailView
from django.views.generic.edit import FormMixin
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from practicedesk.core.models import AuditEvent
from practicedesk.core.permissions import can
from practicedesk.core.services import audit_event_record


class AreaPermissionMixin(LoginRequiredMixin):
    """Refuses the request (403) unless the user's roles allow ``action`` on ``area``."""

    area: str = ""
    action: str = "view"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.area:
            raise ImproperlyConfigured(f"{type(self).__name__} must declare its area.")
        if not can(request.user, self.area, self.action):
            raise PermissionDenied(
                "Your role does not allow this. Ask the practice manager if you need it."
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["perms_area"] = {
            action: can(user, self.area, action)
            for action in ("view", "add", "change", "delete", "export", "approve")
        }
        return context


class RestrictedQuerysetMixin:
    model: type[models.Model] | None = None
    queryset: models.QuerySet | None = None

    def get_queryset(self):
        queryset = (
            self.queryset.all() if self.queryset is not None else self.model._default_manager.all()
        )
        restrict = getattr(queryset, "restrict", None)
        return restrict(self.request.user) if restrict else queryset

    @property
    def object_model(self) -> type[models.Model]:
        return self.model or self.queryset.model


class ObjectListView(AreaPermissionMixin, RestrictedQuerysetMixin, SingleTableMixin, FilterView):
    """A paged, sortable, filterable, searchable list that also exports CSV (?export=csv)."""

    template_name = "core/object_list.html"
    partial_template_name = "core/partials/object_list_results.html"
    paginate_by = 25
    title: str = ""
    create_url_name: str | None = None

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            if not can(request.user, self.area, "export"):
                raise PermissionDenied("Your role may not export this list.")
            return self.export_csv()
        return super().get(request, *args, **kwargs)

    def get_template_names(self):
        if getattr(self.request, "htmx", False) and not self.request.htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    def get_table_kwargs(self):
        return {"request": self.request}

    def export_csv(self):
        self.object_list = (
            self.filterset_class(
                self.request.GET, queryset=self.get_queryset(), request=self.request
            ).qs
            if self.filterset_class
            else self.get_queryset()
        )
        table = self.get_table(**self.get_table_kwargs())
        meta = self.object_model._meta
        audit_event_record(
            action=AuditEvent.Action.EXPORT,
            request=self.request,
            name=f"{meta.app_label}.{meta.model_name}_export",
            detail={"filters": {k: v for k, v in self.request.GET.items() if k != "export"}},
        )

        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        rows = (writer.writerow(row) for row in table.as_values())
        filename = f"{slugify(self.get_title())}-{timezone.localdate():%Y-%m-%d}.csv"
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def get_title(self) -> str:
        return self.title or str(self.object_model._meta.verbose_name_plural).capitalize()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.get_title()
        context["verbose_name"] = self.object_model._meta.verbose_name
        context["create_url_name"] = self.create_url_name
        context["can_add"] = bool(self.create_url_name) and can(self.request.user, self.area, "add")
        context["can_export"] = can(self.request.user, self.area, "export")
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        context["current_query"] = query.urlencode()
        if getattr(self.object_model, "audit_reads", False):
            self.audit_list_read(context["table"])
        return context

    def audit_list_read(self, table) -> None:
        """A list of protected records is a read of each row shown: one event per page, naming
        the rows and the filters (as the API does for its lists)."""
        meta = self.object_model._meta
        audit_event_record(
            action=AuditEvent.Action.READ,
            request=self.request,
            name=f"{meta.app_label}.{meta.model_name}_list",
            detail={
                "ids": [row.record.pk for row in table.paginated_rows],
                "filters": {k: v for k, v in self.request.GET.items() if k != "page"},
            },
        )


class ObjectDetailView(AreaPermissionMixin, RestrictedQuerysetMixin, DetailView):
    """Shows a record's fields, its attached documents and its change history.

    Models holding protected health information set ``audit_reads = True``: every view of
    them is written to the audit log.
    """

    template_name = "core/object_detail.html"
    fields: tuple[str, ...] = ()
    edit_url_name: str | None = None
    delete_url_name: str | None = None

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        if getattr(obj, "audit_reads", False):
            audit_event_record(action=AuditEvent.Action.READ, request=self.request, obj=obj)
        return obj

    def get_edit_url(self) -> str | None:
        if not self.edit_url_name:
            return None
        return reverse(self.edit_url_name, args=[self.object.pk])

    def get_fields(self) -> list[tuple[str, Any]]:
        obj = self.object
        names = self.fields or tuple(
            field.name
            for field in obj._meta.concrete_fields
            if field.name not in ("id",) and field.editable
        )
        rows = []
        for name in names:
            field = obj._meta.get_field(name)
            display = getattr(obj, f"get_{name}_display", None)
            value = display() if display else getattr(obj, name)
            rows.append((str(field.verbose_name).capitalize(), value))
        return rows

    def get_context_data(self, **kwargs):
        from practicedesk.core.selectors import documents_attached_to, history_for

        context = super().get_context_data(**kwargs)
        context["title"] = str(self.object)
        context["verbose_name"] = str(self.object._meta.verbose_name).capitalize()
        context["field_rows"] = self.get_fields()
        context["edit_url"] = self.get_edit_url()
        context["delete_url"] = (
            reverse(self.delete_url_name, args=[self.object.pk]) if self.delete_url_name else None
        )
        if can(self.request.user, "documents", "view"):
            context["attached_documents"] = documents_attached_to(self.object, self.request.user)
            if can(self.request.user, "documents", "add"):
                content_type = ContentType.objects.get_for_model(self.object)
                context["attach_url"] = (
                    reverse("core:document_create")
                    + "?"
                    + urlencode({"attached_type": content_type.pk, "attached_id": self.object.pk})
                )
        if can(self.request.user, "audit", "view"):
            context["history"] = history_for(self.object)[:20]
        return context


class ObjectEditView(AreaPermissionMixin, RestrictedQuerysetMixin, FormMixin, View):
    """Create (no pk in the URL) or change a record through its ModelForm.

    On an htmx request an invalid form comes back as just the form, errors beside the fields;
    success redirects (HX-Redirect for htmx) to the record.
    """

    template_name = "core/object_edit.html"
    partial_template_name = "core/partials/form.html"
    action = "change"

    def dispatch(self, request, *args, **kwargs):
        self.action = "change" if "pk" in kwargs else "add"
        return super().dispatch(request, *args, **kwargs)

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.object
        return kwargs

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.get_form()
        if not form.is_valid():
            return self.render(form, status=422 if request.htmx else 200)
        with transaction.atomic():
            self.object = self.save(form)
        verb = "saved" if self.action == "change" else "created"
        messages.success(request, f"{self.object_model._meta.verbose_name.capitalize()} {verb}.")
        url = self.get_success_url()
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)

    def save(self, form):
        return form.save()

    def get_success_url(self):
        return self.object.get_absolute_url()

    def render(self, form, status=200):
        meta = self.object_model._meta
        title = f"Edit {self.object}" if self.object else f"New {meta.verbose_name}"
        context = {"form": form, "object": self.object, "title": title, "view": self}
        template = self.partial_template_name if self.request.htmx else self.template_name
        return TemplateResponse(self.request, template, context, status=status)


class ObjectDeleteView(AreaPermissionMixin, RestrictedQuerysetMixin, View):
    """Asks, then deletes. Records other records depend on are refused (or archived instead,
    for models with an ``is_active`` flag and ``archive_on_delete = True``)."""

    template_name = "core/object_delete.html"
    action = "delete"
    success_url_name: str = ""

    def get(self, request, *args, **kwargs):
        obj = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        archive = getattr(obj, "archive_on_delete", False)
        return TemplateResponse(
            request,
            self.template_name,
            {"object": obj, "archive": archive, "title": f"Delete {obj}"},
        )

    def post(self, request, *args, **kwargs):
        obj = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        name = obj._meta.verbose_name.capitalize()
        if getattr(obj, "archive_on_delete", False):
            obj.is_active = False
            obj.save(update_fields=["is_active"])
            messages.success(request, f"{name} “{obj}” archived; its history is kept.")
            return HttpResponseRedirect(reverse(self.success_url_name))
        try:
            with transaction.atomic():
                obj.delete()
        except (ProtectedError, RestrictedError) as error:
            count = len(
                error.protected_objects
                if isinstance(error, ProtectedError)
                else error.restricted_objects
            )
            messages.error(
                request,
                f"{name} “{obj}” cannot be deleted: {count} other record(s) refer to it "
                "and must be kept.",
            )
            return HttpResponseRedirect(obj.get_absolute_url())
        messages.success(request, f"{name} “{obj}” deleted.")
        return HttpResponseRedirect(reverse(self.success_url_name))
