from practicedesk.core.periodic import Every

# The checks are idempotent, so they run a few times a day: a plan falls behind soon after
# midnight rather than up to a day late, a statement cycle starts the morning it is due.
PERIODIC = [
    Every("payment_plans_check", "practicedesk.billing.tasks.payment_plans_check", minutes=180),
    Every("statements_cycle", "practicedesk.billing.tasks.statements_cycle_check", minutes=180),
    Every("collections_daily", "practicedesk.billing.tasks.collections_daily", minutes=24 * 60),
    Every("receivables_close", "practicedesk.billing.tasks.receivables_close", minutes=180),
]
