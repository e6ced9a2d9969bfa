"""Providers (with their working hours), rooms, appointment types and closed time: declared CRUD."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from practicedesk.core.permissions import can
from practicedesk.core.views.generic import (
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
)
from practicedesk.scheduling.filters import (
    AppointmentTypeFilterSet,
    ProviderFilterSet,
    RoomFilterSet,
    ScheduleExceptionFilterSet,
)
from practicedesk.scheduling.forms import (
    AppointmentTypeForm,
    ProviderForm,
    RoomForm,
    ScheduleExceptionForm,
    ScheduleTemplateForm,
)
from practicedesk.scheduling.models import (
    AppointmentType,
    Provider,
    Room,
    ScheduleException,
    ScheduleTemplate,
)
from practicedesk.scheduling.tables import (
    AppointmentTypeTable,
    ProviderTable,
    RoomTable,
    ScheduleExceptionTable,
)

AREA = "scheduling"


class TypeStylesheetMixin:
    """Pages showing appointment-type colours link the generated stylesheet."""

    def get_context_data(self, **kwargs):
        from practicedesk.scheduling.views.calendar import types_stylesheet_url

        context = super().get_context_data(**kwargs)
        context["types_css_url"] = types_stylesheet_url()
        return context


class ProviderListView(ObjectListView):
    area = AREA
    queryset = Provider.objects.prefetch_related("locations")
    table_class = ProviderTable
    filterset_class = ProviderFilterSet
    create_url_name = "scheduling:provider_create"


class ProviderDetailView(ObjectDetailView):
    area = AREA
    queryset = Provider.objects.select_related("user").prefetch_related("locations")
    template_name = "scheduling/provider_detail.html"
    fields = ("credentials", "npi", "taxonomy_code", "specialty", "user", "is_active")
    edit_url_name = "scheduling:provider_edit"
    delete_url_name = "scheduling:provider_delete"

    def get_fields(self):
        rows = super().get_fields()
        locations = ", ".join(location.name for location in self.object.locations.all())
        rows.append(("Works at", locations or None))
        return rows

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        provider = self.object
        today = timezone.localdate()
        context["templates"] = provider.templates.select_related("location").order_by(
            "location__name", "weekday", "start_time", "effective_from"
        )
        context["today"] = today
        context["exceptions"] = ScheduleException.objects.filter(
            provider=provider, end__gte=timezone.now()
        ).select_related("location")[:20]
        context["can_change"] = can(self.request.user, AREA, "change")
        context["can_add"] = can(self.request.user, AREA, "add")
        context["can_delete"] = can(self.request.user, AREA, "delete")
        return context


class ProviderEditView(ObjectEditView):
    area = AREA
    model = Provider
    form_class = ProviderForm


class ProviderDeleteView(ObjectDeleteView):
    area = AREA
    model = Provider
    success_url_name = "scheduling:provider_list"


class ScheduleTemplateEditView(ObjectEditView):
    """Working hours are added and changed from the provider's page (?provider=<id>)."""

    area = AREA
    model = ScheduleTemplate
    form_class = ScheduleTemplateForm

    def get_initial(self):
        initial = super().get_initial()
        provider_id = self.request.GET.get("provider", "")
        if self.object is None and provider_id.isdigit():
            provider = get_object_or_404(Provider, pk=provider_id)
            initial["provider"] = provider.pk
            initial["effective_from"] = timezone.localdate()
            first_location = provider.locations.order_by("name").first()
            if first_location is not None:
                initial["location"] = first_location.pk
        return initial

    def render(self, form, status=200):
        response = super().render(form, status)
        provider_id = self.object.provider_id if self.object else form.initial.get("provider")
        if provider_id:
            response.context_data["cancel_url"] = reverse(
                "scheduling:provider_detail", args=[provider_id]
            )
        if self.object is None:
            response.context_data["title"] = "New working hours"
        return response


class ScheduleTemplateDeleteView(ObjectDeleteView):
    area = AREA
    model = ScheduleTemplate

    def post(self, request, *args, **kwargs):
        template = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        provider_url = template.provider.get_absolute_url()
        template.delete()
        messages.success(request, f"Working hours “{template}” removed.")
        return HttpResponseRedirect(provider_url)


class RoomListView(ObjectListView):
    area = AREA
    queryset = Room.objects.select_related("location")
    table_class = RoomTable
    filterset_class = RoomFilterSet
    create_url_name = "scheduling:room_create"


class RoomEditView(ObjectEditView):
    area = AREA
    model = Room
    form_class = RoomForm


class RoomDeleteView(ObjectDeleteView):
    area = AREA
    model = Room
    success_url_name = "scheduling:room_list"


class AppointmentTypeListView(TypeStylesheetMixin, ObjectListView):
    area = AREA
    model = AppointmentType
    table_class = AppointmentTypeTable
    filterset_class = AppointmentTypeFilterSet
    create_url_name = "scheduling:appointment_type_create"
    template_name = "scheduling/appointment_type_list.html"


class AppointmentTypeEditView(ObjectEditView):
    area = AREA
    model = AppointmentType
    form_class = AppointmentTypeForm


class AppointmentTypeDeleteView(ObjectDeleteView):
    area = AREA
    model = AppointmentType
    success_url_name = "scheduling:appointment_type_list"


class ScheduleExceptionListView(ObjectListView):
    area = AREA
    queryset = ScheduleException.objects.select_related("provider", "location")
    table_class = ScheduleExceptionTable
    filterset_class = ScheduleExceptionFilterSet
    create_url_name = "scheduling:exception_create"
    title = "Schedule exceptions"


class ScheduleExceptionEditView(ObjectEditView):
    area = AREA
    model = ScheduleException
    form_class = ScheduleExceptionForm

    def get_initial(self):
        initial = super().get_initial()
        provider_id = self.request.GET.get("provider", "")
        if self.object is None and provider_id.isdigit():
            initial["provider"] = int(provider_id)
            initial["kind"] = ScheduleException.Kind.LEAVE
        return initial


class ScheduleExceptionDeleteView(ObjectDeleteView):
    area = AREA
    model = ScheduleException
    success_url_name = "scheduling:exception_list"
