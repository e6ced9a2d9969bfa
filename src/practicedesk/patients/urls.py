from django.urls import path

from practicedesk.patients import views

app_name = "patients"

urlpatterns = [
    path("patients/", views.PatientListView.as_view(), name="patient_list"),
    path("patients/new/", views.PatientEditView.as_view(), name="patient_create"),
    path("patients/import/", views.PatientImportView.as_view(), name="patient_import"),
    path(
        "patients/import/<uuid:pk>/",
        views.PatientImportStatusView.as_view(),
        name="patient_import_status",
    ),
    path("patients/<int:pk>/", views.PatientDetailView.as_view(), name="patient_detail"),
    path("patients/<int:pk>/edit/", views.PatientEditView.as_view(), name="patient_edit"),
    path("patients/<int:pk>/merge/", views.PatientMergeView.as_view(), name="patient_merge"),
    path(
        "patients/<int:pk>/coverage/new/",
        views.CoverageCreateView.as_view(),
        name="coverage_create",
    ),
    path(
        "patients/<int:pk>/alerts/new/",
        views.PatientAlertCreateView.as_view(),
        name="alert_create",
    ),
    path(
        "patients/coverage/<int:pk>/edit/", views.CoverageEditView.as_view(), name="coverage_edit"
    ),
    path(
        "patients/alerts/<int:pk>/resolve/",
        views.PatientAlertResolveView.as_view(),
        name="alert_resolve",
    ),
    path("payers/", views.PayerListView.as_view(), name="payer_list"),
    path("payers/new/", views.PayerEditView.as_view(), name="payer_create"),
    path("payers/<int:pk>/", views.PayerDetailView.as_view(), name="payer_detail"),
    path("payers/<int:pk>/edit/", views.PayerEditView.as_view(), name="payer_edit"),
    path("payers/<int:pk>/delete/", views.PayerDeleteView.as_view(), name="payer_delete"),
    path(
        "referral-sources/",
        views.ReferralSourceListView.as_view(),
        name="referral_source_list",
    ),
    path(
        "referral-sources/new/",
        views.ReferralSourceEditView.as_view(),
        name="referral_source_create",
    ),
    path(
        "referral-sources/<int:pk>/",
        views.ReferralSourceDetailView.as_view(),
        name="referral_source_detail",
    ),
    path(
        "referral-sources/<int:pk>/edit/",
        views.ReferralSourceEditView.as_view(),
        name="referral_source_edit",
    ),
]
