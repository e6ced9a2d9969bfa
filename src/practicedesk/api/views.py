"""REST endpoints under /api/: the same records, services and role matrix as the pages."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from practicedesk.api import filters, serializers
from practicedesk.api.auditing import ReadAuditMixin
from practicedesk.api.base import ApiViewMixin, as_api_error
from practicedesk.core.models import Location
from practicedesk.patients.models import Coverage, Patient
from practicedesk.scheduling.availability import next_open_slot, open_slots
from practicedesk.scheduling.models import Appointment, AppointmentType, Provider
from practicedesk.scheduling.services import (
    appointment_advance,
    appointment_book,
    appointment_cancel,
    appointment_no_show,
    appointment_reschedule,
)


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Other records refer to this one; it cannot be deleted."
    default_code = "conflict"


def restricted(queryset, user):
    """The role-restricted rows of a queryset, where its model restricts them."""
    restrict = getattr(queryset, "restrict", None)
    return restrict(user) if restrict else queryset


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    pagination_class = ApiPagination
    filter_backends = [DjangoFilterBackend]
    queryset = None

    def get_queryset(self):
        return restricted(super().get_queryset(), self.request.user)


class ArchiveOrDeleteMixin(mixins.DestroyModelMixin):
    """As on the pages: records kept for history are archived, others deleted unless in use."""

    def perform_destroy(self, instance):
        if getattr(instance, "archive_on_delete", False):
            instance.is_active = False
            instance.save(update_fields=["is_active"])
            return
        try:
            with transaction.atomic():
                instance.delete()
        except (ProtectedError, RestrictedError) as error:
            raise Conflict(
                f"{instance._meta.verbose_name.capitalize()} “{instance}” cannot be deleted: "
                "other records refer to it and must be kept."
            ) from error


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ArchiveOrDeleteMixin,
    ApiViewSet,
):
    pass


class PatientViewSet(
    ReadAuditMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    """Patients. Registering one assigns its MRN; records are never deleted (merge instead)."""

    area = "patients"
    queryset = Patient.objects.all()
    serializer_class = serializers.PatientSerializer
    filterset_class = filters.PatientFilterSet


class CoverageViewSet(ReadAuditMixin, CrudViewSet):
    """Insurance coverage of patients."""

    area = "patients"
    queryset = Coverage.objects.select_related("patient", "payer")
    serializer_class = serializers.CoverageSerializer
    filterset_class = filters.CoverageFilterSet


class ProviderViewSet(CrudViewSet):
    """Providers; deleting one archives it (its appointments are kept)."""

    area = "scheduling"
    queryset = Provider.objects.prefetch_related("locations")
    serializer_class = serializers.ProviderSerializer
    filterset_class = filters.ProviderFilterSet


class LocationViewSet(CrudViewSet):
    """Locations: administered by the practice manager, read by everyone who schedules."""

    area = "administration"
    read_areas = ("scheduling",)
    queryset = Location.objects.all()
    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilterSet


class AppointmentTypeViewSet(CrudViewSet):
    area = "scheduling"
    queryset = AppointmentType.objects.all()
    serializer_class = serializers.AppointmentTypeSerializer
    filterset_class = filters.AppointmentTypeFilterSet


def appointment_response(appointment: Appointment, code=status.HTTP_200_OK) -> Response:
    return Response(serializers.AppointmentSerializer(appointment).data, status=code)


@extend_schema_view(
    create=extend_schema(
        request=serializers.AppointmentBookSerializer,
        responses={201: serializers.AppointmentSerializer},
        description="Book through the same rules as the booking page: working hours, "
        "no double booking of provider, patient or room, active coverage.",
    ),
    cancel=extend_schema(
        request=serializers.AppointmentCancelSerializer,
        responses=serializers.AppointmentSerializer,
    ),
    reschedule=extend_schema(
        request=serializers.AppointmentRescheduleSerializer,
        responses=serializers.AppointmentSerializer,
    ),
    no_show=extend_schema(request=None, responses=serializers.AppointmentSerializer),
    advance=extend_schema(
        request=serializers.AppointmentAdvanceSerializer,
        responses=serializers.AppointmentSerializer,
        description="Move a visit one step along the patient flow.",
    ),
)
class AppointmentViewSet(
    ReadAuditMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    """Appointments: booked and changed only through the scheduling actions."""

    area = "scheduling"
    action_permissions = {
        "create": "add",
        "cancel": "change",
        "reschedule": "change",
        "no_show": "change",
        "advance": "change",
    }
    queryset = Appointment.objects.select_related(
        "patient", "provider", "location", "appointment_type", "room"
    )
    serializer_class = serializers.AppointmentSerializer
    filterset_class = filters.AppointmentFilterSet
    input_serializers = {
        "create": serializers.AppointmentBookSerializer,
        "cancel": serializers.AppointmentCancelSerializer,
        "reschedule": serializers.AppointmentRescheduleSerializer,
        "advance": serializers.AppointmentAdvanceSerializer,
    }

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, self.serializer_class)

    def validated(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        data = self.validated(request)
        try:
            appointment = appointment_book(acting_user=request.user, **data)
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return appointment_response(appointment, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = self.validated(request)
        try:
            appointment, _offers = appointment_cancel(
                acting_user=request.user, appointment=self.get_object(), reason=data["reason"]
            )
        except DjangoValidationError as error:
            raise as_api_error(error, {"cancel_reason": "reason"}) from error
        return appointment_response(appointment)

    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        data = self.validated(request)
        try:
            appointment = appointment_reschedule(
                acting_user=request.user, appointment=self.get_object(), **data
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return appointment_response(appointment)

    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        try:
            appointment = appointment_no_show(
                acting_user=request.user, appointment=self.get_object()
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return appointment_response(appointment)

    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        data = self.validated(request)
        try:
            appointment = appointment_advance(
                acting_user=request.user, appointment=self.get_object(), to_status=data["status"]
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return appointment_response(appointment)


class SlotViewSet(ApiViewMixin, viewsets.ViewSet):
    """Open slots, computed from working hours, exceptions and bookings (no PHI)."""

    area = "scheduling"

    @extend_schema(
        parameters=[serializers.SlotQuerySerializer],
        responses=serializers.SlotSerializer(many=True),
    )
    def list(self, request):
        query = serializers.SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        location = data.get("location")
        slots = open_slots(
            appointment_type=data["appointment_type"],
            location_id=location.pk if location else None,
            provider=data.get("provider"),
            first_day=data.get("date"),
            days=data["days"],
        )
        return Response(serializers.SlotSerializer(slots, many=True).data)

    @extend_schema(
        parameters=[serializers.SlotNextQuerySerializer],
        responses={
            200: serializers.SlotSerializer,
            404: OpenApiResponse(description="No open slot within the search horizon."),
        },
    )
    @action(detail=False, methods=["get"])
    def next(self, request):
        query = serializers.SlotNextQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        location = data.get("location")
        slot = next_open_slot(
            appointment_type=data["appointment_type"],
            location_id=location.pk if location else None,
            provider=data.get("provider"),
            not_before=data.get("not_before"),
        )
        if slot is None:
            raise exceptions.NotFound(
                f"No open slot in the next {settings.SLOT_SEARCH_DAYS} days for these choices."
            )
        return Response(serializers.SlotSerializer(slot).data)
