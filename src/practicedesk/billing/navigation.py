from practicedesk.core.navigation import MenuEntry

MENU = [
    MenuEntry("Billing", "Remittances", "billing:remittance_list", "billing"),
    MenuEntry("Billing", "Reconciliation", "billing:reconciliation_list", "billing"),
    MenuEntry("Billing", "Underpayments", "billing:underpayment_list", "billing"),
    MenuEntry("Billing", "Payer comparison", "billing:payer_comparison", "billing"),
    MenuEntry("Billing", "Visits to bill", "billing:unbilled_visits", "billing"),
    MenuEntry("Billing", "Service codes", "billing:service_code_list", "billing"),
    MenuEntry("Billing", "Fee schedules", "billing:fee_schedule_list", "billing"),
    MenuEntry("Billing", "Fee analysis", "billing:fee_analysis", "billing"),
    MenuEntry("Billing", "Eligibility", "billing:eligibility_list", "billing"),
    MenuEntry("Billing", "Claims", "billing:claim_list", "billing"),
    MenuEntry("Billing", "Denials", "billing:denial_queue", "billing"),
    MenuEntry("Billing", "Claim batches", "billing:claim_batch_list", "billing"),
    MenuEntry("Billing", "Daily close", "billing:daily_close", "billing"),
    MenuEntry("Billing", "Statements", "billing:statement_run_list", "billing", "export"),
    MenuEntry("Billing", "Collections", "billing:collection_queue", "billing", "export"),
    MenuEntry("Billing", "Payment plans", "billing:payment_plan_list", "billing"),
    MenuEntry("Billing", "Financial assistance", "billing:fa_approval_list", "billing"),
]
