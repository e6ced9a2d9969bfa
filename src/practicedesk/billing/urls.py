from django.urls import path

from practicedesk.billing.views import (
    accounts,
    charges,
    claims,
    collections,
    eligibility,
    fees,
    remittances,
    statements,
)

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
    # Patient accounts: payments, credit, refunds, returned checks, write-offs, plans,
    # financial assistance, the daily close
    path(
        "patients/<int:pk>/account/",
        accounts.PatientAccountView.as_view(),
        name="patient_account",
    ),
    path(
        "patients/<int:pk>/payments/new/",
        accounts.PaymentReceiveView.as_view(),
        name="payment_receive",
    ),
    path("patients/<int:pk>/write-off/", accounts.WriteOffView.as_view(), name="write_off"),
    path(
        "patients/<int:pk>/payment-plans/new/",
        accounts.PaymentPlanProposeView.as_view(),
        name="payment_plan_propose",
    ),
    path(
        "patients/<int:pk>/financial-assistance/new/",
        accounts.FinancialAssistanceApproveView.as_view(),
        name="fa_approve",
    ),
    path("payments/daily-close/", accounts.DailyCloseView.as_view(), name="daily_close"),
    path("payments/<int:pk>/", accounts.PaymentDetailView.as_view(), name="payment_detail"),
    path(
        "payments/<int:pk>/allocate/",
        accounts.PaymentAllocateView.as_view(),
        name="payment_allocate",
    ),
    path("payments/<int:pk>/refund/", accounts.PaymentRefundView.as_view(), name="payment_refund"),
    path(
        "payments/<int:pk>/returned/",
        accounts.PaymentReturnView.as_view(),
        name="payment_return",
    ),
    path("payment-plans/", accounts.PaymentPlanListView.as_view(), name="payment_plan_list"),
    path(
        "payment-plans/<int:pk>/",
        accounts.PaymentPlanDetailView.as_view(),
        name="payment_plan_detail",
    ),
    path(
        "payment-plans/<int:pk>/authorize/",
        accounts.PaymentPlanAuthorizeView.as_view(),
        name="payment_plan_authorize",
    ),
    path(
        "payment-plans/<int:pk>/cancel/",
        accounts.PaymentPlanCancelView.as_view(),
        name="payment_plan_cancel",
    ),
    path(
        "financial-assistance/",
        accounts.FinancialAssistanceApprovalListView.as_view(),
        name="fa_approval_list",
    ),
    path(
        "financial-assistance/<int:pk>/",
        accounts.FinancialAssistanceApprovalDetailView.as_view(),
        name="fa_approval_detail",
    ),
    path(
        "financial-assistance/<int:pk>/apply/",
        accounts.FinancialAssistanceApplyView.as_view(),
        name="fa_apply",
    ),
    path(
        "financial-assistance/bands/",
        accounts.FinancialAssistanceBandListView.as_view(),
        name="fa_band_list",
    ),
    path(
        "financial-assistance/bands/new/",
        accounts.FinancialAssistanceBandFormView.as_view(),
        name="fa_band_create",
    ),
    path(
        "financial-assistance/bands/<int:pk>/edit/",
        accounts.FinancialAssistanceBandFormView.as_view(),
        name="fa_band_edit",
    ),
    # Statements
    path("statements/", statements.StatementRunListView.as_view(), name="statement_run_list"),
    path(
        "statements/start/", statements.StatementRunStartView.as_view(), name="statement_run_start"
    ),
    path(
        "statements/runs/<int:pk>/",
        statements.StatementRunDetailView.as_view(),
        name="statement_run_detail",
    ),
    path(
        "statements/runs/<int:pk>/batch.pdf",
        statements.StatementRunBatchView.as_view(),
        name="statement_run_batch",
    ),
    path(
        "statements/<int:pk>.pdf",
        statements.StatementDownloadView.as_view(),
        name="statement_download",
    ),
    # Collections
    path("collections/", collections.CollectionQueueView.as_view(), name="collection_queue"),
    path("collections/rules/", collections.CollectionRulesView.as_view(), name="collection_rules"),
    path(
        "collections/<int:pk>/",
        collections.CollectionCaseDetailView.as_view(),
        name="collection_case_detail",
    ),
    path(
        "collections/<int:pk>/contact/",
        collections.CollectionContactLogView.as_view(),
        name="collection_contact_log",
    ),
    path(
        "collections/<int:pk>/dispute/",
        collections.CollectionDisputeView.as_view(),
        name="collection_dispute",
    ),
    path(
        "collections/<int:pk>/dispute/resolve/",
        collections.CollectionDisputeResolveView.as_view(),
        name="collection_dispute_resolve",
    ),
    path(
        "collections/<int:pk>/agency/",
        collections.CollectionAgencyPlaceView.as_view(),
        name="collection_agency_place",
    ),
    path(
        "collections/<int:pk>/agency/export.csv",
        collections.CollectionAgencyExportView.as_view(),
        name="collection_agency_export",
    ),
    path(
        "collections/<int:pk>/write-off/",
        collections.CollectionWriteOffRequestView.as_view(),
        name="collection_write_off_request",
    ),
    path(
        "collections/write-offs/<int:pk>/decide/",
        collections.CollectionWriteOffDecideView.as_view(),
        name="collection_write_off_decide",
    ),
    path(
        "collections/letters/<int:pk>.pdf",
        collections.CollectionLetterDownloadView.as_view(),
        name="collection_letter_download",
    ),
]
