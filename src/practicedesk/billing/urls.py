from django.urls import path

from practicedesk.billing.views import charges, claims, eligibility, fees, remittances

app_name = "billing"

urlpatterns = [
    # Remittances (835), reconciliation, underpayments, payer comparison
    path("remittances/", remittances.RemittanceListView.as_view(), name="remittance_list"),
    path(
        "remittances/upload/", remittances.RemittanceUploadView.as_view(), name="remittance_upload"
    ),
    path(
        "remittances/upload/<uuid:pk>/",
        remittances.RemittanceUploadStatusView.as_view(),
        name="remittance_upload_status",
    ),
    path(
        "remittances/<int:pk>/",
        remittances.RemittanceDetailView.as_view(),
        name="remittance_detail",
    ),
    path(
        "reconciliation/", remittances.ReconciliationListView.as_view(), name="reconciliation_list"
    ),
    path(
        "reconciliation/<int:pk>/resolve/",
        remittances.ReconciliationResolveView.as_view(),
        name="reconciliation_resolve",
    ),
    path("underpayments/", remittances.UnderpaymentListView.as_view(), name="underpayment_list"),
    path(
        "underpayments/<int:pk>/decide/",
        remittances.UnderpaymentDecideView.as_view(),
        name="underpayment_decide",
    ),
    path(
        "reports/payer-comparison/",
        remittances.PayerComparisonView.as_view(),
        name="payer_comparison",
    ),
    # Service codes, fee schedules, fee analysis
    path("service-codes/", fees.ServiceCodeListView.as_view(), name="service_code_list"),
    path("service-codes/new/", fees.ServiceCodeFormView.as_view(), name="service_code_create"),
    path(
        "service-codes/<int:pk>/edit/",
        fees.ServiceCodeFormView.as_view(),
        name="service_code_edit",
    ),
    path("fee-schedules/", fees.FeeScheduleListView.as_view(), name="fee_schedule_list"),
    path("fee-schedules/new/", fees.FeeScheduleFormView.as_view(), name="fee_schedule_create"),
    path(
        "fee-schedules/<int:pk>/",
        fees.FeeScheduleDetailView.as_view(),
        name="fee_schedule_detail",
    ),
    path(
        "fee-schedules/<int:pk>/edit/",
        fees.FeeScheduleFormView.as_view(),
        name="fee_schedule_edit",
    ),
    path(
        "fee-schedules/<int:feeschedule_pk>/fees/new/",
        fees.FeeFormView.as_view(),
        name="fee_create",
    ),
    path("fees/<int:pk>/edit/", fees.FeeFormView.as_view(), name="fee_edit"),
    path("fee-analysis/", fees.FeeAnalysisView.as_view(), name="fee_analysis"),
    # Charges
    path("visits-to-bill/", charges.UnbilledVisitListView.as_view(), name="unbilled_visits"),
    path(
        "visits/<int:appointment_pk>/charges/",
        charges.VisitChargesView.as_view(),
        name="visit_charges",
    ),
    path("charges/<int:pk>/", charges.ChargeDetailView.as_view(), name="charge_detail"),
    path("charges/<int:pk>/reverse/", charges.ChargeReverseView.as_view(), name="charge_reverse"),
    # Eligibility (270/271)
    path("eligibility/", eligibility.EligibilityListView.as_view(), name="eligibility_list"),
    path(
        "eligibility/import/",
        eligibility.EligibilityImportView.as_view(),
        name="eligibility_import",
    ),
    path(
        "eligibility/request/",
        eligibility.EligibilityRequestView.as_view(),
        name="eligibility_request",
    ),
    # Claims (837P out), claim batches, denials
    path("claims/", claims.ClaimListView.as_view(), name="claim_list"),
    path("claims/new/", claims.ClaimCreateView.as_view(), name="claim_create"),
    path("claims/export/", claims.ClaimExportView.as_view(), name="claim_export"),
    path("claims/denials/", claims.DenialQueueView.as_view(), name="denial_queue"),
    path("claims/<int:pk>/", claims.ClaimDetailView.as_view(), name="claim_detail"),
    path("claims/<int:pk>/ready/", claims.ClaimMarkReadyView.as_view(), name="claim_mark_ready"),
    path("claims/<int:pk>/step/", claims.ClaimStepView.as_view(), name="claim_step"),
    path(
        "claims/<int:pk>/secondary/",
        claims.ClaimSecondaryCreateView.as_view(),
        name="claim_secondary_create",
    ),
    path("claim-batches/", claims.ClaimBatchListView.as_view(), name="claim_batch_list"),
    path(
        "claim-batches/<int:pk>/",
        claims.ClaimBatchDetailView.as_view(),
        name="claim_batch_detail",
    ),
    path(
        "claim-batches/<int:pk>/download/",
        claims.ClaimBatchDownloadView.as_view(),
        name="claim_batch_download",
    ),
]
