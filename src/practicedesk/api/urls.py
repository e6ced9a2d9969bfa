from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import APIRootView, DefaultRouter

from practicedesk.api import views
from practicedesk.api.base import API_AUTHENTICATION

app_name = "api"


class ApiRootView(APIRootView):
    """The index of /api/: the same authentication as the endpoints it lists."""

    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]


router = DefaultRouter()
router.include_format_suffixes = False
router.APIRootView = ApiRootView
router.register("patients", views.PatientViewSet, basename="patient")
router.register("coverages", views.CoverageViewSet, basename="coverage")
router.register("providers", views.ProviderViewSet, basename="provider")
router.register("locations", views.LocationViewSet, basename="location")
router.register("appointment-types", views.AppointmentTypeViewSet, basename="appointment-type")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("slots", views.SlotViewSet, basename="slot")

urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(
            authentication_classes=API_AUTHENTICATION, permission_classes=[IsAuthenticated]
        ),
        name="schema",
    ),
    path("", include(router.urls)),
]
