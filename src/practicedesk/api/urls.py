from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import APIRootView, DefaultRouter

from practicedesk.api import views
from practicedesk.api.base import API_AUTHENTICATION
from practicedesk.api.billing import accounts as account_views
from practicedesk.api.billing import statements as statement_views
from practicedesk.api.billing import views as billing_views

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
router.register("payers", billing_views.PayerViewSet, basename="payer")
router.register("service-codes", billing_views.ServiceCodeViewSet, basename="service-code")
router.register("fee-schedules", billing_views.FeeScheduleViewSet, basename="fee-schedule")
router.register("fees", billing_views.FeeViewSet, basename="fee")
router.register("charges", billing_views.ChargeViewSet, basename="charge")
router.register("claims", billing_views.ClaimViewSet, basename="claim")
router.register("payments", account_views.PaymentViewSet, basename="payment")
router.register("allocations", account_views.AllocationViewSet, basename="allocation")
router.register("payment-plans", account_views.PaymentPlanViewSet, basename="payment-plan")
router.register("collection-cases", account_views.CollectionCaseViewSet, basename="collection-case")
router.register("accounts", account_views.AccountViewSet, basename="account")
router.register("statements", statement_views.StatementViewSet, basename="statement")

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
