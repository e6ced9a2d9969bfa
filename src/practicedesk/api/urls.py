from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from practicedesk.api import views
from practicedesk.api.base import API_AUTHENTICATION

app_name = "api"

router = DefaultRouter()
router.include_format_suffixes = False
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
