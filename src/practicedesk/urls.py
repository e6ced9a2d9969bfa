from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from practicedesk.core.views import auth, health, pages
from practicedesk.scheduling.views import followup

urlpatterns = [
    path("", pages.HomeView.as_view(), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/setup/", auth.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/two-factor/", auth.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("admin/", admin.site.urls),
    # The link in a reminder email: public, the token is the only key.
    path("r/<str:token>/", followup.ReminderRespondView.as_view(), name="reminder_respond"),
    path("api/", include("practicedesk.api.urls")),
    path("fhir/", include("practicedesk.api.fhir_urls")),
    path("", include("practicedesk.core.urls")),
    path("", include("practicedesk.patients.urls")),
    path("scheduling/", include("practicedesk.scheduling.urls")),
    path("billing/", include("practicedesk.billing.urls")),
    path("dashboard/", include("practicedesk.dashboard.urls")),
]

handler400 = "practicedesk.core.views.errors.bad_request"
handler403 = "practicedesk.core.views.errors.permission_denied"
handler404 = "practicedesk.core.views.errors.page_not_found"
handler500 = "practicedesk.core.views.errors.server_error"
